//go:build !windows

// The integration tests run shell scripts from the package; on Windows the
// command-line pass-through is covered by the unit tests.

package wrapper

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
)

// The integration tests run the wrapper against the real service and the
// real tracker/repository (in-process, through internal/testbed), with a real
// signed package moving over loopback.

const pkgID = "PS100012"

// installScript is the package's install script: it records where it ran
// and its arguments, and exits with its first argument.
const installScript = `#!/bin/sh
code=$1; shift
{ pwd; for a in "$@"; do printf '%s\n' "$a"; done; } > "$OUT"
exit "$code"
`

type swarm struct {
	key     testbed.Key
	tracker *testbed.Tracker
	pkg     *testbed.Package
}

// newSwarm starts a tracker with a published package and an origin seeding it.
func newSwarm(t *testing.T) *swarm {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts a tracker and services")
	}
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"office.msi": 3 << 20, "data/cab1.cab": 700 << 10})
	if err := os.WriteFile(filepath.Join(src, "install.sh"), []byte(installScript), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testbed.MakePackage(t, key, pkgID, "1.0", src, tr.Announce, 0)
	tr.Publish(p)
	testbed.StartOrigin(t, key, tr, p)
	return &swarm{key: key, tracker: tr, pkg: p}
}

// branch starts a branch service; edit may change its configuration.
func (s *swarm) branch(t *testing.T, edit func(*config.Config)) (config.Config, *svc.Instance) {
	t.Helper()
	cfg := testbed.Config(t, s.key, s.tracker.Repository, "127.0.0.1")
	if edit != nil {
		edit(&cfg)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	return cfg, testbed.StartService(t, cfg, svc.Options{})
}

// wrapperLog reads the wrapper's log in the service's log folder.
func wrapperLog(t *testing.T, cfg config.Config) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cfg.LogDir, LogName))
	if err != nil {
		t.Fatalf("no wrapper log in the service's log folder: %v", err)
	}
	return string(b)
}

func TestIntegrationRetryThenRun(t *testing.T) {
	s := newSwarm(t)
	cfg, branch := s.branch(t, nil)
	dataDir := []string{"--data-dir", cfg.DataDir}
	cmdArgs := []string{"/i", "office.msi", "/qn", "PROPERTY=a b", `QUOTED="x y"`, `C:\Program Files\`, "", "it's"}

	// First run: not in the cache, so the download starts and SCCM is told to retry.
	res := runWrapper(t, nil, Invocation{Args: args(dataDir, helperCommand(t, 0, cmdArgs...))})
	if res.code != DefaultRetryCode {
		t.Fatalf("first run: exit code %d, want the retry code; stderr:\n%s", res.code, res.stderr)
	}
	if strings.Contains(res.stdout, "{") {
		t.Fatal("first run ran the command")
	}
	if log := wrapperLog(t, cfg); !strings.Contains(log, "exiting with the retry code 1618") || !strings.Contains(log, `component="P2PWrapper"`) {
		t.Errorf("log:\n%s", log)
	}

	// The service downloads from the origin on its own.
	c := branch.Client(true)
	job := testbed.WaitJob(t, c, pkgID, 2*time.Minute, "branch download", func(j *api.Job) bool { return j.State == api.StateTransferred })
	if err := testbed.SameTree(s.pkg.Dir, job.Path); err != nil {
		t.Fatal(err)
	}

	// A later run installs: exit code passed through, run in the cache
	// folder, arguments intact, package marked used.
	res = runWrapper(t, nil, Invocation{Args: args(dataDir, helperCommand(t, 42, cmdArgs...))})
	if res.code != 42 {
		t.Fatalf("second run: exit code %d, want the command's 42; stderr:\n%s", res.code, res.stderr)
	}
	h := res.report(t)
	if !slices.Equal(h.Args, cmdArgs) {
		t.Errorf("arguments %q, want %q", h.Args, cmdArgs)
	}
	if h.Dir != job.Path {
		t.Errorf("ran in %q, want the cache folder %q", h.Dir, job.Path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	after, err := c.Job(ctx, pkgID)
	if err != nil {
		t.Fatal(err)
	}
	if after.LastUsed.IsZero() {
		t.Error("the package was not marked used")
	}

	// The package's own script, found in the package folder.
	out := filepath.Join(t.TempDir(), "out")
	t.Setenv("OUT", out)
	res = runWrapper(t, nil, Invocation{Args: args(dataDir, []string{"sh", "install.sh", "3", "TARGETDIR=C:\\Program Files\\X", "a  b"})})
	if res.code != 3 {
		t.Fatalf("script: exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := job.Path + "\nTARGETDIR=C:\\Program Files\\X\na  b\n"; string(b) != want {
		t.Errorf("script saw %q, want %q", b, want)
	}
}

func TestIntegrationWait(t *testing.T) {
	s := newSwarm(t)
	cfg, _ := s.branch(t, nil)
	res := runWrapper(t, nil, Invocation{Args: args([]string{"--data-dir", cfg.DataDir, "--wait", "3m", "--priority", "foreground"}, helperCommand(t, 0, "x"))})
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	if h := res.report(t); !strings.HasSuffix(h.Dir, pkgID) {
		t.Errorf("ran in %q", h.Dir)
	}
	if !strings.Contains(res.stdout, pkgID+": transferred, 100.0%") {
		t.Errorf("no progress on stdout:\n%s", res.stdout)
	}
	if log := wrapperLog(t, cfg); !strings.Contains(log, "waiting up to 3m0s") {
		t.Errorf("log:\n%s", log)
	}
}

func TestIntegrationFailures(t *testing.T) {
	s := newSwarm(t)
	other := testbed.NewKey(t)
	tests := []struct {
		name  string
		edit  func(*config.Config)
		flags []string
		cmd   []string
		inv   func(in *svc.Instance, inv *Invocation)
		want  Failure
		retry bool
	}{
		{name: "unknown package", flags: []string{"--package", "NOPE0001"}, want: FailUnknownPackage},
		{name: "signature refused", edit: func(c *config.Config) { c.TrustedKeys = []string{other.Pub} }, want: FailSignature},
		{name: "repository unreachable", edit: func(c *config.Config) { c.Repository = closedURL() }, want: FailRepository},
		{name: "repository unreachable mapped to retry", edit: func(c *config.Config) { c.Repository = closedURL() },
			flags: []string{"--map-errors-to-retry=repository"}, want: FailRepository, retry: true},
		{name: "read-only token", inv: func(in *svc.Instance, inv *Invocation) { inv.Client = in.Client(false) }, want: FailAccessDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, in := s.branch(t, tt.edit)
			cmd := tt.cmd
			if cmd == nil {
				cmd = helperCommand(t, 0)
			}
			inv := Invocation{Args: args([]string{"--data-dir", cfg.DataDir}, tt.flags, cmd)}
			if tt.inv != nil {
				tt.inv(in, &inv)
			}
			res := runWrapper(t, nil, inv)
			want := tt.want.Code
			if tt.retry {
				want = DefaultRetryCode
			}
			if res.code != want {
				t.Fatalf("exit code %d, want %d (%s); stderr:\n%s", res.code, want, tt.want.Name, res.stderr)
			}
			if log := wrapperLog(t, cfg); !strings.Contains(log, "["+tt.want.Name+"; exit code") || !strings.Contains(log, `type="3"`) {
				t.Errorf("log lacks the error:\n%s", log)
			}
			if strings.Count(res.stderr, "P2PWrapper: error: ") != 1 {
				t.Errorf("want exactly one error line on stderr:\n%s", res.stderr)
			}
		})
	}

	t.Run("service down", func(t *testing.T) {
		dir := t.TempDir()
		res := runWrapper(t, nil, Invocation{Args: args([]string{"--data-dir", dir}, helperCommand(t, 0))})
		if res.code != FailServiceDown.Code {
			t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
		}
		b, err := os.ReadFile(filepath.Join(dir, "logs", LogName))
		if err != nil || !strings.Contains(string(b), "[service-down; exit code 1062]") {
			t.Errorf("fallback log: %v\n%s", err, b)
		}
	})

	t.Run("service stopped", func(t *testing.T) {
		cfg, in := s.branch(t, nil)
		if err := in.Stop(); err != nil {
			t.Fatal(err)
		}
		res := runWrapper(t, nil, Invocation{Args: args([]string{"--data-dir", cfg.DataDir}, helperCommand(t, 0))})
		if res.code != FailServiceDown.Code {
			t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
		}
	})

	t.Run("download failed", func(t *testing.T) {
		cfg, in := s.branch(t, nil)
		// A file where the package's folder should go: the service cannot write.
		if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cfg.CacheDir, pkgID), []byte("in the way"), 0o644); err != nil {
			t.Fatal(err)
		}
		flags := []string{"--data-dir", cfg.DataDir}
		if res := runWrapper(t, nil, Invocation{Args: args(flags, helperCommand(t, 0))}); res.code != DefaultRetryCode {
			t.Fatalf("first run: exit code %d; stderr:\n%s", res.code, res.stderr)
		}
		testbed.WaitJob(t, in.Client(false), pkgID, 2*time.Minute, "write error", func(j *api.Job) bool { return j.State == api.StateError })
		res := runWrapper(t, nil, Invocation{Args: args(flags, helperCommand(t, 0))})
		if res.code != FailDownload.Code {
			t.Fatalf("exit code %d, want %d; stderr:\n%s", res.code, FailDownload.Code, res.stderr)
		}
		if log := wrapperLog(t, cfg); !strings.Contains(log, "[download-failed; exit code 1619]") {
			t.Errorf("log:\n%s", log)
		}
	})

	t.Run("command not found", func(t *testing.T) {
		cfg, in := s.branch(t, nil)
		if _, err := in.Client(true).Add(context.Background(), api.AddRequest{PackageID: pkgID, Priority: api.Foreground}); err != nil {
			t.Fatal(err)
		}
		testbed.WaitJob(t, in.Client(false), pkgID, 2*time.Minute, "download", func(j *api.Job) bool { return j.State == api.StateTransferred })
		res := runWrapper(t, nil, Invocation{Args: args([]string{"--data-dir", cfg.DataDir}, []string{"no-such-setup.exe", "/S"})})
		if res.code != FailCommand.Code {
			t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
		}
	})
}

// closedURL is an http URL on loopback where nothing listens.
func closedURL() string {
	// Port 1 (tcpmux) is privileged and unused on test machines.
	return "http://127.0.0.1:1"
}

// TestIntegrationBinary runs the built P2PWrapper executable the way SCCM
// does: from a directory named after the package, with the service found
// through the environment.
func TestIntegrationBinary(t *testing.T) {
	s := newSwarm(t)
	cfg, in := s.branch(t, nil)
	bin := filepath.Join(t.TempDir(), "P2PWrapper")
	build := exec.Command("go", "build", "-o", bin, "github.com/smstorrent/smstorrent/wrapper/cmd/P2PWrapper")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dp := filepath.Join(t.TempDir(), "SMSPKGD$", pkgID)
	if err := os.MkdirAll(dp, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	run := func() (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "sh", "install.sh", "7", `PROPERTY="a b"`)
		cmd.Dir = dp
		cmd.Env = append(os.Environ(), api.EnvDataDir+"="+cfg.DataDir, "OUT="+out)
		b, err := cmd.CombinedOutput()
		if err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("running the wrapper: %v", err)
			}
		}
		return cmd.ProcessState.ExitCode(), string(b)
	}
	if code, output := run(); code != osExitCode(DefaultRetryCode) {
		t.Fatalf("first run: exit code %d, want %d; output:\n%s", code, osExitCode(DefaultRetryCode), output)
	}
	testbed.WaitJob(t, in.Client(false), pkgID, 2*time.Minute, "download", func(j *api.Job) bool { return j.State == api.StateTransferred })
	code, output := run()
	if code != 7 {
		t.Fatalf("second run: exit code %d, want 7; output:\n%s", code, output)
	}
	b, _ := os.ReadFile(out)
	if want := filepath.Join(cfg.CacheDir, pkgID) + "\nPROPERTY=\"a b\"\n"; string(b) != want {
		t.Errorf("script saw %q, want %q", b, want)
	}
}

// What the wrapper runs is what was signed: with the real service, a DLL
// planted beside the package's files, a changed file, or an msiexec that
// would shadow the system's is refused and nothing runs; once the folder
// is as signed again, the command runs.
func TestIntegrationPlantedFilesRefused(t *testing.T) {
	s := newSwarm(t)
	cfg, branch := s.branch(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := branch.Client(true).Add(ctx, api.AddRequest{PackageID: pkgID}); err != nil {
		t.Fatal(err)
	}
	job := testbed.WaitJob(t, branch.Client(true), pkgID, 2*time.Minute, "branch download", func(j *api.Job) bool { return j.State == api.StateTransferred })
	dataDir := []string{"--data-dir", cfg.DataDir}
	msi := filepath.Join(job.Path, "office.msi")
	orig, err := os.ReadFile(msi)
	if err != nil {
		t.Fatal(err)
	}
	tamper := []struct {
		name         string
		do, undo     func() error
		wantInReason string
	}{
		{"planted DLL", func() error { return os.WriteFile(filepath.Join(job.Path, "version.dll"), []byte("MZ"), 0o644) },
			func() error { return os.Remove(filepath.Join(job.Path, "version.dll")) }, "version.dll is not part of the package"},
		{"planted msiexec", func() error {
			return os.WriteFile(filepath.Join(job.Path, "data", "msiexec"), []byte("#!/bin/sh\n"), 0o755)
		},
			func() error { return os.Remove(filepath.Join(job.Path, "data", "msiexec")) }, "is not part of the package"},
		{"changed file", func() error {
			b := slices.Clone(orig)
			b[len(b)/2] ^= 1
			return os.WriteFile(msi, b, 0o644)
		}, func() error { return os.WriteFile(msi, orig, 0o644) }, "does not have the signed content"},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); err != nil {
				t.Fatal(err)
			}
			res := runWrapper(t, nil, Invocation{Args: args(dataDir, helperCommand(t, 0))})
			if res.code != FailModified.Code&0xff && res.code != FailModified.Code {
				t.Errorf("exit code %d, want %d (package-modified); stderr:\n%s", res.code, FailModified.Code, res.stderr)
			}
			if strings.Contains(res.stdout, "{") {
				t.Error("the command ran")
			}
			if !strings.Contains(res.stderr, tt.wantInReason) {
				t.Errorf("the message does not say what differs (%q):\n%s", tt.wantInReason, res.stderr)
			}
			if err := tt.undo(); err != nil {
				t.Fatal(err)
			}
		})
	}
	res := runWrapper(t, nil, Invocation{Args: args(dataDir, helperCommand(t, 7))})
	if res.code != 7 {
		t.Fatalf("after restoring the folder: exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	if !strings.Contains(wrapperLog(t, cfg), "verified: exactly its signed files") {
		t.Error("the log does not say the package was verified")
	}
}
