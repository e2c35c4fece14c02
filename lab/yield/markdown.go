package yield

import (
	"fmt"
	"slices"
	"strings"
)

// Markdown renders the report's section of docs/BENCHMARKS.md; chart is the
// plot's path relative to the Markdown file ("" for none).
func (r *Report) Markdown(chart string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	t := r.Targets
	p("## Network lab: yielding to other traffic\n\n")
	p("Measured by `make bench` (lab/cmd/yield) on %s UTC", r.Generated.Format("2006-01-02 15:04"))
	if r.Quick {
		p(" — a **quick** run (one case, short phases)")
	}
	p(". One branch behind a %g Mbit/s WAN link (`tc tbf` both ways, queue limit set per case), +%g ms round trip to hq. ",
		float64(r.WANRateBits)/1e6, 2*r.WANDelayMS)
	p("Client 1 downloads a %d MiB package in the background (SMSTorrent: `ctl add` at the default priority, `yield` on; or Transmission 3.00 over uTP only); ", r.PackageBytes>>20)
	p("client 2 runs a bulk HTTP download from hq (the sender's congestion control per case) for %gs, starting %gs after the background's first MiB arrived; the background runs %gs more. ",
		r.Phases["fg"], r.Phases["alone"], r.Phases["after"])
	p("Client 3 measures the RTT to hq (TCP handshakes, 10/s). Rates are the branch router's per-port counters, scaled to the WAN shaper's bytes. See [LAB.md](LAB.md#yield-scenario) for the scenario and the figures' definitions.\n\n")
	if chart != "" {
		p("![rates over time per case and system](%s)\n\n", chart)
	}
	p("| queue | foreground | system | fg with ÷ alone (≥ %.2f) | share of idle link (≥ %.2f) | added delay, median / p95 (≤ %g ms) | give way (≤ %g s) | take back (≤ %g s) |\n",
		t.FgRatioMin, t.IdleShareMin, t.AddedDelayMS, t.GiveWayS, t.TakeBackS)
	p("|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, c := range r.Cases {
		if c.Error != "" && len(c.Runs) == 0 {
			p("| %g ms | %s | — | failed: %s | | | | |\n", c.QueueMS, c.CC, oneLine(c.Error))
			continue
		}
		for _, run := range c.Runs {
			if !run.OK && run.Series == nil {
				p("| %g ms | %s | %s | failed: %s | | | | |\n", c.QueueMS, c.CC, run.Label, oneLine(run.Error))
				continue
			}
			p("| %g ms | %s (alone %.1f Mbit/s) | %s | %s | %s | %s | %s | %s |\n", c.QueueMS, c.CC, c.FgAloneMbit, run.Label,
				mark(fmt.Sprintf("%.2f", run.FgRatio), run.FgRatio >= t.FgRatioMin),
				mark(fmt.Sprintf("%.2f", run.IdleShare), run.IdleShare >= t.IdleShareMin),
				mark(num(run.AddedDelayMS, 0)+" / "+num(run.AddedDelayP95MS, 0)+" ms", run.AddedDelayMS <= t.AddedDelayMS),
				mark(secs(run.GiveWayS), run.GiveWayS >= 0 && run.GiveWayS <= t.GiveWayS),
				mark(secs(run.TakeBackS), run.TakeBackS >= 0 && run.TakeBackS <= t.TakeBackS))
		}
	}
	p("\n")
	for _, line := range r.targetSummary() {
		p("- %s\n", line)
	}
	p("\n✓ meets the target, ✗ misses it; \"never\" = not within the phase. ")
	p("*fg with ÷ alone*: the foreground's rate next to the background, from %gs after it started to its end, ÷ its rate alone in the same case (same window). ", r.Phases["settle"])
	p("*Share of idle link*: the background's rate alone, from %gs after its first MiB until the foreground starts, ÷ the line rate. ", r.Phases["settle"])
	p("*Added delay*: RTT to hq in that window minus the RTT with nothing running (median; p95 for reference; the target applies to the median). ")
	p("*Give way*: from the foreground's start until its rate (±250 ms average) is ≥ 90%% of its rate alone and stays there 1 s. *Take back*: from its stop until the background is ≥ 90%% of the line for 1 s.\n\n")

	r.mdViews(p)
	if notes := r.notes(); len(notes) > 0 {
		p("Notes from this run: %s.\n\n", strings.Join(notes, "; "))
	}
	return b.String()
}

// mdViews writes the table of what the background did while the foreground
// ran, with the client's own view.
func (r *Report) mdViews(p func(format string, a ...any)) {
	p("Per case, what the background did while the foreground ran, and what SMSTorrent's `ctl status` said (median over the phase):\n\n")
	p("| queue | foreground | system | bg alone / during fg / after (Mbit/s) | fg alone / with (Mbit/s) | RTT to hq idle / bg alone / both (ms) | client's view during fg |\n")
	p("|---|---|---|---|---|---|---|\n")
	for _, c := range r.Cases {
		for _, run := range c.Runs {
			if run.Series == nil {
				continue
			}
			p("| %g ms | %s | %s | %.1f / %.1f / %.1f | %.1f / %.1f | %.0f / %.0f / %.0f | %s |\n", c.QueueMS, c.CC, run.Label,
				run.AloneMbit, run.BgDuringFgMbit, run.AfterMbit, c.FgAloneMbit, run.FgWithMbit,
				run.IdleRTTMS, run.IdleRTTMS+run.AddedDelayMS, run.FgRTTMS, view(run))
		}
	}
	p("\n")
}

// notes lists each run's error and note, and the systems that barely moved.
func (r *Report) notes() []string {
	var notes []string
	type stalled struct {
		n, of        int
		alone, after float64
	}
	still := map[string]*stalled{}
	var order []string
	for _, c := range r.Cases {
		for _, run := range c.Runs {
			for _, m := range []string{run.Error, run.Note} {
				if m != "" {
					notes = append(notes, fmt.Sprintf("%g ms / %s / %s: %s", c.QueueMS, c.CC, run.Label, oneLine(m)))
				}
			}
			if run.Series == nil {
				continue
			}
			st, ok := still[run.Label]
			if !ok {
				st = &stalled{}
				still[run.Label] = st
				order = append(order, run.Label)
			}
			st.of++
			if run.IdleShare < 0.5 {
				st.n++
				st.alone, st.after = max(st.alone, run.AloneMbit), max(st.after, run.AfterMbit)
			}
		}
	}
	for _, l := range order {
		if st := still[l]; st.n > 0 {
			notes = append(notes, fmt.Sprintf("%s barely moved in %d of %d cases (at most %.1f Mbit/s alone and %.1f Mbit/s after the foreground), so its foreground figures there are met trivially", l, st.n, st.of, st.alone, st.after))
		}
	}
	return notes
}

func view(run SystemRun) string {
	s, ok := run.Summary["fg"]
	if !ok {
		return ""
	}
	if run.System == "transmission" {
		return fmt.Sprintf("peers: %d uTP, %d TCP", s.UTPPeersMax, s.TCPPeersMax)
	}
	var rs []string
	for _, k := range sortedKeys(s.Reasons) {
		rs = append(rs, fmt.Sprintf("%s %d/%d", k, s.Reasons[k], s.Samples))
	}
	return fmt.Sprintf("reason %s; queue delay %.0f ms over base %.0f ms; limit %.0f KiB/s",
		strings.Join(rs, ", "), s.QueueDelayMedMS, s.BaseDelayMedMS, s.EffectiveDownMedK)
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func secs(s float64) string {
	if s < 0 {
		return "never"
	}
	return fmt.Sprintf("%.1f s", s)
}

func mark(s string, ok bool) string {
	if ok {
		return s + " ✓"
	}
	return s + " ✗"
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// targetSummary says per system, figure by figure, in how many cases the
// target was met and the range measured.
func (r *Report) targetSummary() []string {
	t := r.Targets
	type fig struct {
		name string
		get  func(SystemRun) float64
		ok   func(float64) bool
		unit string
		prec int
	}
	figs := []fig{
		{"fg with ÷ alone", func(s SystemRun) float64 { return s.FgRatio }, func(v float64) bool { return v >= t.FgRatioMin }, "", 2},
		{"share of idle link", func(s SystemRun) float64 { return s.IdleShare }, func(v float64) bool { return v >= t.IdleShareMin }, "", 2},
		{"added delay", func(s SystemRun) float64 { return s.AddedDelayMS }, func(v float64) bool { return v <= t.AddedDelayMS }, " ms", 0},
		{"give way", func(s SystemRun) float64 { return s.GiveWayS }, func(v float64) bool { return v >= 0 && v <= t.GiveWayS }, " s", 1},
		{"take back", func(s SystemRun) float64 { return s.TakeBackS }, func(v float64) bool { return v >= 0 && v <= t.TakeBackS }, " s", 1},
	}
	var systems []string
	runs := map[string][]SystemRun{}
	for _, c := range r.Cases {
		for _, run := range c.Runs {
			if run.Series == nil {
				continue
			}
			if _, ok := runs[run.System]; !ok {
				systems = append(systems, run.System)
			}
			runs[run.System] = append(runs[run.System], run)
		}
	}
	var out []string
	for _, sys := range systems {
		var parts []string
		for _, f := range figs {
			n, lo, hi, never := 0, 0.0, 0.0, 0
			first := true
			for _, run := range runs[sys] {
				v := f.get(run)
				if f.ok(v) {
					n++
				}
				if v < 0 && f.unit == " s" {
					never++
					continue
				}
				if first || v < lo {
					lo = v
				}
				if first || v > hi {
					hi = v
				}
				first = false
			}
			rng := ""
			switch {
			case first:
				rng = "never"
			case num(lo, f.prec) == num(hi, f.prec):
				rng = num(lo, f.prec) + f.unit
			default:
				rng = num(lo, f.prec) + "–" + num(hi, f.prec) + f.unit
			}
			if never > 0 && !first {
				rng += fmt.Sprintf(", never in %d", never)
			}
			parts = append(parts, fmt.Sprintf("%s %d/%d (%s)", f.name, n, len(runs[sys]), rng))
		}
		out = append(out, fmt.Sprintf("**%s** meets the targets in: %s.", Labels[sys], strings.Join(parts, "; ")))
	}
	return out
}

// num formats v with prec decimals, without a minus sign on zero.
func num(v float64, prec int) string {
	s := fmt.Sprintf("%.*f", prec, v)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-")
	}
	return s
}
