package tray

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/icons"
	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/internal/units/unitstest"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/ui/demo"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

var now = time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)

func store(access api.Access, jobs ...api.Job) *viewmodel.Store {
	s := viewmodel.NewStore(time.Minute)
	st := demo.Status(now, access)
	s.Apply(api.Event{Type: api.EventSnapshot, Time: now, Jobs: jobs, Status: &st})
	return s
}

func j(id string, s api.State) api.Job {
	return api.Job{ID: id, State: s, Priority: api.Normal, BytesTotal: 1000, BytesDone: 420, ETASeconds: 600, Error: "disk full"}
}

func TestStateIconTooltip(t *testing.T) {
	offline := viewmodel.NewStore(time.Minute)
	offline.Apply(api.Event{Type: api.EventDisconnected, Error: "connection refused"})
	office := j("PS100012", api.StateTransferring)
	office.Name, office.BytesTotal, office.BytesDone, office.ETASeconds = "Office 2024", 100, 63, 14*60
	office.DownRate = 4 << 20
	office.Sources = &api.Sources{Site: 80 << 20, Origin: 20 << 20}
	slow := j("PS2", api.StateTransferring)
	slow.DownRate = 1 << 10
	long := j("PS3", api.StateError)
	long.Name = "AutoCAD LT 2025 with the Architecture toolset and the Express Tools add-ins"
	for _, c := range []struct {
		name           string
		s              *viewmodel.Store
		state          State
		icon           icons.Name
		tooltip, entry string
	}{
		{"starting", viewmodel.NewStore(time.Minute), Offline, icons.Offline,
			"SMSTorrent: connecting to the service…", "Connecting to the service…"},
		{"offline", offline, Offline, icons.Offline, "SMSTorrent: the service is not running", "The service is not running"},
		{"idle", store(api.AccessRead), Idle, icons.Idle, "SMSTorrent: idle, everything is up to date", "Idle, everything is up to date"},
		{"seeding", store(api.AccessRead, j("A", api.StateTransferred), j("B", api.StateTransferred)), Seeding, icons.Seeding,
			"SMSTorrent: sharing 2 packages with this site · 2.4 MiB/s up", "Sharing 2 packages · 2.4 MiB/s up"},
		{"paused", store(api.AccessRead, j("A", api.StateTransferred), j("B", api.StateSuspended)), Paused, icons.Paused,
			"SMSTorrent: 1 download paused", "1 download paused"},
		{"one download", store(api.AccessRead, office), Downloading, icons.Downloading,
			"SMSTorrent: Office 2024 · 63% · about 14 min · 80% from colleagues", "Office 2024 · 63%"},
		{"the busiest of several", store(api.AccessRead, j("A", api.StateQueued), slow, office, j("C", api.StateSuspended)),
			Downloading, icons.Downloading, "SMSTorrent: Office 2024 · 63% · about 14 min · 80% from colleagues · +2 more",
			"3 downloads · Office 2024 · 63%"},
		{"connecting", store(api.AccessRead, j("A", api.StateConnecting)), Downloading, icons.Downloading,
			"SMSTorrent: A · 42% · finding peers", "A · 42%"},
		{"retrying counts as downloading", store(api.AccessRead, j("A", api.StateTransientError)), Downloading, icons.Downloading,
			"SMSTorrent: A · 42% · retrying", "A · 42%"},
		{"error wins", store(api.AccessRead, j("A", api.StateTransferring), j("B", api.StateError)), Error, icons.Error,
			"SMSTorrent: B failed: disk full", "B failed"},
		{"two errors, a long name", store(api.AccessRead, long, j("B", api.StateError)), Error, icons.Error,
			"SMSTorrent: 2 downloads failed · B: disk full", "2 downloads failed"},
		{"one error, a long name", store(api.AccessRead, long), Error, icons.Error,
			"SMSTorrent: AutoCAD LT 2025 with the Architecture t… failed: disk full", "AutoCAD LT 2025 with the Archite… failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := Compute(c.s, now)
			if v.State != c.state || v.Icon != c.icon || v.Tooltip != c.tooltip {
				t.Errorf("got %v %v %q,\nwant %v %v %q", v.State, v.Icon, v.Tooltip, c.state, c.icon, c.tooltip)
			}
			if v.Menu.Status.Enabled || !v.Menu.Status.Visible || v.Menu.Status.Title != c.entry ||
				v.Menu.Status.Tooltip != strings.TrimPrefix(c.tooltip, "SMSTorrent: ") {
				t.Errorf("status entry %+v, want %q", v.Menu.Status, c.entry)
			}
			if len(icons.Tray(v.Icon)) == 0 {
				t.Errorf("no icon %s", v.Icon)
			}
		})
	}
}

// TestTextsStayShort checks every title of the menu and the tooltip in the
// demo's states: the menu opens beside the icon at the screen's edge, and a
// long title once made it run off the screen.
func TestTextsStayShort(t *testing.T) {
	jobs := demo.Jobs(now)
	for i := range jobs {
		s := store(api.AccessControl, jobs[i:]...)
		v := Compute(s, now)
		if n := len([]rune(v.Tooltip)); n > maxTooltip {
			t.Errorf("tooltip has %d characters: %q", n, v.Tooltip)
		}
		m := v.Menu
		for _, it := range append([]Item{m.Status, m.Open, m.Notice, m.PauseAll, m.ResumeAll, m.Throttle, m.Clear, m.About, m.Quit}, m.Presets...) {
			if n := len([]rune(it.Title)); n > maxItem {
				t.Errorf("menu title of %d characters: %q", n, it.Title)
			}
		}
	}
}

// TestGoldenViews compares the tray's texts in the demo's states with
// testdata/views.txt (go test -update rewrites it).
func TestGoldenViews(t *testing.T) {
	var b strings.Builder
	jobs := demo.Jobs(now)
	show := func(name string, s *viewmodel.Store) {
		v := Compute(s, now)
		fmt.Fprintf(&b, "== %s\nicon: %s\ntooltip: %s\n", name, v.Icon, v.Tooltip)
		m := v.Menu
		for _, it := range append([]Item{m.Status, m.Open, m.Notice, m.PauseAll, m.ResumeAll, m.Throttle}, append(m.Presets, m.Clear, m.About, m.Quit)...) {
			if !it.Visible {
				continue
			}
			mark := "  "
			switch {
			case it.Checked:
				mark = "✓ "
			case !it.Enabled:
				mark = "- "
			}
			fmt.Fprintf(&b, "%s%s\n", mark, it.Title)
		}
	}
	show("demo, control", store(api.AccessControl, jobs...))
	show("demo without the failed job, read-only", store(api.AccessRead, slices.DeleteFunc(slices.Clone(jobs),
		func(j api.Job) bool { return j.State == api.StateError })...))
	throttled := store(api.AccessControl, jobs[6:]...)
	st := *throttled.Status
	st.Bandwidth.Override, st.Bandwidth.Reason = true, "override"
	st.Bandwidth.EffectiveDown, st.Bandwidth.EffectiveUp = viewmodel.Presets[2].Request.Down, viewmodel.Presets[2].Request.Up
	throttled.Apply(api.Event{Type: api.EventStatus, Time: now, Status: &st})
	show("seeding, the 1 MiB/s preset in force", throttled)
	golden(t, "testdata/views.txt", b.String())
}

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
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

func TestMenuFollowsAccess(t *testing.T) {
	jobs := []api.Job{j("A", api.StateTransferring), j("B", api.StateSuspended)}
	ctl := Compute(store(api.AccessControl, jobs...), now).Menu
	if !ctl.PauseAll.Visible || !ctl.PauseAll.Enabled || !ctl.ResumeAll.Enabled || !ctl.Throttle.Enabled || ctl.Notice.Visible {
		t.Errorf("control menu: %+v", ctl)
	}
	if len(ctl.Presets) != len(viewmodel.Presets) || !ctl.Presets[0].Enabled || ctl.Clear.Enabled {
		t.Errorf("presets %+v clear %+v", ctl.Presets, ctl.Clear)
	}
	read := Compute(store(api.AccessRead, jobs...), now).Menu
	if read.PauseAll.Visible || read.ResumeAll.Visible || read.Throttle.Visible || read.Presets[0].Visible {
		t.Errorf("read-only menu shows controls: %+v", read)
	}
	if !read.Notice.Visible || read.Notice.Enabled || !strings.Contains(read.Notice.Title, "View only") {
		t.Errorf("read-only notice %+v", read.Notice)
	}
	if !read.Open.Enabled || !read.Quit.Enabled || !read.About.Enabled {
		t.Error("Open, About and Quit must always work")
	}
	// Nothing to pause or resume: the entries stay but are disabled.
	idle := Compute(store(api.AccessControl, j("A", api.StateTransferred)), now).Menu
	if !idle.PauseAll.Visible || idle.PauseAll.Enabled || idle.ResumeAll.Enabled {
		t.Errorf("idle menu %+v %+v", idle.PauseAll, idle.ResumeAll)
	}
	// A helpdesk throttle is active: it can be cleared.
	s := store(api.AccessControl)
	st := *s.Status
	st.Bandwidth.Override = true
	s.Apply(api.Event{Type: api.EventStatus, Time: now, Status: &st})
	if m := Compute(s, now).Menu; !m.Clear.Enabled || !strings.Contains(m.Throttle.Title, "on") {
		t.Errorf("override menu %+v %+v", m.Throttle, m.Clear)
	}
	off := viewmodel.NewStore(time.Minute)
	off.Apply(api.Event{Type: api.EventDisconnected})
	if m := Compute(off, now).Menu; m.PauseAll.Visible || !m.Notice.Visible || !strings.Contains(m.Notice.Title, "not running") {
		t.Errorf("offline menu %+v", m)
	}
}

type fakeHost struct {
	mu    sync.Mutex
	views []View
}

func (h *fakeHost) Show(v View) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.views = append(h.views, v)
}

func (h *fakeHost) last() View {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.views[len(h.views)-1]
}

type fakeBackend struct {
	events chan api.Event
	calls  chan string
}

func (b *fakeBackend) Watch(ctx context.Context, fn func(api.Event)) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-b.events:
			fn(ev)
		}
	}
}

func (b *fakeBackend) PauseAll(context.Context) error  { b.calls <- "pause-all"; return nil }
func (b *fakeBackend) ResumeAll(context.Context) error { b.calls <- "resume-all"; return nil }
func (b *fakeBackend) Throttle(_ context.Context, r api.ThrottleRequest) (*api.Bandwidth, error) {
	if r.Clear {
		b.calls <- "throttle clear"
	} else {
		b.calls <- "throttle " + units.Rate(r.Down)
	}
	return &api.Bandwidth{}, nil
}

type fakeLauncher struct{ pages chan string }

func (l *fakeLauncher) Open(page string) error { l.pages <- page; return nil }

func TestControllerDrivesHostAndBackend(t *testing.T) {
	b := &fakeBackend{events: make(chan api.Event), calls: make(chan string, 8)}
	h := &fakeHost{}
	l := &fakeLauncher{pages: make(chan string, 4)}
	handled := make(chan struct{}, 16)
	c := &Controller{Backend: b, Host: h, Launcher: l, Now: func() time.Time { return now },
		Done: func() { handled <- struct{}{} }}
	clicks := make(chan Click)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, clicks) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-handled:
		case <-time.After(10 * time.Second):
			t.Fatalf("controller did not handle %s", what)
		}
	}
	send := func(ev api.Event) {
		t.Helper()
		select {
		case b.events <- ev:
		case <-time.After(10 * time.Second):
			t.Fatal("Watch did not take the event")
		}
		wait(ev.Type)
	}
	click := func(cl Click) {
		t.Helper()
		select {
		case clicks <- cl:
		case <-time.After(10 * time.Second):
			t.Fatal("controller did not take the click")
		}
		if cl.Action != ActQuit {
			wait("a click")
		}
	}
	expect := func(ch chan string, want string) {
		t.Helper()
		select {
		case got := <-ch:
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %q", want)
		}
	}

	st := demo.Status(now, api.AccessControl)
	send(api.Event{Type: api.EventSnapshot, Time: now, Jobs: []api.Job{j("A", api.StateTransferring)}, Status: &st})
	if v := h.last(); v.State != Downloading || !v.Menu.PauseAll.Enabled {
		t.Errorf("after snapshot: %v, pause all %+v", v.State, v.Menu.PauseAll)
	}
	click(Click{Action: ActPauseAll})
	expect(b.calls, "pause-all")
	click(Click{Action: ActResumeAll})
	expect(b.calls, "resume-all")
	click(Click{Action: ActPreset, Preset: 2})
	expect(b.calls, "throttle 1 MiB/s")
	click(Click{Action: ActClear})
	expect(b.calls, "throttle clear")
	click(Click{Action: ActOpen})
	expect(l.pages, "")
	click(Click{Action: ActAbout})
	expect(l.pages, "about")

	n := len(h.views)
	send(api.Event{Type: api.EventStatus, Time: now, Status: &st}) // nothing visible changed
	h.mu.Lock()
	same := len(h.views) == n
	h.mu.Unlock()
	if !same {
		t.Error("the host was updated though the view did not change")
	}
	send(api.Event{Type: api.EventDisconnected, Time: now, Error: "event stream closed"})
	if v := h.last(); v.State != Offline || v.Icon != icons.Offline || v.Menu.PauseAll.Visible {
		t.Errorf("after disconnect: %+v", v)
	}
	click(Click{Action: ActQuit})
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Quit did not end Run")
	}
	if got := h.last(); !slices.Contains([]State{Offline}, got.State) {
		t.Errorf("final state %v", got.State)
	}
}

// TestUnitForms runs the shared table of unit forms through the tray's
// texts: rates print as everywhere else.
func TestUnitForms(t *testing.T) {
	for _, c := range unitstest.Formats {
		if c.N == 0 {
			continue
		}
		s := store(api.AccessRead, j("A", api.StateTransferred))
		st := *s.Status
		st.UpRate = c.N
		s.Apply(api.Event{Type: api.EventStatus, Time: now, Status: &st})
		v := Compute(s, now)
		if want := "SMSTorrent: sharing 1 package with this site · " + c.Rate + " up"; v.Tooltip != want {
			t.Errorf("%d B/s: tooltip %q, want %q", c.N, v.Tooltip, want)
		}
		if want := "Sharing 1 package · " + c.Rate + " up"; v.Menu.Status.Title != want {
			t.Errorf("%d B/s: status entry %q, want %q", c.N, v.Menu.Status.Title, want)
		}
	}
}

func TestCutCountsUTF16(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"short", 10, "short"}, {"abcdefghij", 5, "abcd…"}, {"ab😀cd", 4, "ab…"}, {"ab😀cd", 5, "ab😀…"}} {
		if got := cut(c.in, c.n); got != c.want {
			t.Errorf("cut(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
