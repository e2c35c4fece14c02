package yield

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	bgColors = map[string]color.Color{
		"smstorrent":   color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
		"transmission": color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	}
	fgColor   = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	markColor = color.Gray{Y: 0x70}
)

// WriteChart draws the rates over time into a PNG at path: one panel per
// case (rows) and background system (columns), with the background's and
// the foreground's rate, the line rate and the foreground's rate alone.
func (r *Report) WriteChart(path string) error {
	var systems []string
	for _, c := range r.Cases {
		for _, run := range c.Runs {
			if !contains(systems, run.System) {
				systems = append(systems, run.System)
			}
		}
	}
	if len(systems) == 0 {
		return fmt.Errorf("no runs to plot")
	}
	rows := len(r.Cases)
	grid := make([][]*plot.Plot, rows)
	line := float64(r.WANRateBits) / 1e6
	for i, c := range r.Cases {
		grid[i] = make([]*plot.Plot, len(systems))
		for j, sys := range systems {
			p, err := casePlot(c, sys, line, i == 0)
			if err != nil {
				return err
			}
			grid[i][j] = p
		}
	}
	return writeGrid(path, grid, len(systems), rows)
}

// casePlot draws one case of one system: the background's and the
// foreground's rates over time, the line rate and the foreground's phase;
// legend adds the legend's entries (the first row only).
func casePlot(c Case, sys string, line float64, legend bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s — %g ms queue, foreground %s", Labels[sys], c.QueueMS, c.CC)
	p.Title.TextStyle.Font.Size = vg.Points(9)
	p.X.Label.Text = "seconds since the background download was added"
	p.Y.Label.Text = "Mbit/s"
	p.Y.Min, p.Y.Max = 0, line*1.3
	p.Add(plotter.NewGrid())
	var run *SystemRun
	for k := range c.Runs {
		if c.Runs[k].System == sys {
			run = &c.Runs[k]
		}
	}
	if run == nil || len(run.Series) == 0 {
		return p, nil
	}
	var bg, fg plotter.XYs
	for _, pt := range run.Series {
		bg = append(bg, plotter.XY{X: pt.T, Y: pt.BgMbit})
		fg = append(fg, plotter.XY{X: pt.T, Y: pt.FgMbit})
	}
	x0, x1 := run.Series[0].T, run.Series[len(run.Series)-1].T
	p.X.Min, p.X.Max = x0, x1
	dash := []vg.Length{vg.Points(4), vg.Points(3)}
	dot := []vg.Length{vg.Points(1), vg.Points(2)}
	for _, l := range []struct {
		pts   plotter.XYs
		c     color.Color
		w     vg.Length
		dash  []vg.Length
		label string
	}{
		{plotter.XYs{{X: x0, Y: line}, {X: x1, Y: line}}, color.Black, vg.Points(1), dash, "line rate"},
		{plotter.XYs{{X: run.FgStartS, Y: c.FgAloneMbit}, {X: run.FgStopS, Y: c.FgAloneMbit}}, fgColor, vg.Points(1), dot, "foreground alone"},
		{plotter.XYs{{X: run.FgStartS, Y: 0}, {X: run.FgStartS, Y: line * 1.3}}, markColor, vg.Points(0.7), dot, ""},
		{plotter.XYs{{X: run.FgStopS, Y: 0}, {X: run.FgStopS, Y: line * 1.3}}, markColor, vg.Points(0.7), dot, ""},
		{fg, fgColor, vg.Points(1.5), nil, "foreground HTTP"},
		{bg, bgColors[sys], vg.Points(1.5), nil, "background"},
	} {
		pl, err := plotter.NewLine(l.pts)
		if err != nil {
			return nil, err
		}
		pl.Color, pl.Width, pl.Dashes = l.c, l.w, l.dash
		p.Add(pl)
		if l.label != "" && legend {
			p.Legend.Add(l.label, pl)
		}
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = vg.Points(7)
	return p, nil
}

// writeGrid draws the plots in a grid and writes it as a PNG.
func writeGrid(path string, grid [][]*plot.Plot, cols, rows int) error {
	w := 13 * vg.Centimeter * vg.Length(cols)
	h := 6.5 * vg.Centimeter * vg.Length(rows)
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Centimeter, PadY: vg.Centimeter * 0.6,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 3}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j := range grid[i] {
			grid[i][j].Draw(canvases[i][j])
		}
	}
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

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
