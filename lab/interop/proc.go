package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// proc is a third-party daemon the matrix runs, its output in a log file.
type proc struct {
	cmd     *exec.Cmd
	logPath string
	logf    *os.File
	done    chan struct{}
}

// startProc starts path with args in dir (""; the current folder), adding
// env to the environment, its output going to logPath.
func startProc(path, logPath, dir string, env []string, args ...string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &proc{cmd: exec.Command(path, args...), logPath: logPath, logf: logf, done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// waitReady polls ready until it succeeds; it stops the process and fails
// if the process exits (with its output) or timeout passes.
func (p *proc) waitReady(what string, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			p.stop()
			b, _ := os.ReadFile(p.logPath)
			return fmt.Errorf("%s exited: %s", what, b)
		case <-ctx.Done():
			p.stop()
			return fmt.Errorf("%s did not answer within %v: %w", what, timeout, err)
		case <-time.After(100 * time.Millisecond): // polling interval
		}
	}
}

// stop kills the process and waits for it.
func (p *proc) stop() {
	if p == nil {
		return
	}
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.logf.Close()
}

// state says whether the process still runs, with the end of its output,
// for a test that timed out waiting on it.
func (p *proc) state() string {
	s := "running"
	select {
	case <-p.done:
		s = "exited: " + p.cmd.ProcessState.String()
	default:
	}
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return s + "; its log: " + err.Error()
	}
	const tail = 4 << 10
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	return fmt.Sprintf("%s; its output: %q", s, b)
}
