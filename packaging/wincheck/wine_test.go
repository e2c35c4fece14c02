package wincheck

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// prefix is the wine prefix (WINEPREFIX, set up by packaging/windows/check.sh).
type prefix struct {
	t    *testing.T
	root string // WINEPREFIX
}

func winePrefix(t *testing.T) *prefix {
	t.Helper()
	distDir(t)
	root := os.Getenv("WINEPREFIX")
	if root == "" {
		t.Skip("WINEPREFIX is not set (make dist-check sets it)")
	}
	if _, err := os.Stat(filepath.Join(root, "drive_c", "windows", "system32", "bcryptprimitives.dll")); err != nil {
		t.Fatalf("the prefix lacks the bcryptprimitives.dll stand-in: %v", err)
	}
	return &prefix{t: t, root: root}
}

// c maps a path under C:\ to the Linux path in the prefix.
func (p *prefix) c(winPath string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(winPath, `C:\`), `c:\`)
	return filepath.Join(p.root, "drive_c", filepath.FromSlash(strings.ReplaceAll(rel, `\`, "/")))
}

// z is a Linux path as wine sees it (drive Z: is /).
func z(path string) string { return `Z:` + strings.ReplaceAll(path, "/", `\`) }

// run runs a Windows program under wine in dir (a Linux path, "" for the
// prefix's C:\) and returns its combined output and exit code. Wine passes
// only the low 8 bits of the exit code to Linux; exitCodeOf gives the full one.
func (p *prefix) run(timeout time.Duration, dir string, args ...string) (string, int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", args...)
	cmd.Dir = dir
	if dir == "" {
		cmd.Dir = filepath.Join(p.root, "drive_c")
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("wine %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n"), code
}

// exitCodeOf runs a command line through cmd.exe and reads %ERRORLEVEL%,
// which keeps the whole 32-bit exit code.
func (p *prefix) exitCodeOf(timeout time.Duration, dir, line string) (string, int) {
	p.t.Helper()
	script := p.c(`C:\smstorrent-check\run.cmd`)
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		p.t.Fatal(err)
	}
	body := "@echo off\r\n" + line + "\r\necho EXITCODE=%ERRORLEVEL%\r\n"
	if err := os.WriteFile(script, []byte(body), 0o644); err != nil {
		p.t.Fatal(err)
	}
	out, _ := p.run(timeout, dir, "cmd", "/c", `C:\smstorrent-check\run.cmd`)
	m := regexp.MustCompile(`EXITCODE=(-?\d+)`).FindStringSubmatch(out)
	if m == nil {
		p.t.Fatalf("no exit code from %q:\n%s", line, out)
	}
	n, _ := strconv.Atoi(m[1])
	return out, n
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}
