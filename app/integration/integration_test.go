package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/app/tray"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

// follower applies a client's event stream to a viewmodel.Store on the test
// goroutine, the way the window does on the Fyne thread.
type follower struct {
	t      *testing.T
	events chan api.Event
	store  *viewmodel.Store
}

func follow(t *testing.T, c *api.Client) *follower {
	f := &follower{t: t, events: make(chan api.Event, 256), store: viewmodel.NewStore(time.Minute)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Watch(ctx, func(ev api.Event) {
			select {
			case f.events <- ev:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// until applies events until cond holds.
func (f *follower) until(what string, timeout time.Duration, cond func(s *viewmodel.Store) bool) {
	f.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond(f.store) {
		select {
		case ev := <-f.events:
			f.store.Apply(ev)
		case <-deadline.C:
			f.t.Fatalf("timed out after %v waiting for %s (connected %v, last error %q, jobs %d)",
				timeout, what, f.store.Connected, f.store.LastError, len(f.store.Jobs()))
		}
	}
}

type host struct {
	mu   sync.Mutex
	last tray.View
	seen map[tray.State]bool
	ch   chan struct{}
}

func (h *host) Show(v tray.View) {
	h.mu.Lock()
	h.last = v
	h.seen[v.State] = true
	h.mu.Unlock()
	select {
	case h.ch <- struct{}{}:
	default:
	}
}

// wait waits until the tray shows a view that satisfies cond.
func (h *host) wait(t *testing.T, what string, cond func(tray.View) bool) tray.View {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		v := h.last
		h.mu.Unlock()
		if cond(v) {
			return v
		}
		select {
		case <-h.ch:
		case <-deadline.C:
			t.Fatalf("tray never showed %s; last view: %v %q", what, v.State, v.Tooltip)
		}
	}
}

type launcher struct{}

func (launcher) Open(string) error { return nil }

func TestDesktopAgainstRealService(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real services")
	}
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"setup.msi": 3 << 20, "data/cab1.cab": 1 << 20})
	pkg := testbed.MakePackage(t, key, "PS100012", "16.0", src, tr.Announce, 64<<10)
	tr.Publish(pkg)
	testbed.StartOrigin(t, key, tr, pkg)

	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	branch := testbed.StartService(t, cfg, svc.Options{})

	// Both programs find the service only through its data folder.
	client := &api.Client{DataDir: cfg.DataDir}
	f := follow(t, client)
	f.until("the first snapshot", 30*time.Second, func(s *viewmodel.Store) bool { return s.Connected && s.Status != nil })
	if !f.store.CanControl() {
		t.Fatalf("the control token in %s was not used: access %q", cfg.DataDir, f.store.Status.Access)
	}

	h := &host{seen: map[tray.State]bool{}, ch: make(chan struct{}, 1)}
	clicks := make(chan tray.Click)
	ctl := &tray.Controller{Backend: &api.Client{DataDir: cfg.DataDir}, Host: h, Launcher: launcher{},
		Logf: t.Logf}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- ctl.Run(ctx, clicks) }()
	t.Cleanup(func() { cancel(); <-runDone })
	h.wait(t, "idle", func(v tray.View) bool { return v.State == tray.Idle && v.Menu.PauseAll.Visible })

	// A download: the tray goes to seeding, the window's rows follow it.
	if _, err := client.Add(context.Background(), api.AddRequest{PackageID: pkg.ID, Priority: api.High}); err != nil {
		t.Fatalf("add: %v", err)
	}
	f.until("the package transferred", 90*time.Second, func(s *viewmodel.Store) bool {
		j, ok := s.Job(pkg.ID)
		return ok && j.State == api.StateTransferred
	})
	j, _ := f.store.Job(pkg.ID)
	if r := viewmodel.NewSeedRow(j, time.Now()); r.Size != "4 MiB" || r.Title != "PS100012 16.0" {
		t.Errorf("seed row %+v", r)
	}
	// Everything came from the origin: the window's and the tray's texts say so.
	if j.Sources == nil || j.Sources.Origin <= 0 || viewmodel.SourceShare(j) != "all from the server" {
		t.Errorf("sources %+v: %q", j.Sources, viewmodel.SourceShare(j))
	}
	if len(f.store.Seeding()) != 1 || len(f.store.Downloads()) != 0 {
		t.Errorf("seeding %d, downloads %d", len(f.store.Seeding()), len(f.store.Downloads()))
	}
	h.wait(t, "seeding", func(v tray.View) bool { return v.State == tray.Seeding })

	// The helpdesk throttle from the tray reaches the service and comes back
	// through the event stream.
	clicks <- tray.Click{Action: tray.ActPreset, Preset: 2}
	f.until("the throttle in a status event", 30*time.Second, func(s *viewmodel.Store) bool {
		return s.Status.Bandwidth.Override && s.Status.Bandwidth.EffectiveDown == viewmodel.Presets[2].Request.Down
	})
	h.wait(t, "Clear throttle enabled", func(v tray.View) bool { return v.Menu.Clear.Enabled })
	clicks <- tray.Click{Action: tray.ActClear}
	f.until("the throttle cleared", 30*time.Second, func(s *viewmodel.Store) bool { return !s.Status.Bandwidth.Override })

	// A user who can read only the read token sees no controls, and the
	// service refuses control calls.
	ro := &api.Client{DataDir: cfg.DataDir, Token: branch.ReadToken}
	rf := follow(t, ro)
	rf.until("a read-only snapshot", 30*time.Second, func(s *viewmodel.Store) bool { return s.Connected && s.Status != nil })
	if rf.store.CanControl() {
		t.Error("the read token allows control")
	}
	if v := tray.Compute(rf.store, time.Now()); v.Menu.PauseAll.Visible || v.Menu.Throttle.Visible || !v.Menu.Notice.Visible {
		t.Errorf("read-only tray menu %+v", v.Menu)
	}
	if _, err := ro.Throttle(context.Background(), api.ThrottleRequest{Down: 1 << 20}); !api.IsForbidden(err) {
		t.Errorf("throttle with the read token: %v, want forbidden", err)
	}

	// The service stops: both say so; it starts again: both reconnect by
	// themselves, and the package is still there.
	if err := branch.Stop(); err != nil {
		t.Fatalf("stopping the service: %v", err)
	}
	f.until("the disconnect", 30*time.Second, func(s *viewmodel.Store) bool { return !s.Connected })
	h.wait(t, "service not running", func(v tray.View) bool { return v.State == tray.Offline && v.Menu.Notice.Visible })
	testbed.StartService(t, cfg, svc.Options{})
	f.until("the reconnect", 60*time.Second, func(s *viewmodel.Store) bool { return s.Connected && s.Reconnects == 1 })
	if j, ok := f.store.Job(pkg.ID); !ok || j.State != api.StateTransferred {
		t.Errorf("after the restart the package is %+v", j)
	}
	h.wait(t, "seeding again", func(v tray.View) bool { return v.State == tray.Seeding })
}
