package server_test

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	trackerclient "github.com/anacrolix/torrent/tracker"
	"github.com/anacrolix/torrent/types/infohash"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/tracker/config"
	"github.com/smstorrent/smstorrent/tracker/swarm"
)

// announceResp is a decoded HTTP announce answer.
type announceResp struct {
	Failure    string `bencode:"failure reason"`
	Interval   int    `bencode:"interval"`
	Complete   int    `bencode:"complete"`
	Incomplete int    `bencode:"incomplete"`
	Peers      string `bencode:"peers"`
	Peers6     string `bencode:"peers6"`
}

func (a announceResp) addrs(t *testing.T) []string {
	t.Helper()
	if len(a.Peers)%6 != 0 {
		t.Fatalf("compact peers string of %d bytes", len(a.Peers))
	}
	var out []string
	for i := 0; i < len(a.Peers); i += 6 {
		ip := netip.AddrFrom4([4]byte([]byte(a.Peers[i : i+4])))
		port := uint16(a.Peers[i+4])<<8 | uint16(a.Peers[i+5])
		out = append(out, netip.AddrPortFrom(ip, port).String())
	}
	return out
}

// rawAnnounce announces from ip with the given peer name and port.
func rawAnnounce(t *testing.T, e *testbed.Tracker, ip string, ih metainfo.Hash, peer string, port int, extra string) announceResp {
	t.Helper()
	q := url.Values{}
	q.Set("info_hash", string(ih[:]))
	q.Set("peer_id", testbed.PeerID(peer))
	q.Set("port", strconv.Itoa(port))
	q.Set("left", "100")
	q.Set("compact", "1")
	u := e.Announce + "?" + q.Encode()
	if extra != "" {
		u += "&" + extra
	}
	status, body := testbed.Get(t, testbed.BoundHTTPClient(ip), u)
	if status != 200 {
		t.Fatalf("announce from %s: HTTP %d: %q", ip, status, body)
	}
	var r announceResp
	if err := bencode.Unmarshal(body, &r); err != nil {
		t.Fatalf("announce from %s: decoding %q: %v", ip, body, err)
	}
	return r
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// Without site gateways every PC learns the origins (with them, only one
// PC per site does: tracker/swarm's TestSiteGateways).
func TestSitesNeverSeeOtherSitesButSeeOrigins(t *testing.T) {
	e := testbed.StartSiteTracker(t, func(c *config.Config) { c.SiteGateways = new(bool) })
	p := testbed.RandomPackage(t, e.Key, "PS100001", "1.0", 64<<10, e.Announce)
	e.Publish(p)

	rawAnnounce(t, e, testbed.OriginIP, p.Hash, "origin", 7000, "")
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "")
	rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "a2", 7002, "")
	rawAnnounce(t, e, testbed.SiteBIP1, p.Hash, "b1", 7003, "")
	// An origin by key, announcing from hq's address.
	rawAnnounce(t, e, "127.0.0.1", p.Hash, "keyorigin", 7004, "origin_key="+testbed.OriginKey)
	b2 := rawAnnounce(t, e, testbed.SiteBIP2, p.Hash, "b2", 7005, "")
	a1 := rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "")

	origin1, origin2 := testbed.OriginIP+":7000", "127.0.0.1:7004"
	check := func(name string, got []string, want []string, sameSite int) {
		t.Helper()
		if strings.Join(sorted(got), ",") != strings.Join(sorted(want), ",") {
			t.Errorf("%s got peers %v, want %v", name, got, want)
		}
		// Same-site peers come before origins.
		for i := 0; i < sameSite && i < len(got); i++ {
			if got[i] == origin1 || got[i] == origin2 {
				t.Errorf("%s: origin %s listed before same-site peers: %v", name, got[i], got)
			}
		}
	}
	check("a1", a1.addrs(t), []string{testbed.SiteAIP2 + ":7002", origin1, origin2}, 1)
	check("b2", b2.addrs(t), []string{testbed.SiteBIP1 + ":7003", origin1, origin2}, 1)
	if a1.Complete+a1.Incomplete != 6 {
		t.Errorf("a1 sees complete=%d incomplete=%d, want 6 peers in total", a1.Complete, a1.Incomplete)
	}
}

func TestShareWithAllowsOtherSite(t *testing.T) {
	e := testbed.StartSiteTracker(t, func(c *config.Config) {
		c.Sites[0].ShareWith = []string{testbed.SiteB} // A may receive B's peers, not the reverse
	})
	p := testbed.RandomPackage(t, e.Key, "PS100002", "1.0", 32<<10, e.Announce)
	e.Publish(p)
	rawAnnounce(t, e, testbed.SiteBIP1, p.Hash, "b1", 7003, "")
	a := rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "")
	b := rawAnnounce(t, e, testbed.SiteBIP1, p.Hash, "b1", 7003, "")
	if got := a.addrs(t); len(got) != 1 || got[0] != testbed.SiteBIP1+":7003" {
		t.Errorf("site A (share_with B) got %v, want B's peer", got)
	}
	if got := b.addrs(t); len(got) != 0 {
		t.Errorf("site B got %v, want no peers (B does not share with A)", got)
	}
}

func TestPeerListCappedAndExpired(t *testing.T) {
	e := testbed.StartSiteTracker(t, func(c *config.Config) {
		c.MaxPeers, c.OriginPeers, c.SiteGateways = 5, 2, new(bool)
		c.MaxPeersPerAddress = 20 // ten peers announce from one address
	})
	p := testbed.RandomPackage(t, e.Key, "PS100003", "1.0", 32<<10, e.Announce)
	e.Publish(p)
	for i := range 10 {
		rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a"+strconv.Itoa(i), 8000+i, "")
	}
	for i := range 3 {
		rawAnnounce(t, e, testbed.OriginIP, p.Hash, "o"+strconv.Itoa(i), 9000+i, "")
	}
	seen := map[string]bool{}
	for range 20 {
		r := rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "me", 7777, "")
		got := r.addrs(t)
		if len(got) != 5 {
			t.Fatalf("got %d peers, want the cap of 5: %v", len(got), got)
		}
		origins := 0
		for _, a := range got {
			seen[a] = true
			if strings.HasPrefix(a, testbed.OriginIP) {
				origins++
			}
		}
		if origins != 2 {
			t.Fatalf("got %d origins, want the 2 reserved slots: %v", origins, got)
		}
	}
	if len(seen) < 8 {
		t.Errorf("20 answers covered only %d distinct peers; the list does not look shuffled", len(seen))
	}
	// numwant lowers the cap.
	r := rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "me", 7777, "numwant=1")
	if n := len(r.addrs(t)); n != 1 {
		t.Errorf("numwant=1 gave %d peers", n)
	}
	// stopped removes a peer at once.
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a0", 8000, "event=stopped")
	st := e.Server.Registry.Stats(p.Hash)
	if got := st[testbed.SiteA].Leechers; got != 10 { // a1..a9 + me
		t.Errorf("site A has %d leechers after a stop, want 10", got)
	}
}

func TestUnknownInfoHashRefused(t *testing.T) {
	e := testbed.StartSiteTracker(t, nil)
	var ih metainfo.Hash
	copy(ih[:], "not-published-000000")
	r := rawAnnounce(t, e, testbed.SiteAIP1, ih, "a1", 7001, "")
	if !strings.Contains(r.Failure, "unknown info-hash") {
		t.Fatalf("failure reason %q, want unknown info-hash", r.Failure)
	}
	// The real anacrolix tracker client sees the refusal too, over HTTP and UDP.
	for _, u := range []string{e.Announce, e.UDP} {
		_, err := anacrolixAnnounce(t, u, testbed.SiteAIP1, ih)
		if err == nil || !strings.Contains(err.Error(), "unknown info-hash") {
			t.Errorf("%s: anacrolix announce error %v, want unknown info-hash", u, err)
		}
	}
}

func TestClientOutsideAllowlistRefused(t *testing.T) {
	e := testbed.StartSiteTracker(t, nil)
	p := testbed.RandomPackage(t, e.Key, "PS100004", "1.0", 32<<10, e.Announce)
	e.Publish(p)
	r := rawAnnounce(t, e, testbed.OutsideIP, p.Hash, "x", 7001, "")
	if !strings.Contains(r.Failure, "not allowed") {
		t.Fatalf("failure reason %q, want not allowed", r.Failure)
	}
	status, body := testbed.Get(t, testbed.BoundHTTPClient(testbed.OutsideIP), e.Base+"/api/v1/packages")
	if status != 403 || !strings.Contains(string(body), "not allowed") {
		t.Errorf("repository from outside: %d %s, want 403", status, body)
	}
	if _, err := anacrolixAnnounce(t, e.UDP, testbed.OutsideIP, p.Hash); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("UDP announce from outside: %v, want not allowed", err)
	}
	// Allowed but in no site, and not an origin.
	r = rawAnnounce(t, e, testbed.NoSiteIP, p.Hash, "y", 7001, "")
	if !strings.Contains(r.Failure, "not in any site") {
		t.Errorf("failure reason %q, want not in any site", r.Failure)
	}
	r = rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "z", 7001, "origin_key=wrong-key-0000000000")
	if !strings.Contains(r.Failure, "origin_key") {
		t.Errorf("failure reason %q, want origin_key refused", r.Failure)
	}
}

// anacrolixAnnounce announces with anacrolix's own tracker client from ip.
func anacrolixAnnounce(t *testing.T, u, ip string, ih metainfo.Hash) (trackerclient.AnnounceResponse, error) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var pid [20]byte
	copy(pid[:], testbed.PeerID("anacrolix"))
	return trackerclient.Announce{
		TrackerUrl:  u,
		Request:     trackerclient.AnnounceRequest{InfoHash: ih, PeerId: pid, Port: 6881, Left: 1, NumWant: -1},
		Context:     ctx,
		DialContext: d.DialContext,
		ListenPacket: func(network, _ string) (net.PacketConn, error) {
			return net.ListenPacket("udp4", net.JoinHostPort(ip, "0"))
		},
	}.Do()
}

func TestAnacrolixScrapeHTTPAndUDP(t *testing.T) {
	e := testbed.StartSiteTracker(t, nil)
	p := testbed.RandomPackage(t, e.Key, "PS100005", "1.0", 32<<10, e.Announce)
	e.Publish(p)
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "")
	rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "a2", 7002, "left=0&event=completed")
	for _, u := range []string{e.Announce, e.UDP} {
		res, err := anacrolixAnnounce(t, u, testbed.SiteBIP1, p.Hash)
		if err != nil {
			t.Fatalf("%s: announce: %v", u, err)
		}
		if len(res.Peers) != 0 {
			t.Errorf("%s: site B client got %v, want no peers (only site A peers exist)", u, res.Peers)
		}
		cl, err := trackerclient.NewClient(u, trackerclient.NewClientOpts{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		sr, err := cl.Scrape(ctx, []infohash.T{infohash.T(p.Hash)})
		cancel()
		cl.Close()
		if err != nil {
			t.Fatalf("%s: scrape: %v", u, err)
		}
		// a1 leecher, a2 seeder (completed), anacrolix from site B leecher.
		if len(sr) != 1 || sr[0].Seeders != 1 || sr[0].Leechers != 2 || sr[0].Completed != 1 {
			t.Errorf("%s: scrape %+v, want 1 seeder, 2 leechers, 1 completed", u, sr)
		}
	}
}

// TestAnacrolixTransferTwoSites: a real origin seeder and real leechers
// in two sites complete a download through the tracker (HTTP for one
// site, UDP for the other), and no leecher ever talks to the other site.
func TestAnacrolixTransferTwoSites(t *testing.T) {
	e := testbed.StartSiteTracker(t, nil)
	p := testbed.RandomPackage(t, e.Key, "PS100006", "1.0", 512<<10, e.Announce)
	e.Publish(p)
	mi := *p.Meta
	miUDP := mi
	miUDP.Announce, miUDP.AnnounceList = e.UDP, nil

	seeder := testbed.NewClient(t, testbed.OriginIP, p.DataDir, true)
	st, err := seeder.AddTorrent(&mi)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.VerifyDataContext(context.Background()); err != nil {
		t.Fatalf("seeder verify: %v", err)
	}
	testbed.WaitFor(t, "the origin's announce", 60*time.Second, func() bool {
		f := e.Server.Registry.Stats(p.Hash)[swarm.OriginSite]
		return f.Seeders+f.Leechers > 0
	})

	type leecher struct {
		cl   *testbed.Client
		t    *torrent.Torrent
		site string
	}
	var ls []leecher
	for _, c := range []struct {
		ip, site string
		mi       *metainfo.MetaInfo
	}{
		{testbed.SiteAIP1, "127.0.1.", &mi},
		{testbed.SiteAIP2, "127.0.1.", &miUDP},
		{testbed.SiteBIP1, "127.0.2.", &mi},
		{testbed.SiteBIP2, "127.0.2.", &miUDP},
	} {
		cl := testbed.NewClient(t, c.ip, t.TempDir(), false)
		tt, err := cl.AddTorrent(c.mi)
		if err != nil {
			t.Fatal(err)
		}
		tt.DownloadAll()
		ls = append(ls, leecher{cl, tt, c.site})
	}
	deadline := time.Now().Add(3 * time.Minute)
	for _, l := range ls {
		for l.t.BytesMissing() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("leecher %s did not complete: %d bytes missing; %d peer connections, %d peers known; swarm per site %+v",
					l.cl.IP, l.t.BytesMissing(), len(l.t.PeerConns()), len(l.t.KnownSwarm()), e.Server.Registry.Stats(p.Hash))
			}
			for _, pc := range l.t.PeerConns() {
				checkPeer(t, l.cl.IP, l.site, pc.RemoteAddr.String())
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
		for _, pc := range l.t.PeerConns() {
			checkPeer(t, l.cl.IP, l.site, pc.RemoteAddr.String())
		}
	}
	st2 := e.Server.Registry.Stats(p.Hash)
	if st2[testbed.SiteA].Seeders+st2[testbed.SiteA].Leechers != 2 || st2[testbed.SiteB].Seeders+st2[testbed.SiteB].Leechers != 2 {
		t.Errorf("per-site figures %+v, want 2 peers in each site", st2)
	}
}

func checkPeer(t *testing.T, self, sitePrefix, remote string) {
	t.Helper()
	host, _, _ := net.SplitHostPort(remote)
	if !strings.HasPrefix(host, sitePrefix) && host != testbed.OriginIP {
		t.Fatalf("leecher %s is connected to %s, which is neither in its site nor an origin", self, remote)
	}
}
