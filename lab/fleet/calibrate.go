package fleet

import (
	"errors"
	"fmt"
	"strings"

	"github.com/smstorrent/smstorrent/lab/bench"
)

// Calibration is the per-site behaviour taken from one lab run of a
// system: the mean over its branches.
type Calibration struct {
	// Source names the run (shape and date).
	Source string  `json:"source"`
	Copies float64 `json:"copies"`
	WaitS  float64 `json:"wait_s"`
	// HQOverhead is hq's copies over the branches' WAN-in copies.
	HQOverhead float64 `json:"hq_overhead"`
	// OriginCPUSPerGiB is the origin service's CPU seconds per GiB hq sent
	// (0 if the report has no CPU figures): with a number of cores, what
	// the origin can send (OriginBits).
	OriginCPUSPerGiB float64 `json:"origin_cpu_s_per_gib"`
}

// OriginBits is what an origin with this many cores can send, by the
// calibration's CPU cost per byte (0: unknown or no cores given).
func (c Calibration) OriginBits(cores float64) float64 {
	if cores <= 0 || c.OriginCPUSPerGiB <= 0 {
		return 0
	}
	return cores / c.OriginCPUSPerGiB * (1 << 30) * 8
}

// Calibrate reads a system's per-site behaviour from a lab report.
func Calibrate(rep *bench.Report, system string) (Calibration, error) {
	s := find(rep, system)
	if s == nil || !s.OK || len(s.WAN) == 0 {
		return Calibration{}, fmt.Errorf("fleet: no successful %s run in the report", system)
	}
	c := Calibration{Source: fmt.Sprintf("%d × %d, %s", rep.Branches, rep.ClientsPerBranch, rep.Generated.Format("2006-01-02 15:04 UTC"))}
	var in float64
	for _, w := range s.WAN {
		c.Copies += w.InCopies
		c.WaitS += max(w.DoneS-w.InCopies*w.BoundS, 0)
		in += w.InCopies
	}
	n := float64(len(s.WAN))
	c.Copies /= n
	c.WaitS /= n
	if in > 0 {
		c.HQOverhead = max(s.HQSentCopies/in, 1)
	}
	if s.CPU != nil && s.HQSentBytes > 0 {
		c.OriginCPUSPerGiB = s.CPU.SystemByProcessS["hq-service"] / (float64(s.HQSentBytes) / (1 << 30))
	}
	return c, nil
}

// find returns the system's result with its per-branch figures filled in
// for reports written before the lab recorded them (rate, bound, done).
func find(rep *bench.Report, system string) *bench.SystemResult {
	if rep == nil {
		return nil
	}
	for i := range rep.Systems {
		if rep.Systems[i].System != system {
			continue
		}
		s := rep.Systems[i]
		s.WAN = append([]bench.WANLink(nil), s.WAN...)
		for j := range s.WAN {
			w := &s.WAN[j]
			if w.RateBits == 0 {
				w.RateBits = rep.WANRateBits
			}
			if w.BoundS == 0 && w.RateBits > 0 {
				w.BoundS = bench.BoundSeconds(rep.PackageBytes, w.RateBits)
			}
			if w.DoneS == 0 {
				for c, at := range s.ClientDoneS {
					if strings.HasPrefix(c, w.Branch+"c") {
						w.DoneS = max(w.DoneS, at)
					}
				}
			}
		}
		return &s
	}
	return nil
}

// LabCase is the fleet of a measured lab run, with the calibration's
// per-site behaviour in place of the run's own: its prediction can then be
// held against what the run measured.
func LabCase(rep *bench.Report, system string, cal Calibration, originBits float64) (Fleet, *bench.SystemResult, error) {
	s := find(rep, system)
	if s == nil || len(s.WAN) == 0 {
		return Fleet{}, nil, errors.New("fleet: the report has no such system")
	}
	f := Fleet{PackageBytes: float64(rep.PackageBytes), OriginBits: originBits, HQOverhead: cal.HQOverhead}
	for _, w := range s.WAN {
		f.Sites = append(f.Sites, Site{Name: w.Branch, PCs: rep.ClientsPerBranch, LinkBits: float64(w.RateBits),
			Copies: cal.Copies, WaitS: cal.WaitS})
	}
	return f, s, nil
}
