// Package swarm keeps the tracker's live peer lists: one swarm per
// info-hash, peers grouped by site, origin servers apart. It decides which
// peers an announcing client receives (its own site first, then sites its
// site may share with, then origins, capped and shuffled), expires peers
// that stopped announcing, and counts per-site figures (completed
// downloads, bytes reported). It knows nothing about the network: callers
// resolve the client's site and origin status before calling Announce.
//
// With Options.Gateways, one leecher per site, its gateway, is the only one
// that learns the origins (and the only one of the site that origins
// learn): the package crosses the site's WAN link about once, through the
// gateway, and the other PCs of the site get it from their neighbours.
// Once a PC of the site has the whole package, nobody in the site needs
// the origins.
//
// The registry does not take a client's word for what matters to others:
//   - Liveness follows each client's own pace: a peer counts as present
//     for twice the longer of its observed announce interval and the one
//     it was told, plus 30 s (never beyond the TTL), so a client that
//     announces less often than asked (qBittorrent raises every interval
//     to 5 minutes) keeps its gateway role or its site's seeder status,
//     and one that announces every minute is missed within 150 s.
//   - A gateway keeps its role only while its own reports grow and, when
//     the site has other leechers, while those leechers, at other
//     addresses, report progress too (or for GatewayStuck after it took the
//     role); a PC that claims to seed its site keeps the site off the
//     origins only while the site's leechers at other addresses progress.
//     One PC reporting growing counters can no longer hold the role, or
//     starve its site, for ever.
//   - A gateway hands its role on: when it stops (event=stopped), when
//     its PC reports a throttle or a small upload limit (SetLimited) and
//     another leecher of the site is unlimited, and when it has been quiet
//     for longer than its own pace (plus a quarter, at least gatewayGrace)
//     while a neighbour announces. The new gateway is chosen at once, so the origins learn
//     it at their next announce even before it announces itself.
//   - One address holds at most MaxPeersPerAddr peer IDs per swarm, and
//     one address and port is one peer: a new ID at a known address and
//     port replaces the old one, so no answer lists a peer twice.
package swarm

import (
	"github.com/smstorrent/smstorrent/internal/repoapi"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Hash is an info-hash or a peer ID.
type Hash = [20]byte

// Event is the announce event.
type Event uint8

// Announce events (BEP 3).
const (
	EventNone Event = iota
	EventCompleted
	EventStarted
	EventStopped
)

// Request is one announce, already checked by the caller.
type Request struct {
	InfoHash   Hash
	PeerID     Hash
	Addr       netip.AddrPort
	Site       string // the client's site ("" when the client is an origin outside every site)
	Origin     bool
	Event      Event
	Uploaded   int64
	Downloaded int64
	Left       int64
	NumWant    int // < 0: the default
	// Buf, if its capacity suffices, holds the answer's peers (from index
	// 0), so that a caller can reuse one buffer; nil: a new one.
	Buf []PeerAddr
	// NoIDs says the caller does not need the answer's peer IDs (compact
	// answers): they may be left zero, which makes picking cheaper.
	NoIDs bool
}

// PeerAddr is one peer handed out.
type PeerAddr struct {
	ID   Hash
	Addr netip.AddrPort
}

// Result is the answer to an announce.
type Result struct {
	Peers    []PeerAddr
	Seeders  int
	Leechers int
	// Gateway: the client is its site's gateway to the origins.
	Gateway bool
	// Interval is the announce interval to tell the client: MinInterval
	// for a leecher of a site that depends on a gateway (so that a gateway
	// that vanished is noticed and replaced within minutes), else Interval.
	Interval time.Duration
}

// Figures are per-site swarm figures.
type Figures = repoapi.Figures

// Counters are the figures that survive a restart.
type Counters struct {
	Completed  int64 `json:"completed"`
	Uploaded   int64 `json:"uploaded"`
	Downloaded int64 `json:"downloaded"`
}

// CounterRecord is one persisted counter.
type CounterRecord struct {
	InfoHash Hash
	Site     string
	Counters Counters
}

// OriginSite is the site name under which origins outside every site are
// counted.
const OriginSite = "origin"

// Policy says which sites may exchange peers. It must be safe for
// concurrent use.
type Policy interface {
	// MayReceive reports whether peers of site to may be handed peers of
	// site from (to == from is always allowed by the registry).
	MayReceive(to, from string) bool
}

// Defaults for zero Options.
const (
	DefaultMaxPeersPerAddr = 8
	DefaultInterval        = 10 * time.Minute
	DefaultMinInterval     = time.Minute
	DefaultFirstPace       = 5 * time.Minute
	DefaultGatewayStuck    = 5 * time.Minute
	// livenessSlack is added to twice a peer's pace: announces arrive late
	// by a few seconds, and a client's own timer may be coarse.
	livenessSlack = 30 * time.Second
	// gatewayGrace is the least a gateway's announce may be late past its
	// own pace (a quarter of the pace, if longer) before a neighbour's
	// announce takes the role from it.
	gatewayGrace = 10 * time.Second
)

// Handover reasons: why a site's gateway role moved to another PC.
const (
	HandoverStopped   = "stopped"   // the gateway announced event=stopped
	HandoverLimited   = "limited"   // its PC reported a throttle or a small upload limit
	HandoverQuiet     = "quiet"     // it announced no more within its pace
	HandoverStuck     = "stuck"     // it showed no progress for GatewayStuck
	HandoverRestarted = "restarted" // its PC announced with a new peer ID
)

// HandoverReasons lists every handover reason, for metrics.
var HandoverReasons = []string{HandoverStopped, HandoverLimited, HandoverQuiet, HandoverStuck, HandoverRestarted}

// Options configure a Registry.
type Options struct {
	MaxPeers    int           // cap on peers per answer
	OriginPeers int           // answer slots reserved for origins
	TTL         time.Duration // a peer that has not announced for this long is dropped
	// MaxSwarmPeers bounds the peers kept per swarm (0: 100000). A new
	// peer beyond it still gets an answer but is not recorded, so a flood
	// of made-up peer IDs cannot exhaust memory.
	MaxSwarmPeers int
	// MaxPeersPerAddr bounds the peer IDs one address holds in one swarm
	// (0: DefaultMaxPeersPerAddr). A new ID beyond it replaces the
	// address's least recently seen one, so a flood of made-up IDs from
	// one address only churns that address's own entries.
	MaxPeersPerAddr int
	Policy          Policy
	// Gateways sends each site's traffic with the origins through one
	// leecher of the site (see the package comment).
	Gateways bool
	// Interval is the announce interval told to clients, MinInterval the
	// one told to leechers of sites that depend on a gateway (0:
	// DefaultInterval, DefaultMinInterval).
	Interval, MinInterval time.Duration
	// FirstPace is the announce pace assumed for a client the registry has
	// seen announce only once (0: DefaultFirstPace, the slowest floor
	// common clients apply: libtorrent-based ones such as qBittorrent
	// never announce more often than every 5 minutes). From its second
	// announce on, the client's observed pace is used.
	FirstPace time.Duration
	// GatewayStuck is how long a gateway may go without progress (its own
	// reports, and, when its site has other leechers, theirs) before the
	// next leecher of its site takes over; and how long a site's leechers
	// may go without progress before a PC claiming to seed the site no
	// longer keeps them from the origins (0: DefaultGatewayStuck).
	GatewayStuck time.Duration
	Now          func() time.Time // for tests; nil: time.Now
}

// Registry holds all swarms. It is safe for concurrent use.
type Registry struct {
	opts    Options
	mu      sync.RWMutex
	swarms  map[Hash]*swarm
	changes atomic.Int64 // bumped when counters change
	// handovers counts gateway handovers by reason (HandoverReasons order).
	handovers [5]atomic.Int64
}

type peer struct {
	PeerAddr
	site      string
	origin    bool
	seeder    bool
	completed bool
	limited   bool // its PC reported a throttle or small upload limit (SetLimited)
	lastSeen  int64
	gaps      [2]int64 // the last two intervals between its announces, newest first (0: unknown)
	asked     int64    // the interval it was told at its last announce
	progress  int64    // when its own reports last showed progress (or it arrived)
	since     int64    // when it took its role: the site's gateway, or a seeder
	vouched   int64    // a gateway: when it last reported progress with no other leecher in its site
	up, down  int64
	left      int64 // -1: not reported
	set       *peerSet
	pos       int
	aset      *peerSet
	apos      int
}

// peerSet is a list of peers that removes in O(1): each peer knows its
// place. A peer is in one site or origin set (set, pos) and in the set of
// its address (aset, apos).
//
// A site or origin set also keeps its peers' IPv4 addresses and ports
// packed in 8 bytes each, in the same order (packed): answers that need no
// peer IDs are sampled from that dense array (32 KB for 4,000 peers)
// instead of following a pointer to each peer, whose cache miss was most of
// an announce's cost in large swarms.
type peerSet struct {
	list   []*peer
	packed []uint64 // parallel to list; 0: IPv6, see the peer; nil in the sets of one address
	byAddr bool     // the set of one address
}

// pack packs an IPv4 address and port (0 for IPv6).
func pack(pa PeerAddr) uint64 {
	a := pa.Addr.Addr()
	if !a.Is4() {
		return 0
	}
	b := a.As4()
	return 1<<48 | uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(pa.Addr.Port())
}

// addr is the i-th peer's address, with its ID if ids (else the ID is
// left zero, and an IPv4 peer is read from packed alone).
func (s *peerSet) addr(i int, ids bool) PeerAddr {
	v := s.packed[i]
	if v == 0 || ids {
		return s.list[i].PeerAddr
	}
	return unpack(v)
}

// unpack is pack's inverse for an IPv4 entry (v != 0).
func unpack(v uint64) PeerAddr {
	ip := netip.AddrFrom4([4]byte{byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16)})
	return PeerAddr{Addr: netip.AddrPortFrom(ip, uint16(v))}
}

// index is self's place in s, or -1.
func (s *peerSet) index(self *peer) int {
	if self != nil && self.set == s {
		return self.pos
	}
	return -1
}

func (s *peerSet) slot(p *peer) (**peerSet, *int) {
	if s.byAddr {
		return &p.aset, &p.apos
	}
	return &p.set, &p.pos
}

func (s *peerSet) add(p *peer) {
	set, pos := s.slot(p)
	*set, *pos = s, len(s.list)
	s.list = append(s.list, p)
	if !s.byAddr {
		s.packed = append(s.packed, pack(p.PeerAddr))
	}
}

func (s *peerSet) remove(p *peer) {
	set, pos := s.slot(p)
	last := len(s.list) - 1
	moved := s.list[last]
	s.list[*pos] = moved
	if !s.byAddr {
		s.packed[*pos] = s.packed[last]
		s.packed = s.packed[:last]
	}
	_, mpos := s.slot(moved)
	*mpos = *pos
	s.list[last] = nil
	s.list = s.list[:last]
	*set = nil
}

// witness is a leecher's report of progress: when, and from which address.
type witness struct {
	at   int64
	addr netip.Addr
}

// site is one site's part of a swarm.
type site struct {
	peers   peerSet
	seeders int
	gateway *peer // with Options.Gateways
	// seen are the latest progress reports of the site's leechers from
	// two different addresses, newest first: what the site's other PCs
	// say about a gateway or a seeder, which cannot vouch for itself.
	seen [2]witness
}

func (st *site) witnessed(a netip.Addr, now int64) {
	if st.seen[0].addr != a {
		st.seen[1] = st.seen[0]
	}
	st.seen[0] = witness{now, a}
}

// progressExcept is when a leecher at an address other than a last
// reported progress (0: never).
func (st *site) progressExcept(a netip.Addr) int64 {
	for _, w := range st.seen {
		if w.at != 0 && w.addr != a {
			return w.at
		}
	}
	return 0
}

type swarm struct {
	mu       sync.Mutex
	peers    map[Hash]*peer
	byAddr   map[netip.Addr]*peerSet
	byPort   map[netip.AddrPort]*peer
	sites    map[string]*site
	origins  peerSet
	seeders  int
	leechers int
	counters map[string]*Counters
}

// NewRegistry makes an empty registry.
func NewRegistry(o Options) *Registry {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxPeers <= 0 {
		o.MaxPeers = 50
	}
	if o.MaxSwarmPeers <= 0 {
		o.MaxSwarmPeers = 100000
	}
	if o.MaxPeersPerAddr <= 0 {
		o.MaxPeersPerAddr = DefaultMaxPeersPerAddr
	}
	if o.OriginPeers > o.MaxPeers {
		o.OriginPeers = o.MaxPeers
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.MinInterval <= 0 {
		o.MinInterval = min(DefaultMinInterval, o.Interval)
	}
	if o.FirstPace <= 0 {
		o.FirstPace = DefaultFirstPace
	}
	if o.GatewayStuck <= 0 {
		o.GatewayStuck = DefaultGatewayStuck
	}
	if o.TTL <= 0 {
		o.TTL = 2*o.Interval + time.Minute
	}
	return &Registry{opts: o, swarms: map[Hash]*swarm{}}
}

func (r *Registry) swarm(ih Hash, create bool) *swarm {
	r.mu.RLock()
	s := r.swarms[ih]
	r.mu.RUnlock()
	if s != nil || !create {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s = r.swarms[ih]; s == nil {
		s = &swarm{peers: map[Hash]*peer{}, byAddr: map[netip.Addr]*peerSet{}, byPort: map[netip.AddrPort]*peer{},
			sites: map[string]*site{}, counters: map[string]*Counters{}}
		r.swarms[ih] = s
	}
	return s
}

func (s *swarm) counter(site string) *Counters {
	c := s.counters[site]
	if c == nil {
		c = &Counters{}
		s.counters[site] = c
	}
	return c
}

func (s *swarm) insert(p *peer) {
	s.peers[p.ID] = p
	s.byPort[p.Addr] = p
	as := s.byAddr[p.Addr.Addr()]
	if as == nil {
		as = &peerSet{byAddr: true}
		s.byAddr[p.Addr.Addr()] = as
	}
	as.add(p)
	if p.origin {
		s.origins.add(p)
	} else {
		st := s.sites[p.site]
		if st == nil {
			st = &site{}
			s.sites[p.site] = st
		}
		st.peers.add(p)
		if p.seeder {
			st.seeders++
		}
	}
	if p.seeder {
		s.seeders++
	} else {
		s.leechers++
	}
}

func (s *swarm) delete(p *peer) {
	delete(s.peers, p.ID)
	if s.byPort[p.Addr] == p {
		delete(s.byPort, p.Addr)
	}
	if as := p.aset; as != nil {
		as.remove(p)
		if len(as.list) == 0 {
			delete(s.byAddr, p.Addr.Addr())
		}
	}
	if st := s.sites[p.site]; st != nil && !p.origin {
		if st.gateway == p {
			st.gateway = nil
		}
		if p.seeder {
			st.seeders--
		}
	}
	if p.set != nil {
		p.set.remove(p)
	}
	if p.seeder {
		s.seeders--
	} else {
		s.leechers--
	}
}

// makeRoom frees the place of a peer about to be recorded at ap: another
// peer at the same address and port is the same client under a new peer
// ID and goes; at MaxPeersPerAddr, the address's least recently seen peer
// goes. Called with s.mu.
func (r *Registry) makeRoom(s *swarm, ap netip.AddrPort) {
	if q := s.byPort[ap]; q != nil {
		s.delete(q)
	}
	as := s.byAddr[ap.Addr()]
	for as != nil && len(as.list) >= r.opts.MaxPeersPerAddr {
		oldest := as.list[0]
		for _, q := range as.list[1:] {
			if q.lastSeen < oldest.lastSeen {
				oldest = q
			}
		}
		s.delete(oldest)
		as = s.byAddr[ap.Addr()]
	}
}

func counterSite(p *peer) string {
	if p.site == "" {
		return OriginSite
	}
	return p.site
}

// Announce records an announce and returns the peers the client gets.
func (r *Registry) Announce(req Request) Result {
	now := r.opts.Now().UnixNano()
	s := r.swarm(req.InfoHash, true)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.peers[req.PeerID]
	if req.Event == EventStopped {
		return r.stop(s, p, req, now)
	}
	seeder := req.Left == 0
	grew := false // its reports show progress since its last announce
	if p != nil {
		grew = req.Downloaded > p.down || (req.Left >= 0 && p.left >= 0 && req.Left < p.left)
		if gap := now - p.lastSeen; gap > 0 {
			p.gaps = [2]int64{gap, p.gaps[0]}
		}
	}
	if p != nil && (p.Addr != req.Addr || p.site != req.Site || p.origin != req.Origin || p.seeder != seeder) {
		r.account(s, p, req)
		s.delete(p)
		if p.Addr != req.Addr {
			r.makeRoom(s, req.Addr)
		}
		if seeder && !p.seeder {
			p.since = now
		}
		p.Addr, p.site, p.origin, p.seeder = req.Addr, req.Site, req.Origin, seeder
		s.insert(p)
	} else if p != nil {
		r.account(s, p, req)
	} else {
		p = &peer{PeerAddr: PeerAddr{ID: req.PeerID, Addr: req.Addr}, site: req.Site, origin: req.Origin, seeder: seeder,
			progress: now, since: now}
		r.makeRoom(s, req.Addr)
		if len(s.peers) >= r.opts.MaxSwarmPeers {
			return Result{Peers: r.pick(s, p, req.NumWant, false, req), Seeders: s.seeders, Leechers: s.leechers, Interval: r.opts.Interval}
		}
		if req.Event == EventStarted {
			r.account(s, p, req)
		} else {
			// A peer we have not seen (or a tracker restart): take its
			// totals as the baseline instead of counting them again.
			p.up, p.down = req.Uploaded, req.Downloaded
		}
		s.insert(p)
	}
	p.lastSeen, p.left = now, req.Left
	st := s.sites[p.site]
	if grew {
		p.progress = now
		if !p.origin && st != nil {
			// Its next report is due one pace from now: until then this one
			// stands for the site's progress.
			st.witnessed(p.Addr.Addr(), now+r.pace(p))
			if st.gateway == p && r.alone(st, p, now) {
				p.vouched = now
			}
		}
	}
	if req.Event == EventCompleted && !p.completed {
		p.completed = true
		s.counter(counterSite(p)).Completed++
		r.changes.Add(1)
	}
	res := Result{Seeders: s.seeders, Leechers: s.leechers, Interval: r.opts.Interval}
	if r.opts.Gateways && !p.origin && p.site != "" && !p.seeder {
		res.Gateway = r.gatewayFor(st, p, now)
		res.Interval = r.opts.MinInterval
	}
	p.asked = int64(res.Interval)
	res.Peers = r.pick(s, p, req.NumWant, res.Gateway, req)
	return res
}

// stop takes p out of the swarm on its event=stopped, if the announce
// comes from its own address; a gateway hands its role on at once.
// Called with s.mu.
func (r *Registry) stop(s *swarm, p *peer, req Request, now int64) Result {
	if p != nil && p.Addr.Addr() == req.Addr.Addr() {
		r.account(s, p, req)
		st := s.sites[p.site]
		wasGateway := !p.origin && st != nil && st.gateway == p
		s.delete(p)
		if wasGateway {
			r.handOver(st, r.candidate(st, p.Addr.Addr(), now), HandoverStopped, now)
		}
	}
	return Result{Seeders: s.seeders, Leechers: s.leechers, Interval: r.opts.Interval}
}

// gatewayFor reports whether p, a leecher of a site, is (or now becomes)
// the site's gateway: no PC seeds the site (see seeded), and no other
// gateway keeps the role (see displaced). A limited p leaves the role to
// an unlimited leecher of the site when there is one. Called with s.mu.
func (r *Registry) gatewayFor(st *site, p *peer, now int64) bool {
	if r.seeded(st, p, now) {
		return false
	}
	g := st.gateway
	reason := ""
	if g != nil && g != p && !g.seeder && g.set != nil {
		if reason = r.displaced(st, g, p, now); reason == "" {
			return false
		}
	}
	if p.limited {
		if q := r.candidate(st, p.Addr.Addr(), now); q != nil && !q.limited {
			if g == p {
				reason = HandoverLimited
			}
			if g != q {
				r.handOver(st, q, reason, now)
			}
			return false
		}
	}
	if g != p {
		r.handOver(st, p, reason, now)
	}
	return true
}

// displaced says why gateway g loses its role to p, a leecher of its site
// that announces now ("": g keeps it). A gateway keeps the role while it
// announces at its pace, serves (see serves) and is not limited while p
// is not; p announcing from g's address is the same PC restarted with a
// new peer ID. Called with s.mu.
func (r *Registry) displaced(st *site, g, p *peer, now int64) string {
	switch {
	case g.Addr.Addr() == p.Addr.Addr():
		return HandoverRestarted
	case !r.present(g, now):
		return HandoverQuiet
	case !r.serves(st, g, now):
		return HandoverStuck
	case g.limited && !p.limited:
		return HandoverLimited
	}
	return ""
}

// handOver makes q (may be nil) the site's gateway and counts why the
// role moved (reason "": it had no holder). Called with s.mu.
func (r *Registry) handOver(st *site, q *peer, reason string, now int64) {
	st.gateway = q
	if q != nil {
		q.since, q.vouched = now, 0
	}
	for i, h := range HandoverReasons {
		if h == reason {
			r.handovers[i].Add(1)
		}
	}
}

// candidate is the leecher of a site that should take the gateway role
// now: present, at another address than not, unlimited if any is, the
// most recently seen. Nil when there is none, or when the site has a
// seeder (it needs no gateway). Called with s.mu.
func (r *Registry) candidate(st *site, not netip.Addr, now int64) *peer {
	if st == nil || st.seeders > 0 {
		return nil
	}
	var best *peer
	for _, q := range st.peers.list {
		if q.seeder || q.Addr.Addr() == not || !r.live(q, now) {
			continue
		}
		if best == nil || (best.limited && !q.limited) || (best.limited == q.limited && q.lastSeen > best.lastSeen) {
			best = q
		}
	}
	return best
}

// present reports whether gateway g announces at its own pace: its last
// announce is no older than its pace plus a grace of a quarter of it (at
// least gatewayGrace; within the TTL), for clients whose timers wander.
// A gateway that crashed is replaced by the first neighbour announcing
// after that, not after live's twice its pace.
func (r *Registry) present(g *peer, now int64) bool {
	pace := r.pace(g)
	return now-g.lastSeen <= min(pace+max(pace/4, int64(gatewayGrace)), int64(r.opts.TTL))
}

// serves reports whether gateway g shows progress: its own reports grew
// within GatewayStuck of when its next report was due and, unless it is
// alone in its site, a leecher at another address reported progress
// within GatewayStuck (of that report's next being due; or of when g took
// the role, or last vouched for itself while alone, if that is later).
// Called with s.mu.
func (r *Registry) serves(st *site, g *peer, now int64) bool {
	stuck := int64(r.opts.GatewayStuck)
	if now-(g.progress+r.pace(g)) > stuck {
		return false
	}
	return now-max(g.since, g.vouched, st.progressExcept(g.Addr.Addr())) <= stuck
}

// seeded reports whether a present PC of the site has the whole package
// and the site's leechers show that it serves them: a leecher at another
// address than the seeder's reported progress, or p itself did (or
// arrived), or the seeder became one, within GatewayStuck. A PC that only
// claims to seed keeps its site from the origins for GatewayStuck at most.
// Called with s.mu.
func (r *Registry) seeded(st *site, p *peer, now int64) bool {
	if st == nil || st.seeders == 0 {
		return false
	}
	stuck := int64(r.opts.GatewayStuck)
	for _, q := range st.peers.list {
		if !q.seeder || !r.live(q, now) {
			continue
		}
		ev := max(q.since, st.progressExcept(q.Addr.Addr()))
		if p.Addr.Addr() != q.Addr.Addr() {
			ev = max(ev, p.progress)
		}
		if now-ev <= stuck {
			return true
		}
	}
	return false
}

// alone reports whether p has no present leecher at another address in
// its site. Called with s.mu.
func (r *Registry) alone(st *site, p *peer, now int64) bool {
	for _, q := range st.peers.list {
		if !q.seeder && q.Addr.Addr() != p.Addr.Addr() && r.live(q, now) {
			return false
		}
	}
	return true
}

// pace is how often p announces: the longer of its last two gaps between
// announces and the interval it was told (FirstPace while it has
// announced only once).
func (r *Registry) pace(p *peer) int64 {
	pace := max(p.gaps[0], p.gaps[1])
	if p.gaps[0] == 0 {
		pace = int64(r.opts.FirstPace)
	}
	return max(pace, p.asked)
}

// live reports whether p is still present by its own pace: it announced
// within twice its pace plus livenessSlack, and within the TTL.
func (r *Registry) live(p *peer, now int64) bool {
	return now-p.lastSeen <= min(2*r.pace(p)+int64(livenessSlack), int64(r.opts.TTL))
}

// PeerInfo is what the registry knows of one peer.
type PeerInfo struct {
	Site    string
	Origin  bool
	Seeder  bool
	Gateway bool // its site's gateway right now
}

// SetLimited records whether the PC behind a peer is limited (a helpdesk
// throttle, a schedule or a small upload limit), if the peer is in the
// swarm of ih and announced from address from: the caller proves nothing
// else about who sends it. A limited gateway hands its role at once to an
// unlimited leecher of its site, if there is one. It reports the peer and
// whether it was found.
func (r *Registry) SetLimited(ih, id Hash, from netip.Addr, limited bool) (PeerInfo, bool) {
	s := r.swarm(ih, false)
	if s == nil {
		return PeerInfo{}, false
	}
	now := r.opts.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.peers[id]
	if p == nil || p.Addr.Addr() != from.Unmap() {
		return PeerInfo{}, false
	}
	p.limited = limited
	st := s.sites[p.site]
	if limited && !p.origin && st != nil && st.gateway == p {
		if q := r.candidate(st, p.Addr.Addr(), now); q != nil && !q.limited {
			r.handOver(st, q, HandoverLimited, now)
		}
	}
	info := PeerInfo{Site: counterSite(p), Origin: p.origin, Seeder: p.seeder}
	info.Gateway = st != nil && !p.origin && st.gateway == p
	return info, true
}

// Handovers returns how often a site's gateway role moved, by reason.
func (r *Registry) Handovers() map[string]int64 {
	out := make(map[string]int64, len(HandoverReasons))
	for i, h := range HandoverReasons {
		out[h] = r.handovers[i].Load()
	}
	return out
}

// Gateway returns the current gateway of a site in a swarm, if it has one.
func (r *Registry) Gateway(ih Hash, site string) (PeerAddr, bool) {
	s := r.swarm(ih, false)
	if s == nil {
		return PeerAddr{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.sites[site]; st != nil && st.gateway != nil {
		return st.gateway.PeerAddr, true
	}
	return PeerAddr{}, false
}

// account adds the bytes reported since the peer's last announce.
func (r *Registry) account(s *swarm, p *peer, req Request) {
	du, dd := req.Uploaded-p.up, req.Downloaded-p.down
	if du < 0 { // the client restarted its counters
		du = req.Uploaded
	}
	if dd < 0 {
		dd = req.Downloaded
	}
	p.up, p.down = req.Uploaded, req.Downloaded
	if du > 0 || dd > 0 {
		c := s.counter(counterSite(p))
		c.Uploaded += du
		c.Downloaded += dd
		r.changes.Add(1)
	}
}

// pick chooses the peers for p: its own site, then sites it may receive,
// then origins. OriginPeers slots are kept for origins so that a busy
// site still learns about them. An origin gets peers of every site (so a
// seeding origin can reach leechers that cannot be dialled), then other
// origins. With gateways, a site's PC gets origins only if it is the
// gateway, and an origin gets only the gateways.
func (r *Registry) pick(s *swarm, p *peer, numWant int, gateway bool, req Request) []PeerAddr {
	buf, ids := req.Buf, !req.NoIDs
	want := r.opts.MaxPeers
	if numWant >= 0 && numWant < want {
		want = numWant
	}
	if want == 0 {
		return nil
	}
	nOrigins := len(s.origins.list)
	if p.origin {
		nOrigins--
	}
	if r.opts.Gateways && !p.origin && p.site != "" && !gateway {
		nOrigins = 0
	}
	originSlots := min(r.opts.OriginPeers, nOrigins, want)
	out := buf[:0]
	if cap(out) < want {
		out = make([]PeerAddr, 0, want)
	}
	if p.origin && r.opts.Gateways {
		var gws []*peer
		for _, st := range s.sites {
			if g := st.gateway; g != nil && g.set != nil && !g.seeder {
				gws = append(gws, g)
			}
		}
		rand.Shuffle(len(gws), func(i, j int) { gws[i], gws[j] = gws[j], gws[i] })
		for _, g := range gws[:min(len(gws), want-originSlots)] {
			out = append(out, g.PeerAddr)
		}
	} else if p.origin {
		var all []*peerSet
		for _, st := range s.sites {
			all = append(all, &st.peers)
		}
		out = sample(out, all, want-originSlots, p, ids)
	} else if p.site != "" {
		if st := s.sites[p.site]; st != nil {
			out = sample(out, []*peerSet{&st.peers}, want-originSlots, p, ids)
		}
		if len(out) < want-originSlots && len(s.sites) > 1 && r.opts.Policy != nil {
			var shared []*peerSet
			for name, st := range s.sites {
				if name != p.site && r.opts.Policy.MayReceive(p.site, name) {
					shared = append(shared, &st.peers)
				}
			}
			out = sample(out, shared, want-originSlots-len(out), p, ids)
		}
	}
	if nOrigins == 0 {
		return out
	}
	return sample(out, []*peerSet{&s.origins}, want-len(out), p, ids)
}

// sample appends up to k peers drawn at random from sets (never self) to
// out, in random order.
func sample(out []PeerAddr, sets []*peerSet, k int, self *peer, ids bool) []PeerAddr {
	if len(sets) == 1 {
		return sampleSet(out, sets[0], k, self, ids)
	}
	n := 0
	for _, set := range sets {
		n += len(set.list)
	}
	if k <= 0 || n == 0 {
		return out
	}
	start := len(out)
	if k >= n-1 {
		return takeAll(out, k, self, ids, sets...)
	}
	// Floyd's algorithm: k+1 distinct indices, self dropped if drawn. Small
	// samples (the usual case) use a slice instead of a map.
	var chosen []int
	var chosenMap map[int]struct{}
	if k < 128 {
		chosen = make([]int, 0, k+1)
	} else {
		chosenMap = make(map[int]struct{}, k+1)
	}
	has := func(x int) bool {
		if chosenMap != nil {
			_, ok := chosenMap[x]
			return ok
		}
		for _, c := range chosen {
			if c == x {
				return true
			}
		}
		return false
	}
	for j := n - k - 1; j < n; j++ {
		t := rand.IntN(j + 1)
		if has(t) {
			t = j
		}
		if chosenMap != nil {
			chosenMap[t] = struct{}{}
		} else {
			chosen = append(chosen, t)
		}
	}
	for i := range chosenMap {
		chosen = append(chosen, i)
	}
	for _, i := range chosen {
		set, j := at(sets, i)
		if j != set.index(self) && len(out)-start < k {
			out = append(out, set.addr(j, ids))
		}
	}
	shuffle(out[start:])
	return out
}

// sampleSet draws up to k peers from one set (never self) at random, in
// random order, without touching the set: random indices, duplicates
// rejected through a small open-addressing table on the stack (a map
// beyond sampleSmall). Swapping the set's own pointers instead, as before,
// cost a GC write barrier per swap under load.
func sampleSet(out []PeerAddr, set *peerSet, k int, self *peer, ids bool) []PeerAddr {
	n, skip := len(set.list), set.index(self)
	if k <= 0 || n == 0 {
		return out
	}
	if 2*k >= n {
		return takeAll(out, k, self, ids, set)
	}
	// At least n-1 >= 2k candidates besides self: these loops end.
	if k > sampleSmall {
		big := make(map[int]struct{}, k+1)
		for k > 0 {
			i := rand.IntN(n)
			if _, dup := big[i]; dup {
				continue
			}
			big[i] = struct{}{}
			if i != skip {
				out = append(out, set.addr(i, ids))
				k--
			}
		}
		return out
	}
	var idx [sampleSmall]int32
	m := drawIndices(idx[:k], n, skip)
	return set.gather(out, idx[:m], ids)
}

// sampleSmall is the largest sample drawn through drawIndices and gather
// (numwant is 50 by default).
const sampleSmall = 60

// drawIndices fills idx with distinct random indices below n, never
// skip, and returns how many it drew (len(idx)); n-1 must be at least
// 2·len(idx) and len(idx) at most sampleSmall.
func drawIndices(idx []int32, n, skip int) int {
	var table [128]int32 // index+1; 0 is empty; at most sampleSmall+1 used
	m := 0
	for m < len(idx) {
		i := rand.IntN(n)
		h, dup := uint32(i)*2654435761>>25, false
		for table[h] != 0 {
			if table[h] == int32(i+1) {
				dup = true
				break
			}
			h = (h + 1) & 127
		}
		if dup {
			continue
		}
		table[h] = int32(i + 1)
		if i != skip {
			idx[m] = int32(i)
			m++
		}
	}
	return m
}

// gather appends the peers at idx (at most sampleSmall) to out. The packed
// entries are loaded first in a loop of their own: the loads are
// independent, so the processor overlaps their cache misses (a swarm's
// packed array is cold after the kernel's work on each packet), which
// loading them one by one between drawing indices did not.
func (s *peerSet) gather(out []PeerAddr, idx []int32, ids bool) []PeerAddr {
	if ids || s.packed == nil {
		for _, i := range idx {
			out = append(out, s.addr(int(i), ids))
		}
		return out
	}
	var vals [sampleSmall]uint64
	packed := s.packed
	for j, i := range idx {
		vals[j] = packed[i]
	}
	for j, i := range idx {
		v := vals[j]
		if v == 0 {
			out = append(out, s.list[i].PeerAddr)
			continue
		}
		out = append(out, unpack(v))
	}
	return out
}

// takeAll appends every peer of sets but self to out, shuffled, and keeps
// k of them.
func takeAll(out []PeerAddr, k int, self *peer, ids bool, sets ...*peerSet) []PeerAddr {
	start := len(out)
	for _, set := range sets {
		skip := set.index(self)
		for i := range set.list {
			if i != skip {
				out = append(out, set.addr(i, ids))
			}
		}
	}
	shuffle(out[start:])
	if len(out)-start > k {
		out = out[:start+k]
	}
	return out
}

// at returns the set and index of the i-th peer of the concatenation of
// sets (i < the sum of their lengths).
func at(sets []*peerSet, i int) (*peerSet, int) {
	for _, set := range sets {
		if i < len(set.list) {
			return set, i
		}
		i -= len(set.list)
	}
	return nil, 0
}

func shuffle(ps []PeerAddr) {
	rand.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
}

// Expire drops peers that have not announced within the TTL and returns
// how many it dropped.
func (r *Registry) Expire() int {
	cutoff := r.opts.Now().Add(-r.opts.TTL).UnixNano()
	r.mu.RLock()
	swarms := make([]*swarm, 0, len(r.swarms))
	for _, s := range r.swarms {
		swarms = append(swarms, s)
	}
	r.mu.RUnlock()
	n := 0
	for _, s := range swarms {
		s.mu.Lock()
		for _, p := range s.peers {
			if p.lastSeen < cutoff {
				s.delete(p)
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

// Scrape returns the figures of one swarm over all sites.
func (r *Registry) Scrape(ih Hash) (seeders, leechers int, completed int64) {
	s := r.swarm(ih, false)
	if s == nil {
		return 0, 0, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.counters {
		completed += c.Completed
	}
	return s.seeders, s.leechers, completed
}

// Stats returns the figures of one swarm per site (origins outside every
// site under OriginSite).
func (r *Registry) Stats(ih Hash) map[string]Figures {
	out := map[string]Figures{}
	s := r.swarm(ih, false)
	if s == nil {
		return out
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.peers {
		f := out[counterSite(p)]
		if p.seeder {
			f.Seeders++
		} else {
			f.Leechers++
		}
		out[counterSite(p)] = f
	}
	for site, c := range s.counters {
		f := out[site]
		f.Completed, f.Uploaded, f.Downloaded = c.Completed, c.Uploaded, c.Downloaded
		out[site] = f
	}
	now := r.opts.Now().UnixNano()
	for name, st := range s.sites {
		if g := st.gateway; g != nil && g.set != nil && !g.seeder && r.live(g, now) {
			f := out[name]
			f.Gateway, f.GatewayLimited = g.Addr.String(), g.limited
			out[name] = f
		}
	}
	return out
}

// Changes is a number that grows whenever counters change; compare two
// readings to know whether Counters needs saving.
func (r *Registry) Changes() int64 { return r.changes.Load() }

// Counters returns every counter, for saving.
func (r *Registry) Counters() []CounterRecord {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []CounterRecord
	for ih, s := range r.swarms {
		s.mu.Lock()
		for site, c := range s.counters {
			out = append(out, CounterRecord{InfoHash: ih, Site: site, Counters: *c})
		}
		s.mu.Unlock()
	}
	return out
}

// Restore loads saved counters (before the first announce).
func (r *Registry) Restore(recs []CounterRecord) {
	for _, rec := range recs {
		s := r.swarm(rec.InfoHash, true)
		s.mu.Lock()
		*s.counter(rec.Site) = rec.Counters
		s.mu.Unlock()
	}
}
