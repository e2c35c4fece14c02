package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

// downloadCols are the Downloads table's columns: package, state, progress,
// rate, ETA, peers, priority, actions. The package column stretches.
var downloadCols = &columns{widths: []float32{200, 132, 220, 86, 70, 124, 130, 84}, flex: 0}

const emptyDownloads = "Nothing is downloading. Packages appear here when Software Center or " +
	"Configuration Manager starts installing them."

type downloadsTab struct {
	w       *Window
	content fyne.CanvasObject
	list    *fyne.Container
	empty   *widget.Label
	summary *widget.Label
	note    *widget.Label

	pauseAll, resumeAll *widget.Button
	rows                map[string]*jobRow
	scroll              *container.Scroll
	// selected is the job the detail pane shows; "" picks the busiest.
	selected string
	detail   *jobDetail
}

func newDownloadsTab(w *Window) *downloadsTab {
	t := &downloadsTab{w: w, rows: map[string]*jobRow{}, list: container.NewVBox(),
		summary: widget.NewLabel(""), note: widget.NewLabel("")}
	t.empty = widget.NewLabel(emptyDownloads)
	t.empty.Wrapping = fyne.TextWrapWord
	t.note.SizeName = theme.SizeNameCaptionText
	t.note.Truncation = fyne.TextTruncateEllipsis
	t.pauseAll = widget.NewButtonWithIcon("Pause all", theme.MediaPauseIcon(), func() {
		w.call("Pausing all downloads", w.b.PauseAll)
	})
	t.resumeAll = widget.NewButtonWithIcon("Resume all", theme.MediaPlayIcon(), func() {
		w.call("Resuming all downloads", w.b.ResumeAll)
	})
	header := container.New(downloadCols, heading("Package"), heading("State"), heading("Progress"),
		heading("Rate"), heading("Time left"), heading("Peers"), heading("Priority"), heading(""))
	t.scroll = container.NewVScroll(container.NewVBox(t.empty, t.list))
	toolbar := container.NewBorder(nil, nil, t.summary, container.NewHBox(t.pauseAll, t.resumeAll), t.note)
	t.detail = newJobDetail()
	list := container.NewBorder(
		container.NewVBox(toolbar, widget.NewSeparator(), header, widget.NewSeparator()), nil, nil, nil,
		t.scroll)
	split := container.NewVSplit(list, t.detail.content)
	split.SetOffset(0.56)
	t.content = split
	return t
}

// selectJob shows a job in the detail pane.
func (t *downloadsTab) selectJob(id string) {
	t.selected = id
	t.refresh()
}

// shownJob is the job of the detail pane: the selected one while it is
// listed, else the busiest download, else the first.
func shownJob(jobs []api.Job, selected string) (api.Job, bool) {
	var best api.Job
	found := false
	for _, j := range jobs {
		if j.ID == selected {
			return j, true
		}
		if !found || (j.State == api.StateTransferring &&
			(best.State != api.StateTransferring || j.DownRate > best.DownRate)) {
			best, found = j, true
		}
	}
	return best, found
}

func (t *downloadsTab) refresh() {
	s := t.w.store
	now := t.w.opt.Now()
	jobs := s.Downloads()
	control := s.CanControl()
	seen := map[string]bool{}
	objs := make([]fyne.CanvasObject, 0, len(jobs))
	var active, paused, failed int
	var pausable, resumable bool
	for _, j := range jobs {
		r := viewmodel.NewJobRow(j, now)
		row, ok := t.rows[j.ID]
		if !ok {
			row = newJobRow(t.w, j.ID)
			t.rows[j.ID] = row
		}
		row.update(r, control)
		seen[j.ID] = true
		objs = append(objs, row.content)
		switch j.State {
		case api.StateSuspended:
			paused++
		case api.StateError:
			failed++
		case api.StateCancelled:
		default:
			active++
		}
		pausable = pausable || r.CanPause
		resumable = resumable || j.State == api.StateSuspended
	}
	for id := range t.rows {
		if !seen[id] {
			delete(t.rows, id)
		}
	}
	shown, ok := shownJob(jobs, t.selected)
	for id, row := range t.rows {
		row.content.setSelected(ok && id == shown.ID)
	}
	if ok {
		t.detail.show(viewmodel.NewJobDetail(shown, viewmodel.NewJobRow(shown, now)))
	} else {
		t.detail.clear()
	}
	t.list.Objects = objs
	t.list.Refresh()
	if !s.EverConnected {
		t.empty.SetText("No information yet: the service has not answered.")
	} else {
		t.empty.SetText(emptyDownloads)
	}
	if len(jobs) == 0 {
		t.empty.Show()
	} else {
		t.empty.Hide()
	}
	t.scroll.Refresh()
	t.summary.SetText(fmt.Sprintf("%d active · %d paused · %d failed", active, paused, failed))
	setEnabled(t.pauseAll, control && pausable)
	setEnabled(t.resumeAll, control && resumable)
	switch {
	case !s.Connected:
		t.note.SetText("Controls are off while the service is not reachable.")
	case !control:
		t.note.SetText("View only: controls need the control token.")
	default:
		t.note.SetText("")
	}
}

// jobRow is one job in the Downloads table, updated in place.
type jobRow struct {
	w       *Window
	id      string
	content *selectable

	title, sub, state, rate, eta, peers *widget.Label
	stateIcon                           *widget.Icon
	progress                            *meter
	priority                            *widget.Select
	pauseResume, cancel                 *widget.Button
	message                             *widget.Label
	row                                 viewmodel.JobRow
	updating                            bool
}

func newJobRow(w *Window, id string) *jobRow {
	r := &jobRow{w: w, id: id,
		title: widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		sub:   widget.NewLabel(""),
		state: widget.NewLabel(""), rate: widget.NewLabel(""), eta: widget.NewLabel(""),
		peers: widget.NewLabel(""), stateIcon: widget.NewIcon(nil), progress: newMeter(),
		message: widget.NewLabel(""),
	}
	// Long names end in an ellipsis; the detail pane shows the whole title.
	r.title.Truncation = fyne.TextTruncateEllipsis
	r.sub.Truncation = fyne.TextTruncateEllipsis
	r.sub.SizeName = theme.SizeNameCaptionText
	r.message.Wrapping = fyne.TextWrapWord
	r.message.SizeName = theme.SizeNameCaptionText
	r.priority = widget.NewSelect(viewmodel.PriorityTexts(), func(s string) {
		if r.updating {
			return
		}
		p, ok := viewmodel.ParsePriorityText(s)
		if !ok || p == r.row.Priority {
			return
		}
		w.callJob("Changing the priority of "+r.id, func(ctx context.Context) (*api.Job, error) {
			return w.b.SetPriority(ctx, r.id, p)
		})
	})
	r.pauseResume = widget.NewButtonWithIcon("", theme.MediaPauseIcon(), r.tapPauseResume)
	r.cancel = widget.NewButtonWithIcon("", theme.CancelIcon(), r.tapCancel)
	r.cancel.Importance = widget.LowImportance
	cells := container.New(downloadCols,
		container.New(&tightVBox{}, r.title, r.sub), container.NewHBox(r.stateIcon, r.state), r.progress, r.rate, r.eta, r.peers, r.priority,
		container.NewHBox(r.pauseResume, r.cancel))
	r.content = newSelectable(container.NewVBox(cells, r.message, widget.NewSeparator()),
		func() { w.downloads.selectJob(id) })
	return r
}

func (r *jobRow) tapPauseResume() {
	id := r.id
	if r.row.CanPause && r.row.State != api.StateTransientError {
		r.w.callJob("Pausing "+id, func(ctx context.Context) (*api.Job, error) { return r.w.b.Pause(ctx, id) })
		return
	}
	r.w.callJob("Resuming "+id, func(ctx context.Context) (*api.Job, error) { return r.w.b.Resume(ctx, id) })
}

func (r *jobRow) tapCancel() {
	id, title := r.id, r.row.Title
	dialog.ShowConfirm("Cancel "+title+"?",
		"The download stops and its data is removed from this PC's cache.\n"+
			"Configuration Manager starts it again if the package is still needed.",
		func(ok bool) {
			if ok {
				r.w.callJob("Cancelling "+id, func(ctx context.Context) (*api.Job, error) { return r.w.b.Cancel(ctx, id) })
			}
		}, r.w.win)
}

func (r *jobRow) update(v viewmodel.JobRow, control bool) {
	r.row = v
	r.title.SetText(v.Name)
	r.sub.SetText(v.Sub)
	r.state.SetText(v.StateText)
	r.stateIcon.SetResource(stateIcon(v.State))
	r.progress.set(v.Progress, v.ProgressText, progressColor(v.State))
	r.rate.SetText(v.Rate)
	r.eta.SetText(v.ETA)
	peers := v.Peers
	if v.Source != "" {
		peers += "\n" + v.Source
	}
	r.peers.SetText(peers)
	r.peers.SizeName = theme.SizeNameCaptionText
	r.updating = true
	r.priority.SetSelected(viewmodel.PriorityText(v.Priority))
	r.updating = false
	setEnabled(r.priority, control && v.CanPriority)

	// One button pauses or resumes: a transient error offers Retry, which is
	// more useful than pausing a job that is waiting anyway.
	switch {
	case v.State == api.StateTransientError || !v.CanPause:
		r.pauseResume.SetIcon(theme.MediaPlayIcon())
		r.pauseResume.SetText("")
		setEnabled(r.pauseResume, control && v.CanResume)
	default:
		r.pauseResume.SetIcon(theme.MediaPauseIcon())
		setEnabled(r.pauseResume, control && v.CanPause)
	}
	setEnabled(r.cancel, control && v.CanCancel)
	if v.Message != "" {
		r.message.SetText(v.Message)
		if v.State == api.StateError {
			r.message.Importance = widget.DangerImportance
		} else {
			r.message.Importance = widget.WarningImportance
		}
		r.message.Show()
		r.message.Refresh()
	} else {
		r.message.Hide()
	}
}

func progressColor(s api.State) fyne.ThemeColorName {
	switch s {
	case api.StateSuspended, api.StateTransientError:
		return theme.ColorNameWarning
	case api.StateError:
		return theme.ColorNameError
	case api.StateTransferred:
		return theme.ColorNameSuccess
	case api.StateCancelled:
		return theme.ColorNameDisabled
	}
	return theme.ColorNamePrimary
}

func stateIcon(s api.State) fyne.Resource {
	switch s {
	case api.StateTransferring:
		return theme.NewPrimaryThemedResource(theme.DownloadIcon())
	case api.StateConnecting:
		return theme.SearchIcon()
	case api.StateQueued:
		return theme.HistoryIcon()
	case api.StateSuspended:
		return theme.NewWarningThemedResource(theme.MediaPauseIcon())
	case api.StateTransientError:
		return theme.NewWarningThemedResource(theme.ViewRefreshIcon())
	case api.StateError:
		return theme.NewErrorThemedResource(theme.ErrorIcon())
	case api.StateTransferred:
		return theme.NewSuccessThemedResource(theme.ConfirmIcon())
	case api.StateCancelled:
		return theme.CancelIcon()
	}
	return theme.QuestionIcon()
}

type disableable interface {
	Enable()
	Disable()
	Disabled() bool
}

func setEnabled(d disableable, on bool) {
	if on && d.Disabled() {
		d.Enable()
	} else if !on && !d.Disabled() {
		d.Disable()
	}
}
