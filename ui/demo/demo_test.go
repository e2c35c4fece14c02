package demo

import (
	"context"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
)

func TestJobsCoverEveryState(t *testing.T) {
	seen := map[api.State]bool{}
	for _, j := range Jobs(time.Now()) {
		seen[j.State] = true
	}
	for _, s := range []api.State{api.StateQueued, api.StateConnecting, api.StateTransferring, api.StateSuspended,
		api.StateTransientError, api.StateError, api.StateTransferred} {
		if !seen[s] {
			t.Errorf("no demo job in state %s", s)
		}
	}
}

func TestBackend(t *testing.T) {
	b := &Backend{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan api.Event, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Watch(ctx, func(ev api.Event) { events <- ev })
	}()
	deadline := time.After(10 * time.Second)
	for snap := false; !snap; {
		select {
		case ev := <-events:
			snap = ev.Type == api.EventSnapshot && len(ev.Jobs) > 0 && ev.Status.Access == api.AccessControl
		case <-deadline:
			t.Fatal("no snapshot")
		}
	}
	if j, err := b.Pause(ctx, "PS100012"); err != nil || j.State != api.StateSuspended {
		t.Errorf("pause: %+v %v", j, err)
	}
	if _, err := b.Pause(ctx, "PS100012"); !api.IsConflict(err) {
		t.Errorf("second pause: %v", err)
	}
	if _, err := b.Resume(ctx, "nope"); !api.IsNotFound(err) {
		t.Errorf("resume unknown: %v", err)
	}
	if bw, err := b.Throttle(ctx, api.ThrottleRequest{Down: 1 << 20, ForSeconds: 60}); err != nil || !bw.Override {
		t.Errorf("throttle: %+v %v", bw, err)
	}
	for got := false; !got; {
		select {
		case ev := <-events:
			got = ev.Type == api.EventJob && ev.Job.ID == "PS100012" && ev.Job.State == api.StateSuspended
		case <-deadline:
			t.Fatal("the pause was not published")
		}
	}
	cancel()
	<-done

	ro := &Backend{Access: api.AccessRead}
	if err := ro.PauseAll(context.Background()); !api.IsForbidden(err) {
		t.Errorf("read-only pause all: %v", err)
	}
}
