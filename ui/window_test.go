package ui

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/ui/demo"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

var fixedNow = time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	time.Local = time.UTC // golden files show local times
	os.Exit(m.Run())
}

// fakeBackend records calls and forwards events that the test sends.
type fakeBackend struct {
	events    chan api.Event
	delivered chan struct{}
	err       error // returned by every action

	mu    sync.Mutex
	calls []string
	jobs  map[string]api.Job
}

var _ Backend = (*fakeBackend)(nil)

func newFake() *fakeBackend {
	f := &fakeBackend{events: make(chan api.Event), delivered: make(chan struct{}), jobs: map[string]api.Job{}}
	for _, j := range demo.Jobs(fixedNow) {
		f.jobs[j.ID] = j
	}
	return f
}

func (f *fakeBackend) Watch(ctx context.Context, fn func(api.Event)) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-f.events:
			fn(ev)
			select {
			case f.delivered <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (f *fakeBackend) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeBackend) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeBackend) job(id string, change func(*api.Job)) (*api.Job, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[id]
	change(&j)
	f.jobs[id] = j
	return &j, nil
}

func (f *fakeBackend) Pause(_ context.Context, id string) (*api.Job, error) {
	f.record("pause %s", id)
	return f.job(id, func(j *api.Job) { j.State, j.DownRate, j.ETASeconds = api.StateSuspended, 0, -1 })
}

func (f *fakeBackend) Resume(_ context.Context, id string) (*api.Job, error) {
	f.record("resume %s", id)
	return f.job(id, func(j *api.Job) { j.State, j.Error = api.StateTransferring, "" })
}

func (f *fakeBackend) Cancel(_ context.Context, id string) (*api.Job, error) {
	f.record("cancel %s", id)
	return f.job(id, func(j *api.Job) { j.State = api.StateCancelled })
}

func (f *fakeBackend) SetPriority(_ context.Context, id string, p api.Priority) (*api.Job, error) {
	f.record("priority %s %s", id, p)
	return f.job(id, func(j *api.Job) { j.Priority = p })
}

func (f *fakeBackend) PauseAll(context.Context) error {
	f.record("pause-all")
	return f.err
}

func (f *fakeBackend) ResumeAll(context.Context) error {
	f.record("resume-all")
	return f.err
}

func (f *fakeBackend) Throttle(_ context.Context, r api.ThrottleRequest) (*api.Bandwidth, error) {
	f.record("throttle down=%d up=%d for=%d clear=%v", r.Down, r.Up, r.ForSeconds, r.Clear)
	if f.err != nil {
		return nil, f.err
	}
	return &api.Bandwidth{LimitDown: 20 << 20, LimitUp: 10 << 20, EffectiveDown: r.Down, EffectiveUp: r.Up,
		Reason: "override", Override: !r.Clear, OverrideUntil: fixedNow.Add(time.Duration(r.ForSeconds) * time.Second)}, nil
}

// newTestWindow makes a window on a headless test app with synchronous
// backend calls.
func newTestWindow(t *testing.T) (*Window, *fakeBackend) {
	t.Helper()
	a := test.NewTempApp(t)
	f := newFake()
	w := New(a, f, Options{Now: func() time.Time { return fixedNow }, ClientVersion: "test"})
	w.async = func(fn func()) { fn() }
	w.win.Resize(fyne.NewSize(1120, 700))
	t.Cleanup(w.Close)
	return w, f
}

// snapshot is the event stream's first event with the demo jobs, preceded
// by a minute of rate history.
func connect(w *Window, access api.Access) {
	st := demo.Status(fixedNow, access)
	for i := 60; i > 0; i-- {
		s := st
		s.DownRate = int64(i%13) * 300 << 10
		s.UpRate = int64(i%7) * 200 << 10
		w.Apply(api.Event{Type: api.EventStatus, Time: fixedNow.Add(-time.Duration(i) * time.Second), Status: &s})
	}
	w.Apply(api.Event{Type: api.EventSnapshot, Time: fixedNow, Jobs: demo.Jobs(fixedNow), Status: &st})
}

func TestTabsRender(t *testing.T) {
	for _, access := range []api.Access{api.AccessControl, api.AccessRead} {
		for i, page := range []string{PageDownloads, PageSeeding, PageBandwidth, PageDiagnostics} {
			t.Run(string(access)+"/"+page, func(t *testing.T) {
				w, _ := newTestWindow(t)
				connect(w, access)
				w.ShowPage(page)
				if got := w.tabs.SelectedIndex(); got != i {
					t.Fatalf("ShowPage(%q) selected tab %d", page, got)
				}
				test.AssertRendersToMarkup(t, page+"_"+string(access)+".xml", w.win.Canvas())
			})
		}
	}
}

func TestJobsInEveryState(t *testing.T) {
	w, _ := newTestWindow(t)
	connect(w, api.AccessControl)
	want := map[string]struct {
		state           string
		pause, cancel   bool
		priority        bool
		message         string
		pauseResumeIcon string
	}{
		"PS100012": {"Downloading", true, true, true, "", "media-pause"},
		"PS100031": {"Finding peers", true, true, true, "", "media-pause"},
		"PS100060": {"Queued", true, true, true, "", "media-pause"},
		"PS100007": {"Paused", true, true, true, "", "media-play"},
		"PS100044": {"Retrying", true, true, true, "tracker https://tracker.hq.example.com unreachable: connection timed out (next try in 40 s)", "media-play"},
		"PS100050": {"Error", true, true, false, "disk full", "media-play"},
	}
	if len(w.downloads.rows) != len(want) {
		t.Errorf("%d download rows, want %d", len(w.downloads.rows), len(want))
	}
	for id, wt := range want {
		r, ok := w.downloads.rows[id]
		if !ok {
			t.Errorf("no row for %s", id)
			continue
		}
		if r.state.Text != wt.state {
			t.Errorf("%s: state %q, want %q", id, r.state.Text, wt.state)
		}
		if r.pauseResume.Disabled() == wt.pause || r.cancel.Disabled() == wt.cancel || r.priority.Disabled() == wt.priority {
			t.Errorf("%s: pause/resume disabled %v, cancel disabled %v, priority disabled %v", id,
				r.pauseResume.Disabled(), r.cancel.Disabled(), r.priority.Disabled())
		}
		if !strings.Contains(r.message.Text, wt.message) || (wt.message == "") == r.message.Visible() {
			t.Errorf("%s: message %q (visible %v), want %q", id, r.message.Text, r.message.Visible(), wt.message)
		}
		if got := r.pauseResume.Icon.Name(); !strings.Contains(got, wt.pauseResumeIcon) {
			t.Errorf("%s: button icon %s, want %s", id, got, wt.pauseResumeIcon)
		}
	}
	if _, ok := w.downloads.rows["PS100021"]; ok {
		t.Error("a transferred package is listed under Downloads")
	}
	if n := len(w.seeding.list.Objects); n != 4 {
		t.Errorf("%d seeding rows, want 4", n)
	}
}

func TestTapsReachBackend(t *testing.T) {
	w, f := newTestWindow(t)
	connect(w, api.AccessControl)

	test.Tap(w.downloads.rows["PS100012"].pauseResume)
	if got := w.downloads.rows["PS100012"].state.Text; got != "Paused" {
		t.Errorf("after pause the row says %q", got)
	}
	test.Tap(w.downloads.rows["PS100007"].pauseResume)
	test.Tap(w.downloads.rows["PS100050"].pauseResume) // Retry
	w.downloads.rows["PS100060"].priority.SetSelected("High")
	test.Tap(w.downloads.pauseAll)
	test.Tap(w.downloads.resumeAll)
	w.ShowPage(PageBandwidth)
	test.Tap(w.bandwidth.presets[2])
	if w.bandwidth.clear.Disabled() {
		t.Error("Clear throttle is disabled while a throttle is active")
	}
	test.Tap(w.bandwidth.clear)
	w.bandwidth.downSlider.SetValue(3)
	w.bandwidth.upSlide.SetValue(0)
	w.bandwidth.duration.SetSelectedIndex(4)
	test.Tap(w.bandwidth.apply)

	want := []string{
		"pause PS100012",
		"resume PS100007",
		"resume PS100050",
		"priority PS100060 high",
		"pause-all",
		"resume-all",
		"throttle down=1048576 up=1048576 for=7200 clear=false",
		"throttle down=0 up=0 for=0 clear=true",
		"throttle down=3145728 up=0 for=0 clear=false",
	}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("backend calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCancelAsksFirst(t *testing.T) {
	w, f := newTestWindow(t)
	connect(w, api.AccessControl)
	test.Tap(w.downloads.rows["PS100060"].cancel)
	if len(f.Calls()) != 0 {
		t.Fatalf("cancel called the backend before confirmation: %v", f.Calls())
	}
	yes := findButton(t, w.win.Canvas().Overlays().Top(), "Yes")
	test.Tap(yes)
	if got := f.Calls(); !slices.Equal(got, []string{"cancel PS100060"}) {
		t.Errorf("calls %v", got)
	}
}

func TestReadOnlyDisablesControls(t *testing.T) {
	w, f := newTestWindow(t)
	connect(w, api.AccessRead)
	if !w.banner.content.Visible() || !strings.Contains(w.banner.text.Text, "View only") {
		t.Errorf("banner visible %v, text %q", w.banner.content.Visible(), w.banner.text.Text)
	}
	for id, r := range w.downloads.rows {
		if !r.pauseResume.Disabled() || !r.cancel.Disabled() || !r.priority.Disabled() {
			t.Errorf("%s: a control is enabled for a read-only user", id)
		}
		test.Tap(r.pauseResume)
	}
	for _, b := range append(slices.Clone(w.bandwidth.presets), w.bandwidth.apply, w.bandwidth.clear,
		w.downloads.pauseAll, w.downloads.resumeAll) {
		if !b.Disabled() {
			t.Errorf("%q is enabled for a read-only user", b.Text)
		}
		test.Tap(b)
	}
	if !strings.Contains(w.bandwidth.ctrlNote.Text, "control token") {
		t.Errorf("the throttle does not explain why it is disabled: %q", w.bandwidth.ctrlNote.Text)
	}
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("disabled controls called the backend: %v", calls)
	}
}

func TestServiceNotRunning(t *testing.T) {
	w, _ := newTestWindow(t)
	w.Apply(api.Event{Type: api.EventDisconnected, Time: fixedNow,
		Error: "the SMSTorrent service is not running or not reachable (no api/address in /var/lib/smstorrent)"})
	if !w.banner.content.Visible() || w.banner.kind != bannerError {
		t.Fatal("no error banner while the service is down")
	}
	test.AssertRendersToMarkup(t, "service_not_running.xml", w.win.Canvas())

	connect(w, api.AccessControl)
	if w.banner.content.Visible() {
		t.Errorf("banner still shown after connecting: %q", w.banner.text.Text)
	}
	w.Apply(api.Event{Type: api.EventDisconnected, Time: fixedNow.Add(time.Minute), Error: "event stream closed"})
	if !w.banner.content.Visible() || !strings.Contains(w.banner.text.Text, "not running") {
		t.Errorf("after the service stopped: banner visible %v, %q", w.banner.content.Visible(), w.banner.text.Text)
	}
	if w.header.Text != "Service not running" {
		t.Errorf("header %q", w.header.Text)
	}
	if r := w.downloads.rows["PS100012"]; r == nil || !r.pauseResume.Disabled() {
		t.Error("the last known jobs should stay listed with their controls disabled")
	}
	test.AssertRendersToMarkup(t, "service_stopped.xml", w.win.Canvas())
	connect(w, api.AccessControl) // the service restarted: a fresh snapshot
	if w.banner.content.Visible() || w.store.Reconnects != 1 {
		t.Errorf("after reconnecting: banner %v, reconnects %d", w.banner.content.Visible(), w.store.Reconnects)
	}
}

func TestActionErrorIsShown(t *testing.T) {
	w, f := newTestWindow(t)
	connect(w, api.AccessControl)
	f.err = api.Errorf(409, api.CodeConflict, "cannot pause PS100012: it is transferred")
	test.Tap(w.downloads.rows["PS100012"].pauseResume)
	top := w.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no error dialog")
	}
	if !containsText(top, "cannot pause PS100012") {
		t.Error("the error dialog does not show the service's message")
	}
}

func TestWatchUpdatesWidgets(t *testing.T) {
	w, f := newTestWindow(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w.Start(ctx)
	send := func(ev api.Event) {
		t.Helper()
		select {
		case f.events <- ev:
		case <-time.After(10 * time.Second):
			t.Fatal("Watch did not take the event")
		}
		select {
		case <-f.delivered:
		case <-time.After(10 * time.Second):
			t.Fatal("the event was not applied")
		}
	}
	st := demo.Status(fixedNow, api.AccessControl)
	send(api.Event{Type: api.EventSnapshot, Time: fixedNow, Jobs: demo.Jobs(fixedNow)[:1], Status: &st})
	if !strings.Contains(w.header.Text, "Branch Tallinn-03") {
		t.Errorf("header %q", w.header.Text)
	}
	j := demo.Jobs(fixedNow)[0]
	j.BytesDone = j.BytesTotal / 2
	send(api.Event{Type: api.EventJob, Time: fixedNow, Job: &j})
	if got := w.downloads.rows[j.ID].progress.value; got != 0.5 {
		t.Errorf("progress %v after a job event, want 0.5", got)
	}
	send(api.Event{Type: api.EventJobRemoved, Time: fixedNow, JobID: j.ID})
	if len(w.downloads.rows) != 0 || !w.downloads.empty.Visible() {
		t.Error("a removed job is still listed")
	}
	send(api.Event{Type: api.EventDisconnected, Time: fixedNow, Error: "event stream closed"})
	if w.header.Text != "Service not running" {
		t.Errorf("header %q", w.header.Text)
	}
}

func TestCopyDiagnostics(t *testing.T) {
	w, _ := newTestWindow(t)
	connect(w, api.AccessControl)
	w.ShowPage(PageDiagnostics)
	test.Tap(w.diagnostic.copy)
	got := w.app.Clipboard().Content()
	for _, s := range []string{"SMSTorrent diagnostics", "0.9.0-demo", "Branch Tallinn-03", "PS100050",
		"no space left on device", "/var/log/smstorrent", "sources: from colleagues 1.7 GiB (83%)",
		"gateway: Through the site's gateway 192.0.2.15:6881", "limit: Business-hours schedule · 6 MiB/s: Business hours"} {
		if !strings.Contains(got, s) {
			t.Errorf("diagnostics lack %q:\n%s", s, got)
		}
	}
}

func findButton(t *testing.T, o fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	for _, c := range test.LaidOutObjects(o) {
		if b, ok := c.(*widget.Button); ok && b.Text == text {
			return b
		}
	}
	t.Fatalf("no button %q", text)
	return nil
}

func containsText(o fyne.CanvasObject, s string) bool {
	for _, c := range test.LaidOutObjects(o) {
		if l, ok := c.(*widget.Label); ok && strings.Contains(l.Text, s) {
			return true
		}
	}
	return false
}

func TestChartBuckets(t *testing.T) {
	var ss []viewmodel.Sample
	for i := range 50 { // five samples a second for ten seconds
		ss = append(ss, viewmodel.Sample{At: fixedNow.Add(time.Duration(i) * 200 * time.Millisecond), Down: int64(i % 2 * 100), Up: 10})
	}
	got := buckets(ss, 2*time.Second)
	if len(got) != 5 {
		t.Fatalf("%d buckets, want 5", len(got))
	}
	for _, b := range got {
		if b.Down != 50 || b.Up != 10 {
			t.Errorf("bucket %+v, want the averages 50 and 10", b)
		}
	}
	if !got[4].At.Equal(ss[49].At) {
		t.Error("the last bucket does not end at the newest sample")
	}
	if len(buckets(nil, time.Second)) != 0 || len(buckets(ss, 0)) != len(ss) {
		t.Error("edge cases")
	}
}
