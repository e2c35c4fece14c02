package wrapper

import (
	"strings"
	"testing"

	"github.com/smstorrent/smstorrent/wrapper/winargs"
)

// FuzzCommandLine feeds the wrapper raw Windows command lines (what
// GetCommandLineW returns) and working folders. The parser must never
// panic; a line it accepts must name a command, hand the command the tail
// of the line unchanged, and name a valid package (or fail with usage).
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		`P2PWrapper.exe msiexec.exe /i office.msi /qn`,
		`"C:\Program Files\SMSTorrent\P2PWrapper.exe" --wait 30m --priority high msiexec /i "a b.msi" PROP="x y"`,
		`P2PWrapper --package PS100012 --map-errors-to-retry=service-down,repository setup.exe`,
		`P2PWrapper --retry-code 0x652 -- cmd /c "echo ""hi"""`,
		`P2PWrapper --wait=1h --log C:\Windows\Temp\ --data-dir D:\x cmd.exe /c setup.cmd`,
		`P2PWrapper "" "\"" \\\\server\share\ "a\\\"b"`,
		`P2PWrapper --bogus x`, "P2PWrapper\t\t--help", `P2PWrapper --version`, "",
	} {
		f.Add(s, `\\dp01\SMSPKGD$\PS100012`)
	}
	f.Add(`P2PWrapper x`, `C:\`)
	f.Fuzz(func(t *testing.T, line, dir string) {
		r := &runner{inv: Invocation{CommandLine: line, Dir: dir}}
		err := r.parse()
		if err != nil || r.opts.Help || r.opts.Version {
			return
		}
		if len(r.opts.Command) == 0 || r.opts.Command[0] == "" && r.opts.RawCommand == "" {
			t.Fatalf("accepted %q without a command: %+v", line, r.opts)
		}
		if !strings.HasSuffix(line, r.opts.RawCommand) {
			t.Fatalf("the command's line %q is not the tail of %q", r.opts.RawCommand, line)
		}
		if got := winargs.Values(winargs.Split(r.opts.RawCommand)); len(got) != len(r.opts.Command) {
			t.Fatalf("command %q splits into %q", r.opts.Command, got)
		}
		if r.opts.Package == "" {
			if id, err := PackageIDFromDir(dir); err == nil && id == "" {
				t.Fatalf("empty package ID from %q", dir)
			}
		}
	})
}

// FuzzArgs feeds argument vectors (Linux, or Windows through os.Args).
func FuzzArgs(f *testing.F) {
	f.Add("--wait\x0030m\x00sh\x00install.sh")
	f.Add("--map-errors-to-retry\x00all\x00--priority=foreground\x00x")
	f.Add("--retry-code=-1\x00x")
	f.Add("--\x00--help")
	f.Fuzz(func(t *testing.T, joined string) {
		args := append([]string{"P2PWrapper"}, strings.Split(joined, "\x00")...)
		opts, k, err := parseFlags(args)
		if err != nil || opts.Help || opts.Version {
			return
		}
		if k < 1 || k > len(args) {
			t.Fatalf("command index %d of %q", k, args)
		}
		for name := range opts.MapToRetry {
			if name == FailUsage.Name {
				t.Fatal("usage mapped to retry")
			}
		}
	})
}
