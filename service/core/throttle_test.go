package core_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
)

// rateOver measures a job's download rate over a window from its progress.
func rateOver(t *testing.T, c *api.Client, id string, window time.Duration) float64 {
	t.Helper()
	ctx := context.Background()
	a, err := c.Job(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(window) // a measurement window, not synchronisation
	b, err := c.Job(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return float64(b.BytesDone-a.BytesDone) / time.Since(t0).Seconds() // live, unlike the counters written every few seconds
}

// Changing the throttle at run time changes the measured download rate
// within a second or two, without a restart: over TCP, and over uTP (the
// transport to servers), where a throttled reader must not stall the
// connection (see utpTransport.pokeLoop).
func TestThrottleAtRunTime(t *testing.T) {
	for _, transport := range []string{"tcp", "utp"} {
		t.Run(transport, func(t *testing.T) { testThrottleAtRunTime(t, transport) })
	}
}

func testThrottleAtRunTime(t *testing.T, transport string) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	pkg := testbed.Published(t, key, tr, "THROTTLE", map[string]int{"big.bin": 40 << 20}, 256<<10)
	// The origin speaks only this transport; the client both (and picks
	// uTP for a server).
	testbed.StartOrigin(t, key, tr, pkg, func(c *config.Config) { c.Transports = []string{transport} })
	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	cfg.Transports = []string{"tcp", "utp"}
	cfg.LimitDown = 512 << 10
	in := testbed.StartService(t, cfg, svc.Options{})
	c := in.Client(true)
	ctx := context.Background()
	if _, err := c.Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil {
		t.Fatal(err)
	}
	testbed.WaitJob(t, c, pkg.ID, time.Minute, "transfer started", func(j *api.Job) bool { return j.Downloaded > 0 })
	slow := rateOver(t, c, pkg.ID, 3*time.Second)
	if _, err := c.Throttle(ctx, api.ThrottleRequest{Down: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let the new limit settle before measuring
	fast := rateOver(t, c, pkg.ID, 3*time.Second)
	t.Logf("limit 512 KiB/s: measured %.0f KiB/s; limit 4 MiB/s: measured %.0f KiB/s", slow/1024, fast/1024)
	if slow > 1.5*512*1024 {
		t.Errorf("rate %.0f B/s is well above the 512 KiB/s limit", slow)
	}
	if fast < 2*slow {
		t.Errorf("raising the limit 8x changed the rate only from %.0f to %.0f B/s", slow, fast)
	}
	st, _ := c.Status(ctx)
	if st.Bandwidth.Reason != "override" || st.Bandwidth.EffectiveDown != 4<<20 {
		t.Errorf("bandwidth after throttle: %+v", st.Bandwidth)
	}
	if _, err := c.Throttle(ctx, api.ThrottleRequest{Clear: true}); err != nil {
		t.Fatal(err)
	}
	st, _ = c.Status(ctx)
	if st.Bandwidth.Reason != "limit" || st.Bandwidth.EffectiveDown != 512<<10 {
		t.Errorf("bandwidth after clearing: %+v", st.Bandwidth)
	}
}

// With the repository unreachable, adding by package ID creates a job in
// TransientError that retries with backoff and completes once the
// repository answers.
func TestRepositoryDownIsTransient(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	pkg := testbed.Published(t, key, tr, "FLAKY", map[string]int{"a.bin": 512 << 10}, 0)
	testbed.StartOrigin(t, key, tr, pkg)
	var up atomic.Bool
	var calls atomic.Int32
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !up.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Write(pkg.Torrent)
	}))
	defer repo.Close()
	cfg := testbed.Config(t, key, repo.URL, "127.0.0.1")
	in := testbed.StartService(t, cfg, svc.Options{})
	c := in.Client(true)
	j, err := c.Add(context.Background(), api.AddRequest{PackageID: pkg.ID})
	if !api.IsRepository(err) {
		t.Fatalf("add with the repository down: %v, want a repository error", err)
	}
	_ = j
	testbed.WaitJob(t, c, pkg.ID, 30*time.Second, "a retry", func(j *api.Job) bool {
		return j.State == api.StateTransientError && j.Error != "" && calls.Load() >= 2
	})
	up.Store(true)
	testbed.WaitJob(t, c, pkg.ID, time.Minute, "transferred after the repository came back", func(j *api.Job) bool { return j.State == api.StateTransferred })
}

// An unknown package gets a clear not-found error and leaves no job behind.
func TestUnknownPackage(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	c := testbed.StartService(t, cfg, svc.Options{}).Client(true)
	_, err := c.Add(context.Background(), api.AddRequest{PackageID: "NOPE0001"})
	if !api.IsNotFound(err) {
		t.Fatalf("err = %v, want not found", err)
	}
	if js, _ := c.Jobs(context.Background()); len(js) != 0 {
		t.Fatalf("jobs: %v", js)
	}
}
