package core

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/service/api"
)

// peerCounters counts payload bytes received per torrent, split by the kind
// of peer they came from (site peers, origins, other sites). The engine
// calls received with its locks held, so it only touches atomics, a
// sync.Map and the classifier (which never calls the engine).
type peerCounters struct {
	m sync.Map // metainfo.Hash -> *bySource
}

type bySource struct{ site, origin, other atomic.Int64 }

// sourceBytes are a torrent's bytes by source, as counted this session.
type sourceBytes struct{ site, origin, other int64 }

func newPeerCounters() *peerCounters { return &peerCounters{} }

func (p *peerCounters) received(ev torrent.ReceivedUsefulDataEvent, kindOf func(*torrent.Peer) peerKind) {
	if ev.Peer == nil || ev.Message == nil {
		return
	}
	t := ev.Peer.Torrent()
	if t == nil {
		return
	}
	v, _ := p.m.LoadOrStore(t.InfoHash(), &bySource{})
	c := v.(*bySource)
	n := int64(len(ev.Message.Piece))
	switch kindOf(ev.Peer) {
	case kindOrigin:
		c.origin.Add(n)
	case kindOtherSite:
		c.other.Add(n)
	default:
		c.site.Add(n)
	}
}

func (p *peerCounters) get(ih metainfo.Hash) sourceBytes {
	v, ok := p.m.Load(ih)
	if !ok {
		return sourceBytes{}
	}
	c := v.(*bySource)
	return sourceBytes{c.site.Load(), c.origin.Load(), c.other.Load()}
}

func (p *peerCounters) forget(ih metainfo.Hash) { p.m.Delete(ih) }

// trackerHealth wraps the engine's tracker dialer to learn whether each
// tracker is reachable, and remembers the trackers' addresses: peers at those
// addresses are servers (the origin usually runs beside the tracker).
type trackerHealth struct {
	// local, if valid, is the source address for tracker connections, so a
	// service bound to one address announces from it.
	local   netip.Addr
	mu      sync.Mutex
	lastErr map[string]string // host:port -> error of the last dial; "" if it worked
	lastAt  map[string]time.Time
	addrs   map[netip.Addr]bool
	locals  map[netip.Addr]bool // our addresses on tracker connections
}

func newTrackerHealth(listenHost string) *trackerHealth {
	h := &trackerHealth{lastErr: map[string]string{}, lastAt: map[string]time.Time{}, addrs: map[netip.Addr]bool{}, locals: map[netip.Addr]bool{}}
	if a, err := netip.ParseAddr(listenHost); err == nil && !a.IsUnspecified() {
		h.local = a
	}
	return h
}

func (h *trackerHealth) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if h.local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: h.local.AsSlice()}
	}
	c, err := d.DialContext(ctx, network, addr)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastAt[addr] = time.Now()
	if err != nil {
		h.lastErr[addr] = err.Error()
		return nil, err
	}
	h.lastErr[addr] = ""
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		h.addrs[ap.Addr().Unmap()] = true
	}
	if ap, err := netip.ParseAddrPort(c.LocalAddr().String()); err == nil {
		h.locals[ap.Addr().Unmap()] = true
	}
	return c, nil
}

// localAddrs lists this machine's addresses seen on tracker connections.
func (h *trackerHealth) localAddrs() []netip.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	var as []netip.Addr
	for a := range h.locals {
		as = append(as, a)
	}
	return as
}

// reachability summarises the trackers dialled so far: reachable if any
// answered on its last dial.
func (h *trackerHealth) reachability() api.Reachability {
	h.mu.Lock()
	defer h.mu.Unlock()
	var r api.Reachability
	for addr, e := range h.lastErr {
		c := api.Reachability{URL: addr, Reachable: e == "", Checked: h.lastAt[addr], Error: e}
		switch {
		case r.URL == "", c.Reachable && !r.Reachable,
			c.Reachable == r.Reachable && c.Checked.After(r.Checked):
			r = c
		}
	}
	return r
}

func (h *trackerHealth) isServer(a netip.Addr) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addrs[a]
}

// problem returns a message if every tracker of the package failed its last dial.
func (h *trackerHealth) problem(announce [][]string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	msg := ""
	for _, tier := range announce {
		for _, u := range tier {
			pu, err := url.Parse(u)
			if err != nil {
				continue
			}
			host := pu.Host
			if pu.Port() == "" {
				if pu.Scheme == "https" {
					host = net.JoinHostPort(pu.Hostname(), "443")
				} else {
					host = net.JoinHostPort(pu.Hostname(), "80")
				}
			}
			e, seen := h.lastErr[host]
			if !seen || e == "" {
				return ""
			}
			msg = "tracker " + u + " is unreachable (" + e + "); retrying by itself"
		}
	}
	return msg
}

// backoff returns the wait before retry n (0-based), doubling from min to max.
func backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}
