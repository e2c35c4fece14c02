package core_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
)

// milestones is an slog.Handler that remembers when each message was
// first logged (the service's connection milestones are at debug level).
type milestones struct {
	mu    sync.Mutex
	first map[string]time.Time
	order []string
}

func (m *milestones) Enabled(context.Context, slog.Level) bool { return true }
func (m *milestones) Handle(_ context.Context, r slog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.first[r.Message]; !ok {
		m.first[r.Message] = r.Time
		m.order = append(m.order, r.Message)
	}
	return nil
}
func (m *milestones) WithAttrs([]slog.Attr) slog.Handler { return m }
func (m *milestones) WithGroup(string) slog.Handler      { return m }

// timeline lists the milestones after the first one named from, in order.
func (m *milestones) timeline(from string) (string, time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t0, ok := m.first[from]
	if !ok {
		return "no " + from, t0
	}
	var b strings.Builder
	for _, msg := range m.order {
		if at := m.first[msg]; !at.Before(t0) {
			fmt.Fprintf(&b, "\n  %+8.3fs  %s", at.Sub(t0).Seconds(), msg)
		}
	}
	return b.String(), t0
}

// TestStartFastFromSitePeers measures where the time goes between a job
// being added on a PC whose site already holds the package and its first
// byte: the torrent from the repository, the engine's add, the announce,
// the dial, the handshake and the first request (logged, not asserted:
// wall-clock figures belong in the lab).
func TestStartFastFromSitePeers(t *testing.T) {
	for _, tc := range []struct {
		name       string
		transports []string
		sitePeer   bool
		originLate bool // the origin starts after the job is added
	}{
		{"site peer, TCP", []string{"tcp"}, true, false},
		{"site peer, uTP and TCP", []string{"utp", "tcp"}, true, false},
		{"gateway to the origin, uTP and TCP", []string{"utp", "tcp"}, false, false},
		{"origin announces after the job is added", []string{"tcp"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) { startFast(t, tc.transports, tc.sitePeer, tc.originLate) })
	}
}

func startFast(t *testing.T, transports []string, sitePeer, originLate bool) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	pkg := testbed.Published(t, key, tr, "STARTFAST", map[string]int{"setup.msi": 4 << 20}, 256<<10)
	startOrigin := func() {
		testbed.StartOrigin(t, key, tr, pkg, func(c *config.Config) { c.Transports = transports })
	}
	if !originLate {
		startOrigin()
	}
	if sitePeer {
		seeded := time.Now()
		startSitePeer(t, key, tr, pkg, transports)
		t.Logf("the site peer counted as a seeder %v after its start", time.Since(seeded).Round(time.Millisecond))
	}
	ms := &milestones{first: map[string]time.Time{}}
	cfgB := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	cfgB.Transports = transports
	b := testbed.StartService(t, cfgB, svc.Options{Logger: slog.New(ms)})
	cb := b.Client(true)
	ctx := context.Background()
	added := time.Now()
	if _, err := cb.Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil {
		t.Fatal(err)
	}
	if originLate {
		testbed.WaitFor(t, "the job's first announce", time.Minute, func() bool { return tracked(tr, pkg) > 0 })
		startOrigin()
		t.Logf("origin started %v after the add", time.Since(added).Round(time.Millisecond))
	}
	j := testbed.WaitJob(t, cb, pkg.ID, 2*time.Minute, "the new PC's download", func(j *api.Job) bool { return j.State == api.StateTransferred })
	if err := testbed.SameTree(pkg.Dir, j.Path); err != nil {
		t.Fatal(err)
	}
	tl, t0 := ms.timeline("job added")
	t.Logf("Add call returned after %v; milestones from the job's add:%s", t0.Sub(added).Round(time.Millisecond), tl)
	if sitePeer && j.DownloadedSite == 0 {
		t.Errorf("nothing came from the site peer: %+v", j)
	}
}

// startSitePeer runs a PC of the site that holds the package and waits
// until the tracker counts it (and the origin) as seeders.
func startSitePeer(t *testing.T, key testbed.Key, tr *testbed.Tracker, pkg *testbed.Package, transports []string) {
	cfgA := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	cfgA.Transports = transports
	testbed.PlaceContent(t, cfgA, pkg)
	a := testbed.StartService(t, cfgA, svc.Options{})
	ca := a.Client(true)
	ctx := context.Background()
	if _, err := ca.Add(ctx, api.AddRequest{Torrent: pkg.Torrent}); err != nil {
		t.Fatal(err)
	}
	testbed.WaitJob(t, ca, pkg.ID, time.Minute, "the site peer seeding", func(j *api.Job) bool { return j.State == api.StateTransferred })
	testbed.WaitFor(t, "the tracker counting the origin and the site peer as seeders", time.Minute, func() bool {
		n := 0
		for _, f := range tr.Server.Registry.Stats(pkg.Info.InfoHash) {
			n += f.Seeders
		}
		return n >= 2
	})

}

// tracked is how many peers the tracker knows in the package's swarm.
func tracked(tr *testbed.Tracker, pkg *testbed.Package) int {
	n := 0
	for _, f := range tr.Server.Registry.Stats(pkg.Info.InfoHash) {
		n += f.Seeders + f.Leechers
	}
	return n
}
