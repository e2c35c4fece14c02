package viewmodel

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/units/unitstest"
	"github.com/smstorrent/smstorrent/service/api"
)

var now = time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)

// TestUnitForms runs the shared table of unit forms through the view
// models' texts: the window and tray print sizes and rates exactly as ctl,
// the configuration and the logs do.
func TestUnitForms(t *testing.T) {
	for _, c := range unitstest.Formats {
		r := NewJobRow(api.Job{ID: "PS1", State: api.StateTransferring, BytesTotal: c.N, DownRate: c.N}, now)
		if r.Rate != c.Rate || !strings.HasSuffix(r.ProgressText, " of "+c.Bytes) {
			t.Errorf("%d bytes: row rate %q, progress %q; want %q and %q", c.N, r.Rate, r.ProgressText, c.Rate, c.Bytes)
		}
		st := &api.Status{DownRate: c.N, Bandwidth: api.Bandwidth{LimitDown: c.N, EffectiveDown: c.N}}
		v := NewBandwidthView(st, now)
		if v.Down != c.Rate || v.Limits != c.Limit+" down · unlimited up" {
			t.Errorf("%d bytes/s: bandwidth %q, limits %q; want %q and %q", c.N, v.Down, v.Limits, c.Rate, c.Limit)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{ETA(-1), "—"},
		{ETA(30), "< 1 min"},
		{ETA(287), "4 min"},
		{ETA(3900), "1 h 5 min"},
		{ETA(11 * 3600), "11 h"},
		{ETA(3 * 86400), "3 days"},
		{Ago(time.Time{}, now), "never"},
		{Ago(now.Add(-10*time.Second), now), "just now"},
		{Ago(now.Add(-25*time.Hour), now), "1 day ago"},
		{Percent(0.999), "99%"},
		{Percent(1), "100%"},
		{Percent(0.621), "62%"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func job(id string, s api.State, p api.Priority, added time.Duration) api.Job {
	return api.Job{ID: id, State: s, Priority: p, Added: now.Add(added), BytesTotal: 100, ETASeconds: -1}
}

func TestStoreFollowsEvents(t *testing.T) {
	s := NewStore(time.Minute)
	if s.Connected || s.CanControl() {
		t.Fatal("a new store is connected")
	}
	st := &api.Status{Version: "1.2.3", Access: api.AccessControl, DownRate: 10}
	s.Apply(api.Event{Type: api.EventSnapshot, Time: now, Status: st, Jobs: []api.Job{
		job("low", api.StateTransferring, api.Low, 0),
		job("done", api.StateTransferred, api.High, -time.Hour),
		job("fg", api.StateQueued, api.Foreground, time.Minute),
		job("high-old", api.StateSuspended, api.High, -time.Hour),
		job("high-new", api.StateConnecting, api.High, 0),
	}})
	if !s.Connected || !s.CanControl() || s.ServiceVersion != "1.2.3" {
		t.Fatalf("after snapshot: connected %v control %v version %q", s.Connected, s.CanControl(), s.ServiceVersion)
	}
	ids := func(js []api.Job) (out []string) {
		for _, j := range js {
			out = append(out, j.ID)
		}
		return out
	}
	if got := ids(s.Jobs()); !slices.Equal(got, []string{"fg", "high-old", "high-new", "low", "done"}) {
		t.Errorf("order %v", got)
	}
	if got := ids(s.Downloads()); slices.Contains(got, "done") || len(got) != 4 {
		t.Errorf("downloads %v", got)
	}
	if got := ids(s.Seeding()); !slices.Equal(got, []string{"done"}) {
		t.Errorf("seeding %v", got)
	}
	j := job("low", api.StateTransferred, api.Low, 0)
	s.Apply(api.Event{Type: api.EventJobTransferred, Time: now, Job: &j})
	s.Apply(api.Event{Type: api.EventJobRemoved, Time: now, JobID: "fg"})
	if got := ids(s.Seeding()); len(got) != 2 {
		t.Errorf("seeding after transfer %v", got)
	}
	if _, ok := s.Job("fg"); ok {
		t.Error("removed job still there")
	}
	if s.Apply(api.Event{Type: api.EventJobRemoved, JobID: "nope"}) || s.Apply(api.Event{Type: "unknown"}) {
		t.Error("a no-op event reported a change")
	}
	s.Apply(api.Event{Type: api.EventDisconnected, Time: now.Add(time.Second), Error: "boom"})
	if s.Connected || s.CanControl() || s.LastError != "boom" || !s.EverConnected {
		t.Errorf("after disconnect: %+v", s)
	}
	s.Apply(api.Event{Type: api.EventSnapshot, Time: now.Add(2 * time.Second), Status: st})
	if !s.Connected || s.Reconnects != 1 || len(s.Jobs()) != 0 {
		t.Errorf("after reconnect: connected %v reconnects %d jobs %d", s.Connected, s.Reconnects, len(s.Jobs()))
	}
	read := *st
	read.Access = api.AccessRead
	s.Apply(api.Event{Type: api.EventStatus, Time: now.Add(3 * time.Second), Status: &read})
	if s.CanControl() {
		t.Error("a read token allows control")
	}
}

func TestHistoryKeepsSpan(t *testing.T) {
	h := NewHistory(time.Minute)
	for i := range 120 {
		h.Add(now.Add(time.Duration(i)*time.Second), int64(i), 1)
	}
	ss := h.Samples()
	if len(ss) != 61 || ss[0].Down != 59 || h.Peak() != 119 {
		t.Errorf("%d samples, first %d, peak %d", len(ss), ss[0].Down, h.Peak())
	}
	h.Add(now, 5, 5) // older than the last: kept in order
	if last := h.Samples()[len(h.Samples())-1]; last.At.Before(ss[len(ss)-1].At) {
		t.Error("history went back in time")
	}
}

func TestJobRowActions(t *testing.T) {
	for _, c := range []struct {
		state                       api.State
		pause, resume, cancel, prio bool
		resumeText                  string
	}{
		{api.StateQueued, true, false, true, true, "Resume"},
		{api.StateConnecting, true, false, true, true, "Resume"},
		{api.StateTransferring, true, false, true, true, "Resume"},
		{api.StateSuspended, false, true, true, true, "Resume"},
		{api.StateTransientError, true, true, true, true, "Retry"},
		{api.StateError, false, true, true, false, "Retry"},
		{api.StateTransferred, false, false, false, false, "Resume"},
		{api.StateCancelled, false, false, false, false, "Resume"},
	} {
		t.Run(string(c.state), func(t *testing.T) {
			r := NewJobRow(job("x", c.state, api.Normal, 0), now)
			if r.CanPause != c.pause || r.CanResume != c.resume || r.CanCancel != c.cancel || r.CanPriority != c.prio || r.ResumeText != c.resumeText {
				t.Errorf("got pause %v resume %v cancel %v priority %v %q", r.CanPause, r.CanResume, r.CanCancel, r.CanPriority, r.ResumeText)
			}
		})
	}
}

func TestJobRowText(t *testing.T) {
	j := api.Job{ID: "PS1", Version: "Office", State: api.StateTransferring, BytesTotal: 4 << 30, BytesDone: 1 << 30,
		DownRate: 2 << 20, ETASeconds: 1536, PeersSite: 4, PeersServer: 1, DownloadedSite: 3, DownloadedServer: 1}
	r := NewJobRow(j, now)
	for _, c := range []struct{ got, want string }{
		{r.Title, "PS1 Office"}, {r.StateText, "Downloading"}, {r.ProgressText, "25% · 1 GiB of 4 GiB"},
		{r.Rate, "2 MiB/s"}, {r.ETA, "25 min"}, {r.Peers, "4 in site · 1 server"}, {r.Source, "75% from this site"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	j.State, j.Error, j.NextRetry = api.StateTransientError, "tracker unreachable", now.Add(90*time.Second)
	if r := NewJobRow(j, now); r.Message != "tracker unreachable (next try in 1 min)" || r.Rate != "—" {
		t.Errorf("message %q rate %q", r.Message, r.Rate)
	}
}

func TestSeedRow(t *testing.T) {
	base := api.Job{ID: "PS2", State: api.StateTransferred, BytesTotal: 100 << 20, Uploaded: 250 << 20,
		LastUsed: now.Add(-50 * time.Hour)}
	for _, c := range []struct {
		name   string
		change func(*api.Job)
		want   string
	}{
		{"assigned", func(j *api.Job) { j.Assigned = true }, "assigned (kept)"},
		{"days", func(j *api.Job) { j.SeedUntil = now.Add(49 * time.Hour) }, "2 days left"},
		{"hours", func(j *api.Job) { j.SeedUntil = now.Add(5 * time.Hour) }, "5 h left"},
		{"past", func(j *api.Job) { j.SeedUntil = now.Add(-time.Hour) }, "leaving the cache"},
		{"unknown", func(*api.Job) {}, "—"},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := base
			c.change(&j)
			r := NewSeedRow(j, now)
			if r.SeedLeft != c.want || r.Ratio != "2.50" || r.LastUsed != "2 days ago" || r.Size != "100 MiB" {
				t.Errorf("%+v", r)
			}
		})
	}
}

func TestBandwidthView(t *testing.T) {
	if v := NewBandwidthView(nil, now); v.Reason != "Not connected" {
		t.Errorf("nil status: %+v", v)
	}
	st := &api.Status{DownRate: 1 << 20, Bandwidth: api.Bandwidth{LimitDown: 10 << 20, EffectiveDown: 1 << 20,
		Reason: "override", Override: true, OverrideUntil: now.Add(90 * time.Minute), Yielding: true}}
	v := NewBandwidthView(st, now)
	if v.Reason != "Helpdesk throttle" || !strings.Contains(v.Override, "1 h 30 min left") ||
		v.Limits != "10 MiB/s down · unlimited up" || !strings.Contains(v.YieldText, "giving way") {
		t.Errorf("%+v", v)
	}
}

func TestDiagnostics(t *testing.T) {
	s := NewStore(time.Minute)
	if d := Diagnostics(s, "w", now); !strings.Contains(d, "NOT REACHABLE") {
		t.Errorf("offline diagnostics:\n%s", d)
	}
	st := &api.Status{Version: "1.0", Site: "HQ", LogDir: "/var/log/x", Started: now.Add(-time.Hour),
		Repository:   api.Reachability{URL: "https://repo", Reachable: false, Error: "timeout"},
		RecentErrors: []api.LogEntry{{Time: now, Level: "error", Job: "PS9", Message: "disk full"}}}
	j := job("PS9", api.StateError, api.Normal, 0)
	j.Error = "disk full"
	s.Apply(api.Event{Type: api.EventSnapshot, Time: now, Status: st, Jobs: []api.Job{j}})
	d := Diagnostics(s, "w", now)
	for _, want := range []string{"running", "Uptime:", "1 h", "HQ", "NOT reachable: timeout", "/var/log/x", "PS9", "ERROR [PS9] disk full"} {
		if !strings.Contains(d, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, d)
		}
	}
}

func TestPresetsAreValid(t *testing.T) {
	for _, p := range Presets {
		if p.Label == "" || p.Request.Clear || p.Request.Down < 0 || p.Request.Up < 0 || p.Request.ForSeconds <= 0 {
			t.Errorf("preset %+v", p)
		}
	}
	if !ClearPreset.Request.Clear {
		t.Error("ClearPreset does not clear")
	}
	if p, ok := ParsePriorityText(PriorityText(api.Low)); !ok || p != api.Low || len(PriorityTexts()) != 4 {
		t.Error("priority texts do not round-trip")
	}
}

func TestTitleShowsDisplayName(t *testing.T) {
	j := api.Job{ID: "PS100012", Version: "16.0.2", Name: "Office 2024"}
	if got := Title(j); got != "PS100012 (Office 2024) 16.0.2" {
		t.Errorf("Title %q", got)
	}
	j.Name, j.Version = "", ""
	if got := Title(j); got != "PS100012" {
		t.Errorf("Title without name %q", got)
	}
}

// The yield row says when yielding is off, and why, instead of "the
// network is idle enough".
func TestBandwidthViewYieldOff(t *testing.T) {
	st := &api.Status{Bandwidth: api.Bandwidth{Reason: "unlimited", YieldOff: true, YieldOffReason: "yield is off in the configuration (yield: false)"}}
	v := NewBandwidthView(st, now)
	if v.YieldText != "Background downloads do not give way to other traffic: yield is off in the configuration (yield: false)." {
		t.Errorf("yield off: %q", v.YieldText)
	}
	st.Bandwidth = api.Bandwidth{Reason: "unlimited"}
	if v := NewBandwidthView(st, now); !strings.Contains(v.YieldText, "not giving way right now") {
		t.Errorf("yield on, idle: %q", v.YieldText)
	}
}
