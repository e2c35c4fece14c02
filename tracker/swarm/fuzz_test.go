package swarm

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// FuzzRegistry runs announce sequences decoded from the input (peers
// moving between addresses and ports, restarting, completing, stopping,
// the clock jumping) and checks after every step what a hostile client
// must never break: no answer lists a peer twice or the client itself,
// answers stay within the cap and the client's site, one address never
// holds more than its share, and the registry's indexes agree.
// "go test" runs the seeds; "go test -fuzz FuzzRegistry ./tracker/swarm"
// explores.
func FuzzRegistry(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 10, 1, 1, 0, 0, 0, 10, 1})
	f.Add([]byte{0, 0, 0, 2, 0, 0, 1, 0, 0, 2, 0, 0, 2, 1, 1, 1, 0, 0, 0, 0, 0, 3, 0, 0})
	f.Add([]byte{5, 5, 0, 2, 0, 0, 0, 0, 0, 0, 7, 30, 1, 1, 0, 0, 7, 30, 0, 0, 0, 0, 7, 200, 3, 4, 2, 0, 7, 9})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		now := time.Unix(1<<30, 0)
		const perAddr = 3
		r := NewRegistry(Options{MaxPeers: 6, OriginPeers: 2, TTL: 21 * time.Minute, MaxPeersPerAddr: perAddr,
			MaxSwarmPeers: 40, Gateways: len(ops)%2 == 0, Now: func() time.Time { return now }})
		down := map[byte]int64{}
		for len(ops) >= 6 {
			op := ops[:6]
			ops = ops[6:]
			pi, ai := op[0]%16, op[1]%7
			q := Request{InfoHash: id("ih"), PeerID: id(fmt.Sprint("p", pi)), NumWant: -1, Left: 100}
			switch {
			case ai < 4:
				q.Addr, q.Site = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, ai + 1}), 6881+uint16(op[2]%3)), "a"
			case ai < 6:
				q.Addr, q.Site = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, 0, ai - 3}), 6881+uint16(op[2]%3)), "b"
			default:
				q.Addr, q.Origin = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 1}), 6881+uint16(op[2]%3)), true
			}
			q.Event = Event(op[3] % 4)
			down[pi] += int64(op[4]) << 10
			q.Downloaded = down[pi]
			if op[4]%5 == 0 {
				q.Left = 0
			}
			if op[4]%7 == 0 {
				q.Left = -1
			}
			q.NumWant = int(op[2]%9) - 1
			now = now.Add(time.Duration(op[5]) * 10 * time.Second)
			if op[5] == 255 {
				r.Expire()
			}
			res := r.Announce(q)
			if len(res.Peers) > 6 {
				t.Fatalf("%d peers, above the cap", len(res.Peers))
			}
			seen := map[netip.AddrPort]bool{}
			for _, p := range res.Peers {
				if seen[p.Addr] {
					t.Fatalf("%v listed twice: %v", p.Addr, res.Peers)
				}
				seen[p.Addr] = true
				if p.Addr == q.Addr || p.ID == q.PeerID {
					t.Fatalf("the client got itself: %v", res.Peers)
				}
				if !q.Origin && p.Addr.Addr().As4()[1] != 0 && p.Addr.Addr().As4()[1] != q.Addr.Addr().As4()[1] {
					t.Fatalf("a peer of site %s got %v of another site", q.Site, p.Addr)
				}
			}
			checkIndexes(t, r, perAddr)
		}
	})
}

// checkIndexes verifies that the registry's counts and indexes agree.
func checkIndexes(t *testing.T, r *Registry, perAddr int) {
	t.Helper()
	s := r.swarm(id("ih"), false)
	if s == nil {
		return
	}
	seeders, leechers := 0, 0
	for _, p := range s.peers {
		if p.seeder {
			seeders++
		} else {
			leechers++
		}
		if s.byPort[p.Addr] != p {
			t.Fatalf("peer %v missing from the address index", p.Addr)
		}
		if p.set == nil || p.aset == nil {
			t.Fatalf("peer %v out of its sets", p.Addr)
		}
	}
	if seeders != s.seeders || leechers != s.leechers || len(s.byPort) != len(s.peers) {
		t.Fatalf("counts %d/%d, recorded %d/%d, %d addresses and ports for %d peers",
			seeders, leechers, s.seeders, s.leechers, len(s.byPort), len(s.peers))
	}
	n := 0
	for a, as := range s.byAddr {
		if len(as.list) > perAddr || len(as.list) == 0 {
			t.Fatalf("address %v holds %d peers", a, len(as.list))
		}
		n += len(as.list)
	}
	if n != len(s.peers) {
		t.Fatalf("address sets hold %d peers, the swarm %d", n, len(s.peers))
	}
	for name, st := range s.sites {
		k := 0
		for _, p := range st.peers.list {
			if p.seeder {
				k++
			}
			if p.site != name {
				t.Fatalf("peer of site %s in site %s", p.site, name)
			}
		}
		if k != st.seeders {
			t.Fatalf("site %s: %d seeders, recorded %d", name, k, st.seeders)
		}
		if g := st.gateway; g != nil && (g.set != &st.peers || s.peers[g.ID] != g) {
			t.Fatalf("site %s: its gateway is not one of its peers", name)
		}
	}
}
