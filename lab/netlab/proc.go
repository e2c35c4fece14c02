package netlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cmd is a command to run inside one of the lab's namespaces.
type Cmd struct {
	// NS is the namespace (Host.NS, Lab.CoreNS, ...).
	NS string
	// Label names the process in logs and errors, and its log file.
	Label string
	// Path and Args are the program and its arguments.
	Path string
	Args []string
	// Dir is the working directory; Env is added to the lab's own environment.
	Dir string
	Env []string
	// Helper marks a process of the lab's own (a status watcher, a
	// one-off command) rather than of the system under test, for the CPU
	// account (see Lab.CPU).
	Helper bool
	// Stdout, when set, receives the process's standard output (the log
	// file gets only its standard error).
	Stdout io.Writer
}

// Proc is a process the lab started. The lab stops it on Close if it is
// still running.
type Proc struct {
	Label string
	// Log is the file that holds the process's stdout and stderr.
	Log string
	// Helper is Cmd.Helper.
	Helper bool
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	lab    *Lab
}

// PID is the process's id (also its process group id).
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Start starts c in its namespace with `ip netns exec`, which execs the
// program in place, so the PID is the program's own. The process leads its own
// process group and is killed with its parent (Pdeathsig).
func (l *Lab) Start(c Cmd) (*Proc, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, errors.New("netlab: lab is closed")
	}
	if c.Label == "" {
		c.Label = filepath.Base(c.Path)
	}
	logDir := filepath.Join(l.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(logDir, sanitize(c.Label)+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command("ip", append([]string{"netns", "exec", c.NS, c.Path}, c.Args...)...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdout = f
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	}
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("netlab: start %s: %w", c.Label, err)
	}
	p := &Proc{Label: c.Label, Log: logPath, Helper: c.Helper, cmd: cmd, done: make(chan struct{}), lab: l}
	l.mu.Lock()
	l.procs[cmd.Process.Pid] = p
	l.started = append(l.started, p)
	l.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		l.mu.Lock()
		delete(l.procs, cmd.Process.Pid)
		l.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait waits for the process to exit or ctx to end; in the latter case it
// stops the process and returns ctx's error.
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s: %w (log %s)", p.Label, p.err, p.Log)
		}
		return nil
	case <-ctx.Done():
		_ = p.Stop(2 * time.Second)
		return fmt.Errorf("%s: %w", p.Label, ctx.Err())
	}
}

// LogTail returns up to the last n lines of the process's log.
func (p *Proc) LogTail(n int) string {
	b, err := os.ReadFile(p.Log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Exited returns an error describing the exit when the process has ended,
// nil while it runs.
func (p *Proc) Exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v): %s", p.Label, p.err, p.LogTail(5))
	default:
		return nil
	}
}

// Running reports whether the process has not exited yet.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM to the process group, waits up to grace, then SIGKILL.
func (p *Proc) Stop(grace time.Duration) error {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("netlab: %s (pid %d) did not exit after SIGKILL", p.Label, pgid)
	}
}

// Run runs c to completion (bounded by ctx) and returns its combined output.
func (l *Lab) Run(ctx context.Context, c Cmd) ([]byte, error) {
	p, err := l.Start(c)
	if err != nil {
		return nil, err
	}
	werr := p.Wait(ctx)
	out, _ := os.ReadFile(p.Log)
	return out, werr
}

// deleteNS kills whatever still runs in the namespace (by the PIDs that
// `ip netns pids` lists) and deletes it.
func deleteNS(ctx context.Context, ns string) error {
	for range 3 {
		out, err := output(ctx, "ip", "netns", "pids", ns)
		if err != nil {
			break
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			break
		}
		for _, s := range pids {
			if pid, err := strconv.Atoi(s); err == nil && pid > 1 && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := run(ctx, "ip", "netns", "del", ns); err != nil {
		if _, serr := os.Stat(filepath.Join("/run/netns", ns)); errors.Is(serr, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

var labNS = regexp.MustCompile(`^` + Prefix + `(\d+)n\d+-[a-z0-9]+$`)

// SweepStale deletes lab namespaces (and what runs in them) whose creating
// process no longer exists: leftovers of a run that was killed outright. It
// never touches a namespace without the lab's name pattern, nor one whose
// creator is alive. It returns the names it removed.
func SweepStale(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		m := labNS.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || alive(pid) {
			continue
		}
		if err := deleteNS(ctx, e.Name()); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, e.Name())
	}
	return removed, errors.Join(errs...)
}

// ListNamespaces returns the lab namespaces that exist now whose name starts
// with run (all lab namespaces when run is "").
func ListNamespaces(run string) []string {
	ents, _ := os.ReadDir("/run/netns")
	var r []string
	for _, e := range ents {
		if labNS.MatchString(e.Name()) && (run == "" || strings.HasPrefix(e.Name(), run+"-")) {
			r = append(r, e.Name())
		}
	}
	return r
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
