package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/ui/demo"
)

// TestHeaderAgreesWithJobs: when the last download ends, the header stops
// showing a download rate at once, though the status's averaged rate still
// says 5.9 MiB/s for a few seconds.
func TestHeaderAgreesWithJobs(t *testing.T) {
	w, _ := newTestWindow(t)
	st := demo.Status(fixedNow, api.AccessControl)
	st.DownRate = 5900 << 10
	j := demo.Jobs(fixedNow)[0]
	w.Apply(api.Event{Type: api.EventSnapshot, Time: fixedNow, Jobs: []api.Job{j}, Status: &st})
	if got := w.header.Text; !strings.Contains(got, "1 downloading") || !strings.Contains(got, "down 5.8 MiB/s") {
		t.Errorf("downloading: header %q", got)
	}
	j.State, j.DownRate, j.BytesDone = api.StateTransferred, 0, j.BytesTotal
	w.Apply(api.Event{Type: api.EventJobTransferred, Time: fixedNow, Job: &j})
	if got := w.header.Text; strings.Contains(got, " down ") || !strings.Contains(got, "nothing downloading") {
		t.Errorf("after the job ended: header %q", got)
	}
	if !w.downloads.empty.Visible() || !strings.HasPrefix(w.downloads.empty.Text, "Nothing is downloading") {
		t.Error("the Downloads tab does not say that nothing is downloading")
	}
}

// bottom is where an object ends on the window's canvas.
func bottom(o fyne.CanvasObject) float32 {
	return fyne.CurrentApp().Driver().AbsolutePositionForObject(o).Y + o.Size().Height
}

// TestDefaultSizeShowsTheControls: at the default 1120×740 the limits, the
// throttle's presets and Copy diagnostics are in view without scrolling.
func TestDefaultSizeShowsTheControls(t *testing.T) {
	w, _ := newTestWindow(t)
	w.win.Resize(fyne.NewSize(1120, 740))
	connect(w, api.AccessControl)
	w.ShowPage(PageBandwidth)
	for name, o := range map[string]fyne.CanvasObject{"Configured limit": w.bandwidth.limits,
		"Helpdesk throttle": w.bandwidth.throttleTitle(), "Throttle (in Limits now)": w.bandwidth.override,
		"a preset": w.bandwidth.presets[3], "Clear": w.bandwidth.clear} {
		if b := bottom(o); b > 740 || !o.Visible() {
			t.Errorf("%s ends at y=%.0f, below the window's 740", name, b)
		}
	}
	w.ShowPage(PageDiagnostics)
	if b := bottom(w.diagnostic.copy); b > 740 {
		t.Errorf("Copy diagnostics ends at y=%.0f", b)
	}
}

func TestDetailPaneExplainsTheJob(t *testing.T) {
	w, _ := newTestWindow(t)
	connect(w, api.AccessControl)
	d := w.downloads.detail
	text := func(name string) string { return d.rows[name].text.Text }
	// Without a selection the busiest download is shown.
	if !strings.Contains(d.title.Text, "Office 2024") ||
		text(detSources) != "from colleagues 1.7 GiB (83%) · from the server 300 MiB (14%) · from other sites 72 MiB (3%)" ||
		text(detGateway) != "Through the site's gateway 192.0.2.15:6881" ||
		!strings.Contains(text(detLimit), "Business-hours schedule · 6 MiB/s\nBusiness hours") ||
		!strings.Contains(text(detPeers), "192.0.2.15:6881 · site's gateway") {
		t.Errorf("Office 2024: %q\n%q\n%q\n%q\n%q", d.title.Text, text(detSources), text(detGateway), text(detLimit), text(detPeers))
	}
	if !w.downloads.rows["PS100012"].content.selected {
		t.Error("the shown job's row is not highlighted")
	}
	test.Tap(w.downloads.rows["PS100044"].content)
	if !strings.Contains(text(detGateway), "This PC is the site's gateway") || !d.rows[detMessage].row.Visible() {
		t.Errorf("SAP GUI: gateway %q, message visible %v", text(detGateway), d.rows[detMessage].row.Visible())
	}
	// A long name is cut in the row and whole in the pane.
	test.Tap(w.downloads.rows["PS100050"].content)
	long := "AutoCAD LT 2025 with the Architecture toolset and the Express Tools add-ins"
	if !strings.Contains(d.title.Text, long) || d.title.Wrapping != fyne.TextWrapWord {
		t.Errorf("long title in the pane: %q", d.title.Text)
	}
	if r := w.downloads.rows["PS100050"]; r.title.Truncation != fyne.TextTruncateEllipsis || r.title.Text != long {
		t.Errorf("row title %q", r.title.Text)
	}
	if text(detGateway) != "" || d.rows[detGateway].row.Visible() {
		t.Error("an empty gateway row is shown")
	}
	// The selected job leaves: the pane goes back to the busiest.
	w.Apply(api.Event{Type: api.EventJobRemoved, Time: fixedNow, JobID: "PS100050"})
	if !strings.Contains(d.title.Text, "Office 2024") {
		t.Errorf("after the selected job left: %q", d.title.Text)
	}
}

func TestPresetInForceAndYieldOff(t *testing.T) {
	w, _ := newTestWindow(t)
	connect(w, api.AccessControl)
	for _, b := range w.bandwidth.presets {
		if b.Importance == widget.HighImportance {
			t.Errorf("%q is marked while no throttle is set", b.Text)
		}
	}
	test.Tap(w.bandwidth.presets[2])
	for i, b := range w.bandwidth.presets {
		if (i == 2) != (b.Importance == widget.HighImportance) {
			t.Errorf("after choosing %q: %q marked %v", w.bandwidth.presets[2].Text, b.Text, b.Importance == widget.HighImportance)
		}
	}
	if !strings.Contains(w.bandwidth.override.Text, "1 MiB/s for 2 hours") {
		t.Errorf("throttle row %q", w.bandwidth.override.Text)
	}
	st := demo.Status(fixedNow, api.AccessControl)
	st.Bandwidth.YieldOff, st.Bandwidth.YieldOffReason = true, "no path to hq to measure (the repository is on this PC's network)"
	w.Apply(api.Event{Type: api.EventStatus, Time: fixedNow.Add(time.Second), Status: &st})
	if got := w.bandwidth.yield.Text; got != "Background downloads do not give way to other traffic: no path to hq to measure (the repository is on this PC's network)." {
		t.Errorf("yield row %q", got)
	}
}
