package core

import (
	"sort"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
)

// retention applies the seeding policy: an unassigned, transferred package
// is removed SeedDays after its last use (or its completion, if never used);
// and while the cache is above CacheMax, the transferred, unassigned
// packages that were used longest ago are evicted first. Packages that are
// downloading, assigned, or suspended are never evicted. Called with s.mu.
func (s *Service) retention(now time.Time) {
	s.retentionOld(now)
	var done []*job
	for _, j := range s.jobs {
		if j.state != api.StateTransferred || j.rec.Assigned {
			continue
		}
		if !now.Before(s.seedUntil(j.rec)) {
			s.removeLocked(j, "seeding period over")
			s.dirty = true
			continue
		}
		done = append(done, j)
	}
	limit := int64(s.cfg.CacheMax)
	if limit <= 0 {
		return
	}
	var total int64
	for _, j := range s.jobs {
		if j.rec.Source == "" {
			total += j.rec.Size
		}
		total += oldSize(j.rec)
	}
	// Versions a package has moved past go before any package.
	if total = s.evictOld(total, limit); total <= limit {
		return
	}
	sort.Slice(done, func(a, b int) bool { return lastUse(done[a].rec).Before(lastUse(done[b].rec)) })
	for _, j := range done {
		if total <= limit {
			break
		}
		total -= j.rec.Size + oldSize(j.rec)
		s.removeLocked(j, "cache is above cache_max")
		s.dirty = true
	}
	if total > limit {
		s.log.Warn("cache is above cache_max but nothing more can be evicted (downloading or assigned packages)",
			"cache_bytes", total, "cache_max", limit)
	}
}

func lastUse(r *record) time.Time {
	if r.LastUsed.After(r.Completed) {
		return r.LastUsed
	}
	return r.Completed
}
