package core

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/anacrolix/torrent"
)

// Silent WAN connections.
//
// When a branch's WAN link goes down and comes back, a connection across
// it resumes only when its sender's next retransmission fires, and both
// transports back off while the link is down: in the lab (lab/outage,
// 20 Mbit/s, 40 ms, cut for 10 s) the first byte came 5.5 s after the
// link's return over uTP and 6.7 s over TCP. So a connection across the
// WAN with requests outstanding that has read nothing for silentAfter is
// closed (its requests go back to the pool), and its peer is dialled again
// every redialEvery, each dial bounded to outageDialTimeout (with TCP at
// once beside uTP), until a connection to that host is back: after the
// link's return the next dial finds it within about a second.

const (
	silentAfter       = 3 * time.Second
	silenceCheck      = 250 * time.Millisecond
	silenceIdleCheck  = time.Second
	redialEvery       = time.Second
	redialFor         = 2 * time.Minute
	outageDialTimeout = time.Second
)

// silentPeer is a WAN connection with requests out, as the silence check
// sees it.
type silentPeer struct {
	p          *torrent.Peer
	listenPort int
}

// wanWaiting lists the WAN connections with requests outstanding that the
// peer does not choke. Called by silenceLoop.
func (w *requestWatch) wanWaiting() []silentPeer {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []silentPeer
	for _, st := range w.peers {
		if st.wan && st.outstanding > 0 && !st.choked && !st.stalled {
			out = append(out, silentPeer{st.p, st.redialPort()})
		} else {
			st.quietSince = time.Time{}
		}
	}
	return out
}

// quiet records the bytes read from p and reports whether it has read
// nothing for silentAfter (then marks it stalled, so it is reported once).
func (w *requestWatch) quiet(p *torrent.Peer, read int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.peers[p]
	if st == nil || st.stalled {
		return false
	}
	now := w.now()
	if st.quietSince.IsZero() || read != st.quietRead {
		st.quietSince, st.quietRead = now, read
		return false
	}
	if now.Sub(st.quietSince) < silentAfter {
		return false
	}
	st.stalled = true
	return true
}

// silenceLoop closes silent WAN connections and redials their peers.
func (w *requestWatch) silenceLoop(ctx context.Context) {
	t := time.NewTimer(silenceIdleCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		waiting := w.wanWaiting()
		// An idle service looks once a second, not four times.
		if len(waiting) > 0 {
			t.Reset(silenceCheck)
		} else {
			t.Reset(silenceIdleCheck)
		}
		for _, sp := range waiting {
			// Stats takes the engine's lock: outside the watch's.
			st := sp.p.Stats()
			if !w.quiet(sp.p, st.BytesRead.Int64()) {
				continue
			}
			tor := sp.p.Torrent()
			addr := redialAddr(sp.p.RemoteAddr, sp.listenPort)
			w.log.Warn("a connection across the WAN went silent with requests outstanding; reconnecting",
				"peer", sp.p.RemoteAddr, "silent", silentAfter)
			if err := sp.p.Close(); err != nil {
				w.log.Warn("closing a silent peer connection", "peer", sp.p.RemoteAddr, "err", err)
			}
			if tor != nil && addr != nil {
				go w.redial(ctx, tor, addr, sp.p)
			}
		}
	}
}

// redial offers addr to the engine every redialEvery, its dials bounded
// (outage), until the torrent has a connection to that host again (other
// than old, the one closed).
func (w *requestWatch) redial(ctx context.Context, tor *torrent.Torrent, addr net.Addr, old *torrent.Peer) {
	host := hostOf(addr)
	if w.outage != nil {
		w.outage(addr.String(), true)
		defer w.outage(addr.String(), false)
	}
	t := time.NewTicker(redialEvery)
	defer t.Stop()
	deadline := w.now().Add(redialFor)
	for w.now().Before(deadline) {
		if tor.Info() != nil && tor.BytesMissing() == 0 {
			return
		}
		for _, pc := range tor.PeerConns() {
			if &pc.Peer != old && hostOf(pc.RemoteAddr) == host {
				w.log.Info("reconnected after a silent connection", "peer", pc.RemoteAddr)
				return
			}
		}
		tor.AddPeers([]torrent.PeerInfo{{Addr: addr, Source: torrent.PeerSourceDirect}})
		select {
		case <-ctx.Done():
			return
		case <-tor.Closed():
			return
		case <-t.C:
		}
	}
}

func hostOf(a interface{ String() string }) netip.Addr {
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
