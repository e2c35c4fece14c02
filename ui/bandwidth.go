package ui

import (
	"context"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

// throttleDurations are the choices for a custom throttle's length.
var throttleDurations = []struct {
	label string
	d     time.Duration
}{
	{"for 30 minutes", 30 * time.Minute},
	{"for 1 hour", time.Hour},
	{"for 2 hours", 2 * time.Hour},
	{"for 4 hours", 4 * time.Hour},
	{"until cleared", 0},
}

// sliderMax is the custom throttle slider's top, in MiB/s; 0 means unlimited.
const sliderMax = 50

type bandwidthTab struct {
	w       *Window
	content fyne.CanvasObject
	chart   *rateChart

	down, up                            *widget.Label
	limits, effective, reason, detail   *widget.Label
	yield, schedule, override, ctrlNote *widget.Label
	yieldIcon                           *widget.Icon

	presets             []*widget.Button
	clear, apply        *widget.Button
	downSlider, upSlide *widget.Slider
	downVal, upVal      *widget.Label
	duration            *widget.Select
	throttleCardW       *widget.Card
}

func newBandwidthTab(w *Window) *bandwidthTab {
	t := &bandwidthTab{w: w, chart: newRateChart(w.store.History)}
	lbl := func() *widget.Label {
		l := widget.NewLabel("")
		l.Wrapping = fyne.TextWrapWord
		return l
	}
	t.down, t.up = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	t.limits, t.effective, t.reason, t.detail = lbl(), lbl(), lbl(), lbl()
	t.yield, t.schedule, t.override, t.ctrlNote = lbl(), lbl(), lbl(), lbl()
	t.detail.SizeName = theme.SizeNameCaptionText
	t.ctrlNote.SizeName = theme.SizeNameCaptionText
	t.yieldIcon = widget.NewIcon(nil)

	// The chart spans the top; the limits and the throttle sit side by side
	// under it, so that both are in view at the window's default size.
	lower := container.NewHSplit(container.NewVScroll(t.policyCard()), container.NewVScroll(t.throttleCard()))
	lower.SetOffset(0.55)
	t.content = container.NewBorder(t.chartPanel(), nil, nil, nil, lower)
	return t
}

// chartPanel is the traffic chart with its legend and the current rates.
func (t *bandwidthTab) chartPanel() fyne.CanvasObject {
	legend := func(c func() color.Color, l *widget.Label, name string) fyne.CanvasObject {
		sw := canvas.NewRectangle(c())
		sw.SetMinSize(fyne.NewSize(14, 4))
		return container.NewHBox(container.NewCenter(sw), widget.NewLabel(name), l)
	}
	top := container.NewHBox(heading("Traffic"), legend(downColor, t.down, "Download"), legend(upColor, t.up, "Upload"))
	return container.NewBorder(top, nil, nil, nil, t.chart)
}

// policyCard shows the limits in force and why.
func (t *bandwidthTab) policyCard() fyne.CanvasObject {
	form := func(name string, o fyne.CanvasObject) fyne.CanvasObject {
		return container.New(&columns{widths: []float32{140, 300}, flex: 1}, heading(name), o)
	}
	return widget.NewCard("Limits now", "", container.NewVBox(
		form("Configured", t.limits),
		form("Background jobs", t.effective),
		form("Why", container.NewVBox(t.reason, t.detail)),
		form("Yielding", container.NewBorder(nil, nil, container.NewCenter(t.yieldIcon), nil, t.yield)),
		form("Schedule", t.schedule),
		form("Throttle", t.override),
	))
}

// throttleCard holds the helpdesk throttle: presets, clear and custom.
func (t *bandwidthTab) throttleCard() fyne.CanvasObject {
	presetGrid := container.NewGridWithColumns(2)
	for _, p := range viewmodel.Presets {
		req := p.Request
		b := widget.NewButton(p.Label, func() { t.throttle("Setting the throttle", req) })
		t.presets = append(t.presets, b)
		presetGrid.Add(b)
	}
	t.clear = widget.NewButtonWithIcon(viewmodel.ClearPreset.Label, theme.ContentUndoIcon(), func() {
		t.throttle("Clearing the throttle", viewmodel.ClearPreset.Request)
	})
	t.downVal, t.upVal = widget.NewLabel(""), widget.NewLabel("")
	slider := func(v float64, out *widget.Label) *widget.Slider {
		s := widget.NewSlider(0, sliderMax)
		s.Step = 0.5
		s.OnChanged = func(v float64) { out.SetText(sliderText(v)) }
		s.SetValue(v)
		return s
	}
	t.downSlider, t.upSlide = slider(2, t.downVal), slider(1, t.upVal)
	opts := make([]string, len(throttleDurations))
	for i, d := range throttleDurations {
		opts[i] = d.label
	}
	t.duration = widget.NewSelect(opts, nil)
	t.duration.SetSelectedIndex(1)
	t.apply = widget.NewButtonWithIcon("Apply", theme.ConfirmIcon(), func() {
		t.throttle("Setting the throttle", t.customRequest())
	})
	t.apply.Importance = widget.HighImportance
	sliderRow := func(name string, s *widget.Slider, v *widget.Label) fyne.CanvasObject {
		return container.New(&columns{widths: []float32{80, 160, 80}, flex: 1}, widget.NewLabel(name), s, v)
	}
	t.throttleCardW = widget.NewCard("Helpdesk throttle", "", container.NewVBox(
		presetGrid,
		t.clear,
		widget.NewSeparator(),
		sliderRow("Download", t.downSlider, t.downVal),
		sliderRow("Upload", t.upSlide, t.upVal),
		container.NewBorder(nil, nil, nil, t.apply, t.duration),
		t.ctrlNote,
	))
	return t.throttleCardW
}

func (t *bandwidthTab) throttleTitle() fyne.CanvasObject { return t.throttleCardW }

func sliderText(v float64) string {
	if v <= 0 {
		return "unlimited"
	}
	return units.Rate(int64(v * (1 << 20)))
}

func (t *bandwidthTab) customRequest() api.ThrottleRequest {
	r := api.ThrottleRequest{Down: int64(t.downSlider.Value * (1 << 20)), Up: int64(t.upSlide.Value * (1 << 20))}
	if i := t.duration.SelectedIndex(); i >= 0 {
		r.ForSeconds = int64(throttleDurations[i].d / time.Second)
	}
	return r
}

func (t *bandwidthTab) throttle(what string, r api.ThrottleRequest) {
	w := t.w
	w.call(what, func(ctx context.Context) error {
		bw, err := w.b.Throttle(ctx, r)
		if err == nil && bw != nil {
			fyne.Do(func() {
				if w.store.Status != nil {
					st := *w.store.Status
					st.Bandwidth = *bw
					w.Apply(api.Event{Type: api.EventStatus, Time: w.opt.Now(), Status: &st})
				}
			})
		}
		return err
	})
}

func (t *bandwidthTab) refresh() {
	s := t.w.store
	v := viewmodel.NewBandwidthView(s.Status, t.w.opt.Now())
	t.down.SetText(v.Down)
	t.up.SetText(v.Up)
	t.limits.SetText(v.Limits)
	t.effective.SetText(v.Effective)
	t.reason.SetText(v.Reason)
	t.detail.SetText(v.Detail)
	if v.Detail == "" {
		t.detail.Hide()
	} else {
		t.detail.Show()
	}
	t.yield.SetText(v.YieldText)
	if s.Status == nil {
		t.yield.SetText("—")
	}
	switch {
	case v.YieldOff:
		t.yieldIcon.SetResource(theme.NewWarningThemedResource(theme.InfoIcon()))
	case v.Yielding:
		t.yieldIcon.SetResource(theme.NewWarningThemedResource(theme.MediaPauseIcon()))
	default:
		t.yieldIcon.SetResource(theme.NewSuccessThemedResource(theme.ConfirmIcon()))
	}
	t.schedule.SetText(orNone(v.Schedule, "No schedule configured."))
	t.override.SetText(orNone(v.Override, "None: the configured limits and schedule apply."))
	control := s.CanControl()
	for i, b := range t.presets {
		setEnabled(b, control)
		// The preset in force is marked, so the helpdesk sees what is set.
		if i == v.ActivePreset {
			b.Importance, b.Icon = widget.HighImportance, theme.ConfirmIcon()
		} else {
			b.Importance, b.Icon = widget.MediumImportance, nil
		}
		b.Refresh()
	}
	setEnabled(t.clear, control && s.Status != nil && s.Status.Bandwidth.Override)
	setEnabled(t.apply, control)
	setEnabled(t.downSlider, control)
	setEnabled(t.upSlide, control)
	setEnabled(t.duration, control)
	switch {
	case !s.Connected:
		t.ctrlNote.SetText("The throttle can be changed once the service is reachable again.")
	case !control:
		t.ctrlNote.SetText(viewmodel.ReadOnlyNote)
	default:
		t.ctrlNote.SetText("Overrides the configured limits and the schedule. 0 means unlimited; " +
			"the throttle ends by itself after the chosen time.")
	}
	t.chart.Refresh()
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
