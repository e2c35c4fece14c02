package swarm

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// handoverSite is a registry with an origin and site a's gateway a1 and
// leecher a2, and a clock to move.
func handoverSite(t *testing.T) (*Registry, *time.Time, Request) {
	t.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := NewRegistry(Options{MaxPeers: 50, OriginPeers: 2, TTL: time.Hour, Gateways: true,
		MinInterval: time.Minute, Now: func() time.Time { return now }})
	o := req("o", "10.0.0.1:1", "")
	o.Origin, o.Left = true, 0
	r.Announce(o)
	if !r.Announce(req("a1", "10.1.0.1:1", "a")).Gateway {
		t.Fatal("a1 is not the gateway")
	}
	if r.Announce(req("a2", "10.1.0.2:1", "a")).Gateway {
		t.Fatal("a2 is a second gateway")
	}
	return r, &now, o
}

// A gateway that stops hands its role to a neighbour at once: the origin's
// next announce already lists the new gateway.
func TestGatewayStoppedHandsOver(t *testing.T) {
	r, _, o := handoverSite(t)
	stop := req("a1", "10.1.0.1:1", "a")
	stop.Event = EventStopped
	r.Announce(stop)
	if got := addrs(r.Announce(o)); !got["10.1.0.2:1"] || got["10.1.0.1:1"] {
		t.Fatalf("the origin after the gateway stopped got %v, want a2", got)
	}
	if g, ok := r.Gateway(id("ih"), "a"); !ok || g.Addr.String() != "10.1.0.2:1" {
		t.Fatalf("gateway after a stop: %v %v", g, ok)
	}
	if res := r.Announce(req("a2", "10.1.0.2:1", "a")); !res.Gateway || !addrs(res)["10.0.0.1:1"] {
		t.Fatalf("a2's next announce: %+v", res)
	}
	if n := r.Handovers()[HandoverStopped]; n != 1 {
		t.Errorf("%d stopped handovers counted, want 1", n)
	}
}

// A gateway whose PC reports a throttle hands its role at once to an
// unlimited neighbour; the details show who is gateway and whether it is
// limited; a report from another address changes nothing.
func TestGatewayLimitedHandsOver(t *testing.T) {
	r, _, o := handoverSite(t)
	if _, ok := r.SetLimited(id("ih"), id("a1"), netip.MustParseAddr("10.1.0.99"), true); ok {
		t.Fatal("a report from another address was taken for a1's")
	}
	if f := r.Stats(id("ih"))["a"]; f.Gateway != "10.1.0.1:1" || f.GatewayLimited {
		t.Fatalf("stats before the throttle: %+v", f)
	}
	info, ok := r.SetLimited(id("ih"), id("a1"), netip.MustParseAddr("10.1.0.1"), true)
	if !ok || info.Gateway || info.Site != "a" {
		t.Fatalf("a1 after reporting its throttle: %+v %v, want no longer gateway", info, ok)
	}
	if got := addrs(r.Announce(o)); !got["10.1.0.2:1"] || got["10.1.0.1:1"] {
		t.Fatalf("the origin after the throttle got %v, want a2", got)
	}
	if res := r.Announce(req("a1", "10.1.0.1:1", "a")); res.Gateway || addrs(res)["10.0.0.1:1"] {
		t.Fatalf("the throttled a1 announcing: %+v", res)
	}
	if f := r.Stats(id("ih"))["a"]; f.Gateway != "10.1.0.2:1" || f.GatewayLimited {
		t.Fatalf("stats after the handover: %+v", f)
	}
	// Both limited: the current gateway keeps the role and shows limited.
	r.SetLimited(id("ih"), id("a2"), netip.MustParseAddr("10.1.0.2"), true)
	if res := r.Announce(req("a2", "10.1.0.2:1", "a")); !res.Gateway {
		t.Fatalf("a2, limited like every PC of its site: %+v", res)
	}
	if f := r.Stats(id("ih"))["a"]; f.Gateway != "10.1.0.2:1" || !f.GatewayLimited {
		t.Fatalf("stats with a limited gateway: %+v", f)
	}
	// a1's throttle ends: it is unlimited, the gateway is limited, a1 takes over.
	r.SetLimited(id("ih"), id("a1"), netip.MustParseAddr("10.1.0.1"), false)
	if res := r.Announce(req("a1", "10.1.0.1:1", "a")); !res.Gateway {
		t.Fatalf("unlimited a1 beside a limited gateway: %+v", res)
	}
	if n := r.Handovers()[HandoverLimited]; n != 2 {
		t.Errorf("%d limited handovers counted, want 2", n)
	}
}

// A crashed gateway (no stop) is replaced by the first neighbour that
// announces once the gateway is late past its own pace.
func TestGatewayQuietHandsOver(t *testing.T) {
	r, now, _ := handoverSite(t)
	*now = now.Add(30 * time.Second)
	if r.Announce(req("a2", "10.1.0.2:1", "a")).Gateway {
		t.Fatal("a2 took over from a gateway 30 s after its announce")
	}
	// a1 has announced once: its pace is FirstPace (5 min) at first, and
	// its grace a quarter of that.
	*now = now.Add(DefaultFirstPace + DefaultFirstPace/4)
	if !r.Announce(req("a2", "10.1.0.2:1", "a")).Gateway {
		t.Fatal("a2 did not take over from a gateway quiet past its pace")
	}
	if n := r.Handovers()[HandoverQuiet]; n != 1 {
		t.Errorf("%d quiet handovers counted, want 1", n)
	}
}

// An answer without peer IDs (compact answers) lists the same peers, from
// the packed addresses: IPv4 and IPv6, never the client itself.
func TestAnswerWithoutIDs(t *testing.T) {
	r := NewRegistry(Options{MaxPeers: 50, TTL: time.Hour})
	all := map[string]bool{}
	for i := range 30 {
		a := fmt.Sprintf("10.1.0.%d:%d", i+1, 1000+i)
		if i%5 == 0 {
			a = fmt.Sprintf("[fd00::%x]:%d", i+1, 1000+i)
		}
		r.Announce(req(fmt.Sprint("p", i), a, "a"))
		all[a] = true
	}
	for _, k := range []int{5, 50} {
		q := req("p3", "10.1.0.4:1003", "a")
		q.NoIDs, q.NumWant = true, k
		res := r.Announce(q)
		if want := min(k, 29); len(res.Peers) != want {
			t.Fatalf("numwant %d: %d peers, want %d", k, len(res.Peers), want)
		}
		for _, p := range res.Peers {
			if !all[p.Addr.String()] || p.Addr.String() == "10.1.0.4:1003" {
				t.Fatalf("numwant %d: unexpected peer %v", k, p.Addr)
			}
			if p.Addr.Addr().Is6() && p.ID == (Hash{}) {
				t.Errorf("an IPv6 peer is read from the peer itself, with its ID: %+v", p)
			}
		}
	}
}
