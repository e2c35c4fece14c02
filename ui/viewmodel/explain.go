package viewmodel

import (
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/service/api"
)

// This file explains a transfer: where a job's bytes came from, the gateway
// and the peers it uses, and what holds it back. Every text shows only what
// the service reported; parts that are zero are left out.

// ShortName is what people call a job's package: its display name, or its
// package ID when it has none.
func ShortName(j api.Job) string {
	if n := Clean(j.Name, 120); n != "" {
		return n
	}
	return j.ID
}

// SourcePart is one origin of a job's bytes.
type SourcePart struct {
	Name  string // "from colleagues", "from the server", …
	Bytes int64
	Share float64 // of all bytes received
}

// SourceParts returns where a job's bytes came from, the non-zero parts
// only, colleagues first. With the service's split (Job.Sources): colleagues,
// the server, other sites. From an older service: this site and outside it.
func SourceParts(j api.Job) []SourcePart {
	type part struct {
		name string
		n    int64
	}
	var ps []part
	if s := j.Sources; s != nil {
		ps = []part{{"from colleagues", s.Site}, {"from the server", s.Origin}, {"from other sites", s.OtherSites}}
	} else {
		ps = []part{{"from this site", j.DownloadedSite}, {"from outside the site", j.DownloadedServer}}
	}
	var total int64
	for _, p := range ps {
		total += max(p.n, 0)
	}
	if total <= 0 {
		return nil
	}
	var out []SourcePart
	for _, p := range ps {
		if p.n > 0 {
			out = append(out, SourcePart{Name: p.name, Bytes: p.n, Share: float64(p.n) / float64(total)})
		}
	}
	return out
}

// Share formats a part of a whole as a rounded percentage, so that the
// parts of a split add up to about 100%: "<1%" for a small part that is
// not zero, "99%" for a big part that is not all.
func Share(f float64) string {
	p := math.Round(f * 100)
	switch {
	case f > 0 && p < 1:
		return "<1%"
	case f < 1 && p >= 100:
		return "99%"
	}
	return fmt.Sprintf("%.0f%%", max(p, 0))
}

// SourcesText is SourceParts in one line: "from colleagues 1.7 GiB (83%) ·
// from the server 372 MiB (17%)"; "" before any byte arrived.
func SourcesText(j api.Job) string {
	ps := SourceParts(j)
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%s %s (%s)", p.Name, units.Bytes(p.Bytes), Share(p.Share))
	}
	return strings.Join(parts, " · ")
}

// SourceShare says in a few words how much came from inside the site:
// "80% from colleagues", "all from the server"; "" before any byte arrived.
func SourceShare(j api.Job) string {
	ps := SourceParts(j)
	switch {
	case len(ps) == 0:
		return ""
	case len(ps) == 1 && ps[0].Share == 1:
		return "all " + ps[0].Name
	case ps[0].Name == "from colleagues" || ps[0].Name == "from this site":
		return Share(ps[0].Share) + " " + ps[0].Name
	}
	return "none from colleagues yet"
}

// GatewayText names the site's gateway the job uses, or says this PC is it;
// "" when the service reports neither.
func GatewayText(j api.Job) string {
	s := j.Sources
	switch {
	case s == nil:
		return ""
	case s.IsGateway:
		return "This PC is the site's gateway: it fetches the package from outside the site for its colleagues."
	case s.Gateway != "":
		return "Through the site's gateway " + Clean(s.Gateway, 64)
	}
	return ""
}

// PeerKindText names a peer kind for people.
func PeerKindText(kind string) string {
	switch kind {
	case api.PeerSite:
		return "colleague"
	case api.PeerGateway:
		return "site's gateway"
	case api.PeerOrigin:
		return "server"
	case api.PeerOtherSite:
		return "other site"
	}
	return Clean(kind, 20)
}

// PeerLines describes the peers a job uses, busiest first, one line each:
// "10.20.3.14:6881 · colleague · 1.2 MiB/s down · 300 KiB/s up".
func PeerLines(j api.Job) []string {
	if j.Sources == nil {
		return nil
	}
	ps := j.Sources.Peers
	if len(ps) > api.MaxJobPeers {
		ps = ps[:api.MaxJobPeers]
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		parts := []string{Clean(p.Address, 64), PeerKindText(p.Kind)}
		if c := Clean(p.Client, 32); c != "" {
			parts = append(parts, c)
		}
		if p.DownRate > 0 {
			parts = append(parts, units.Rate(p.DownRate)+" down")
		}
		if p.UpRate > 0 {
			parts = append(parts, units.Rate(p.UpRate)+" up")
		}
		if p.DownRate <= 0 && p.UpRate <= 0 {
			parts = append(parts, "idle")
		}
		if p.Throttled {
			parts = append(parts, "throttled")
		}
		out = append(out, strings.Join(parts, " · "))
	}
	return out
}

// LimitHeadline names a limit reason (api.Limit*) in a few words.
func LimitHeadline(reason string) string {
	switch reason {
	case api.LimitNone:
		return "Nothing holds it back"
	case api.LimitYielding:
		return "Giving way to your traffic"
	case api.LimitSchedule:
		return "Business-hours schedule"
	case api.LimitThrottle:
		return "Helpdesk throttle"
	case api.LimitConfigured:
		return "Configured limit"
	case api.LimitWaitingPeers:
		return "Waiting for peers"
	case api.LimitGatewayThrottled:
		return "The site's gateway is throttled"
	case api.LimitGatewaySlow:
		return "The site's gateway is slow"
	case api.LimitQueued:
		return "Queued behind other downloads"
	case api.LimitSuspended:
		return "Paused"
	case api.LimitError:
		return "Stopped by an error"
	case api.LimitDone:
		return "Done"
	}
	return Clean(reason, 40)
}

// LimitText is what holds the job back: a headline with the rate in force
// ("Helpdesk throttle · 1 MiB/s") and the service's sentence; both "" when
// the service did not say.
func LimitText(j api.Job) (headline, detail string) {
	l := j.Limit
	if l == nil {
		return "", ""
	}
	headline = LimitHeadline(l.Reason)
	if l.Rate > 0 {
		headline += " · " + units.Rate(l.Rate)
	}
	return headline, Clean(l.Detail, 400)
}

// JobDetail is the detail pane of the Downloads tab for one job.
type JobDetail struct {
	ID    string
	Title string // the full title, never cut
	// Status is like "Downloading · 63% · 2.1 GiB of 3.4 GiB · 4.5 MiB/s · about 5 min left".
	Status  string
	Sources string // SourcesText; "" before any byte
	Gateway string // GatewayText
	// Limit and LimitDetail are LimitText.
	Limit, LimitDetail string
	Peers              []string // PeerLines
	// PeerCounts is like "6 in site · 1 server" or "no peers".
	PeerCounts string
	Message    string // the error and the next retry
}

// NewJobDetail describes one job for the detail pane.
func NewJobDetail(j api.Job, r JobRow) JobDetail {
	d := JobDetail{ID: j.ID, Title: Title(j), Sources: SourcesText(j), Gateway: GatewayText(j),
		Peers: PeerLines(j), PeerCounts: r.Peers, Message: r.Message}
	parts := []string{r.StateText, r.ProgressText}
	if r.Rate != "—" && r.Rate != "" && j.DownRate > 0 {
		parts = append(parts, r.Rate)
	}
	if left := About(j); left != "" {
		parts = append(parts, left+" left")
	}
	d.Status = strings.Join(parts, " · ")
	d.Limit, d.LimitDetail = LimitText(j)
	return d
}

// About is a job's time left for people, "about 14 min", "less than a
// minute"; "" when the job is not transferring or the time is unknown.
func About(j api.Job) string {
	if j.State != api.StateTransferring || j.ETASeconds < 0 {
		return ""
	}
	if j.ETASeconds < 60 {
		return "less than a minute"
	}
	return "about " + ETA(j.ETASeconds)
}

// PeerCounts says how many peers a job has: "6 in site · 1 server", "6 in
// site", "1 server", "no peers"; zero parts are left out.
func PeerCounts(site, server int) string {
	var parts []string
	if site > 0 {
		parts = append(parts, fmt.Sprintf("%d in site", site))
	}
	switch {
	case server == 1:
		parts = append(parts, "1 server")
	case server > 1:
		parts = append(parts, fmt.Sprintf("%d servers", server))
	}
	if len(parts) == 0 {
		return "no peers"
	}
	return strings.Join(parts, " · ")
}

// Clean makes text that came from elsewhere (a peer's client name, a
// package's display name) safe to show on one line: control and
// format characters (bidirectional overrides among them) are dropped,
// runs of space are one space, and it is cut to at most n characters with
// an ellipsis.
func Clean(s string, n int) string {
	if len(s) > 4*n+64 { // a longer input is cut anyway; bound the work
		s = s[:4*n+64]
	}
	var b strings.Builder
	for _, f := range strings.FieldsFunc(s, unicode.IsSpace) {
		f = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
				return -1
			}
			return r
		}, f)
		if f == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f)
	}
	if r := []rune(b.String()); len(r) > n {
		return string(r[:max(n-1, 0)]) + "…"
	}
	return b.String()
}

// Header is the window's one-line summary: the site, what the jobs do and
// the rates. The download rate shows only while a job is downloading, so
// that it never contradicts the job list: the status's rate is an average
// that lags a job's end by a few seconds. "" before the first status.
func Header(s *Store) string {
	st := s.Status
	if st == nil {
		return ""
	}
	parts := []string{orDash(Clean(st.Site, 60))}
	if st.Site == "" {
		parts[0] = "no site"
	}
	var active, paused int
	transferring := false
	for _, j := range s.Downloads() {
		switch j.State {
		case api.StateQueued, api.StateConnecting, api.StateTransientError:
			active++
		case api.StateTransferring:
			active++
			transferring = true
		case api.StateSuspended:
			paused++
		}
	}
	switch {
	case active > 0:
		parts = append(parts, fmt.Sprintf("%d downloading", active))
	case paused > 0:
		parts = append(parts, fmt.Sprintf("%d paused", paused))
	default:
		parts = append(parts, "nothing downloading")
	}
	if transferring {
		parts = append(parts, "down "+units.Rate(st.DownRate))
	}
	if st.UpRate > 0 {
		parts = append(parts, "up "+units.Rate(st.UpRate))
	}
	return strings.Join(parts, "  ·  ")
}
