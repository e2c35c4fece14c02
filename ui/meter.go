package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// meter is a slim progress bar with its text above it, coloured by meaning
// (primary while moving, warning when paused, error when failed). Fyne's
// ProgressBar prints its text inside the bar, which is hard to read over
// either the filled or the empty part in one of the two themes.
type meter struct {
	widget.BaseWidget
	value float64
	text  string
	color fyne.ThemeColorName
}

func newMeter() *meter {
	m := &meter{color: theme.ColorNamePrimary}
	m.ExtendBaseWidget(m)
	return m
}

// set updates the meter; it refreshes only when something changed.
func (m *meter) set(value float64, text string, c fyne.ThemeColorName) {
	value = min(max(value, 0), 1)
	if value == m.value && text == m.text && c == m.color {
		return
	}
	m.value, m.text, m.color = value, text, c
	m.Refresh()
}

const meterBar = 6

func (m *meter) CreateRenderer() fyne.WidgetRenderer {
	r := &meterRenderer{m: m, track: canvas.NewRectangle(color.Transparent), bar: canvas.NewRectangle(color.Transparent),
		label: canvas.NewText("", color.Transparent)}
	r.track.CornerRadius = meterBar / 2
	r.bar.CornerRadius = meterBar / 2
	r.label.TextSize = theme.CaptionTextSize() + 1
	r.Refresh()
	return r
}

type meterRenderer struct {
	m          *meter
	track, bar *canvas.Rectangle
	label      *canvas.Text
}

func (r *meterRenderer) Destroy() {}

func (r *meterRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.label, r.track, r.bar}
}

func (r *meterRenderer) MinSize() fyne.Size {
	t := r.label.MinSize()
	return fyne.NewSize(max(t.Width, 60), t.Height+theme.Padding()/2+meterBar)
}

func (r *meterRenderer) Layout(size fyne.Size) {
	t := r.label.MinSize()
	top := (size.Height - r.MinSize().Height) / 2
	r.label.Move(fyne.NewPos(0, top))
	r.label.Resize(fyne.NewSize(size.Width, t.Height))
	y := top + t.Height + theme.Padding()/2
	r.track.Move(fyne.NewPos(0, y))
	r.track.Resize(fyne.NewSize(size.Width, meterBar))
	r.bar.Move(fyne.NewPos(0, y))
	w := float32(r.m.value) * size.Width
	if r.m.value > 0 {
		w = max(w, meterBar) // a sliver stays visible
	}
	r.bar.Resize(fyne.NewSize(w, meterBar))
}

func (r *meterRenderer) Refresh() {
	r.track.FillColor = theme.Color(theme.ColorNameInputBackground)
	r.bar.FillColor = theme.Color(r.m.color)
	r.label.Color = theme.Color(theme.ColorNameForeground)
	r.label.Text = r.m.text
	r.Layout(r.m.Size())
	r.track.Refresh()
	r.bar.Refresh()
	r.label.Refresh()
}
