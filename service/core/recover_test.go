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

// After a tiny helpdesk throttle (2 B/s, the old "--down 2 MB/s" typo) is
// cleared, the download moves again at once: on the receiving PC (its
// reads must not sleep for the old limit's time) and on the sending PC (its
// upload must not wait on a retry timer set for the old limit). The time
// from clearing to the next MiB received is logged; the deadline is
// generous (the issue asks for 1 s).
func TestThrottleClearedRecovers(t *testing.T) {
	for _, c := range []struct{ side, transport string }{{"receiver", "tcp"}, {"sender", "tcp"}, {"receiver", "utp"}} {
		t.Run(c.side+"-"+c.transport, func(t *testing.T) { testThrottleClearedRecovers(t, c.side, c.transport) })
	}
}

func testThrottleClearedRecovers(t *testing.T, side, transport string) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	pkg := testbed.Published(t, key, tr, "RECOVER", map[string]int{"big.bin": 48 << 20}, 256<<10)
	origin := testbed.StartOrigin(t, key, tr, pkg, func(c *config.Config) { c.Transports = []string{transport} })
	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	cfg.Transports = []string{"tcp", "utp"} // uTP to the origin when it speaks it
	in := testbed.StartService(t, cfg, svc.Options{})
	c := in.Client(true)
	ctx := context.Background()
	throttled := c
	req := api.ThrottleRequest{Down: 2}
	if side == "sender" {
		throttled, req = origin.Client(true), api.ThrottleRequest{Up: 2}
	}
	if _, err := throttled.Throttle(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil {
		t.Fatal(err)
	}
	// Let the throttle bite: the engine connects and asks for pieces, and
	// nothing (or a few bytes) arrives.
	testbed.WaitJob(t, c, pkg.ID, 2*time.Minute, "connected to the origin", func(j *api.Job) bool {
		return j.Sources != nil && len(j.Sources.Peers) > 0
	})
	time.Sleep(2 * time.Second) // a window with the throttle in force, not synchronisation
	j := testbed.WaitJob(t, c, pkg.ID, 5*time.Second, "progress", func(*api.Job) bool { return true })
	before := j.BytesDone
	if before > 1<<20 {
		t.Fatalf("%d bytes arrived under a 2 B/s throttle", before)
	}
	if side == "receiver" && (j.Limit == nil || j.Limit.Reason != api.LimitThrottle) {
		t.Errorf("limit under a 2 B/s throttle: %+v, want %q", j.Limit, api.LimitThrottle)
	}
	start := time.Now()
	if _, err := throttled.Throttle(ctx, api.ThrottleRequest{Clear: true}); err != nil {
		t.Fatal(err)
	}
	for {
		j, err := c.Job(ctx, pkg.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.BytesDone >= before+1<<20 {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("%s throttle cleared: only %d more bytes after 20 s", side, j.BytesDone-before)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
	took := time.Since(start)
	t.Logf("%s throttle of 2 B/s cleared (%s): the next MiB arrived %v later", side, transport, took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("recovery took %v", took)
	}
}
