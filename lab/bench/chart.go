package bench

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var systemColors = map[string]color.Color{
	"http":         color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	"transmission": color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"smstorrent":   color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
}

func colorOf(system string) color.Color {
	if c, ok := systemColors[system]; ok {
		return c
	}
	return color.Gray{Y: 0x60}
}

// WriteChart draws two panels into a PNG at path: clients complete over time
// per system against the physical bound, and traffic in package copies.
func (r *Report) WriteChart(path string) error {
	left, err := r.completionPlot()
	if err != nil {
		return err
	}
	right, err := r.trafficPlot()
	if err != nil {
		return err
	}
	img := vgimg.New(26*vg.Centimeter, 10*vg.Centimeter)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Centimeter, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{left, right}}, tiles, dc)
	left.Draw(canvases[0][0])
	right.Draw(canvases[0][1])
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r *Report) completionPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%d MiB to %d clients in %d branches, %g Mbit/s WAN",
		r.PackageBytes>>20, r.Branches*r.ClientsPerBranch, r.Branches, float64(r.WANRateBits)/1e6)
	if r.WANDelayMS > 0 {
		p.Title.Text += fmt.Sprintf(", +%g ms", r.WANDelayMS)
	}
	p.X.Label.Text = "seconds since start"
	p.Y.Label.Text = "clients with the verified package"
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Millimeter * 2
	n := r.Branches * r.ClientsPerBranch
	xmax := r.BoundSeconds * 1.3
	for _, s := range r.Systems {
		times := make([]float64, 0, len(s.ClientDoneS))
		for _, v := range s.ClientDoneS {
			times = append(times, v)
		}
		slices.Sort(times)
		pts := plotter.XYs{{X: 0, Y: 0}}
		for i, t := range times {
			pts = append(pts, plotter.XY{X: t, Y: float64(i + 1)})
			xmax = max(xmax, t*1.05)
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.StepStyle = plotter.PostStep
		l.Color = colorOf(s.System)
		l.Width = vg.Points(2)
		p.Add(l)
		label := s.Label
		if !s.OK {
			label += " (failed)"
		}
		p.Legend.Add(label, l)
	}
	for _, b := range []struct {
		x     float64
		label string
		dash  []vg.Length
	}{
		{r.BoundSeconds, "physical bound", []vg.Length{vg.Points(4), vg.Points(3)}},
		{r.BoundSeconds * 1.25, "target (1.25x bound)", []vg.Length{vg.Points(1), vg.Points(2)}},
	} {
		l, err := plotter.NewLine(plotter.XYs{{X: b.x, Y: 0}, {X: b.x, Y: float64(n)}})
		if err != nil {
			return nil, err
		}
		l.Color = color.Black
		l.Dashes = b.dash
		p.Add(l)
		p.Legend.Add(b.label, l)
	}
	p.X.Min, p.X.Max = 0, xmax
	p.Y.Min, p.Y.Max = 0, float64(n)*1.6 // room for the legend above the curves
	p.Add(plotter.NewGrid())
	return p, nil
}

func (r *Report) trafficPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "traffic, in package copies"
	p.Y.Label.Text = "copies"
	cats := []string{}
	for _, b := range r.systemsBranches() {
		cats = append(cats, "into "+b)
	}
	cats = append(cats, "sent by hq", "between\nbranches")
	w := vg.Points(10)
	ymax := 1.0
	ok := 0
	for _, s := range r.Systems {
		if s.OK {
			ok++
		}
	}
	i := 0
	for _, s := range r.Systems {
		if !s.OK {
			continue
		}
		vals := plotter.Values{}
		for _, wl := range s.WAN {
			vals = append(vals, wl.InCopies)
		}
		vals = append(vals, s.HQSentCopies, s.BetweenBranchesCopies)
		for _, v := range vals {
			ymax = max(ymax, v)
		}
		bc, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		bc.Color = colorOf(s.System)
		bc.LineStyle.Width = 0
		bc.Offset = w * vg.Length(float64(i)-float64(ok-1)/2)
		p.Add(bc)
		p.Legend.Add(s.Label, bc)
		i++
	}
	one, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 1}, {X: float64(len(cats)) - 0.5, Y: 1}})
	if err != nil {
		return nil, err
	}
	one.Color = color.Black
	one.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(one)
	p.Legend.Add("one copy", one)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Millimeter * 2
	p.NominalX(cats...)
	p.Y.Min, p.Y.Max = 0, ymax*1.35
	p.Add(plotter.NewGrid())
	return p, nil
}

func (r *Report) systemsBranches() []string {
	for _, s := range r.Systems {
		if len(s.WAN) > 0 {
			var bs []string
			for _, w := range s.WAN {
				bs = append(bs, w.Branch)
			}
			return bs
		}
	}
	var bs []string
	for i := 1; i <= r.Branches; i++ {
		bs = append(bs, fmt.Sprintf("b%d", i))
	}
	return bs
}
