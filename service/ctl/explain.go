package ctl

import (
	"fmt"
	"io"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/service/api"
)

// printSources explains a job's transfer for ctl job: where its bytes came
// from, the site's gateway, what holds it back and the peers it uses.
func printSources(w io.Writer, j *api.Job) {
	if l := j.Limit; l != nil {
		fmt.Fprintf(w, "limited by\t%s (%s)\n", l.Detail, l.Reason)
	}
	s := j.Sources
	if s == nil {
		return
	}
	total := s.Site + s.Origin + s.OtherSites
	pct := func(n int64) string {
		if total <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f %%", 100*float64(n)/float64(total))
	}
	fmt.Fprintf(w, "sources\tsite (colleagues) %s (%s), server %s (%s), other sites %s (%s)\n",
		units.Bytes(s.Site), pct(s.Site), units.Bytes(s.Origin), pct(s.Origin), units.Bytes(s.OtherSites), pct(s.OtherSites))
	switch {
	case s.IsGateway:
		fmt.Fprintf(w, "gateway\tthis PC: it fetches the package from outside the site for its colleagues\n")
	case s.Gateway != "":
		fmt.Fprintf(w, "gateway\t%s\n", s.Gateway)
	default:
		fmt.Fprintf(w, "gateway\t-\n")
	}
	if len(s.Peers) == 0 {
		return
	}
	fmt.Fprintf(w, "\nPEER\tKIND\tDOWN\tUP\tCLIENT\n")
	for _, p := range s.Peers {
		kind := p.Kind
		if p.Throttled {
			kind += " (throttled)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Address, kind, rate(p.DownRate), rate(p.UpRate), dash(p.Client))
	}
}

// printYield says whether background jobs give way to other traffic.
func printYield(w io.Writer, b api.Bandwidth) {
	if b.YieldOff {
		fmt.Fprintf(w, "yield\toff: %s\n", b.YieldOffReason)
		return
	}
	state := "on: not giving way right now"
	if b.Yielding {
		state = "on: giving way to other traffic now"
	}
	fmt.Fprintf(w, "yield\t%s\n", state)
}

// limitNote is what holds a job back, for ctl watch: " · <reason>" when
// something does.
func limitNote(j *api.Job) string {
	if j.Limit == nil || j.Limit.Reason == api.LimitNone || j.Limit.Reason == api.LimitDone {
		return ""
	}
	return " · " + j.Limit.Reason
}
