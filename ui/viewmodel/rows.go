package viewmodel

import (
	"fmt"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/service/api"
)

// ReadOnlyNote explains why controls are disabled for a user without the
// control token.
const ReadOnlyNote = "View only: pausing, cancelling, priorities and the bandwidth throttle need " +
	"SMSTorrent's control token, which only administrators can read. Ask the helpdesk, " +
	"or start SMSTorrent as an administrator."

// OfflineNote explains why controls are disabled while the service is down.
const OfflineNote = "The SMSTorrent service is not running or not reachable. " +
	"The window reconnects by itself as soon as it is back."

// StateText names a job state for people.
func StateText(s api.State) string {
	switch s {
	case api.StateQueued:
		return "Queued"
	case api.StateConnecting:
		return "Finding peers"
	case api.StateTransferring:
		return "Downloading"
	case api.StateSuspended:
		return "Paused"
	case api.StateTransientError:
		return "Retrying"
	case api.StateError:
		return "Error"
	case api.StateTransferred:
		return "Ready"
	case api.StateCancelled:
		return "Cancelled"
	}
	return string(s)
}

// PriorityText names a priority for people.
func PriorityText(p api.Priority) string {
	switch p {
	case api.Foreground:
		return "Foreground"
	case api.High:
		return "High"
	case api.Normal:
		return "Normal"
	case api.Low:
		return "Low"
	}
	return string(p)
}

// ParsePriorityText is the inverse of PriorityText.
func ParsePriorityText(s string) (api.Priority, bool) {
	for _, p := range api.Priorities {
		if PriorityText(p) == s {
			return p, true
		}
	}
	return "", false
}

// PriorityTexts lists PriorityText of every priority, highest first.
func PriorityTexts() []string {
	out := make([]string, len(api.Priorities))
	for i, p := range api.Priorities {
		out[i] = PriorityText(p)
	}
	return out
}

// Title is a job's package ID with its display name and version.
func Title(j api.Job) string {
	if j.Version != "" {
		return Label(j) + " " + j.Version
	}
	return Label(j)
}

// Label is a job's package ID with its display name, if it has one:
// "PS100012 (Office 2024)".
func Label(j api.Job) string {
	if j.Name != "" {
		return j.ID + " (" + j.Name + ")"
	}
	return j.ID
}

// JobRow is one row of the Downloads tab.
type JobRow struct {
	ID    string
	Title string
	// Name is the package's display name (ShortName) and Sub the rest of
	// the title: "PS100012 · 16.0.17928", or the version alone when the
	// name is the ID.
	Name, Sub string
	State     api.State
	StateText string
	Progress  float64
	// ProgressText is like "42% · 1.2 GiB of 3 GiB".
	ProgressText string
	Rate         string
	ETA          string
	// Peers is like "4 in site · 1 server" (PeerCounts).
	Peers string
	// Source is like "82% from colleagues" once data arrived (SourceShare).
	Source   string
	Priority api.Priority
	// Message is the job's error and when it is retried, empty otherwise.
	Message string

	// What the job's state allows; the user's access is separate
	// (Store.CanControl).
	CanPause, CanResume, CanCancel, CanPriority bool
	// ResumeText is "Resume" for a paused job and "Retry" for one in error.
	ResumeText string
}

// NewJobRow describes a job at the moment now.
func NewJobRow(j api.Job, now time.Time) JobRow {
	r := JobRow{
		ID: j.ID, Title: Title(j), State: j.State, StateText: StateText(j.State),
		Progress: j.Progress(), Priority: j.Priority,
		Peers:      PeerCounts(j.PeersSite, j.PeersServer),
		ResumeText: "Resume",
	}
	r.Name = ShortName(j)
	subs := []string{j.ID}
	if r.Name == j.ID {
		subs = nil
	}
	if v := Clean(j.Version, 40); v != "" {
		subs = append(subs, v)
	}
	r.Sub = strings.Join(subs, " · ")
	r.ProgressText = fmt.Sprintf("%s · %s of %s", Percent(r.Progress), units.Bytes(j.BytesDone), units.Bytes(j.BytesTotal))
	switch j.State {
	case api.StateTransferring, api.StateConnecting:
		r.Rate = units.Rate(j.DownRate)
		r.ETA = ETA(j.ETASeconds)
	default:
		r.Rate, r.ETA = "—", "—"
	}
	r.Source = SourceShare(j)
	switch j.State {
	case api.StateQueued, api.StateConnecting, api.StateTransferring:
		r.CanPause, r.CanCancel, r.CanPriority = true, true, true
	case api.StateSuspended:
		r.CanResume, r.CanCancel, r.CanPriority = true, true, true
	case api.StateTransientError:
		r.CanPause, r.CanResume, r.CanCancel, r.CanPriority = true, true, true, true
		r.ResumeText = "Retry"
	case api.StateError:
		r.CanResume, r.CanCancel = true, true
		r.ResumeText = "Retry"
	}
	if j.Error != "" && (j.State == api.StateError || j.State == api.StateTransientError) {
		r.Message = j.Error
		if !j.NextRetry.IsZero() && j.NextRetry.After(now) {
			r.Message += " (next try in " + Duration(j.NextRetry.Sub(now)) + ")"
		}
	}
	return r
}

// SeedRow is one row of the Seeding tab.
type SeedRow struct {
	ID, Title string
	Size      string
	Uploaded  string
	Ratio     string
	UpRate    string
	LastUsed  string
	// SeedLeft is how long the package stays: "assigned" or "3 days left".
	SeedLeft string
}

// NewSeedRow describes a package in the cache at the moment now.
func NewSeedRow(j api.Job, now time.Time) SeedRow {
	r := SeedRow{
		ID: j.ID, Title: Title(j), Size: units.Bytes(j.BytesTotal), Uploaded: units.Bytes(j.Uploaded),
		UpRate: units.Rate(j.UpRate), LastUsed: Ago(j.LastUsed, now), Ratio: "—",
	}
	if j.BytesTotal > 0 {
		r.Ratio = fmt.Sprintf("%.2f", float64(j.Uploaded)/float64(j.BytesTotal))
	}
	switch {
	case j.Assigned:
		r.SeedLeft = "assigned (kept)"
	case j.SeedUntil.IsZero():
		r.SeedLeft = "—"
	case !j.SeedUntil.After(now):
		r.SeedLeft = "leaving the cache"
	case j.SeedUntil.Sub(now) < 24*time.Hour:
		r.SeedLeft = Duration(j.SeedUntil.Sub(now)) + " left"
	default:
		days := int(j.SeedUntil.Sub(now).Hours() / 24)
		if days == 1 {
			r.SeedLeft = "1 day left"
		} else {
			r.SeedLeft = fmt.Sprintf("%d days left", days)
		}
	}
	return r
}

// BandwidthView is the text of the Bandwidth tab.
type BandwidthView struct {
	Down, Up string // current total rates
	// Configured limits.
	Limits string
	// Effective limits for background jobs now.
	Effective string
	// Reason is a headline for why the effective limits are what they are.
	Reason string
	Detail string
	// Yielding is true while background jobs give way to other traffic.
	Yielding bool
	// YieldOff is true when the service does not yield at all.
	YieldOff  bool
	YieldText string
	Schedule  string
	// Override describes a helpdesk throttle, empty if none.
	Override string
	// ActivePreset is the index in Presets of the throttle in force, -1
	// when none is (no throttle, a custom one, or one that cannot be told
	// apart while yielding).
	ActivePreset int
}

// NewBandwidthView describes a status at the moment now.
func NewBandwidthView(st *api.Status, now time.Time) BandwidthView {
	if st == nil {
		return BandwidthView{Down: "—", Up: "—", Limits: "—", Effective: "—", Reason: "Not connected", ActivePreset: -1}
	}
	b := st.Bandwidth
	v := BandwidthView{
		Down: units.Rate(st.DownRate), Up: units.Rate(st.UpRate),
		Limits:    fmt.Sprintf("%s down · %s up", units.Limit(b.LimitDown), units.Limit(b.LimitUp)),
		Effective: fmt.Sprintf("%s down · %s up", units.Limit(b.EffectiveDown), units.Limit(b.EffectiveUp)),
		Detail:    b.Detail, Yielding: b.Yielding, YieldOff: b.YieldOff, Schedule: b.Schedule,
		ActivePreset: ActivePreset(b),
	}
	switch b.Reason {
	case "limit":
		v.Reason = "Configured limit"
	case "schedule":
		v.Reason = "Business-hours schedule"
	case "override":
		v.Reason = "Helpdesk throttle"
	case "yielding":
		v.Reason = "Giving way to other traffic"
	case "unlimited", "":
		v.Reason = "No limit"
	default:
		v.Reason = b.Reason
	}
	switch {
	case b.YieldOff:
		v.YieldText = "Background downloads do not give way to other traffic: yielding is off."
		if r := strings.TrimSuffix(Clean(b.YieldOffReason, 200), "."); r != "" {
			v.YieldText = "Background downloads do not give way to other traffic: " + r + "."
		}
	case b.Yielding:
		v.YieldText = "Background downloads are giving way to other traffic on the network right now."
	default:
		v.YieldText = "Background downloads are not giving way right now: the network is idle enough."
	}
	if b.Override {
		v.Override = "Helpdesk throttle active"
		if v.ActivePreset >= 0 {
			v.Override += " (preset “" + Presets[v.ActivePreset].Label + "”)"
		}
		if !b.OverrideUntil.IsZero() {
			v.Override += fmt.Sprintf(" until %s (%s left)", b.OverrideUntil.Local().Format("15:04"), Duration(b.OverrideUntil.Sub(now)))
		} else {
			v.Override += " until it is cleared"
		}
	}
	return v
}

// Preset is a throttle the helpdesk sets with one click.
type Preset struct {
	Label   string
	Request api.ThrottleRequest
}

// Presets are the helpdesk's quick throttles, shared by tray and window.
var Presets = []Preset{
	{"Full speed for 1 hour", api.ThrottleRequest{ForSeconds: 3600}},
	{"5 MiB/s for 2 hours", api.ThrottleRequest{Down: 5 << 20, Up: 5 << 20, ForSeconds: 7200}},
	{"1 MiB/s for 2 hours", api.ThrottleRequest{Down: 1 << 20, Up: 1 << 20, ForSeconds: 7200}},
	{"128 KiB/s for 2 hours", api.ThrottleRequest{Down: 128 << 10, Up: 128 << 10, ForSeconds: 7200}},
}

// ClearPreset removes the helpdesk throttle.
var ClearPreset = Preset{"Clear throttle", api.ThrottleRequest{Clear: true}}

// ActivePreset returns the index in Presets of the helpdesk throttle in
// force, or -1. A preset is told by its rates, so it shows only while the
// throttle sets the effective limits (not while yielding lowers them).
func ActivePreset(b api.Bandwidth) int {
	if !b.Override || b.Reason != "override" {
		return -1
	}
	for i, p := range Presets {
		if p.Request.Down == b.EffectiveDown && p.Request.Up == b.EffectiveUp {
			return i
		}
	}
	return -1
}

// Diagnostics is the text block the helpdesk pastes into a ticket.
func Diagnostics(s *Store, client string, now time.Time) string {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%-18s %s\n", k+":", v) }
	b.WriteString("SMSTorrent diagnostics\n")
	line("Collected", now.UTC().Format(time.RFC3339))
	line("Client", client)
	switch {
	case s.Connected:
		line("Service", "running, connected for "+Duration(now.Sub(s.Since)))
	case s.EverConnected:
		line("Service", "NOT REACHABLE for "+Duration(now.Sub(s.Since))+": "+s.LastError)
	default:
		line("Service", "NOT REACHABLE: "+s.LastError)
	}
	st := s.Status
	if st == nil {
		return b.String()
	}
	line("Service version", st.Version+" (API "+st.APIVersion+")")
	if !st.Started.IsZero() {
		line("Uptime", Duration(now.Sub(st.Started))+" (since "+st.Started.UTC().Format(time.RFC3339)+")")
	}
	line("Site", orDash(st.Site))
	line("Access", string(st.Access))
	line("Repository", reach(st.Repository, now))
	line("Tracker", reach(st.Tracker, now))
	line("BitTorrent port", fmt.Sprint(st.ListenPort))
	line("Banned peers", BannedPeers(st.BannedPeers, now))
	line("Data folder", st.DataDir)
	line("Cache folder", st.CacheDir)
	line("Log folder", st.LogDir)
	cache := units.Bytes(st.CacheBytes)
	if st.CacheLimit > 0 {
		cache += " of " + units.Bytes(st.CacheLimit)
	}
	line("Cache", cache)
	bw := NewBandwidthView(st, now)
	line("Rates", bw.Down+" down · "+bw.Up+" up")
	line("Limits", bw.Limits)
	line("Effective", bw.Effective+" ("+bw.Reason+")")
	if bw.Override != "" {
		line("Throttle", bw.Override)
	}
	if bw.YieldOff {
		line("Yielding", bw.YieldText)
	} else {
		line("Yielding", fmt.Sprint(bw.Yielding))
	}
	if s.Reconnects > 0 {
		line("Reconnects", fmt.Sprint(s.Reconnects))
	}
	diagnosticJobs(&b, s.Jobs())
	if len(st.RecentErrors) > 0 {
		b.WriteString("\nRecent errors:\n")
		for _, e := range st.RecentErrors {
			job := ""
			if e.Job != "" {
				job = " [" + e.Job + "]"
			}
			fmt.Fprintf(&b, "  %s %-5s%s %s\n", e.Time.UTC().Format(time.RFC3339), strings.ToUpper(e.Level), job, e.Message)
		}
	}
	return b.String()
}

// diagnosticJobs writes the jobs section of Diagnostics: every job with its
// error, where its bytes came from, its gateway and what holds it back.
func diagnosticJobs(b *strings.Builder, jobs []api.Job) {
	b.WriteString("\nJobs:\n")
	for _, j := range jobs {
		fmt.Fprintf(b, "  %-24s %-13s %-10s %s of %s  peers: %s",
			Title(j), j.State, j.Priority, units.Bytes(j.BytesDone), units.Bytes(j.BytesTotal), PeerCounts(j.PeersSite, j.PeersServer))
		if j.Error != "" {
			fmt.Fprintf(b, "  error: %s", j.Error)
		}
		b.WriteString("\n")
		if src := SourcesText(j); src != "" {
			fmt.Fprintf(b, "    sources: %s\n", src)
		}
		if g := GatewayText(j); g != "" {
			fmt.Fprintf(b, "    gateway: %s\n", g)
		}
		if h, d := LimitText(j); h != "" {
			fmt.Fprintf(b, "    limit: %s: %s\n", h, d)
		}
	}
}

func reach(r api.Reachability, now time.Time) string {
	if r.URL == "" {
		return "not configured"
	}
	s := r.URL + " — "
	if r.Reachable {
		s += "reachable"
	} else {
		s += "NOT reachable"
		if r.Error != "" {
			s += ": " + r.Error
		}
	}
	if !r.Checked.IsZero() {
		s += " (checked " + Ago(r.Checked, now) + ")"
	}
	return s
}

// Reachability describes a server's reachability in one line.
func Reachability(r api.Reachability, now time.Time) string { return reach(r, now) }

// BannedPeers describes the peers banned for sending bad pieces, newest first.
func BannedPeers(ps []api.BannedPeer, now time.Time) string {
	if len(ps) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(ps))
	for i := len(ps) - 1; i >= 0; i-- {
		parts = append(parts, ps[i].Address+" ("+Ago(ps[i].Time, now)+")")
	}
	return fmt.Sprintf("%d, for sending data that failed the hash check: %s", len(ps), strings.Join(parts, ", "))
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
