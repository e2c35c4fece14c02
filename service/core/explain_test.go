package core_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
)

// explainSite starts a service of site A or B (site layout) that knows
// the origins' and its site's networks.
func explainSite(t *testing.T, tr *testbed.Tracker, ip string) *svc.Instance {
	t.Helper()
	cfg := testbed.Config(t, tr.Key, tr.Repository, ip)
	cfg.ServerNetworks = []string{"127.0.3.0/24"}
	cfg.SiteNetworks = []string{"127.0.1.0/24"}
	cfg.Site = testbed.SiteA
	if strings.HasPrefix(ip, "127.0.2.") {
		cfg.SiteNetworks = []string{"127.0.2.0/24"}
		cfg.Site = testbed.SiteB
	}
	return testbed.StartService(t, cfg, svc.Options{})
}

func host(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

// checkSplit checks that a job's sources add up: site + origin + other
// sites is what it received, and origin + other sites its server bytes.
func checkSplit(t *testing.T, name string, j *api.Job) {
	t.Helper()
	s := j.Sources
	if s == nil {
		t.Fatalf("%s: no sources", name)
	}
	if got := s.Site + s.Origin + s.OtherSites; got != j.Downloaded || s.Site != j.DownloadedSite || s.Origin+s.OtherSites != j.DownloadedServer {
		t.Errorf("%s: site %d + origin %d + other sites %d = %d; downloaded %d (site %d, server %d)",
			name, s.Site, s.Origin, s.OtherSites, got, j.Downloaded, j.DownloadedSite, j.DownloadedServer)
	}
	if j.Downloaded < j.BytesTotal {
		t.Errorf("%s: downloaded %d < package %d", name, j.Downloaded, j.BytesTotal)
	}
}

// A real tracker with site gateways, an origin and two PCs of one site,
// over loopback: the first PC is the site's gateway and gets the package
// from the origin; the second gets it from the first, sees it as the
// gateway, and while the gateway is throttled, or slow because its line
// to the server is (the origin is throttled), says so. Each job's sources
// add up to what it received, and the reasons follow what holds it back.
// Then a PC of site B, which may receive site A's peers, gets most of the
// package from site A while the origin is throttled: other sites' bytes.
func TestExplainSourcesAndGateway(t *testing.T) {
	tr := testbed.StartSiteTracker(t, testbed.ShareWith(testbed.SiteB, testbed.SiteA))
	pkg := testbed.Published(t, tr.Key, tr, "EXPLAIN1", map[string]int{"big.bin": 6 << 20}, 64<<10)
	ocfg := testbed.Config(t, tr.Key, tr.Repository, testbed.OriginIP)
	ocfg.ServerNetworks = []string{"127.0.3.0/24"}
	testbed.PlaceContent(t, ocfg, pkg)
	origin := testbed.StartService(t, ocfg, svc.Options{}).Client(true)
	ctx := context.Background()
	if _, err := origin.Add(ctx, api.AddRequest{Torrent: pkg.Torrent, Assign: true, Priority: api.High}); err != nil {
		t.Fatal(err)
	}
	testbed.WaitJob(t, origin, pkg.ID, time.Minute, "origin verified", func(j *api.Job) bool { return j.State == api.StateTransferred })

	pc1 := explainSite(t, tr, testbed.SiteAIP1).Client(true)
	// The gateway is throttled: slow in (so it is still the gateway when
	// the second PC comes) and slower out.
	if _, err := pc1.Throttle(ctx, api.ThrottleRequest{Down: 128 << 10, Up: 48 << 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc1.Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil {
		t.Fatal(err)
	}
	j1 := testbed.WaitJob(t, pc1, pkg.ID, time.Minute, "PC 1 is the gateway, held back by its throttle", func(j *api.Job) bool {
		return j.Sources != nil && j.Sources.IsGateway && j.Limit != nil && j.Limit.Reason == api.LimitThrottle && j.BytesDone > 128<<10
	})
	t.Logf("PC 1: %s (%d B/s)", j1.Limit.Detail, j1.Limit.Rate)
	if len(j1.Sources.Peers) == 0 || j1.Sources.Peers[0].Kind != api.PeerOrigin || host(j1.Sources.Peers[0].Address) != testbed.OriginIP {
		t.Errorf("PC 1 peers: %+v, want the origin first", j1.Sources.Peers)
	}

	pc2 := explainSite(t, tr, testbed.SiteAIP2).Client(true)
	st, err := pc2.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Bandwidth.YieldOff || !strings.Contains(st.Bandwidth.YieldOffReason, "yield: false") {
		t.Errorf("yield off: %v %q, want off because of the configuration", st.Bandwidth.YieldOff, st.Bandwidth.YieldOffReason)
	}
	if _, err := pc2.Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil {
		t.Fatal(err)
	}
	j2 := testbed.WaitJob(t, pc2, pkg.ID, time.Minute, "PC 2 sees the throttled gateway", func(j *api.Job) bool {
		return j.Sources != nil && host(j.Sources.Gateway) == testbed.SiteAIP1 && j.Limit != nil && j.Limit.Reason == api.LimitGatewayThrottled
	})
	t.Logf("PC 2: %s", j2.Limit.Detail)
	if j2.Sources.IsGateway {
		t.Error("PC 2 says it is the gateway too")
	}
	var gw *api.JobPeer
	for i, p := range j2.Sources.Peers {
		if p.Kind == api.PeerGateway {
			gw = &j2.Sources.Peers[i]
		}
	}
	if gw == nil || !gw.Throttled || host(gw.Address) != testbed.SiteAIP1 {
		t.Errorf("PC 2 peers: %+v, want PC 1 as the throttled gateway", j2.Sources.Peers)
	}

	// The gateway's throttle is lifted but its line to the server is slow
	// (the origin's upload is limited): PC 2 gets the package as fast as
	// the gateway does.
	if _, err := origin.Throttle(ctx, api.ThrottleRequest{Up: 256 << 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc1.Throttle(ctx, api.ThrottleRequest{Clear: true}); err != nil {
		t.Fatal(err)
	}
	j2 = testbed.WaitJob(t, pc2, pkg.ID, time.Minute, "PC 2 waits on a slow gateway", func(j *api.Job) bool {
		return j.Limit != nil && j.Limit.Reason == api.LimitGatewaySlow
	})
	t.Logf("PC 2: %s", j2.Limit.Detail)
	start := time.Now()
	if _, err := origin.Throttle(ctx, api.ThrottleRequest{Clear: true}); err != nil {
		t.Fatal(err)
	}
	j1 = testbed.WaitJob(t, pc1, pkg.ID, 2*time.Minute, "PC 1 transferred", func(j *api.Job) bool { return j.State == api.StateTransferred })
	j2 = testbed.WaitJob(t, pc2, pkg.ID, 2*time.Minute, "PC 2 transferred", func(j *api.Job) bool { return j.State == api.StateTransferred })
	t.Logf("both transferred %v after the origin's throttle was cleared", time.Since(start).Round(time.Millisecond))
	checkSplit(t, "PC 1", j1)
	checkSplit(t, "PC 2", j2)
	t.Logf("PC 1: site %d, origin %d, other sites %d; PC 2: site %d, origin %d, other sites %d",
		j1.Sources.Site, j1.Sources.Origin, j1.Sources.OtherSites, j2.Sources.Site, j2.Sources.Origin, j2.Sources.OtherSites)
	if j1.Sources.Origin < j1.Downloaded/2 {
		t.Errorf("PC 1 (the gateway) got only %d of %d bytes from the origin", j1.Sources.Origin, j1.Downloaded)
	}
	if j2.Sources.Site < j2.Downloaded*9/10 {
		t.Errorf("PC 2 got only %d of %d bytes from its site", j2.Sources.Site, j2.Downloaded)
	}
	for name, j := range map[string]*api.Job{"PC 1": j1, "PC 2": j2} {
		if j.Limit == nil || j.Limit.Reason != api.LimitDone {
			t.Errorf("%s transferred: limit %+v, want %q", name, j.Limit, api.LimitDone)
		}
	}

	if _, err := origin.Throttle(ctx, api.ThrottleRequest{Up: 32 << 10}); err != nil {
		t.Fatal(err)
	}
	b1 := explainSite(t, tr, testbed.SiteBIP1).Client(true)
	if _, err := b1.Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil {
		t.Fatal(err)
	}
	jb := testbed.WaitJob(t, b1, pkg.ID, 2*time.Minute, "site B's PC transferred", func(j *api.Job) bool { return j.State == api.StateTransferred })
	checkSplit(t, "site B's PC", jb)
	t.Logf("site B's PC: site %d, origin %d, other sites %d", jb.Sources.Site, jb.Sources.Origin, jb.Sources.OtherSites)
	if jb.Sources.OtherSites < jb.Downloaded/2 || jb.Sources.Site != 0 {
		t.Errorf("site B's PC: %+v, want most bytes from other sites (site A) and none from its own", jb.Sources)
	}
}

// The limiting reason follows the business-hours schedule, a helpdesk
// throttle over it, a pause, and a higher-priority job, on one PC.
func TestExplainReasons(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	big := testbed.Published(t, key, tr, "REASONS1", map[string]int{"big.bin": 24 << 20}, 256<<10)
	testbed.StartOrigin(t, key, tr, big)
	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	cfg.Schedule = []config.Window{{Name: "business hours", Days: []string{"*"}, From: "00:00", To: "24:00", LimitDown: 256 << 10}}
	c := testbed.StartService(t, cfg, svc.Options{}).Client(true)
	ctx := context.Background()
	if _, err := c.Add(ctx, api.AddRequest{PackageID: big.ID, Priority: api.Normal}); err != nil {
		t.Fatal(err)
	}
	reason := func(what, want string) *api.Job {
		t.Helper()
		j := testbed.WaitJob(t, c, big.ID, 30*time.Second, what, func(j *api.Job) bool { return j.Limit != nil && j.Limit.Reason == want })
		t.Logf("%s: %s: %s", what, j.Limit.Reason, j.Limit.Detail)
		return j
	}
	if j := reason("schedule", api.LimitSchedule); j.Limit.Rate != 256<<10 {
		t.Errorf("schedule rate %d, want %d", j.Limit.Rate, 256<<10)
	}
	if _, err := c.Throttle(ctx, api.ThrottleRequest{Down: 64 << 10}); err != nil {
		t.Fatal(err)
	}
	if j := reason("helpdesk throttle", api.LimitThrottle); j.Limit.Rate != 64<<10 {
		t.Errorf("throttle rate %d, want %d", j.Limit.Rate, 64<<10)
	}
	if _, err := c.Pause(ctx, big.ID); err != nil {
		t.Fatal(err)
	}
	reason("paused", api.LimitSuspended)
	if _, err := c.Resume(ctx, big.ID); err != nil {
		t.Fatal(err)
	}
	reason("resumed", api.LimitThrottle)
}
