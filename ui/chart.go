package ui

import (
	"image/color"
	"slices"
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

// gridLines is the most grid lines (the axis's steps + 1).
const gridLines = 5

// gridSteps divides the axis so that every line is a round IEC figure: in
// quarters for a power of two (1, 2, 3, 4 MiB/s), in thirds for a top of
// 3·2^n (1, 2, 3 MiB/s; 512 KiB/s, 1, 1.5 MiB/s).
func gridSteps(top int64) int {
	if top&(top-1) == 0 {
		return 4
	}
	return 3
}

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

// minAxis is the least top of the y-axis, so that an idle line stays flat
// at the bottom instead of magnifying noise.
const minAxis = 256 << 10

// niceMax rounds a rate up to a top for the axis whose quarters are round
// IEC figures: 2^n or 3·2^(n-1) bytes per second (256 KiB/s, 384 KiB/s,
// 512 KiB/s, 768 KiB/s, 1 MiB/s, 1.5 MiB/s, 2 MiB/s, 3 MiB/s, …).
func niceMax(peak int64) int64 {
	top := int64(minAxis)
	for top < peak && top < 1<<62 {
		if three := top / 2 * 3; three >= peak {
			return three
		}
		top *= 2
	}
	return top
}

// axisTop picks the y-axis's top for the points on screen. It follows the
// visible data, not the whole history's peak, and a short burst (a LAN
// transfer at 50 MiB/s for a few seconds) does not flatten the rest: the
// top covers the 90th percentile and the last 30 seconds; a higher value
// is drawn at the top edge and reported as clipped, so nothing is hidden.
func axisTop(ss []viewmodel.Sample) (top, clipped int64) {
	if len(ss) == 0 {
		return minAxis, 0
	}
	vals := make([]int64, 0, 2*len(ss))
	var peak, recent int64
	last := ss[len(ss)-1].At
	for _, s := range ss {
		vals = append(vals, s.Down, s.Up)
		peak = max(peak, s.Down, s.Up)
		if last.Sub(s.At) <= 30*time.Second {
			recent = max(recent, s.Down, s.Up)
		}
	}
	slices.Sort(vals)
	base := max(vals[len(vals)*9/10], recent)
	if peak <= base*2 { // no outlier worth clipping: show everything
		return niceMax(peak), 0
	}
	top = niceMax(base * 5 / 4) // some headroom over the bulk
	if peak > top {
		clipped = peak
	}
	return top, clipped
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
	samples := buckets(h.Samples(), h.Span/chartPoints)
	top, clipped := axisTop(samples)
	steps := gridSteps(top)
	for i := range gridLines {
		if i > steps {
			r.grid[i].Hide()
			r.labels[i].Hide()
			continue
		}
		r.grid[i].Show()
		r.labels[i].Show()
		y := plotY + plotH*float32(i)/float32(steps)
		r.grid[i].Position1 = fyne.NewPos(plotX, y)
		r.grid[i].Position2 = fyne.NewPos(plotX+plotW, y)
		v := top * int64(steps-i) / int64(steps)
		r.labels[i].Text = units.Rate(v)
		ls := r.labels[i].MinSize()
		r.labels[i].Move(fyne.NewPos(plotX-ls.Width-theme.Padding(), y-ls.Height/2))
		r.labels[i].Resize(ls)
	}
	r.span.Text = "last " + viewmodel.Duration(h.Span) + ", newest at the right"
	if clipped > 0 {
		r.span.Text = "peak " + units.Rate(clipped) + " above the scale · " + r.span.Text
	}
	ss := r.span.MinSize()
	r.span.Move(fyne.NewPos(plotX+plotW-ss.Width, plotY+plotH+theme.Padding()))
	r.span.Resize(ss)

	var end time.Time
	if n := len(samples); n > 0 {
		end = samples[n-1].At
	}
	x := func(t time.Time) float32 {
		f := 1 - float32(end.Sub(t))/float32(h.Span)
		return plotX + plotW*max(0, f)
	}
	y := func(v int64) float32 { return plotY + plotH*(1-float32(min(v, top))/float32(top)) }
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
