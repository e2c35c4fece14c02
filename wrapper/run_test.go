package wrapper

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/wrapper/winargs"
)

// The test binary doubles as the command the wrapper runs: started with
// -wrapper-helper CODE ARGS..., it prints its arguments and working folder
// as JSON and exits with CODE.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "-wrapper-helper" {
		code, _ := strconv.Atoi(os.Args[2])
		dir, _ := os.Getwd()
		json.NewEncoder(os.Stdout).Encode(helperReport{Args: os.Args[3:], Dir: dir})
		os.Exit(code)
	}
	if len(os.Args) == 4 && os.Args[1] == "-impostor" {
		runImpostor(os.Args[2], os.Args[3])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type helperReport struct {
	Args []string
	Dir  string
}

// osExitCode is what a parent sees when a process exits with code: all of
// it on Windows, the low 8 bits elsewhere.
func osExitCode(code int) int {
	if runtime.GOOS == "windows" {
		return code
	}
	return code & 0xff
}

func helperExe(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// helperCommand is the command (after the wrapper's flags) that runs the
// helper with an exit code and arguments.
func helperCommand(t *testing.T, code int, args ...string) []string {
	return append([]string{helperExe(t), "-wrapper-helper", strconv.Itoa(code)}, args...)
}

type result struct {
	code           int
	stdout, stderr string
	log            string
}

// report decodes the helper's report from the wrapper's stdout.
func (r result) report(t *testing.T) helperReport {
	t.Helper()
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "{") {
			var h helperReport
			if err := json.Unmarshal([]byte(line), &h); err != nil {
				t.Fatal(err)
			}
			return h
		}
	}
	t.Fatalf("the command did not run; stdout %q stderr %q", r.stdout, r.stderr)
	return helperReport{}
}

// runWrapper runs the wrapper in-process against the fake with the given
// flags and command, from a distribution-point-like directory.
func runWrapper(t *testing.T, f *fakeService, inv Invocation) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	inv.Stdout, inv.Stderr = &stdout, &stderr
	if inv.Client == nil && f != nil {
		inv.Client = f.client()
	}
	if inv.Dir == "" {
		inv.Dir = `\\dp01\SMSPKGD$\PS100012`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := Run(ctx, inv)
	res := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	if f != nil {
		b, _ := os.ReadFile(filepath.Join(f.logDir, LogName))
		res.log = string(b)
	}
	return res
}

func args(parts ...[]string) []string {
	out := []string{"P2PWrapper"}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestRunCompletePackageRunsCommand(t *testing.T) {
	f := newFakeService(t)
	f.setJob(api.Job{ID: "PS100012", State: api.StateTransferred})
	cmdArgs := []string{"/i", "office.msi", "/qn", `PROPERTY=a b`, `QUOTED="x y"`, `back\slash\`, "", "tab\there"}
	res := runWrapper(t, f, Invocation{Args: args(helperCommand(t, 3010, cmdArgs...))})
	if want := osExitCode(3010); res.code != want {
		t.Fatalf("exit code %d, want the command's %d; stderr:\n%s", res.code, want, res.stderr)
	}
	h := res.report(t)
	if !slices.Equal(h.Args, cmdArgs) {
		t.Errorf("command got %q, want %q", h.Args, cmdArgs)
	}
	if want := filepath.Join(f.cache, "PS100012"); h.Dir != want {
		t.Errorf("command ran in %q, want the cache folder %q", h.Dir, want)
	}
	// One Add: the service asks the repository whether the cached version
	// is still the current one before it runs.
	if used, _, added := f.snapshot(); !slices.Equal(used, []string{"PS100012"}) || len(added) != 1 || added[0].PackageID != "PS100012" {
		t.Errorf("used %q, added %v", used, added)
	}
	if !strings.Contains(res.log, `component="P2PWrapper"`) || !strings.Contains(res.log, fmt.Sprintf("exited with code %d", osExitCode(3010))) {
		t.Errorf("log lacks the run:\n%s", res.log)
	}
}

func TestRunWindowsCommandLinePassedThrough(t *testing.T) {
	f := newFakeService(t)
	f.setJob(api.Job{ID: "PS100012", State: api.StateTransferred})
	exe := helperExe(t)
	// What SCCM would hand to CreateProcess. On Windows the command gets the
	// tail byte for byte; here, where processes take vectors, it gets the
	// tail split by the Windows rules, which checks the same splitting.
	tail := winargs.Quote(exe) + ` -wrapper-helper 0 /i "office.msi" /qn PROPERTY="a b" TRANSFORMS="C:\Program Files\x.mst" "x \"y\"" EMPTY="" back\\"`
	line := `"C:\Program Files\SMSTorrent\P2PWrapper.exe"  --package  PS100012 --priority=high  ` + tail
	res := runWrapper(t, f, Invocation{CommandLine: line, Args: []string{"ignored"}})
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	want := []string{"/i", "office.msi", "/qn", "PROPERTY=a b", `TRANSFORMS=C:\Program Files\x.mst`, `x "y"`, "EMPTY=", `back\`}
	if h := res.report(t); !slices.Equal(h.Args, want) {
		t.Errorf("command got %q, want %q", h.Args, want)
	}
	if !strings.Contains(res.log, tail) {
		t.Errorf("the log does not show the raw command line %q:\n%s", tail, res.log)
	}
}

func TestRunIncompleteStartsDownloadAndAsksForRetry(t *testing.T) {
	f := newFakeService(t)
	res := runWrapper(t, f, Invocation{Args: args(helperCommand(t, 0))})
	if res.code != DefaultRetryCode {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", res.code, DefaultRetryCode, res.stderr)
	}
	if strings.Contains(res.stdout, "{") {
		t.Error("the command ran although the package is not complete")
	}
	_, _, added := f.snapshot()
	if len(added) != 1 || added[0].PackageID != "PS100012" || added[0].Priority != api.Normal {
		t.Errorf("added %+v, want PS100012 at normal priority", added)
	}
	if !strings.Contains(res.log, "exiting with the retry code 1618") {
		t.Errorf("log does not say retry:\n%s", res.log)
	}

	// A second run continues the job, with a custom code and a higher priority.
	res = runWrapper(t, f, Invocation{Args: args([]string{"--retry-code", "75", "--priority", "foreground"}, helperCommand(t, 0))})
	if res.code != 75 {
		t.Fatalf("exit code %d, want 75", res.code)
	}
	if _, _, added := f.snapshot(); len(added) != 2 || added[1].Priority != api.Foreground {
		t.Errorf("added %+v", added)
	}
	if !strings.Contains(res.log, "package PS100012 is downloading: queued") {
		t.Errorf("log does not describe the running job:\n%s", res.log)
	}
}

func TestRunWaitThenRuns(t *testing.T) {
	f := newFakeService(t)
	f.completeOnAdd = 300 * time.Millisecond
	res := runWrapper(t, f, Invocation{Args: args([]string{"--wait", "2m"}, helperCommand(t, 7))})
	if res.code != 7 {
		t.Fatalf("exit code %d, want 7; stderr:\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stdout, "PS100012: queued") || !strings.Contains(res.stdout, "PS100012: transferred, 100.0%") {
		t.Errorf("no progress on stdout:\n%s", res.stdout)
	}
	res.report(t)
}

func TestRunWaitTimesOut(t *testing.T) {
	f := newFakeService(t)
	res := runWrapper(t, f, Invocation{Args: args([]string{"--wait=300ms"}, helperCommand(t, 0))})
	if res.code != DefaultRetryCode {
		t.Fatalf("exit code %d, want the retry code", res.code)
	}
	if !strings.Contains(res.log, "still not complete after waiting 300ms") {
		t.Errorf("log:\n%s", res.log)
	}
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeService) // nil: no changes
		inv   func(t *testing.T, f *fakeService) Invocation
		want  Failure
		retry bool // mapped to the retry code
	}{
		{name: "service down", want: FailServiceDown, inv: func(t *testing.T, f *fakeService) Invocation {
			return Invocation{Args: args([]string{"--data-dir", t.TempDir(), "--log", f.logDir}, helperCommand(t, 0)), Client: &api.Client{DataDir: t.TempDir()}}
		}},
		{name: "service down mapped to retry", want: FailServiceDown, retry: true, inv: func(t *testing.T, f *fakeService) Invocation {
			return Invocation{Args: args([]string{"--map-errors-to-retry=service-down,repository", "--log", f.logDir}, helperCommand(t, 0)), Client: &api.Client{DataDir: t.TempDir()}}
		}},
		{name: "wrong token", want: FailAccessDenied, inv: func(t *testing.T, f *fakeService) Invocation {
			return Invocation{Args: args([]string{"--log", f.logDir}, helperCommand(t, 0)), Client: &api.Client{BaseURL: f.srv.URL, ServiceKey: f.pub, Token: "wrong"}}
		}},
		{name: "read-only token", want: FailAccessDenied, setup: func(f *fakeService) { f.access = api.AccessRead }},
		{name: "signature refused", want: FailSignature, setup: func(f *fakeService) {
			f.addErr = api.Errorf(http.StatusBadRequest, api.CodeSignature, "torrent is signed by a key that is not trusted")
		}},
		{name: "signature mapped to retry", want: FailSignature, retry: true, setup: func(f *fakeService) {
			f.addErr = api.Errorf(http.StatusBadRequest, api.CodeSignature, "torrent is not signed")
		}, inv: func(t *testing.T, f *fakeService) Invocation {
			return Invocation{Args: args([]string{"--map-errors-to-retry", "all"}, helperCommand(t, 0))}
		}},
		{name: "repository unreachable", want: FailRepository, setup: func(f *fakeService) {
			f.addErr = api.Errorf(http.StatusBadGateway, api.CodeRepository, "dial tcp 10.0.0.1:8080: connection refused")
		}},
		{name: "repository still unreachable on a later run", want: FailRepository, setup: func(f *fakeService) {
			f.setJob(api.Job{ID: "PS100012", State: api.StateTransientError, Error: "repository http://repo unreachable", ErrorCode: api.ErrorRepository})
		}},
		{name: "unknown package", want: FailUnknownPackage, setup: func(f *fakeService) {
			f.addErr = api.Errorf(http.StatusNotFound, api.CodeNotFound, "the repository has no package PS100012")
		}},
		{name: "download in error", want: FailDownload, setup: func(f *fakeService) {
			f.setJob(api.Job{ID: "PS100012", State: api.StateError, Error: "disk full: free 2 GB on C:"})
		}},
		{name: "service error", want: FailServiceError, setup: func(f *fakeService) {
			f.addErr = api.Errorf(http.StatusInternalServerError, api.CodeInternal, "boom")
		}},
		{name: "command not found", want: FailCommand, setup: func(f *fakeService) {
			f.setJob(api.Job{ID: "PS100012", State: api.StateTransferred})
		}, inv: func(t *testing.T, f *fakeService) Invocation {
			return Invocation{Args: args([]string{"no-such-command-p2pw", "/x"})}
		}},
		{name: "no command", want: FailUsage, inv: func(t *testing.T, f *fakeService) Invocation {
			return Invocation{Args: args([]string{"--log", f.logDir, "--package", "PS100012"})}
		}},
		{name: "no package ID in directory", want: FailUsage, inv: func(t *testing.T, f *fakeService) Invocation {
			return Invocation{Args: args([]string{"--log", f.logDir}, helperCommand(t, 0)), Dir: `C:\Windows\ccmcache\1a`}
		}},
		{name: "unknown flag", want: FailUsage, inv: func(t *testing.T, f *fakeService) Invocation {
			return Invocation{Args: args([]string{"--log", f.logDir, "--bogus"}, helperCommand(t, 0))}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeService(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			inv := Invocation{Args: args(helperCommand(t, 0))}
			if tt.inv != nil {
				inv = tt.inv(t, f)
			}
			res := runWrapper(t, f, inv)
			want := tt.want.Code
			if tt.retry {
				want = DefaultRetryCode
			}
			if res.code != want {
				t.Fatalf("exit code %d, want %d (%s); stderr:\n%s", res.code, want, tt.want.Name, res.stderr)
			}
			if strings.Contains(res.stdout, "{") {
				t.Error("the command ran")
			}
			var errLines []string
			for _, l := range strings.Split(strings.TrimSpace(res.stderr), "\n") {
				if strings.HasPrefix(l, "P2PWrapper: error: ") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || !strings.Contains(errLines[0], "["+tt.want.Name+";") {
				t.Errorf("want one error line naming %s on stderr, got:\n%s", tt.want.Name, res.stderr)
			}
			if !strings.Contains(res.log, `type="3"`) || !strings.Contains(res.log, fmt.Sprintf("[%s; exit code %d", tt.want.Name, want)) {
				t.Errorf("log lacks the error entry:\n%s", res.log)
			}
		})
	}
}

func TestRunJobInErrorIsRetried(t *testing.T) {
	f := newFakeService(t)
	f.setJob(api.Job{ID: "PS100012", State: api.StateError, Error: "disk full"})
	res := runWrapper(t, f, Invocation{Args: args(helperCommand(t, 0))})
	if res.code != FailDownload.Code {
		t.Fatalf("exit code %d", res.code)
	}
	if _, resumed, _ := f.snapshot(); !slices.Equal(resumed, []string{"PS100012"}) {
		t.Errorf("resumed %q: the service was not asked to retry", resumed)
	}
}

func TestRunHelpAndVersion(t *testing.T) {
	res := runWrapper(t, nil, Invocation{Args: []string{"P2PWrapper", "--help"}})
	if res.code != 0 || !strings.Contains(res.stdout, "Usage: P2PWrapper") {
		t.Errorf("help: %d %q", res.code, res.stdout)
	}
	res = runWrapper(t, nil, Invocation{Args: []string{"P2PWrapper", "--version"}})
	if res.code != 0 || !strings.HasPrefix(res.stdout, "P2PWrapper ") {
		t.Errorf("version: %d %q", res.code, res.stdout)
	}
}

func TestRunRefusesModifiedPackage(t *testing.T) {
	f := newFakeService(t)
	f.setJob(api.Job{ID: "PS100012", State: api.StateTransferred})
	f.verifyErr = api.Errorf(http.StatusConflict, api.CodeIntegrity, "file version.dll is not part of the package")
	res := runWrapper(t, f, Invocation{Args: args([]string{"--log", f.logDir}, helperCommand(t, 0))})
	if res.code != FailModified.Code || strings.Contains(res.stdout, "{") {
		t.Fatalf("exit code %d (want %d), stdout %q", res.code, FailModified.Code, res.stdout)
	}
	if !strings.Contains(res.stderr, "version.dll") {
		t.Errorf("stderr %q", res.stderr)
	}
}

func TestRunRefusesFolderOutsideCache(t *testing.T) {
	f := newFakeService(t)
	outside := t.TempDir()
	f.setJob(api.Job{ID: "PS100012", State: api.StateTransferred, Path: outside})
	res := runWrapper(t, f, Invocation{Args: args([]string{"--log", f.logDir}, helperCommand(t, 0))})
	if res.code != FailModified.Code || strings.Contains(res.stdout, "{") {
		t.Fatalf("exit code %d (want %d), stdout %q; stderr %s", res.code, FailModified.Code, res.stdout, res.stderr)
	}
	if len(f.verified) != 0 {
		t.Error("verified a folder outside the cache instead of refusing it")
	}
}

func TestResolveCommand(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "setup")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := resolveCommand("setup", dir); err != nil || got != exe {
		t.Errorf("package file: %q %v", got, err)
	}
	if got, err := resolveCommand("./setup", dir); err != nil || got != exe {
		t.Errorf("relative path: %q %v", got, err)
	}
	if runtime.GOOS != "windows" {
		// A program a user planted in a folder on PATH is never found.
		planted := t.TempDir()
		if err := os.WriteFile(filepath.Join(planted, "sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", planted+string(filepath.ListSeparator)+os.Getenv("PATH"))
		got, err := resolveCommand("sh", dir)
		if err != nil || !slices.Contains(systemDirs(), filepath.Dir(got)) {
			t.Errorf("system folder: %q %v", got, err)
		}
		if _, err := resolveCommand("p2pw-only-on-path", dir); err == nil {
			t.Error("found a command outside the package and the system folders")
		}
	}
	for _, bad := range []string{"../setup", "data/../../setup"} {
		if _, err := resolveCommand(bad, dir); err == nil || !strings.Contains(err.Error(), "leaves the package folder") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, err := resolveCommand("no-such-command-p2pw", dir); err == nil {
		t.Error("found a missing command")
	}
}
