// Package fleet projects a distribution to many sites on paper, from the
// per-site behaviour the network lab measures: how many copies of the
// package cross a site's WAN link (its efficiency), how long a site waits
// beyond the bytes themselves (start-up, idle link, the last PC's lag
// behind the last WAN byte), and how much more than the branches receive
// hq sends (retransmissions). With a fleet's links, hq's link and the
// origin's capacity as inputs it gives each site's time, the WAN bytes and
// hq's bytes.
//
// The model is a fluid one. Site s must move Copies × package bytes across
// its link (rates and copies both count Ethernet frames, as the lab's
// shapers do). It starts moving them WaitS after the job starts (the lab
// measures the waiting as a whole; the model puts it first, which gives the
// same finishing time when the origin is not the limit), at up to its link
// rate; the sites that are moving share the origin's capacity max-min
// fairly (each gets at most its link, the rest is shared equally among the
// others). A site is done when its bytes are across. The PCs of a site
// appear only through the site's measured waiting: the lab shows a site's
// PCs finishing within a fraction of a second of each other on the LAN.
package fleet

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Site is one site of the fleet.
type Site struct {
	Name string
	PCs  int
	// LinkBits is the site's WAN rate into the site, bits per second.
	LinkBits float64
	// Copies is WAN bytes into the site per package byte (the lab: 1.047).
	Copies float64
	// WaitS is the site's time beyond its bytes at full rate (the lab: a
	// branch's time minus copies × its bound).
	WaitS float64
}

// Fleet is the case to project.
type Fleet struct {
	PackageBytes float64
	Sites        []Site
	// HQLinkBits is hq's uplink; OriginBits what the origin can send (its
	// CPU, its sockets); the smaller one limits. 0: no limit.
	HQLinkBits, OriginBits float64
	// HQOverhead is hq's bytes per byte the branches receive over the WAN
	// (≥ 1: retransmissions of what the WAN shapers dropped).
	HQOverhead float64
}

// SiteResult is one site's projection.
type SiteResult struct {
	Name     string  `json:"name"`
	PCs      int     `json:"pcs"`
	LinkBits float64 `json:"link_bits_per_s"`
	// DoneS is when the site's last PC has the package; BoundS is the
	// package over the site's link; Ratio is DoneS / BoundS.
	DoneS    float64 `json:"done_s"`
	BoundS   float64 `json:"bound_s"`
	Ratio    float64 `json:"ratio_to_bound"`
	WANBytes float64 `json:"wan_bytes"`
	// OriginLimited says the origin's share, not the site's link, set the
	// site's rate for part of its transfer.
	OriginLimited bool `json:"origin_limited"`
}

// Result is the projection.
type Result struct {
	Sites      []SiteResult `json:"sites"`
	TimeToAllS float64      `json:"time_to_all_s"`
	WANBytes   float64      `json:"wan_bytes"`
	HQBytes    float64      `json:"hq_bytes"`
	// OriginBusyS is how long hq (its link or the origin) was the limit.
	OriginBusyS float64 `json:"origin_limited_s"`
}

// Validate refuses a case the model cannot compute.
func (f Fleet) Validate() error {
	if f.PackageBytes <= 0 {
		return errors.New("fleet: package size must be positive")
	}
	if len(f.Sites) == 0 {
		return errors.New("fleet: no sites")
	}
	if f.HQLinkBits < 0 || f.OriginBits < 0 || f.HQOverhead < 0 {
		return errors.New("fleet: negative hq link, origin capacity or overhead")
	}
	for _, s := range f.Sites {
		if s.LinkBits <= 0 || s.Copies <= 0 || s.WaitS < 0 || math.IsNaN(s.WaitS) {
			return fmt.Errorf("fleet: site %q: link and copies must be positive, waiting not negative", s.Name)
		}
	}
	return nil
}

// capacity is the origin's limit in WAN-in bytes per second (0: none).
func (f Fleet) capacity() float64 {
	c := 0.0
	for _, v := range []float64{f.HQLinkBits, f.OriginBits} {
		if v > 0 && (c == 0 || v < c) {
			c = v
		}
	}
	over := f.HQOverhead
	if over < 1 {
		over = 1
	}
	return c / 8 / over
}

// Project computes the fleet's projection.
func Project(f Fleet) (Result, error) {
	if err := f.Validate(); err != nil {
		return Result{}, err
	}
	n := len(f.Sites)
	left := make([]float64, n) // bytes still to cross each link
	done := make([]float64, n)
	limited := make([]bool, n)
	for i, s := range f.Sites {
		left[i] = s.Copies * f.PackageBytes
		done[i] = -1
	}
	capB := f.capacity()
	var res Result
	now := 0.0
	// Each step ends at the next event: a site starts, or one finishes. There
	// are at most 2n events.
	for range 2*n + 1 {
		active := []int{}
		next := math.Inf(1)
		for i, s := range f.Sites {
			switch {
			case done[i] >= 0:
			case s.WaitS > now:
				next = min(next, s.WaitS)
			default:
				active = append(active, i)
			}
		}
		if len(active) == 0 && math.IsInf(next, 1) {
			break
		}
		rates, bound := shareRates(f.Sites, active, capB)
		for k, i := range active {
			if rates[k] > 0 {
				next = min(next, now+left[i]/rates[k])
			}
			if bound[k] {
				limited[i] = true
			}
		}
		if anyTrue(bound) {
			res.OriginBusyS += next - now
		}
		for k, i := range active {
			left[i] -= rates[k] * (next - now)
			if left[i] <= 1e-6*f.PackageBytes {
				left[i], done[i] = 0, next
			}
		}
		now = next
	}
	for i, s := range f.Sites {
		b := f.PackageBytes * 8 / s.LinkBits
		r := SiteResult{Name: s.Name, PCs: s.PCs, LinkBits: s.LinkBits, DoneS: done[i], BoundS: b,
			Ratio: done[i] / b, WANBytes: s.Copies * f.PackageBytes, OriginLimited: limited[i]}
		res.Sites = append(res.Sites, r)
		res.TimeToAllS = max(res.TimeToAllS, r.DoneS)
		res.WANBytes += r.WANBytes
	}
	over := max(f.HQOverhead, 1)
	res.HQBytes = res.WANBytes * over
	return res, nil
}

// shareRates gives the active sites their rates (bytes per second): each at
// most its link, the origin's capacity (0: none) shared max-min fairly. bound
// marks the sites the origin's share held below their link.
func shareRates(sites []Site, active []int, capB float64) (rates []float64, bound []bool) {
	rates = make([]float64, len(active))
	bound = make([]bool, len(active))
	order := make([]int, len(active))
	for k := range order {
		order[k] = k
	}
	link := func(k int) float64 { return sites[active[k]].LinkBits / 8 }
	if capB <= 0 {
		for k := range active {
			rates[k] = link(k)
		}
		return rates, bound
	}
	slices.SortFunc(order, func(a, b int) int { return cmpFloat(link(a), link(b)) })
	remaining := capB
	for j, k := range order {
		share := remaining / float64(len(order)-j)
		if link(k) <= share {
			rates[k] = link(k)
		} else {
			rates[k], bound[k] = share, true
		}
		remaining -= rates[k]
	}
	return rates, bound
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func anyTrue(bs []bool) bool { return slices.Contains(bs, true) }
