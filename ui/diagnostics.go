package ui

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

var diagCols = &columns{widths: []float32{170, 400}, flex: 1}
var errorCols = &columns{widths: []float32{150, 60, 90, 400}, flex: 3}

type diagnosticsTab struct {
	w       *Window
	content fyne.CanvasObject

	service, version, uptime, site, repo, port, access *widget.Label
	tracker, dataDir, cacheDir, logDir, banned         *widget.Label
	repoIcon, trackerIcon                              *widget.Icon
	errors                                             *fyne.Container
	noErrors                                           *widget.Label
	copy, openLogs                                     *widget.Button
	copied                                             *widget.Label
	scroll                                             *container.Scroll
	lastErrors                                         []api.LogEntry
	shown                                              bool
}

func newDiagnosticsTab(w *Window) *diagnosticsTab {
	t := &diagnosticsTab{w: w, errors: container.NewVBox(), copied: widget.NewLabel("")}
	lbl := func() *widget.Label {
		l := widget.NewLabel("")
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}
	t.service, t.version, t.uptime, t.site, t.repo, t.port, t.access = lbl(), lbl(), lbl(), lbl(), lbl(), lbl(), lbl()
	t.tracker, t.dataDir, t.cacheDir, t.logDir, t.banned = lbl(), lbl(), lbl(), lbl(), lbl()
	for _, l := range []*widget.Label{t.repo, t.tracker, t.banned} {
		l.Truncation = fyne.TextTruncateOff
		l.Wrapping = fyne.TextWrapWord
	}
	t.repoIcon, t.trackerIcon = widget.NewIcon(nil), widget.NewIcon(nil)
	t.noErrors = widget.NewLabel("No recent warnings or errors.")
	t.noErrors.Importance = widget.SuccessImportance
	t.copied.Importance = widget.SuccessImportance
	t.copy = widget.NewButtonWithIcon("Copy diagnostics", theme.ContentCopyIcon(), t.copyDiagnostics)
	t.copy.Importance = widget.HighImportance
	t.openLogs = widget.NewButtonWithIcon("Open log folder", theme.FolderOpenIcon(), t.openLogFolder)
	row := func(k string, v fyne.CanvasObject) fyne.CanvasObject { return container.New(diagCols, heading(k), v) }
	info := widget.NewCard("Service", "", container.NewVBox(
		row("State", t.service),
		row("Version", t.version),
		row("Uptime", t.uptime),
		row("Site", t.site),
		row("Repository", container.NewBorder(nil, nil, container.NewCenter(t.repoIcon), nil, t.repo)),
		row("Tracker", container.NewBorder(nil, nil, container.NewCenter(t.trackerIcon), nil, t.tracker)),
		row("BitTorrent port", t.port),
		row("Banned peers", t.banned),
		row("Your access", t.access),
		row("Data folder", t.dataDir),
		row("Cache folder", t.cacheDir),
		row("Log folder", container.NewBorder(nil, nil, nil, t.openLogs, t.logDir)),
	))
	errHeader := container.New(errorCols, heading("Time"), heading("Level"), heading("Package"), heading("Message"))
	errs := widget.NewCard("Recent warnings and errors", "", container.NewVBox(errHeader, widget.NewSeparator(), t.noErrors, t.errors))
	hint := widget.NewLabel("Paste it into the helpdesk ticket: the service state, the jobs and the recent errors.")
	hint.Truncation = fyne.TextTruncateEllipsis
	hint.SizeName = theme.SizeNameCaptionText
	// The action the helpdesk asks for stays at the top, above the scroll.
	actions := container.NewBorder(nil, nil, t.copy, t.copied, hint)
	t.scroll = container.NewVScroll(container.NewVBox(info, errs))
	t.content = container.NewBorder(container.NewVBox(actions, widget.NewSeparator()), nil, nil, nil, t.scroll)
	return t
}

func (t *diagnosticsTab) refresh() {
	s := t.w.store
	now := t.w.opt.Now()
	switch {
	case s.Connected:
		t.service.SetText("Running · connected " + viewmodel.Ago(s.Since, now))
		t.service.Importance = widget.SuccessImportance
	case s.EverConnected:
		t.service.SetText("Not reachable since " + viewmodel.Ago(s.Since, now) + ": " + s.LastError)
		t.service.Importance = widget.DangerImportance
	default:
		msg := "Not reachable"
		if s.LastError != "" {
			msg += ": " + s.LastError
		}
		t.service.SetText(msg)
		t.service.Importance = widget.DangerImportance
	}
	t.service.Refresh()
	st := s.Status
	if st == nil {
		for _, l := range []*widget.Label{t.version, t.uptime, t.site, t.repo, t.tracker, t.port, t.access, t.dataDir, t.cacheDir, t.logDir, t.banned} {
			l.SetText("—")
		}
		t.repoIcon.SetResource(nil)
		t.trackerIcon.SetResource(nil)
		setEnabled(t.openLogs, false)
		t.refreshErrors(nil)
		return
	}
	t.version.SetText(fmt.Sprintf("%s (API %s) · window %s", st.Version, st.APIVersion, t.w.opt.ClientVersion))
	if !st.Started.IsZero() {
		t.uptime.SetText(viewmodel.Duration(now.Sub(st.Started)) + " (since " + st.Started.Local().Format("2006-01-02 15:04") + ")")
	} else {
		t.uptime.SetText("—")
	}
	t.site.SetText(orNone(st.Site, "— (the tracker has not placed this PC in a site)"))
	showReach(t.repo, t.repoIcon, st.Repository, now)
	showReach(t.tracker, t.trackerIcon, st.Tracker, now)
	t.port.SetText(fmt.Sprint(st.ListenPort))
	t.banned.SetText(viewmodel.BannedPeers(st.BannedPeers, now))
	if len(st.BannedPeers) > 0 {
		t.banned.Importance = widget.WarningImportance
	} else {
		t.banned.Importance = widget.MediumImportance
	}
	if st.Access == "control" {
		t.access.SetText("control (may pause, cancel and throttle)")
	} else {
		t.access.SetText(string(st.Access) + " (view only)")
	}
	t.dataDir.SetText(st.DataDir)
	t.cacheDir.SetText(st.CacheDir)
	t.logDir.SetText(orNone(st.LogDir, "—"))
	setEnabled(t.openLogs, st.LogDir != "")
	t.refreshErrors(st.RecentErrors)
}

func (t *diagnosticsTab) refreshErrors(es []api.LogEntry) {
	if t.shown && slices.Equal(es, t.lastErrors) {
		return
	}
	t.lastErrors, t.shown = slices.Clone(es), true
	objs := make([]fyne.CanvasObject, 0, len(es))
	sorted := slices.Clone(es)
	slices.SortStableFunc(sorted, func(a, b api.LogEntry) int { return b.Time.Compare(a.Time) }) // newest first
	for _, e := range sorted {
		level := widget.NewLabel(e.Level)
		if e.Level == "error" {
			level.Importance = widget.DangerImportance
		} else {
			level.Importance = widget.WarningImportance
		}
		msg := widget.NewLabel(e.Message)
		msg.Wrapping = fyne.TextWrapWord
		objs = append(objs, container.New(errorCols, widget.NewLabel(e.Time.Local().Format("Jan 02 15:04:05")), level,
			widget.NewLabel(orNone(e.Job, "—")), msg))
	}
	t.errors.Objects = objs
	t.errors.Refresh()
	if len(es) == 0 {
		t.noErrors.Show()
	} else {
		t.noErrors.Hide()
	}
	t.scroll.Refresh()
}

func (t *diagnosticsTab) text() string {
	return viewmodel.Diagnostics(t.w.store, "smstorrent-window "+t.w.opt.ClientVersion, t.w.opt.Now())
}

func (t *diagnosticsTab) copyDiagnostics() {
	t.w.app.Clipboard().SetContent(t.text())
	t.copied.SetText("Copied at " + t.w.opt.Now().Format("15:04:05"))
}

func (t *diagnosticsTab) openLogFolder() {
	st := t.w.store.Status
	if st == nil || st.LogDir == "" {
		return
	}
	u := &url.URL{Scheme: "file", Path: filepath.ToSlash(st.LogDir)}
	if err := t.w.app.OpenURL(u); err != nil {
		t.w.showError("Opening the log folder", err)
	}
}

// showReach shows a server's reachability as text and an icon.
func showReach(l *widget.Label, icon *widget.Icon, r api.Reachability, now time.Time) {
	l.SetText(viewmodel.Reachability(r, now))
	switch {
	case r.URL == "":
		icon.SetResource(theme.QuestionIcon())
	case r.Reachable:
		icon.SetResource(theme.NewSuccessThemedResource(theme.ConfirmIcon()))
	default:
		icon.SetResource(theme.NewErrorThemedResource(theme.ErrorIcon()))
	}
}
