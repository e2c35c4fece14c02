package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
)

// The schedule replaces the limits during its window; the helpdesk
// throttle overrides the schedule for its duration, then the schedule is
// back; outside the window the configured limits apply.
func TestScheduleAndHelpdeskOverride(t *testing.T) {
	key := testbed.NewKey(t)
	clk := newClock()
	// Monday 09:00 local time.
	clk.ns.Store(time.Date(2026, 11, 2, 9, 0, 0, 0, time.Local).UnixNano())
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	cfg.LimitDown, cfg.LimitUp = 10<<20, 0
	cfg.Schedule = []config.Window{{Name: "business hours", Days: []string{"mon-fri"}, From: "08:00", To: "18:00", LimitDown: 1 << 20, LimitUp: 256 << 10}}
	in := testbed.StartService(t, cfg, svc.Options{Now: clk.Now})
	c := in.Client(true)
	ctx := context.Background()
	check := func(what, reason string, down, up int64) {
		t.Helper()
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b := st.Bandwidth
		if b.Reason != reason || b.EffectiveDown != down || b.EffectiveUp != up {
			t.Fatalf("%s: reason %q down %d up %d, want %q %d %d (%s)", what, b.Reason, b.EffectiveDown, b.EffectiveUp, reason, down, up, b.Detail)
		}
	}
	check("monday 09:00", "schedule", 1<<20, 256<<10)
	if _, err := c.Throttle(ctx, api.ThrottleRequest{Down: 64 << 10, Up: 64 << 10, ForSeconds: 3600}); err != nil {
		t.Fatal(err)
	}
	check("helpdesk throttle", "override", 64<<10, 64<<10)
	clk.Advance(61 * time.Minute)
	waitReason(t, c, "schedule")
	check("throttle expired", "schedule", 1<<20, 256<<10)
	clk.Advance(9 * time.Hour) // 19:01
	waitReason(t, c, "limit")
	check("monday 19:01", "limit", 10<<20, 0)
	clk.Advance(5*24*time.Hour - 10*time.Hour) // Saturday 09:01
	waitReason(t, c, "limit")
	check("saturday", "limit", 10<<20, 0)
}

func waitReason(t *testing.T, c *api.Client, reason string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := c.Status(context.Background())
		if err == nil && st.Bandwidth.Reason == reason {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("bandwidth reason never became %q", reason)
}
