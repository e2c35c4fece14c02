package core

import (
	"net/netip"
	"slices"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
)

// bans remembers the peers the engine has banned. The engine bans a peer
// by itself when data it sent fails a piece's hash check (anacrolix
// "smartban"); it tells nobody, so each step compares its list with ours.
type bans struct {
	seen map[string]bool
	list []api.BannedPeer // oldest first, at most api.MaxBannedPeers
}

// update adds the engine's new bans and returns them. Called with s.mu.
func (b *bans) update(engine []string, now time.Time) []api.BannedPeer {
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	var fresh []api.BannedPeer
	for _, ip := range engine {
		if a, err := netip.ParseAddr(ip); err == nil {
			ip = a.Unmap().String() // the engine keeps IPv4 as ::ffff:a.b.c.d
		}
		if b.seen[ip] {
			continue
		}
		if len(b.seen) >= 4*api.MaxBannedPeers {
			break // the engine keeps its own list; ours only reports
		}
		b.seen[ip] = true
		p := api.BannedPeer{Address: ip, Time: now}
		fresh = append(fresh, p)
		b.list = append(b.list, p)
	}
	if n := len(b.list) - api.MaxBannedPeers; n > 0 {
		b.list = slices.Delete(b.list, 0, n)
	}
	return fresh
}

// checkBans turns the engine's new bans into a log line and events.
// Called with s.mu.
func (s *Service) checkBans(now time.Time) []api.Event {
	var evs []api.Event
	for _, p := range s.bans.update(s.cl.BadPeerIPs(), now) {
		s.log.Warn("banned peer "+p.Address+": it sent data that failed the piece hash check", "peer", p.Address)
		evs = append(evs, api.Event{Type: api.EventPeerBanned, Time: now, Peer: &p})
	}
	return evs
}
