package instance

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAcquireIsExclusive(t *testing.T) {
	dir := t.TempDir()
	a, err := Acquire(dir, "w")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir, "w"); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Acquire: %v, want ErrRunning", err)
	}
	other, err := Acquire(dir, "other")
	if err != nil {
		t.Fatalf("another name: %v", err)
	}
	other.Close()

	if err := Send(dir, "w", "show bandwidth"); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-a.Messages():
		if msg != "show bandwidth" {
			t.Errorf("got %q", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
	}
	a.Close()
	if _, ok := <-a.Messages(); ok {
		t.Error("Messages not closed by Close")
	}
	if err := Send(dir, "w", "show"); err == nil {
		t.Error("Send succeeded with no instance")
	}
	b, err := Acquire(dir, "w")
	if err != nil {
		t.Fatalf("Acquire after Close: %v", err)
	}
	b.Close()
}

func TestSendNeedsToken(t *testing.T) {
	dir := t.TempDir()
	a, err := Acquire(dir, "w")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	addr := filepath.Join(dir, "w.addr")
	b, err := os.ReadFile(addr)
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if err := os.WriteFile(addr, []byte(host+" wrongtoken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Send(dir, "w", "show"); err == nil {
		t.Error("a message with a wrong token was accepted")
	}
}

// TestHelperWindow is not a test: the launcher test runs the test binary
// as a stand-in window process (SMSTORRENT_HELPER_DIR set).
func TestHelperWindow(t *testing.T) {
	dir := os.Getenv("SMSTORRENT_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	page := os.Getenv("SMSTORRENT_HELPER_PAGE")
	in, err := Acquire(dir, "window")
	if errors.Is(err, ErrRunning) {
		if err := Send(dir, "window", strings.TrimSpace("show "+page)); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	logf := func(s string) {
		f, err := os.OpenFile(filepath.Join(dir, "log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(f, s)
		f.Close()
	}
	logf(fmt.Sprintf("started %d %s", os.Getpid(), page))
	for msg := range in.Messages() {
		logf(msg)
		if msg == "show quit" {
			return
		}
	}
}

func helperCommand(t *testing.T, dir string) func(page string) *exec.Cmd {
	return func(page string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWindow$")
		cmd.Env = append(os.Environ(), "SMSTORRENT_HELPER_DIR="+dir, "SMSTORRENT_HELPER_PAGE="+page)
		return cmd
	}
}

func waitForLog(t *testing.T, dir string, pred func(lines []string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "log"))
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if pred(lines) {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("log never matched; it is:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond) // polling a file written by another process
	}
}

func count(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func TestLauncherStartsOneWindow(t *testing.T) {
	dir := t.TempDir()
	l := &Launcher{Dir: dir, Name: "window", Command: helperCommand(t, dir)}
	t.Cleanup(func() {
		_ = Send(dir, "window", "show quit")
		l.Wait()
	})

	// A burst of clicks while nothing runs: one process starts.
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Open(""); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	waitForLog(t, dir, func(ls []string) bool { return count(ls, "started") == 1 })

	// Once it runs, Open asks it to show itself.
	if err := l.Open("about"); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, dir, func(ls []string) bool { return count(ls, "show about") == 1 })

	// A window started some other way (by hand) hands over and exits.
	other := helperCommand(t, dir)("diagnostics")
	if out, err := other.CombinedOutput(); err != nil {
		t.Fatalf("second window: %v\n%s", err, out)
	}
	lines := waitForLog(t, dir, func(ls []string) bool { return count(ls, "show diagnostics") == 1 })
	if n := count(lines, "started"); n != 1 {
		t.Errorf("%d window processes started:\n%s", n, strings.Join(lines, "\n"))
	}

	// After the window closes, the next Open starts a new one.
	if err := Send(dir, "window", "show quit"); err != nil {
		t.Fatal(err)
	}
	l.Wait()
	if err := l.Open(""); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, dir, func(ls []string) bool { return count(ls, "started") == 2 })
}
