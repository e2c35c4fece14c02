package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

// A tracker outage shows as transient_error with the reason and the status
// says the tracker is unreachable; when the tracker comes back (restarted,
// with its peers forgotten) the job finds the origin again by itself and
// completes. Then the origin goes away: a second PC of the site still gets
// the package from the first.
func TestTrackerOutageIsTransientAndRecovers(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	pkg := testbed.Published(t, key, tr, "OUTAGE", map[string]int{"setup.msi": 3 << 20, "data/x.cab": 100 << 10}, 64<<10)
	origin := testbed.StartOrigin(t, key, tr, pkg)

	if err := tr.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	leech := testbed.StartService(t, cfg, svc.Options{})
	c := leech.Client(true)
	ctx := context.Background()
	if _, err := c.Add(ctx, api.AddRequest{Torrent: pkg.Torrent, Assign: true}); err != nil {
		t.Fatal(err)
	}
	j := testbed.WaitJob(t, c, pkg.ID, time.Minute, "transient error for the tracker", func(j *api.Job) bool {
		return j.State == api.StateTransientError
	})
	if j.ErrorCode != api.ErrorTracker || !strings.Contains(j.Error, "unreachable") {
		t.Errorf("transient error %q (code %q), want the tracker's reason", j.Error, j.ErrorCode)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Tracker.Reachable || st.Tracker.Error == "" {
		t.Errorf("status during the outage: tracker %+v", st.Tracker)
	}

	back := time.Now()
	tr.Start()
	testbed.WaitJob(t, c, pkg.ID, 4*time.Minute, "transferred after the tracker's return", func(j *api.Job) bool {
		return j.State == api.StateTransferred
	})
	t.Logf("complete %v after the tracker came back (the engine alone re-announces after a minute; the service's own announce comes within 2-4 s)", time.Since(back).Round(time.Second))
	if err := testbed.SameTree(pkg.Dir, j.Path); err != nil {
		t.Fatal(err)
	}
	if st, err = c.Status(ctx); err != nil || !st.Tracker.Reachable {
		t.Errorf("status after the return: tracker %+v %v", st.Tracker, err)
	}

	// The origin goes away; the site keeps its copy going.
	if err := origin.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg2 := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	second := testbed.StartService(t, cfg2, svc.Options{})
	c2 := second.Client(true)
	if _, err := c2.Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil {
		t.Fatal(err)
	}
	j2 := testbed.WaitJob(t, c2, pkg.ID, 4*time.Minute, "transferred from the site while the origin is down", func(j *api.Job) bool {
		return j.State == api.StateTransferred
	})
	if err := testbed.SameTree(pkg.Dir, j2.Path); err != nil {
		t.Fatal(err)
	}
	if j2.DownloadedServer != 0 {
		t.Errorf("%d bytes came from a server while the origin was down", j2.DownloadedServer)
	}
}
