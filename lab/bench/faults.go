package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Faults are injected while a system distributes, to show that it
// recovers by itself: the first branch's WAN link goes down and comes back,
// and the tracker is restarted (with its memory of peers lost).
type Faults struct {
	// WANDownAt is when, after the start, branch b1's WAN link goes down;
	// WANDownFor how long it stays down. Zero WANDownFor: no link fault.
	WANDownAt, WANDownFor time.Duration
	// TrackerRestartAt is when, after the start, the tracker is restarted
	// (stopped and started again at once). Zero: no restart.
	TrackerRestartAt time.Duration
}

// restarter is a system whose tracker the faults can restart.
type restarter interface {
	restartTracker(ctx context.Context, e *env) error
}

// injectFaults runs the faults from t0 on; the returned function waits for
// them and returns what happened, or the first error.
func injectFaults(ctx context.Context, e *env, sys system, f *Faults, t0 time.Time) func() ([]string, error) {
	var (
		mu    sync.Mutex
		notes []string
		errs  []error
		wg    sync.WaitGroup
	)
	note := func(format string, args ...any) {
		mu.Lock()
		notes = append(notes, fmt.Sprintf("%.1f s: ", time.Since(t0).Seconds())+fmt.Sprintf(format, args...))
		mu.Unlock()
		e.log.Info("fault", "what", fmt.Sprintf(format, args...))
	}
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	wait := func(at time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Until(t0.Add(at))):
			return true
		}
	}
	if f.WANDownFor > 0 && len(e.lab.Branches) > 0 {
		b := e.lab.Branches[0]
		wg.Go(func() {
			if !wait(f.WANDownAt) {
				return
			}
			if err := e.lab.SetWAN(ctx, b, false); err != nil {
				fail(fmt.Errorf("taking %s's WAN down: %w", b.Name, err))
				return
			}
			note("%s WAN link down", b.Name)
			// Always bring it back, even if the run was cancelled meanwhile.
			select {
			case <-ctx.Done():
			case <-time.After(f.WANDownFor):
			}
			if err := e.lab.SetWAN(context.Background(), b, true); err != nil {
				fail(fmt.Errorf("bringing %s's WAN up: %w", b.Name, err))
				return
			}
			note("%s WAN link up", b.Name)
		})
	}
	if f.TrackerRestartAt > 0 {
		r, ok := sys.(restarter)
		if !ok {
			fail(fmt.Errorf("this system cannot restart its tracker"))
		} else {
			wg.Go(func() {
				if !wait(f.TrackerRestartAt) {
					return
				}
				if err := r.restartTracker(ctx, e); err != nil {
					fail(fmt.Errorf("restarting the tracker: %w", err))
					return
				}
				note("tracker restarted")
			})
		}
	}
	return func() ([]string, error) {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(errs) > 0 {
			return notes, errs[0]
		}
		return notes, nil
	}
}
