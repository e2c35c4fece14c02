//go:build !windows

package wrapper

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/service/localapi"
)

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
