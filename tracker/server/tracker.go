// Package server assembles smstorrent-tracker serve: the tracker policy
// (allowlist, published info-hashes, sites, origins) on top of the swarm
// registry, the HTTP and UDP tracker listeners, the repository, the
// embedded database and the periodic jobs (peer expiry, counter saving).
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/tracker/addrlimit"
	"github.com/smstorrent/smstorrent/tracker/announce"
	"github.com/smstorrent/smstorrent/tracker/config"
	"github.com/smstorrent/smstorrent/tracker/swarm"
)

// Refusal reasons of announces and scrapes (announce.Refusal), for metrics.
const (
	ReasonNotAllowed   = "not_allowed"
	ReasonUnknownHash  = "unknown_hash"
	ReasonBadOriginKey = "bad_origin_key"
	ReasonNoSite       = "no_site"
	ReasonRateLimited  = "rate_limited"
)

// AnnounceResults are every outcome an announce can have, for metrics.
var AnnounceResults = []string{announce.ResultOK, announce.ResultMalformed, announce.ResultRefused, announce.ResultError,
	ReasonNotAllowed, ReasonUnknownHash, ReasonBadOriginKey, ReasonNoSite, ReasonRateLimited}

// Tracker is the tracker's policy: it admits announces from allowed
// networks for published info-hashes, resolves the client's site and
// origin status, and asks the registry for peers.
type Tracker struct {
	NetMap      *config.NetMap
	Registry    *swarm.Registry
	Interval    time.Duration
	MinInterval time.Duration
	// Limiter limits the announces and scrapes of each address outside
	// origins.networks (nil: no limit).
	Limiter    *addrlimit.Limiter
	limitText  string
	originKeys [][32]byte
	// started is when this tracker started: it keeps peers in memory
	// only, so for one Interval after a start it asks everyone back soon.
	started time.Time

	mu        sync.RWMutex
	published map[swarm.Hash]bool
}

var _ announce.Backend = (*Tracker)(nil)

// NewTracker makes a tracker for a validated configuration.
func NewTracker(cfg *config.Config, nm *config.NetMap, reg *swarm.Registry) *Tracker {
	t := &Tracker{
		NetMap: nm, Registry: reg,
		Interval:    time.Duration(cfg.AnnounceInterval),
		MinInterval: time.Duration(cfg.MinInterval),
		published:   map[swarm.Hash]bool{},
		Limiter:     addrlimit.New(cfg.AnnounceRate, cfg.AnnounceBurst, 0, nil),
		limitText:   fmt.Sprintf("%g requests per second on average, %d at once", cfg.AnnounceRate, cfg.AnnounceBurst),
		started:     time.Now(),
	}
	for _, k := range cfg.Origins.Keys {
		t.originKeys = append(t.originKeys, sha256.Sum256([]byte(k)))
	}
	return t
}

// Publish starts tracking an info-hash.
func (t *Tracker) Publish(ih swarm.Hash) {
	t.mu.Lock()
	t.published[ih] = true
	t.mu.Unlock()
}

// IsPublished reports whether an info-hash is tracked.
func (t *Tracker) IsPublished(ih swarm.Hash) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.published[ih]
}

func (t *Tracker) originKey(k string) bool {
	h := sha256.Sum256([]byte(k))
	ok := 0
	for _, ok2 := range t.originKeys {
		ok |= subtle.ConstantTimeCompare(h[:], ok2[:])
	}
	return ok == 1
}

// Announce implements announce.Backend.
func (t *Tracker) Announce(_ context.Context, from netip.Addr, req *announce.Request) (*announce.Response, error) {
	if !t.NetMap.Allowed(from) {
		return nil, announce.Refuse(ReasonNotAllowed, "address %s is not allowed to use this tracker", from)
	}
	origin := t.NetMap.IsOrigin(from)
	if !origin {
		// Before anything else, and before an origin_key is checked, so
		// that guessing keys is as slow as any other flood.
		if err := t.admit(from); err != nil {
			return nil, err
		}
	}
	if !t.IsPublished(req.InfoHash) {
		return nil, announce.Refuse(ReasonUnknownHash, "unknown info-hash: this private tracker serves only packages published in its repository")
	}
	if req.OriginKey != "" {
		if !t.originKey(req.OriginKey) {
			return nil, announce.Refuse(ReasonBadOriginKey, "origin_key is not valid")
		}
		origin = true
	}
	site, ok := t.NetMap.Site(from)
	if !ok && !origin {
		return nil, announce.Refuse(ReasonNoSite, "address %s is not in any site of this tracker", from)
	}
	pb := peerBufs.Get().(*peerBuf)
	res := t.Registry.Announce(swarm.Request{
		InfoHash: req.InfoHash, PeerID: req.PeerID,
		Addr: netip.AddrPortFrom(from, req.Port), Site: site, Origin: origin,
		Event: req.Event, Uploaded: req.Uploaded, Downloaded: req.Downloaded, Left: req.Left,
		NumWant: req.NumWant, Buf: pb.peers, NoIDs: req.Compact || req.NoPeerID,
	})
	pb.peers = res.Peers
	pb.resp = announce.Response{
		Interval: t.interval(origin, res.Interval), MinInterval: t.MinInterval,
		Seeders: res.Seeders, Leechers: res.Leechers, Peers: res.Peers, Done: pb.done,
	}
	return &pb.resp, nil
}

// peerBuf is one announce's answer and peer list, reused: the protocol
// layer calls Done once it has encoded the answer. Writing peers into a
// warm buffer instead of fresh memory halved the cost of picking them.
type peerBuf struct {
	peers []swarm.PeerAddr
	resp  announce.Response
	done  func()
}

var peerBufs sync.Pool

func init() {
	peerBufs.New = func() any {
		pb := &peerBuf{}
		pb.done = func() {
			pb.resp = announce.Response{}
			peerBufs.Put(pb)
		}
		return pb
	}
}

// interval is the re-announce interval for one answer: the registry's
// (MinInterval for leechers in gateway mode, else Interval), but at most
// MinInterval for origins (few, and a swarm without its origins stalls:
// after a tracker restart they must be back within MinInterval, not
// Interval) and for everyone during the first Interval after a start,
// while the swarm is rebuilt from nothing.
func (t *Tracker) interval(origin bool, registry time.Duration) time.Duration {
	if origin || time.Since(t.started) < t.Interval {
		return min(registry, t.MinInterval)
	}
	return registry
}

// Scrape implements announce.Backend.
func (t *Tracker) Scrape(_ context.Context, from netip.Addr, hs []announce.Hash) (map[announce.Hash]announce.ScrapeFigures, error) {
	if !t.NetMap.Allowed(from) {
		return nil, announce.Refuse(ReasonNotAllowed, "address %s is not allowed to use this tracker", from)
	}
	if !t.NetMap.IsOrigin(from) {
		if err := t.admit(from); err != nil {
			return nil, err
		}
	}
	out := map[announce.Hash]announce.ScrapeFigures{}
	for _, h := range hs {
		if !t.IsPublished(h) {
			continue
		}
		s, l, c := t.Registry.Scrape(h)
		out[h] = announce.ScrapeFigures{Seeders: s, Leechers: l, Completed: c}
	}
	if len(out) == 0 {
		return nil, announce.Refuse(ReasonUnknownHash, "unknown info-hash: this private tracker serves only packages published in its repository")
	}
	return out, nil
}

// admit takes one request from the address's allowance, or refuses with
// a reason that says when to come back.
func (t *Tracker) admit(from netip.Addr) error {
	if t.Limiter == nil {
		return nil
	}
	if ok, wait := t.Limiter.Allow(from); !ok {
		return announce.Refuse(ReasonRateLimited, "too many requests from %s: this tracker allows %s per address; try again in %s",
			addrlimit.Key(from), t.limitText, (wait + time.Second - 1).Truncate(time.Second))
	}
	return nil
}
