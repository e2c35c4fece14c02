package swarm

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

type sharePolicy map[string]string // to -> from

func (p sharePolicy) MayReceive(to, from string) bool { return p[to] == from }

func id(s string) Hash {
	var h Hash
	copy(h[:], s)
	return h
}

func req(peer, addr, site string) Request {
	return Request{InfoHash: id("ih"), PeerID: id(peer), Addr: netip.MustParseAddrPort(addr), Site: site, Left: 10, NumWant: -1}
}

func addrs(r Result) map[string]bool {
	m := map[string]bool{}
	for _, p := range r.Peers {
		m[p.Addr.String()] = true
	}
	return m
}

func TestSitesAndOrigins(t *testing.T) {
	r := NewRegistry(Options{MaxPeers: 50, OriginPeers: 2, TTL: time.Minute, Policy: sharePolicy{"c": "a"}})
	o := req("o", "10.0.0.1:1", "")
	o.Origin, o.Left = true, 0
	r.Announce(o)
	r.Announce(req("a1", "10.1.0.1:1", "a"))
	r.Announce(req("b1", "10.2.0.1:1", "b"))
	r.Announce(req("c1", "10.3.0.1:1", "c"))
	a2 := addrs(r.Announce(req("a2", "10.1.0.2:1", "a")))
	if len(a2) != 2 || !a2["10.1.0.1:1"] || !a2["10.0.0.1:1"] {
		t.Errorf("a2 got %v, want a1 and the origin", a2)
	}
	b2 := addrs(r.Announce(req("b2", "10.2.0.2:1", "b")))
	if len(b2) != 2 || !b2["10.2.0.1:1"] || !b2["10.0.0.1:1"] {
		t.Errorf("b2 got %v, want b1 and the origin", b2)
	}
	c2 := addrs(r.Announce(req("c2", "10.3.0.2:1", "c")))
	if len(c2) != 4 || !c2["10.1.0.1:1"] || !c2["10.1.0.2:1"] || b2["10.2.0.1:1"] && c2["10.2.0.1:1"] {
		t.Errorf("c2 (may receive a) got %v", c2)
	}
	// The origin itself is not handed to itself.
	// The origin gets every site's peers, never itself.
	if got := addrs(r.Announce(o)); got["10.0.0.1:1"] || len(got) != 6 {
		t.Errorf("origin got %v, want the 6 site peers", got)
	}
	st := r.Stats(id("ih"))
	if st[OriginSite].Seeders != 1 || st["a"].Leechers != 2 || st["b"].Leechers != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestCapReservesOriginSlots(t *testing.T) {
	r := NewRegistry(Options{MaxPeers: 10, OriginPeers: 3, TTL: time.Minute})
	for i := range 5 {
		o := req(fmt.Sprint("o", i), fmt.Sprintf("10.0.0.%d:1", i+1), "")
		o.Origin = true
		r.Announce(o)
	}
	for i := range 100 {
		r.Announce(req(fmt.Sprint("a", i), fmt.Sprintf("10.1.0.%d:1", i+1), "a"))
	}
	got := r.Announce(req("me", "10.1.1.1:1", "a"))
	if len(got.Peers) != 10 {
		t.Fatalf("%d peers, want 10", len(got.Peers))
	}
	origins := 0
	for i, p := range got.Peers {
		if p.Addr.Addr().As4()[2] == 0 && p.Addr.Addr().As4()[1] == 0 {
			origins++
			if i < 7 {
				t.Errorf("origin at position %d, before same-site peers", i)
			}
		}
		if p.ID == id("me") {
			t.Error("got itself")
		}
	}
	if origins != 3 {
		t.Errorf("%d origins, want 3", origins)
	}
	// Few same-site peers: origins fill the rest.
	r2 := NewRegistry(Options{MaxPeers: 10, OriginPeers: 1, TTL: time.Minute})
	for i := range 5 {
		o := req(fmt.Sprint("o", i), fmt.Sprintf("10.0.0.%d:1", i+1), "")
		o.Origin = true
		r2.Announce(o)
	}
	if n := len(r2.Announce(req("me", "10.1.1.1:1", "a")).Peers); n != 5 {
		t.Errorf("%d peers, want all 5 origins", n)
	}
}

func TestSampleNeverDuplicates(t *testing.T) {
	r := NewRegistry(Options{MaxPeers: 30, TTL: time.Minute})
	for i := range 40 {
		r.Announce(req(fmt.Sprint("a", i), fmt.Sprintf("10.1.0.%d:1", i+1), "a"))
	}
	for range 200 {
		got := r.Announce(req("a7", "10.1.0.8:1", "a"))
		seen := map[Hash]bool{}
		for _, p := range got.Peers {
			if seen[p.ID] || p.ID == id("a7") {
				t.Fatalf("duplicate or self in %v", got.Peers)
			}
			seen[p.ID] = true
		}
		if len(got.Peers) != 30 {
			t.Fatalf("%d peers", len(got.Peers))
		}
	}
}

func TestExpiryAndCounters(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewRegistry(Options{MaxPeers: 50, TTL: time.Minute, Now: func() time.Time { return now }})
	c0 := r.Changes()
	a := req("a", "10.1.0.1:1", "a")
	a.Event = EventStarted
	r.Announce(a)
	a.Event, a.Downloaded, a.Uploaded = EventNone, 100, 7
	r.Announce(a)
	a.Event, a.Downloaded, a.Left = EventCompleted, 150, 0
	r.Announce(a)
	r.Announce(a) // a repeated completed is counted once
	now = now.Add(30 * time.Second)
	r.Announce(req("b", "10.1.0.2:1", "a"))
	st := r.Stats(id("ih"))["a"]
	if st.Completed != 1 || st.Downloaded != 150 || st.Uploaded != 7 || st.Seeders != 1 || st.Leechers != 1 {
		t.Errorf("figures %+v", st)
	}
	if s, l, c := r.Scrape(id("ih")); s != 1 || l != 1 || c != 1 {
		t.Errorf("scrape %d %d %d", s, l, c)
	}
	now = now.Add(45 * time.Second)
	if n := r.Expire(); n != 1 {
		t.Errorf("expired %d, want 1 (a is stale, b is not)", n)
	}
	// Counters survive expiry and a restart.
	r2 := NewRegistry(Options{TTL: time.Minute})
	r2.Restore(r.Counters())
	if st := r2.Stats(id("ih"))["a"]; st.Completed != 1 || st.Downloaded != 150 {
		t.Errorf("restored %+v", st)
	}
	if r.Changes() == c0 {
		t.Error("Changes did not move")
	}
	// A peer first seen mid-session does not count its old totals.
	late := req("late", "10.1.0.9:1", "a")
	late.Downloaded = 1 << 30
	r.Announce(late)
	if st := r.Stats(id("ih"))["a"]; st.Downloaded != 150 {
		t.Errorf("baseline counted: %+v", st)
	}
}

func TestSwarmPeerCap(t *testing.T) {
	r := NewRegistry(Options{MaxPeers: 50, TTL: time.Minute, MaxSwarmPeers: 10})
	for i := range 30 {
		res := r.Announce(req(fmt.Sprint("p", i), fmt.Sprintf("10.1.0.%d:1", i+1), "a"))
		if want := min(i, 10); len(res.Peers) != want {
			t.Fatalf("announce %d got %d peers, want %d", i, len(res.Peers), want)
		}
	}
	if st := r.Stats(id("ih"))["a"]; st.Leechers != 10 {
		t.Errorf("%d peers recorded, want the cap of 10", st.Leechers)
	}
}

func TestStopOnlyFromOwnAddress(t *testing.T) {
	r := NewRegistry(Options{MaxPeers: 50, TTL: time.Minute})
	r.Announce(req("a", "10.1.0.1:1", "a"))
	forged := req("a", "10.1.0.66:1", "a")
	forged.Event = EventStopped
	r.Announce(forged)
	if st := r.Stats(id("ih"))["a"]; st.Leechers != 1 {
		t.Errorf("a stop from another address removed the peer: %+v", st)
	}
	own := req("a", "10.1.0.1:1", "a")
	own.Event = EventStopped
	r.Announce(own)
	if st := r.Stats(id("ih"))["a"]; st.Leechers != 0 {
		t.Errorf("the peer's own stop did not remove it: %+v", st)
	}
}

// With gateways, one leecher per site learns the origins, and the origin
// learns only the gateways; a site with a seeder needs no gateway; a
// gateway that stops announcing is replaced by the next leecher.
func TestSiteGateways(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := NewRegistry(Options{MaxPeers: 50, OriginPeers: 2, TTL: time.Hour, Gateways: true,
		MinInterval: time.Minute, Now: func() time.Time { return now }})
	o := req("o", "10.0.0.1:1", "")
	o.Origin, o.Left = true, 0
	r.Announce(o)
	a1 := r.Announce(req("a1", "10.1.0.1:1", "a"))
	if !a1.Gateway || !addrs(a1)["10.0.0.1:1"] || a1.Interval != time.Minute {
		t.Fatalf("first leecher of site a: %+v, want the gateway, with the origin, announcing soon", a1)
	}
	a2 := r.Announce(req("a2", "10.1.0.2:1", "a"))
	if a2.Gateway || addrs(a2)["10.0.0.1:1"] || !addrs(a2)["10.1.0.1:1"] {
		t.Fatalf("second leecher of site a: %+v, want a1 only", a2)
	}
	b1 := r.Announce(req("b1", "10.2.0.1:1", "b"))
	if !b1.Gateway {
		t.Fatalf("site b has its own gateway: %+v", b1)
	}
	if got := addrs(r.Announce(o)); len(got) != 2 || !got["10.1.0.1:1"] || !got["10.2.0.1:1"] {
		t.Fatalf("the origin got %v, want the two gateways", got)
	}
	// a1 announces at the pace it was asked for (every minute), then goes
	// quiet: a2 takes over once a1 is late past its pace and a quarter
	// of it (60 + 15 s).
	now = now.Add(time.Minute)
	r.Announce(req("a1", "10.1.0.1:1", "a"))
	now = now.Add(75 * time.Second)
	if r.Announce(req("a2", "10.1.0.2:1", "a")).Gateway {
		t.Fatal("a2 took over from a gateway that announced 75 s ago")
	}
	now = now.Add(5 * time.Second)
	if a2 = r.Announce(req("a2", "10.1.0.2:1", "a")); !a2.Gateway || !addrs(a2)["10.0.0.1:1"] {
		t.Fatalf("a2 after the gateway went quiet: %+v", a2)
	}
	// a1 comes back: a2 stays the gateway.
	if r.Announce(req("a1", "10.1.0.1:1", "a")).Gateway {
		t.Fatal("two gateways in site a")
	}
	// a2's PC restarts with a new peer ID: it is still the gateway.
	if res := r.Announce(req("a2-restarted", "10.1.0.2:1", "a")); !res.Gateway {
		t.Fatalf("the gateway's PC after a restart: %+v", res)
	}
	r.Announce(req("a2", "10.1.0.2:1", "a"))
	// a2 completes: a seeder in the site, so nobody there needs the origin.
	done := req("a2", "10.1.0.2:1", "a")
	done.Left, done.Event = 0, EventCompleted
	if res := r.Announce(done); res.Gateway || addrs(res)["10.0.0.1:1"] {
		t.Fatalf("a seeder: %+v", res)
	}
	a3 := r.Announce(req("a3", "10.1.0.3:1", "a"))
	if a3.Gateway || addrs(a3)["10.0.0.1:1"] || !addrs(a3)["10.1.0.2:1"] {
		t.Fatalf("a leecher in a site with a seeder: %+v", a3)
	}
	if got := addrs(r.Announce(o)); got["10.1.0.1:1"] || got["10.1.0.2:1"] || got["10.1.0.3:1"] || !got["10.2.0.1:1"] {
		t.Fatalf("the origin got %v, want only b's gateway", got)
	}
}

// A gateway that announces but downloads nothing (it cannot reach the
// origins) hands the role to the next leecher after GatewayStuck.
func TestStuckGatewayReplaced(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := NewRegistry(Options{MaxPeers: 50, TTL: time.Hour, Gateways: true, MinInterval: time.Minute,
		GatewayStuck: 5 * time.Minute, Now: func() time.Time { return now }})
	o := req("o", "10.0.0.1:1", "")
	o.Origin, o.Left = true, 0
	r.Announce(o)
	stuck, moving := req("a1", "10.1.0.1:1", "a"), req("a2", "10.1.0.2:1", "a")
	if !r.Announce(stuck).Gateway || r.Announce(moving).Gateway {
		t.Fatal("a1 should be the gateway")
	}
	// a1 announces every minute, with nothing downloaded, and so does a2:
	// neither the gateway's reports nor its neighbour's show progress.
	took := 0
	for i := 1; i <= 10 && took == 0; i++ {
		now = now.Add(time.Minute)
		r.Announce(stuck)
		if r.Announce(moving).Gateway {
			took = i
		}
	}
	if took != 6 {
		t.Fatalf("a2 took over from a gateway without progress after %d minutes, want 6 (GatewayStuck + one announce)", took)
	}
	if res := r.Announce(moving); !res.Gateway || !addrs(res)["10.0.0.1:1"] {
		t.Fatalf("the new gateway: %+v", res)
	}
	// The new gateway makes progress and keeps the role.
	now = now.Add(10 * time.Minute)
	moving.Downloaded += 1 << 20
	if !r.Announce(moving).Gateway {
		t.Fatal("the new gateway lost the role while making progress")
	}
}

// Peer selection is uniform: every peer of a set is about as likely to be
// handed out as any other (bounds are > 10 standard deviations wide).
func TestSampleUniform(t *testing.T) {
	r := NewRegistry(Options{MaxPeers: 10, TTL: time.Hour, MaxPeersPerAddr: 200})
	for i := range 100 {
		r.Announce(req(fmt.Sprint("p", i), fmt.Sprintf("10.1.0.1:%d", 1000+i), "a"))
	}
	count := map[netip.AddrPort]int{}
	for range 20000 {
		for _, p := range r.Announce(req("me", "10.1.0.2:1", "a")).Peers {
			count[p.Addr]++
		}
	}
	for a, c := range count {
		if c < 1500 || c > 2500 {
			t.Errorf("%v handed out %d times in 20000 answers of 10 from 100, want about 2000", a, c)
		}
	}
	if len(count) != 100 {
		t.Errorf("%d distinct peers handed out, want 100", len(count))
	}
}
