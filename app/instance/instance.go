// Package instance keeps one SMSTorrent window per user session: the first
// window process takes a lock file in the user's runtime folder and listens
// on a loopback port for "show" requests; later launches (from the tray or by
// hand) deliver their request to it and exit. Launcher is the tray's side:
// it raises the running window or starts a new process.
package instance

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// ErrRunning is returned by Acquire when another process holds the instance.
var ErrRunning = errors.New("another instance is running")

// Dir is the per-user folder for lock and address files:
// $XDG_RUNTIME_DIR/smstorrent on Linux when set, else the user's cache
// folder (%LocalAppData% on Windows) + "SMSTorrent".
func Dir() (string, error) {
	if runtime.GOOS != "windows" {
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
			return filepath.Join(d, "smstorrent"), nil
		}
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user's folder for the single-instance lock: %w", err)
	}
	return filepath.Join(d, "SMSTorrent"), nil
}

// Instance is the running single instance.
type Instance struct {
	lock  *os.File
	ln    net.Listener
	token string
	msgs  chan string
	addr  string
	once  sync.Once
	done  chan struct{}
}

// Acquire makes this process the instance called name, or returns
// ErrRunning. The lock is released by Close or when the process ends.
func Acquire(dir, name string) (*Instance, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the instance lock: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, ErrRunning
		}
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("listening for show requests: %w", err)
	}
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	in := &Instance{lock: f, ln: ln, token: hex.EncodeToString(tok[:]), msgs: make(chan string, 8),
		addr: filepath.Join(dir, name+".addr"), done: make(chan struct{})}
	tmp := in.addr + ".tmp"
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()+" "+in.token+"\n"), 0o600); err != nil {
		in.Close()
		return nil, fmt.Errorf("writing the instance address: %w", err)
	}
	if err := os.Rename(tmp, in.addr); err != nil {
		in.Close()
		return nil, fmt.Errorf("writing the instance address: %w", err)
	}
	go in.serve()
	return in, nil
}

// Messages delivers the requests of later launches ("show", "show about").
// It is closed by Close.
func (in *Instance) Messages() <-chan string { return in.msgs }

// Close releases the instance.
func (in *Instance) Close() error {
	in.once.Do(func() {
		close(in.done)
		in.ln.Close()
		os.Remove(in.addr)
		unlockFile(in.lock)
		in.lock.Close()
	})
	return nil
}

func (in *Instance) serve() {
	defer close(in.msgs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := in.ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return
			}
			tok, msg, _ := strings.Cut(strings.TrimSpace(line), " ")
			if subtle.ConstantTimeCompare([]byte(tok), []byte(in.token)) != 1 {
				return
			}
			select {
			case in.msgs <- msg:
				_, _ = c.Write([]byte("ok\n"))
			case <-in.done:
			}
		}()
	}
}

// Send delivers msg to the running instance called name. It fails if none
// runs.
func Send(dir, name, msg string) error {
	b, err := os.ReadFile(filepath.Join(dir, name+".addr"))
	if err != nil {
		return fmt.Errorf("no running instance: %w", err)
	}
	addr, tok, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !ok {
		return errors.New("no running instance: malformed address file")
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return fmt.Errorf("no running instance: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%s %s\n", tok, strings.ReplaceAll(msg, "\n", " ")); err != nil {
		return fmt.Errorf("sending to the running instance: %w", err)
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || strings.TrimSpace(reply) != "ok" {
		return fmt.Errorf("the running instance did not answer: %v", err)
	}
	return nil
}
