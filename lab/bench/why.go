package bench

import (
	"fmt"
	"strings"
)

// why explains, for a system that misses a target, where its time and bytes
// went. Every sentence is conditional on the figures it cites, so the text
// never blames what the figures rule out.
// reasons collects the sentences of a why text.
type reasons []string

func (o *reasons) add(format string, a ...any) { *o = append(*o, fmt.Sprintf(format, a...)) }

func (r *Report) why(s SystemResult) string {
	var out reasons
	if !s.Targets.TimeOK {
		whyTime(&out, s)
	}
	whyNeverByte(&out, s)
	whyCopies(&out, s, originCopies(s, r.PackageBytes))
	whyCPU(&out, s)
	if len(out) == 0 {
		return ""
	}
	return "Why, from the figures above: " + strings.Join(out, "; ") + "."
}

// whyTime explains a time above the target from the slowest branch.
func whyTime(out *reasons, s SystemResult) {
	// Time against bytes: the shaper's frames into the busiest branch, sent at
	// the link's rate, is the time the bytes alone take.
	if w, ok := worstBranch(s); ok {
		byBytes := w.InCopies * w.BoundS
		rest := w.DoneS - byBytes
		out.add("Branch %s was last against its bound (%.1f s, %.2f × its %.1f s): its %.3f copies in would take %.1f s at the link's rate, so %.1f s are not bytes but waiting (start-up before the first byte, a link left idle)",
			w.Branch, w.DoneS, w.Ratio, w.BoundS, w.InCopies, byBytes, rest)
		if w.FirstByteS > 0 {
			out.add("its first payload arrived %.1f s after the start (the service's events come once a second), which leaves %.1f s of the waiting after it",
				w.FirstByteS, rest-w.FirstByteS)
		}
		if rest < 0.1*w.BoundS {
			out.add("the bytes explain nearly all of it")
		}
	}
	// Completion is stamped on the service's 1 s tick, so a gap up to
	// that is no evidence of anything.
	if d, a, b, ok := spreadOnEqualLinks(s); ok && d > 1.5 {
		out.add("branches on identical links finished %.1f s apart (%s and %s), so one branch waited for something the other did not", d, a, b)
	}
}

// whyNeverByte names the clients that never had a byte, where the system
// can tell.
func whyNeverByte(out *reasons, s SystemResult) {
	if s.FirstByteS == nil {
		return
	}
	var never []string
	for _, c := range sortedKeys(s.SourcesByClient) {
		if _, done := s.ClientDoneS[c]; !done {
			if _, ok := s.FirstByteS[c]; !ok {
				never = append(never, c)
			}
		}
	}
	if len(never) > 0 {
		out.add("%s never had a byte of payload within the time limit, so the time is theirs, not the links'", strings.Join(never, ", "))
	}
}

// whyCopies explains copies above the targets: into branches, between
// them, and out of hq.
func whyCopies(out *reasons, s SystemResult, origin map[string]float64) {
	// Copies from the origin into each branch: above one, the origin sent some
	// pieces into a branch more than once.
	var over, exact []string
	for _, b := range sortedKeys(origin) {
		if origin[b] > 1.05 {
			over = append(over, fmt.Sprintf("%s %.2f", b, origin[b]))
		} else if origin[b] > 0 {
			exact = append(exact, fmt.Sprintf("%s %.2f", b, origin[b]))
		}
	}
	if len(over) > 0 {
		out.add("the origin sent overlapping pieces into a branch (from servers, in copies: %s): more than one PC of that branch fetched the same pieces across the WAN; one gateway per site that alone talks to the origin closes it", strings.Join(over, ", "))
	}
	if !s.Targets.WANInOK && len(over) == 0 && len(exact) > 0 {
		out.add("the origin's payload into each branch was one copy (%s), so the WAN-in copies above one are not repeated pieces but headers and retransmissions of what the shapers dropped", strings.Join(exact, ", "))
	}
	if !s.Targets.BetweenBranchesOK {
		out.add("%.3f copies crossed between branches: peers of one site were handed peers of another", s.BetweenBranchesCopies)
	}
	if !s.Targets.HQOK {
		var in float64
		for _, w := range s.WAN {
			in += w.InCopies
		}
		if s.HQSentCopies > in+0.05 {
			out.add("hq sent %.2f copies against %.2f into all branches: the %.2f more were dropped at the shapers and sent again", s.HQSentCopies, in, s.HQSentCopies-in)
		} else {
			out.add("hq sent %.2f copies, what the branches' WAN-in figures add up to (%.2f)", s.HQSentCopies, in)
		}
	}
}

// whyCPU says how busy the machine was and whether the origin waited for a CPU.
func whyCPU(out *reasons, s SystemResult) {
	c := s.CPU
	if c == nil {
		return
	}
	originWaited := false
	if c.RunWaitOf("hq-service") > 0.1*s.TimeToAllS {
		originWaited = true
		out.add("the origin's threads waited %.1f s for a CPU during the %.1f s (ready to send, not running)", c.RunWaitOf("hq-service"), s.TimeToAllS)
	}
	if c.CapacityS <= 0 {
		return
	}
	busy := (c.SystemS + c.LabS + c.OthersS) / c.CapacityS
	if busy >= 0.85 {
		out.add("the machine's CPU was %.0f%% busy (the system %.0f%%, the lab %.0f%%, other work %.0f%%; load %.1f → %.1f), so part of the waiting is the lab's and others' CPU",
			100*busy, 100*c.SystemS/c.CapacityS, 100*c.LabS/c.CapacityS, 100*c.OthersS/c.CapacityS, c.LoadStart, c.LoadEnd)
		return
	}
	verdict := ": CPU was not the limit"
	if originWaited {
		verdict = ", yet not always free when the origin was ready"
	}
	out.add("the machine's CPU was %.0f%% busy (the system %.0f%%, the lab %.0f%%; load %.1f → %.1f)%s", 100*busy,
		100*c.SystemS/c.CapacityS, 100*c.LabS/c.CapacityS, c.LoadStart, c.LoadEnd, verdict)
}

// originCopies sums, per branch, the payload the services say came from
// servers (the origin), in copies.
func originCopies(s SystemResult, size int64) map[string]float64 {
	m := map[string]float64{}
	for client, src := range s.SourcesByClient {
		b, _, _ := strings.Cut(client, "c")
		m[b] += float64(src["server"]) / float64(size)
	}
	return m
}

// worstBranch is the branch with the largest ratio to its own bound.
func worstBranch(s SystemResult) (WANLink, bool) {
	var w WANLink
	for _, l := range s.WAN {
		if l.Ratio > w.Ratio {
			w = l
		}
	}
	return w, w.Ratio > 0
}

// spreadOnEqualLinks is the gap between the first and the last branch to
// finish among branches whose links have the same rate as the last one's.
func spreadOnEqualLinks(s SystemResult) (d float64, first, last string, ok bool) {
	var lo, hi *WANLink
	for i := range s.WAN {
		w := &s.WAN[i]
		if hi == nil || w.DoneS > hi.DoneS {
			hi = w
		}
	}
	if hi == nil {
		return 0, "", "", false
	}
	for i := range s.WAN {
		w := &s.WAN[i]
		if w.RateBits == hi.RateBits && (lo == nil || w.DoneS < lo.DoneS) {
			lo = w
		}
	}
	if lo == hi {
		return 0, "", "", false
	}
	return hi.DoneS - lo.DoneS, fmt.Sprintf("%s at %.1f s", lo.Branch, lo.DoneS), fmt.Sprintf("%s at %.1f s", hi.Branch, hi.DoneS), true
}
