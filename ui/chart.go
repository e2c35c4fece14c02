package ui

import (
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

// Chart colours: download in the theme's primary colour, upload in the
// success colour, so they read well in the light and the dark theme.
func downColor() color.Color { return theme.Color(theme.ColorNamePrimary) }
func upColor() color.Color   { return theme.Color(theme.ColorNameSuccess) }

// rateChart draws the download and upload rates of a viewmodel.History as two
// lines over a grid, newest at the right.
type rateChart struct {
	widget.BaseWidget
	history *viewmodel.History
}

func newRateChart(h *viewmodel.History) *rateChart {
	c := &rateChart{history: h}
	c.ExtendBaseWidget(c)
	return c
}

func (c *rateChart) CreateRenderer() fyne.WidgetRenderer {
	r := &chartRenderer{chart: c, bg: canvas.NewRectangle(color.Transparent)}
	r.bg.StrokeWidth = 1
	r.bg.CornerRadius = theme.InputRadiusSize()
	for i := range r.grid {
		r.grid[i] = canvas.NewLine(color.Transparent)
		r.labels[i] = canvas.NewText("", color.Black)
		r.labels[i].TextSize = theme.CaptionTextSize()
	}
	r.span = canvas.NewText("", color.Black)
	r.span.TextSize = theme.CaptionTextSize()
	r.refreshColors()
	return r
}

func (c *rateChart) MinSize() fyne.Size { return fyne.NewSize(320, 180) }

const gridLines = 5

type chartRenderer struct {
	chart  *rateChart
	bg     *canvas.Rectangle
	grid   [gridLines]*canvas.Line
	labels [gridLines]*canvas.Text
	span   *canvas.Text
	down   []*canvas.Line
	up     []*canvas.Line
	size   fyne.Size
}

func (r *chartRenderer) refreshColors() {
	r.bg.FillColor = theme.Color(theme.ColorNameInputBackground)
	r.bg.StrokeColor = theme.Color(theme.ColorNameInputBorder)
	for i := range r.grid {
		r.grid[i].StrokeColor = theme.Color(theme.ColorNameSeparator)
		r.grid[i].StrokeWidth = 1
		r.labels[i].Color = theme.Color(theme.ColorNamePlaceHolder)
	}
	r.span.Color = theme.Color(theme.ColorNamePlaceHolder)
}

func (r *chartRenderer) Destroy() {}

func (r *chartRenderer) MinSize() fyne.Size { return r.chart.MinSize() }

func (r *chartRenderer) Objects() []fyne.CanvasObject {
	objs := []fyne.CanvasObject{r.bg}
	for i := range r.grid {
		objs = append(objs, r.grid[i], r.labels[i])
	}
	objs = append(objs, r.span)
	for _, l := range r.down {
		objs = append(objs, l)
	}
	for _, l := range r.up {
		objs = append(objs, l)
	}
	return objs
}

func (r *chartRenderer) Layout(size fyne.Size) {
	r.size = size
	r.draw()
}

func (r *chartRenderer) Refresh() {
	r.refreshColors()
	r.draw()
	canvas.Refresh(r.chart)
}

// niceMax rounds a peak rate up to 1, 2 or 5 × 10^n KiB/s-ish steps so that
// the grid labels are round numbers.
func niceMax(peak int64) int64 {
	m := int64(256 << 10) // at least 256 KiB/s on the axis
	for _, base := range []int64{1 << 10, 1 << 20, 1 << 30} {
		for _, f := range []int64{1, 2, 5, 10, 20, 50, 100, 200, 500} {
			if v := f * base; v >= peak && v >= m {
				return v
			}
		}
	}
	return max(peak, m)
}

func (r *chartRenderer) draw() {
	size := r.size
	if size.IsZero() {
		return
	}
	r.bg.Resize(size)
	r.bg.Move(fyne.NewPos(0, 0))
	pad := theme.Padding() * 2
	labelW := float32(64)
	plotX, plotY := pad+labelW, pad
	plotW, plotH := size.Width-plotX-pad, size.Height-2*pad-theme.CaptionTextSize()-theme.Padding()
	if plotW <= 0 || plotH <= 0 {
		return
	}
	h := r.chart.history
	top := niceMax(h.Peak())
	for i := range gridLines {
		y := plotY + plotH*float32(i)/float32(gridLines-1)
		r.grid[i].Position1 = fyne.NewPos(plotX, y)
		r.grid[i].Position2 = fyne.NewPos(plotX+plotW, y)
		v := top * int64(gridLines-1-i) / int64(gridLines-1)
		r.labels[i].Text = units.Rate(v)
		ls := r.labels[i].MinSize()
		r.labels[i].Move(fyne.NewPos(plotX-ls.Width-theme.Padding(), y-ls.Height/2))
		r.labels[i].Resize(ls)
	}
	r.span.Text = "last " + viewmodel.Duration(h.Span) + ", newest at the right"
	ss := r.span.MinSize()
	r.span.Move(fyne.NewPos(plotX+plotW-ss.Width, plotY+plotH+theme.Padding()))
	r.span.Resize(ss)

	samples := buckets(h.Samples(), h.Span/chartPoints)
	var end time.Time
	if n := len(samples); n > 0 {
		end = samples[n-1].At
	}
	x := func(t time.Time) float32 {
		f := 1 - float32(end.Sub(t))/float32(h.Span)
		return plotX + plotW*max(0, f)
	}
	y := func(v int64) float32 { return plotY + plotH*(1-float32(v)/float32(top)) }
	r.down = r.series(r.down, samples, x, y, func(s viewmodel.Sample) int64 { return s.Down }, downColor())
	r.up = r.series(r.up, samples, x, y, func(s viewmodel.Sample) int64 { return s.Up }, upColor())
}

// chartPoints is how many points a line has at most: the service reports
// rates several times a second, which would draw a jagged band.
const chartPoints = 150

// buckets averages samples over consecutive spans of width w, so that the
// lines show the trend; each bucket is placed at its last sample.
func buckets(ss []viewmodel.Sample, w time.Duration) []viewmodel.Sample {
	if w <= 0 || len(ss) == 0 {
		return ss
	}
	out := make([]viewmodel.Sample, 0, chartPoints+1)
	var sumD, sumU int64
	n := int64(0)
	start := ss[0].At
	for i, s := range ss {
		sumD += s.Down
		sumU += s.Up
		n++
		if i == len(ss)-1 || ss[i+1].At.Sub(start) >= w {
			out = append(out, viewmodel.Sample{At: s.At, Down: sumD / n, Up: sumU / n})
			sumD, sumU, n = 0, 0, 0
			if i+1 < len(ss) {
				start = ss[i+1].At
			}
		}
	}
	return out
}

func (r *chartRenderer) series(lines []*canvas.Line, ss []viewmodel.Sample, x func(time.Time) float32,
	y func(int64) float32, val func(viewmodel.Sample) int64, col color.Color) []*canvas.Line {
	n := max(len(ss)-1, 0)
	for len(lines) < n {
		lines = append(lines, canvas.NewLine(col))
	}
	lines = lines[:n]
	for i := range n {
		l := lines[i]
		l.StrokeColor = col
		l.StrokeWidth = 2
		l.Position1 = fyne.NewPos(x(ss[i].At), y(val(ss[i])))
		l.Position2 = fyne.NewPos(x(ss[i+1].At), y(val(ss[i+1])))
	}
	return lines
}
