package server_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/tracker/config"
)

// scrapeFigures scrapes one info-hash over HTTP from ip.
func scrapeFigures(t *testing.T, e *testbed.Tracker, ip string, ih metainfo.Hash) (complete, incomplete int, failure string) {
	t.Helper()
	u := strings.TrimSuffix(e.Announce, "/announce") + "/scrape?info_hash=" + url.QueryEscape(string(ih[:]))
	status, body := testbed.Get(t, testbed.BoundHTTPClient(ip), u)
	if status != 200 {
		t.Fatalf("scrape: HTTP %d %q", status, body)
	}
	var r struct {
		Failure string `bencode:"failure reason"`
		Files   map[string]struct {
			Complete   int `bencode:"complete"`
			Incomplete int `bencode:"incomplete"`
		} `bencode:"files"`
	}
	if err := bencode.Unmarshal(body, &r); err != nil {
		t.Fatalf("scrape: decoding %q: %v", body, err)
	}
	f := r.Files[string(ih[:])]
	return f.Complete, f.Incomplete, r.Failure
}

// Issue 12: one address registered 20,000 peer IDs and scrape counted
// them. Now an address holds at most max_peers_per_address per swarm.
func TestPeerIDFloodFromOneAddressCapped(t *testing.T) {
	e := testbed.StartSiteTracker(t, func(c *config.Config) {
		c.MaxPeersPerAddress = 4
		c.AnnounceRate, c.AnnounceBurst = 1e6, 1000000 // this test is about the cap, not the rate
	})
	p := testbed.RandomPackage(t, e.Key, "PS100021", "1.0", 32<<10, e.Announce)
	e.Publish(p)
	rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "honest", 7000, "")
	for i := range 300 {
		if r := rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "flood"+strconv.Itoa(i), 8000+i, ""); r.Failure != "" {
			t.Fatalf("announce %d refused: %s", i, r.Failure)
		}
	}
	if _, inc, fail := scrapeFigures(t, e, testbed.SiteBIP1, p.Hash); inc != 4+1 {
		t.Errorf("scrape counts %d leechers (%s) after 300 peer IDs from one address, want the cap 4 + 1", inc, fail)
	}
	got := rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "honest", 7000, "").addrs(t)
	if len(got) != 4 {
		t.Errorf("the honest peer got %v, want the flooding address's 4 newest", got)
	}
}

// Issue 12: a peer appeared twice in one answer. A client that restarts
// with a new peer ID on the same address and port is one peer.
func TestRestartedClientListedOnce(t *testing.T) {
	e := testbed.StartSiteTracker(t, nil)
	p := testbed.RandomPackage(t, e.Key, "PS100022", "1.0", 32<<10, e.Announce)
	e.Publish(p)
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "before-restart", 6881, "")
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "after-restart", 6881, "")
	got := rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "other", 6881, "").addrs(t)
	if want := testbed.SiteAIP1 + ":6881"; len(got) != 1 || got[0] != want {
		t.Errorf("answer %v, want %s once", got, want)
	}
	if _, inc, _ := scrapeFigures(t, e, testbed.SiteAIP2, p.Hash); inc != 2 {
		t.Errorf("scrape counts %d leechers, want 2", inc)
	}
}

// Issue 12: announce floods are limited per address, over HTTP and UDP,
// with a failure reason that says what happened and when to come back;
// other addresses and origins are not held back.
func TestAnnounceFloodRateLimited(t *testing.T) {
	e := testbed.StartSiteTracker(t, func(c *config.Config) {
		c.AnnounceRate, c.AnnounceBurst = 0.01, 5 // one more every 100 s
	})
	p := testbed.RandomPackage(t, e.Key, "PS100023", "1.0", 32<<10, e.Announce)
	e.Publish(p)
	for i := range 5 {
		if r := rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, ""); r.Failure != "" {
			t.Fatalf("announce %d of the burst refused: %s", i, r.Failure)
		}
	}
	r := rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "")
	if !strings.Contains(r.Failure, "too many requests from "+testbed.SiteAIP1) || !strings.Contains(r.Failure, "try again in") {
		t.Fatalf("6th announce: failure reason %q, want too many requests ... try again in", r.Failure)
	}
	t.Logf("failure reason: %s", r.Failure)
	if _, _, fail := scrapeFigures(t, e, testbed.SiteAIP1, p.Hash); !strings.Contains(fail, "too many requests") {
		t.Errorf("scrape from the flooding address: %q, want too many requests", fail)
	}
	// Another address is not held back; nor is an origin.
	if r := rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "a2", 7002, ""); r.Failure != "" {
		t.Errorf("another address was refused: %s", r.Failure)
	}
	for i := range 20 {
		if r := rawAnnounce(t, e, testbed.OriginIP, p.Hash, "o", 7003, ""); r.Failure != "" {
			t.Fatalf("origin announce %d refused: %s", i, r.Failure)
		}
	}
	// UDP: the same allowance, the same reason, seen by a real client.
	for i := range 5 {
		if _, err := anacrolixAnnounce(t, e.UDP, testbed.SiteBIP1, p.Hash); err != nil {
			t.Fatalf("UDP announce %d of the burst: %v", i, err)
		}
	}
	if _, err := anacrolixAnnounce(t, e.UDP, testbed.SiteBIP1, p.Hash); err == nil || !strings.Contains(err.Error(), "too many requests") {
		t.Errorf("6th UDP announce: %v, want too many requests", err)
	}
}
