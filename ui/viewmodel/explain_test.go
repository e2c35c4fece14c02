package viewmodel

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/internal/units/unitstest"
	"github.com/smstorrent/smstorrent/service/api"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}

func explained() api.Job {
	return api.Job{ID: "PS100012", Name: "Office 2024", Version: "16.0", State: api.StateTransferring,
		BytesTotal: 4 << 30, BytesDone: 1 << 30, DownRate: 2 << 20, ETASeconds: 14 * 60, PeersSite: 2, PeersServer: 1,
		DownloadedSite: 800 << 20, DownloadedServer: 224 << 20,
		Sources: &api.Sources{Site: 800 << 20, Origin: 224 << 20, Gateway: "192.0.2.15:6881", Peers: []api.JobPeer{
			{Address: "192.0.2.15:6881", Kind: api.PeerGateway, DownRate: 1 << 20, Throttled: true},
			{Address: "192.0.2.41:6881", Kind: api.PeerSite, Client: "SMSTorrent\u202e 0.9\x07", DownRate: 512 << 10, UpRate: 100 << 10},
			{Address: "198.51.100.20:6881", Kind: api.PeerOrigin},
		}},
		Limit: &api.JobLimit{Reason: api.LimitGatewayThrottled, Rate: 1 << 20,
			Detail: "The site's gateway 192.0.2.15 is throttled by the helpdesk to 1 MiB/s."}}
}

func TestExplainTexts(t *testing.T) {
	j := explained()
	h, d := LimitText(j)
	for _, c := range []struct{ got, want string }{
		{SourcesText(j), "from colleagues 800 MiB (78%) · from the server 224 MiB (22%)"},
		{SourceShare(j), "78% from colleagues"},
		{GatewayText(j), "Through the site's gateway 192.0.2.15:6881"},
		{strings.Join(PeerLines(j), "\n"), "192.0.2.15:6881 · site's gateway · 1 MiB/s down · throttled\n" +
			"192.0.2.41:6881 · colleague · SMSTorrent 0.9 · 512 KiB/s down · 100 KiB/s up\n" +
			"198.51.100.20:6881 · server · idle"},
		{h, "The site's gateway is throttled · 1 MiB/s"},
		{d, "The site's gateway 192.0.2.15 is throttled by the helpdesk to 1 MiB/s."},
		{About(j), "about 14 min"},
	} {
		if c.got != c.want {
			t.Errorf("got  %q\nwant %q", c.got, c.want)
		}
	}
	j.Sources = &api.Sources{Origin: 5, IsGateway: true}
	if s, g := SourceShare(j), GatewayText(j); s != "all from the server" || !strings.HasPrefix(g, "This PC is the site's gateway") {
		t.Errorf("gateway PC: %q, %q", s, g)
	}
	j.Sources = &api.Sources{Origin: 5, OtherSites: 5}
	if s := SourceShare(j); s != "none from colleagues yet" {
		t.Errorf("no colleague bytes: %q", s)
	}
	j.Sources, j.DownloadedSite, j.DownloadedServer = nil, 3, 1 // an older service: no split, no gateway
	if s, g, p := SourcesText(j), GatewayText(j), PeerLines(j); s != "from this site 3 B (75%) · from outside the site 1 B (25%)" || g != "" || p != nil {
		t.Errorf("older service: %q %q %v", s, g, p)
	}
	j.Limit = nil
	if h, d := LimitText(j); h != "" || d != "" {
		t.Errorf("no limit reported, but %q %q", h, d)
	}
}

func TestPeerCountsHideZeros(t *testing.T) {
	for _, c := range []struct {
		site, server int
		want         string
	}{{0, 0, "no peers"}, {6, 0, "6 in site"}, {0, 1, "1 server"}, {3, 2, "3 in site · 2 servers"}} {
		if got := PeerCounts(c.site, c.server); got != c.want {
			t.Errorf("%d, %d: %q, want %q", c.site, c.server, got, c.want)
		}
	}
}

func TestClean(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"  Office \t 2024\n", 40, "Office 2024"},
		{"evil\u202eexe.txt\x1b[31m", 40, "evilexe.txt[31m"},
		{"a very long package name indeed", 10, "a very lo…"},
		{strings.Repeat("x", 10000), 5, "xxxx…"},
		{"\xff\xfe", 5, ""},
	} {
		if got := Clean(c.in, c.n); got != c.want {
			t.Errorf("Clean(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestHeaderAgreesWithJobs(t *testing.T) {
	s := NewStore(time.Minute)
	if Header(s) != "" {
		t.Error("a header before the first status")
	}
	st := &api.Status{Site: "Branch 3", DownRate: 6 << 20, UpRate: 1 << 20}
	running := job("PS1", api.StateTransferring, api.Normal, 0)
	s.Apply(api.Event{Type: api.EventSnapshot, Time: now, Status: st, Jobs: []api.Job{running}})
	if got := Header(s); got != "Branch 3  ·  1 downloading  ·  down 6 MiB/s  ·  up 1 MiB/s" {
		t.Errorf("downloading: %q", got)
	}
	// The job ends; the status's averaged rate still says 6 MiB/s for a
	// few seconds. The header must not show it beside "nothing downloading".
	done := running
	done.State = api.StateTransferred
	s.Apply(api.Event{Type: api.EventJobTransferred, Time: now, Job: &done})
	if got := Header(s); got != "Branch 3  ·  nothing downloading  ·  up 1 MiB/s" {
		t.Errorf("after the job ended: %q", got)
	}
	paused := job("PS2", api.StateSuspended, api.Normal, 0)
	s.Apply(api.Event{Type: api.EventJob, Time: now, Job: &paused})
	st2 := &api.Status{}
	s.Apply(api.Event{Type: api.EventStatus, Time: now, Status: st2})
	if got := Header(s); got != "no site  ·  1 paused" {
		t.Errorf("paused, no site: %q", got)
	}
}

func TestYieldOffAndActivePreset(t *testing.T) {
	st := &api.Status{Bandwidth: api.Bandwidth{YieldOff: true, YieldOffReason: "yield = false in the configuration"}}
	v := NewBandwidthView(st, now)
	if v.YieldText != "Background downloads do not give way to other traffic: yield = false in the configuration." || !v.YieldOff || v.ActivePreset != -1 {
		t.Errorf("yield off: %+v", v)
	}
	st.Bandwidth.YieldOffReason = ""
	if v := NewBandwidthView(st, now); v.YieldText != "Background downloads do not give way to other traffic: yielding is off." {
		t.Errorf("yield off without a reason: %q", v.YieldText)
	}
	for i, p := range Presets {
		b := api.Bandwidth{Override: true, Reason: "override", EffectiveDown: p.Request.Down, EffectiveUp: p.Request.Up}
		if got := ActivePreset(b); got != i {
			t.Errorf("preset %q: active %d", p.Label, got)
		}
		st := &api.Status{Bandwidth: b}
		if v := NewBandwidthView(st, now); !strings.Contains(v.Override, p.Label) {
			t.Errorf("override text %q lacks %q", v.Override, p.Label)
		}
		b.Reason = "yielding" // the yield controller lowers the limits: the preset cannot be told
		if got := ActivePreset(b); got != -1 {
			t.Errorf("preset %q while yielding: %d", p.Label, got)
		}
	}
	if got := ActivePreset(api.Bandwidth{Override: true, Reason: "override", EffectiveDown: 3 << 20}); got != -1 {
		t.Errorf("a custom throttle shows preset %d", got)
	}
	if got := ActivePreset(api.Bandwidth{EffectiveDown: 0, EffectiveUp: 0}); got != -1 {
		t.Errorf("no throttle shows preset %d", got)
	}
}

// TestUnitFormsInExplanations runs the shared table through the new texts.
func TestUnitFormsInExplanations(t *testing.T) {
	for _, c := range unitstest.Formats {
		if c.N == 0 {
			continue
		}
		j := api.Job{ID: "PS1", State: api.StateTransferring, Sources: &api.Sources{Site: c.N,
			Peers: []api.JobPeer{{Address: "a", Kind: api.PeerSite, DownRate: c.N}}},
			Limit: &api.JobLimit{Reason: api.LimitThrottle, Rate: c.N}}
		h, _ := LimitText(j)
		if got := SourcesText(j); got != "from colleagues "+c.Bytes+" (100%)" {
			t.Errorf("%d: sources %q", c.N, got)
		}
		if got := PeerLines(j)[0]; got != "a · colleague · "+c.Rate+" down" {
			t.Errorf("%d: peer %q", c.N, got)
		}
		if h != "Helpdesk throttle · "+c.Rate {
			t.Errorf("%d: limit %q", c.N, h)
		}
		st := &api.Status{Site: "S", DownRate: c.N, UpRate: c.N}
		s := NewStore(time.Minute)
		s.Apply(api.Event{Type: api.EventSnapshot, Time: now, Status: st, Jobs: []api.Job{j}})
		if got := Header(s); got != "S  ·  1 downloading  ·  down "+c.Rate+"  ·  up "+c.Rate {
			t.Errorf("%d: header %q", c.N, got)
		}
	}
}

// TestGoldenDetails keeps the detail pane's texts for a range of jobs in
// testdata/details.txt (go test -update rewrites it).
func TestGoldenDetails(t *testing.T) {
	var b strings.Builder
	jobs := []api.Job{explained()}
	gw := explained()
	gw.ID, gw.Name, gw.Sources, gw.Limit = "PS2", "SAP GUI", &api.Sources{Origin: 300 << 20, IsGateway: true},
		&api.JobLimit{Reason: api.LimitNone, Detail: "Nothing holds it back: it gets what the server sends."}
	waiting := api.Job{ID: "PS3", State: api.StateConnecting, BytesTotal: 1 << 20, ETASeconds: -1,
		Limit: &api.JobLimit{Reason: api.LimitWaitingPeers, Detail: "No peer has the missing pieces yet."}}
	failed := api.Job{ID: "PS4", State: api.StateError, BytesTotal: 1 << 20, Error: "disk full", ETASeconds: -1}
	jobs = append(jobs, gw, waiting, failed)
	for _, j := range jobs {
		d := NewJobDetail(j, NewJobRow(j, now))
		fmt.Fprintf(&b, "== %s\ntitle: %s\nstatus: %s\npeers: %s\n", d.ID, d.Title, d.Status, d.PeerCounts)
		for _, kv := range [][2]string{{"sources", d.Sources}, {"gateway", d.Gateway}, {"limit", d.Limit},
			{"limit detail", d.LimitDetail}, {"message", d.Message}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
			}
		}
		for _, p := range d.Peers {
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}
	golden(t, "testdata/details.txt", b.String())
}

func TestShare(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{{0, "0%"}, {0.001, "<1%"}, {0.219, "22%"}, {0.999, "99%"}, {1, "100%"}} {
		if got := Share(c.f); got != c.want {
			t.Errorf("Share(%v) = %q, want %q", c.f, got, c.want)
		}
	}
}

// TestPresetLabelsUseUnits: a preset's label spells its rate as units does.
func TestPresetLabelsUseUnits(t *testing.T) {
	for _, p := range Presets {
		if p.Request.Down > 0 && !strings.HasPrefix(p.Label, units.Rate(p.Request.Down)+" ") {
			t.Errorf("preset %q for %d B/s: want it to start with %q", p.Label, p.Request.Down, units.Rate(p.Request.Down))
		}
	}
}
