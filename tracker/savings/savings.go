// Package savings keeps what the services report about where their bytes
// came from (repoapi.Report) and sums it into what each site saved: WAN
// bytes and server bytes avoided, and how long it took until N PCs of a
// site held a version. It keeps the latest report per PC and version in a
// bounded table that the tracker persists beside its counters
// (tracker/store). It checks nothing about who sent a report: the tracker
// (tracker/server) authenticates reports against its swarms first.
package savings

import (
	"encoding/hex"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/tracker/swarm"
)

// DefaultMaxRecords bounds the table: 6,500 PCs × 30 versions fit.
const DefaultMaxRecords = 250000

// Record is the latest report of one PC on one version, as the tracker
// accepted it.
type Record struct {
	InfoHash   swarm.Hash `json:"-"`
	PeerID     swarm.Hash `json:"-"`
	Site       string     `json:"site"` // the tracker's site of the peer, not the PC's word
	FromSite   int64      `json:"bytes_site"`
	Origin     int64      `json:"bytes_origin"`
	OtherSites int64      `json:"bytes_other_sites"`
	Complete   bool       `json:"complete,omitempty"`
	// Started is when the PC's job began (the tracker's clock: the first
	// report's arrival less its Seconds, never before publication; later
	// reports do not move it);
	// Completed is when the first complete report arrived.
	Started   time.Time `json:"started"`
	Completed time.Time `json:"completed,omitzero"`
	Updated   time.Time `json:"updated"`
}

type key struct{ ih, id swarm.Hash }

// Book is the table of reports. It is safe for concurrent use.
type Book struct {
	max int

	mu      sync.Mutex
	recs    map[key]*Record
	byHash  map[swarm.Hash]map[swarm.Hash]*Record
	dirty   map[key]bool
	dropped []key // evicted since the last Dirty
}

// New makes an empty book of at most maxRecords records (0:
// DefaultMaxRecords).
func New(maxRecords int) *Book {
	if maxRecords <= 0 {
		maxRecords = DefaultMaxRecords
	}
	return &Book{max: maxRecords, recs: map[key]*Record{}, byHash: map[swarm.Hash]map[swarm.Hash]*Record{}, dirty: map[key]bool{}}
}

// Put records a report received at now from the PC with peer ID id in
// site, on the version ih published at published. It merges with the PC's
// previous report: the start is the first report's, the completion the
// first complete report's. When the table is full, the least recently
// updated hundredth of it goes.
func (b *Book) Put(ih, id swarm.Hash, site string, r repoapi.Report, published, now time.Time) Record {
	started := published // a job cannot start before its version exists
	if since := int64(now.Sub(published) / time.Second); r.Seconds < since {
		started = now.Add(-time.Duration(max(r.Seconds, 0)) * time.Second)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := key{ih, id}
	rec := b.recs[k]
	if rec == nil {
		if len(b.recs) >= b.max {
			b.evict()
		}
		rec = &Record{InfoHash: ih, PeerID: id, Started: started}
		b.insert(rec)
	}
	rec.Site, rec.FromSite, rec.Origin, rec.OtherSites = site, r.Site, r.Origin, r.OtherSites
	if r.Complete && !rec.Complete {
		rec.Complete, rec.Completed = true, now
	}
	rec.Updated = now
	b.dirty[k] = true
	return *rec
}

func (b *Book) insert(rec *Record) {
	b.recs[key{rec.InfoHash, rec.PeerID}] = rec
	m := b.byHash[rec.InfoHash]
	if m == nil {
		m = map[swarm.Hash]*Record{}
		b.byHash[rec.InfoHash] = m
	}
	m[rec.PeerID] = rec
}

// evict drops the least recently updated hundredth of the table. Called
// with b.mu.
func (b *Book) evict() {
	all := make([]*Record, 0, len(b.recs))
	for _, r := range b.recs {
		all = append(all, r)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Updated.Before(all[j].Updated) })
	for _, r := range all[:max(1, len(all)/100)] {
		k := key{r.InfoHash, r.PeerID}
		delete(b.recs, k)
		delete(b.dirty, k)
		if m := b.byHash[r.InfoHash]; m != nil {
			delete(m, r.PeerID)
			if len(m) == 0 {
				delete(b.byHash, r.InfoHash)
			}
		}
		b.dropped = append(b.dropped, k)
	}
}

// Len is the number of records.
func (b *Book) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.recs)
}

// Changes returns the records changed and the keys (info-hash, peer ID)
// dropped since the last call, for saving; it forgets them. A failed save
// gives them back with Unsave.
func (b *Book) Changes() (changed []Record, dropped [][2]swarm.Hash) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.dirty {
		changed = append(changed, *b.recs[k])
	}
	for _, k := range b.dropped {
		dropped = append(dropped, [2]swarm.Hash{k.ih, k.id})
	}
	clear(b.dirty)
	b.dropped = nil
	return changed, dropped
}

// Unsave marks records changed again after a failed save.
func (b *Book) Unsave(changed []Record, dropped [][2]swarm.Hash) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range changed {
		if _, ok := b.recs[key{r.InfoHash, r.PeerID}]; ok {
			b.dirty[key{r.InfoHash, r.PeerID}] = true
		}
	}
	for _, d := range dropped {
		b.dropped = append(b.dropped, key{d[0], d[1]})
	}
}

// Restore loads saved records (before the first report).
func (b *Book) Restore(recs []Record) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range recs {
		if len(b.recs) >= b.max {
			return
		}
		r := recs[i]
		b.insert(&r)
	}
}

// Version sums the reports on one version into its savings per site
// (sorted by site), or nil when no PC reported on it.
func (b *Book) Version(id, version string, ih swarm.Hash, size int64) *repoapi.PackageSavings {
	b.mu.Lock()
	recs := make([]Record, 0, len(b.byHash[ih]))
	for _, r := range b.byHash[ih] {
		recs = append(recs, *r)
	}
	b.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	out := &repoapi.PackageSavings{ID: id, Version: version, InfoHash: hex.EncodeToString(ih[:]), Size: size}
	bySite := map[string][]Record{}
	for _, r := range recs {
		bySite[r.Site] = append(bySite[r.Site], r)
	}
	for site, rs := range bySite {
		s := siteSavings(site, rs)
		out.Sites = append(out.Sites, s)
		out.WANAvoided += s.WANAvoided
		out.ServerAvoided += s.ServerAvoided
	}
	sort.Slice(out.Sites, func(i, j int) bool { return out.Sites[i].Site < out.Sites[j].Site })
	return out
}

// siteSavings sums one site's records. Bytes from inside the site did not
// cross its WAN link; bytes from site peers and other sites did not come
// from the servers.
func siteSavings(site string, rs []Record) repoapi.SiteSavings {
	s := repoapi.SiteSavings{Site: site, PCs: len(rs)}
	start := rs[0].Started
	var done []time.Time
	for _, r := range rs {
		s.FromSite += r.FromSite
		s.Origin += r.Origin
		s.OtherSites += r.OtherSites
		if r.Started.Before(start) {
			start = r.Started
		}
		if r.Complete {
			s.Complete++
			done = append(done, r.Completed)
		}
	}
	s.WANAvoided = s.FromSite
	s.ServerAvoided = s.FromSite + s.OtherSites
	s.Milestones = milestones(start, done)
	return s
}

// milestones are the times from start to the Nth completion for N = 1,
// 2, 4, 8, … and the last.
func milestones(start time.Time, done []time.Time) []repoapi.Milestone {
	slices.SortFunc(done, func(a, b time.Time) int { return a.Compare(b) })
	var out []repoapi.Milestone
	for n := 1; n <= len(done); n *= 2 {
		out = append(out, repoapi.Milestone{PCs: n, Seconds: secondsBetween(start, done[n-1])})
	}
	if n := len(done); n > 0 && out[len(out)-1].PCs != n {
		out = append(out, repoapi.Milestone{PCs: n, Seconds: secondsBetween(start, done[n-1])})
	}
	return out
}

func secondsBetween(a, b time.Time) int64 { return max(0, int64(b.Sub(a)/time.Second)) }

// SiteTotals are one site's savings over every version.
type SiteTotals struct {
	FromSite, Origin, OtherSites int64
	// Reports counts records (one per PC and version), Complete those of
	// PCs that hold their version.
	Reports, Complete int
}

// Totals sums every record per site, for metrics.
func (b *Book) Totals() map[string]SiteTotals {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]SiteTotals{}
	for _, r := range b.recs {
		t := out[r.Site]
		t.FromSite += r.FromSite
		t.Origin += r.Origin
		t.OtherSites += r.OtherSites
		t.Reports++
		if r.Complete {
			t.Complete++
		}
		out[r.Site] = t
	}
	return out
}
