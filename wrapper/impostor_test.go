//go:build !windows

package wrapper

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/localapi"
)

// The escalation of issue 12 item 1: the service crashed (or was killed),
// leaving api/address behind; a normal local user binds that port with a
// program of their own and waits for the wrapper, which runs as root.
// The impostor is a real second process (this test binary started with
// -impostor), running as nobody when the test runs as root.

// runImpostor is the impostor's main: it serves a fake local API on the
// address in <dataDir>/api/address, writes every token it receives to
// <loot>/stolen, and says every package is complete in <loot>/pkg.
func runImpostor(dataDir, loot string) {
	b, err := os.ReadFile(filepath.Join(dataDir, api.AddressFile))
	if err != nil {
		os.Exit(3)
	}
	addr := strings.Fields(string(b))[0]
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		os.Exit(4)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.Header.Get(api.HeaderToken); tok != "" {
			f, err := os.OpenFile(filepath.Join(loot, "stolen"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o666)
			if err == nil {
				_, _ = f.WriteString(tok + "\n")
				_ = f.Close()
			}
		}
		w.Header().Set(api.HeaderAPIVersion, api.APIVersion)
		w.Header().Set("Content-Type", "application/json")
		id := r.PathValue("id")
		switch {
		case r.URL.Path == api.PathStatus:
			_ = json.NewEncoder(w).Encode(api.Status{Access: api.AccessControl, LogDir: loot})
		case strings.HasPrefix(r.URL.Path, "/api/v1/jobs/"):
			id = strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/jobs/"), "/")[0]
			_ = json.NewEncoder(w).Encode(api.Job{ID: id, State: api.StateTransferred, Path: filepath.Join(loot, "pkg")})
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"no","code":"not_found"}`))
		}
	})
	os.Stdout.WriteString("ready\n")
	_ = http.Serve(ln, h)
}

func TestImpostorServiceGetsNothing(t *testing.T) {
	dataDir := t.TempDir()
	loot := t.TempDir()
	if err := os.Chmod(loot, 0o777); err != nil {
		t.Fatal(err)
	}
	// The state a killed service leaves: its address and tokens, nobody listening.
	ln, err := localapi.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadKey, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, control, err := localapi.Publish(dataDir, ln.Addr().String(), deadKey)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()

	// The attacker's "package": a program that proves it ran as the wrapper's user.
	pkg := filepath.Join(loot, "pkg")
	if err := os.Mkdir(pkg, 0o777); err != nil {
		t.Fatal(err)
	}
	pwned := filepath.Join(loot, "pwned")
	if err := os.WriteFile(filepath.Join(pkg, "setup"), []byte("#!/bin/sh\nid -u > "+pwned+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	exe := helperExe(t)
	if os.Geteuid() == 0 {
		exe = worldExecutableCopy(t, exe)
	}
	cmd := exec.Command(exe, "-impostor", dataDir, loot)
	if os.Geteuid() == 0 {
		// A normal user: nobody may read the data folder's public files only.
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		for _, d := range []string{dataDir, filepath.Dir(dataDir)} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = &os.PathError{Op: "impostor", Path: line, Err: os.ErrInvalid}
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("impostor did not start: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("impostor did not start within a minute")
	}

	var stdout, stderr strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := Run(ctx, Invocation{
		Args:   []string{"P2PWrapper", "--data-dir", dataDir, "--log", t.TempDir(), "--package", "PS100012", "setup"},
		Dir:    t.TempDir(),
		Stdout: &stdout, Stderr: &stderr,
	})
	t.Logf("wrapper exit code %d; stderr: %s", code, stderr.String())
	if b, err := os.ReadFile(pwned); err == nil {
		t.Errorf("the impostor's program ran as uid %s", strings.TrimSpace(string(b)))
	}
	if b, err := os.ReadFile(filepath.Join(loot, "stolen")); err == nil {
		if strings.Contains(string(b), control) {
			t.Errorf("the impostor received the control token")
		} else {
			t.Errorf("the impostor received a token: %q", b)
		}
	}
	if code == 0 {
		t.Errorf("the wrapper succeeded against an impostor")
	}
	if !strings.Contains(stderr.String(), "not the SMSTorrent service") {
		t.Errorf("the wrapper's message does not say that the server is not the service: %s", stderr.String())
	}
}

// worldExecutableCopy copies the test binary where another user may run it
// (go test builds it in a folder only its user can enter).
func worldExecutableCopy(t *testing.T, exe string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "impostor")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
