package server_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/tracker/server"
)

func peerHex(name string) string { return hex.EncodeToString([]byte(testbed.PeerID(name))) }

func reporter(e *testbed.Tracker, ip string) *repoapi.Client {
	return &repoapi.Client{BaseURL: e.Base, HTTPClient: testbed.BoundHTTPClient(ip)}
}

func status(err error) int {
	if e, ok := err.(*repoapi.Error); ok {
		return e.Status
	}
	return -1
}

// Services report where their bytes came from; the repository takes a
// report only from the address that announced its peer ID, bounds it by
// the version's size, sums it per site and keeps it over a restart.
func TestSavingsReports(t *testing.T) {
	key := testbed.NewKey(t)
	cfg := testbed.TrackerConfig(t, key)
	e := testbed.StartTrackerConfig(t, cfg, key)
	const size = 64 << 10
	p := testbed.RandomPackage(t, key, "PS500001", "1.0", size, e.Announce)
	e.Publish(p)
	ih := testbed.HexHash(p.Hash)
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "event=started")
	rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "a2", 7002, "event=started")
	ctx := context.Background()

	rep := repoapi.Report{InfoHash: ih, PeerID: peerHex("a2"), Site: 48 << 10, Origin: 16 << 10, Complete: true, Seconds: 30}
	if _, err := reporter(e, testbed.SiteAIP1).Report(ctx, p.ID, rep); status(err) != http.StatusForbidden {
		t.Fatalf("a2's report sent from a1's address: %v, want 403", err)
	}
	big := rep
	big.Site = 3 * size
	if _, err := reporter(e, testbed.SiteAIP2).Report(ctx, p.ID, big); status(err) != http.StatusBadRequest {
		t.Fatalf("a report of three times the size: %v, want 400", err)
	}
	other := rep
	other.InfoHash = strings.Repeat("ab", 20)
	if _, err := reporter(e, testbed.SiteAIP2).Report(ctx, p.ID, other); status(err) != http.StatusNotFound {
		t.Fatalf("a report on an unknown version: %v, want 404", err)
	}
	ans, err := reporter(e, testbed.SiteAIP2).Report(ctx, p.ID, rep)
	if err != nil || ans.NextSeconds <= 0 {
		t.Fatalf("a2's own report: %+v %v", ans, err)
	}
	a1 := repoapi.Report{InfoHash: ih, PeerID: peerHex("a1"), Origin: size, Complete: true, Seconds: 10}
	if _, err := reporter(e, testbed.SiteAIP1).Report(ctx, p.ID, a1); err != nil {
		t.Fatal(err)
	}
	check := func(e *testbed.Tracker, when string) {
		t.Helper()
		all, err := (&repoapi.Client{BaseURL: e.Base}).Savings(ctx)
		if err != nil || len(all) != 1 || len(all[0].Sites) != 1 {
			t.Fatalf("%s: savings %+v %v, want one version in one site", when, all, err)
		}
		s := all[0].Sites[0]
		if s.Site != testbed.SiteA || s.PCs != 2 || s.Complete != 2 || s.FromSite != 48<<10 || s.Origin != size+16<<10 ||
			s.WANAvoided != 48<<10 || s.ServerAvoided != 48<<10 || all[0].WANAvoided != 48<<10 {
			t.Fatalf("%s: site savings %+v", when, s)
		}
		if len(s.Milestones) != 2 || s.Milestones[0].PCs != 1 || s.Milestones[1].PCs != 2 {
			t.Fatalf("%s: milestones %+v, want 1 and 2 PCs", when, s.Milestones)
		}
		d, err := (&repoapi.Client{BaseURL: e.Base}).Details(ctx, p.ID)
		if err != nil || d.Current.Savings == nil || d.Current.Savings.WANAvoided != 48<<10 {
			t.Fatalf("%s: details savings %+v %v", when, d, err)
		}
	}
	check(e, "before a restart")
	if err := e.Server.SaveCounters(); err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg.Listen, cfg.UDPListen = "127.0.0.1:0", "127.0.0.1:0"
	check(testbed.StartTrackerConfig(t, cfg, key), "after a restart")
}

// One address cannot flood the report route.
func TestReportsRateLimited(t *testing.T) {
	e := testbed.StartSiteTracker(t, nil)
	p := testbed.RandomPackage(t, e.Key, "PS500002", "1.0", 16<<10, e.Announce)
	e.Publish(p)
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "event=started")
	rep := repoapi.Report{InfoHash: testbed.HexHash(p.Hash), PeerID: peerHex("a1"), Origin: 1}
	c := reporter(e, testbed.SiteAIP1)
	for i := range server.ReportBurst {
		if _, err := c.Report(context.Background(), p.ID, rep); err != nil {
			t.Fatalf("report %d within the burst: %v", i, err)
		}
	}
	if _, err := c.Report(context.Background(), p.ID, rep); status(err) != http.StatusTooManyRequests {
		t.Fatalf("report beyond the burst: %v, want 429", err)
	}
}

// A gateway whose PC reports a throttle hands its role on at once; the
// package details name the site's gateway and whether it is limited.
func TestLimitedGatewayReportHandsOver(t *testing.T) {
	e := testbed.StartSiteTracker(t, nil)
	p := testbed.RandomPackage(t, e.Key, "PS500003", "1.0", 16<<10, e.Announce)
	e.Publish(p)
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "event=started")
	rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "a2", 7002, "event=started")
	ctx := context.Background()
	gw := func() (string, bool) {
		d, err := (&repoapi.Client{BaseURL: e.Base}).Details(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		f := d.Current.Sites[testbed.SiteA]
		return f.Gateway, f.GatewayLimited
	}
	if g, lim := gw(); g != testbed.SiteAIP1+":7001" || lim {
		t.Fatalf("gateway %q limited %v, want a1", g, lim)
	}
	rep := repoapi.Report{InfoHash: testbed.HexHash(p.Hash), PeerID: peerHex("a1"), UploadLimit: 200 << 10}
	if _, err := reporter(e, testbed.SiteAIP1).Report(ctx, p.ID, rep); err != nil {
		t.Fatal(err)
	}
	if g, lim := gw(); g != testbed.SiteAIP2+":7002" || lim {
		t.Fatalf("after a1 reported a 200 KiB/s upload limit: gateway %q limited %v, want a2", g, lim)
	}
	// The origin's next announce lists the new gateway.
	o := rawAnnounce(t, e, testbed.OriginIP, p.Hash, "o", 7100, "left=0")
	if got := o.addrs(t); len(got) != 1 || got[0] != testbed.SiteAIP2+":7002" {
		t.Fatalf("the origin got %v, want a2 only", got)
	}
}

// A gateway that announces event=stopped hands its role on at once, with
// real announces: the details and the origin's next announce name the new
// gateway before it announced again.
func TestStoppedGatewayHandsOver(t *testing.T) {
	e := testbed.StartSiteTracker(t, nil)
	p := testbed.RandomPackage(t, e.Key, "PS500004", "1.0", 16<<10, e.Announce)
	e.Publish(p)
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "event=started")
	rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "a2", 7002, "event=started")
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "event=stopped")
	d, err := (&repoapi.Client{BaseURL: e.Base}).Details(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g := d.Current.Sites[testbed.SiteA].Gateway; g != testbed.SiteAIP2+":7002" {
		t.Fatalf("gateway after a1 stopped: %q, want a2", g)
	}
	o := rawAnnounce(t, e, testbed.OriginIP, p.Hash, "o", 7100, "left=0")
	if got := o.addrs(t); len(got) != 1 || got[0] != testbed.SiteAIP2+":7002" {
		t.Fatalf("the origin got %v, want a2 only", got)
	}
}
