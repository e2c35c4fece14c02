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
// the origins. A gateway that stops announcing for GatewayStale is
// replaced by the next leecher of its site that announces.
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
	// Soon asks the client to announce again at the minimum interval: a
	// leecher of a site that depends on a gateway, so that a gateway that
	// vanished is noticed and replaced within minutes.
	Soon bool
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

// Options configure a Registry.
type Options struct {
	MaxPeers    int           // cap on peers per answer
	OriginPeers int           // answer slots reserved for origins
	TTL         time.Duration // a peer that has not announced for this long is dropped
	// MaxSwarmPeers bounds the peers kept per swarm (0: 100000). A new
	// peer beyond it still gets an answer but is not recorded, so a flood
	// of made-up peer IDs cannot exhaust memory.
	MaxSwarmPeers int
	Policy        Policy
	// Gateways sends each site's traffic with the origins through one
	// leecher of the site (see the package comment).
	Gateways bool
	// GatewayStale is how long a gateway (or a site's seeder) may go
	// without announcing before it no longer counts; 0: TTL.
	GatewayStale time.Duration
	// GatewayStuck is how long a gateway may report no new downloaded
	// bytes before the next leecher of its site takes over (it cannot
	// reach the origins, or hangs); 0: 5 minutes.
	GatewayStuck time.Duration
	Now          func() time.Time // for tests; nil: time.Now
}

// Registry holds all swarms. It is safe for concurrent use.
type Registry struct {
	opts    Options
	mu      sync.RWMutex
	swarms  map[Hash]*swarm
	changes atomic.Int64 // bumped when counters change
}

type peer struct {
	PeerAddr
	site      string
	origin    bool
	seeder    bool
	completed bool
	lastSeen  int64
	progress  int64 // when its downloaded total last grew (or it arrived)
	up, down  int64
	set       *peerSet
	pos       int
}

type peerSet struct{ list []*peer }

func (s *peerSet) add(p *peer) {
	p.set, p.pos = s, len(s.list)
	s.list = append(s.list, p)
}

func (s *peerSet) remove(p *peer) {
	last := len(s.list) - 1
	s.list[p.pos] = s.list[last]
	s.list[p.pos].pos = p.pos
	s.list[last] = nil
	s.list = s.list[:last]
	p.set = nil
}

type swarm struct {
	mu       sync.Mutex
	peers    map[Hash]*peer
	sites    map[string]*peerSet
	origins  peerSet
	seeders  int
	leechers int
	counters map[string]*Counters
	gateways map[string]*peer // per site, with Options.Gateways
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
	if o.OriginPeers > o.MaxPeers {
		o.OriginPeers = o.MaxPeers
	}
	if o.GatewayStale <= 0 {
		o.GatewayStale = o.TTL
	}
	if o.GatewayStuck <= 0 {
		o.GatewayStuck = 5 * time.Minute
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
		s = &swarm{peers: map[Hash]*peer{}, sites: map[string]*peerSet{}, counters: map[string]*Counters{}, gateways: map[string]*peer{}}
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
	if p.origin {
		s.origins.add(p)
	} else {
		set := s.sites[p.site]
		if set == nil {
			set = &peerSet{}
			s.sites[p.site] = set
		}
		set.add(p)
	}
	if p.seeder {
		s.seeders++
	} else {
		s.leechers++
	}
}

func (s *swarm) delete(p *peer) {
	delete(s.peers, p.ID)
	if s.gateways[p.site] == p {
		delete(s.gateways, p.site)
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
	downBefore := int64(-1)
	if p != nil {
		downBefore = p.down
	}
	if req.Event == EventStopped {
		// Only the peer's own address may take it out of the swarm.
		if p != nil && p.Addr.Addr() == req.Addr.Addr() {
			r.account(s, p, req)
			s.delete(p)
		}
		return Result{Seeders: s.seeders, Leechers: s.leechers}
	}
	seeder := req.Left == 0
	if p != nil && (p.Addr != req.Addr || p.site != req.Site || p.origin != req.Origin || p.seeder != seeder) {
		r.account(s, p, req)
		s.delete(p)
		p.Addr, p.site, p.origin, p.seeder = req.Addr, req.Site, req.Origin, seeder
		s.insert(p)
	} else if p != nil {
		r.account(s, p, req)
	} else {
		p = &peer{PeerAddr: PeerAddr{ID: req.PeerID, Addr: req.Addr}, site: req.Site, origin: req.Origin, seeder: seeder}
		if len(s.peers) >= r.opts.MaxSwarmPeers {
			return Result{Peers: r.pick(s, p, req.NumWant, false), Seeders: s.seeders, Leechers: s.leechers}
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
	p.lastSeen = now
	if downBefore < 0 || req.Downloaded > downBefore {
		p.progress = now
	}
	if req.Event == EventCompleted && !p.completed {
		p.completed = true
		s.counter(counterSite(p)).Completed++
		r.changes.Add(1)
	}
	res := Result{Seeders: s.seeders, Leechers: s.leechers}
	if r.opts.Gateways && !p.origin && p.site != "" && !p.seeder {
		res.Gateway = r.gatewayFor(s, p, now)
		res.Soon = true
	}
	res.Peers = r.pick(s, p, req.NumWant, res.Gateway)
	return res
}

// gatewayFor reports whether p, a leecher of a site, is (or now becomes)
// the site's gateway: there is no live gateway and no live seeder in the
// site. Called with s.mu.
func (r *Registry) gatewayFor(s *swarm, p *peer, now int64) bool {
	if r.siteHasSeeder(s, p.site, now) {
		return false
	}
	g := s.gateways[p.site]
	if g == p {
		return true
	}
	// A live gateway that makes progress keeps the role, unless p
	// announces from its address: the same PC, restarted with a new peer ID.
	if g != nil && !g.seeder && g.set != nil && r.live(g, now) && now-g.progress <= int64(r.opts.GatewayStuck) &&
		g.Addr.Addr() != p.Addr.Addr() {
		return false
	}
	s.gateways[p.site] = p
	return true
}

func (r *Registry) live(p *peer, now int64) bool {
	return now-p.lastSeen <= int64(r.opts.GatewayStale)
}

// siteHasSeeder reports whether a PC of the site has the whole package and
// announced lately. Called with s.mu.
func (r *Registry) siteHasSeeder(s *swarm, site string, now int64) bool {
	set := s.sites[site]
	if set == nil {
		return false
	}
	for _, q := range set.list {
		if q.seeder && r.live(q, now) {
			return true
		}
	}
	return false
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
func (r *Registry) pick(s *swarm, p *peer, numWant int, gateway bool) []PeerAddr {
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
	out := make([]PeerAddr, 0, want)
	if p.origin && r.opts.Gateways {
		var gws []*peer
		for _, g := range s.gateways {
			if g.set != nil && !g.seeder {
				gws = append(gws, g)
			}
		}
		rand.Shuffle(len(gws), func(i, j int) { gws[i], gws[j] = gws[j], gws[i] })
		for _, g := range gws[:min(len(gws), want-originSlots)] {
			out = append(out, g.PeerAddr)
		}
	} else if p.origin {
		var all []*peerSet
		for _, set := range s.sites {
			all = append(all, set)
		}
		out = sample(out, all, want-originSlots, p)
	} else if p.site != "" {
		if set := s.sites[p.site]; set != nil {
			out = sample(out, []*peerSet{set}, want-originSlots, p)
		}
		if len(out) < want-originSlots && len(s.sites) > 1 && r.opts.Policy != nil {
			var shared []*peerSet
			for name, set := range s.sites {
				if name != p.site && r.opts.Policy.MayReceive(p.site, name) {
					shared = append(shared, set)
				}
			}
			out = sample(out, shared, want-originSlots-len(out), p)
		}
	}
	if nOrigins == 0 {
		return out
	}
	return sample(out, []*peerSet{&s.origins}, want-len(out), p)
}

// sample appends up to k peers drawn at random from sets (never self) to
// out, in random order.
func sample(out []PeerAddr, sets []*peerSet, k int, self *peer) []PeerAddr {
	if len(sets) == 1 {
		return sampleSet(out, sets[0], k, self)
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
		for _, set := range sets {
			for _, q := range set.list {
				if q != self {
					out = append(out, q.PeerAddr)
				}
			}
		}
		shuffle(out[start:])
		if len(out)-start > k {
			out = out[:start+k]
		}
		return out
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
		q := at(sets, i)
		if q != self && len(out)-start < k {
			out = append(out, q.PeerAddr)
		}
	}
	shuffle(out[start:])
	return out
}

// sampleSet draws from one set by a partial Fisher-Yates shuffle of the
// set itself (its order carries no meaning): O(k), no allocation, and the
// drawn peers come out in random order.
func sampleSet(out []PeerAddr, set *peerSet, k int, self *peer) []PeerAddr {
	l := set.list
	for i := 0; i < len(l) && k > 0; i++ {
		j := i + rand.IntN(len(l)-i)
		if i != j {
			l[i], l[j] = l[j], l[i]
			l[i].pos, l[j].pos = i, j
		}
		if l[i] != self {
			out = append(out, l[i].PeerAddr)
			k--
		}
	}
	return out
}

// at returns the i-th peer of the concatenation of sets.
func at(sets []*peerSet, i int) *peer {
	for _, set := range sets {
		if i < len(set.list) {
			return set.list[i]
		}
		i -= len(set.list)
	}
	return nil
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
