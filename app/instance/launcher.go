package instance

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// Launcher opens the window for the tray: it asks a running window to show
// itself, or starts the window process if none runs. It never has more than
// one child starting at a time, so double clicks do not start two windows
// (and the lock in Acquire covers windows started some other way).
type Launcher struct {
	Dir, Name string
	// Command makes the window process's command for a page ("" or "about").
	Command func(page string) *exec.Cmd

	mu    sync.Mutex
	child *exec.Cmd
	wg    sync.WaitGroup
}

// Open shows the window at page.
func (l *Launcher) Open(page string) error {
	msg := strings.TrimSpace("show " + page)
	if Send(l.Dir, l.Name, msg) == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.child != nil {
		// Our window process is starting (or lost its lock file): try once
		// more, else leave it be rather than start a second.
		_ = Send(l.Dir, l.Name, msg)
		return nil
	}
	cmd := l.Command(page)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	l.child = cmd
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		_ = cmd.Wait()
		l.mu.Lock()
		l.child = nil
		l.mu.Unlock()
	}()
	return nil
}

// Wait waits for the window process the launcher started, if any, to end.
func (l *Launcher) Wait() { l.wg.Wait() }
