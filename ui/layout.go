package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// columns lays out a table row: fixed-width columns, except one that takes
// the remaining width. Every row and the header share one columns value, so
// their cells line up. Objects are centred vertically.
type columns struct {
	widths []float32
	flex   int  // index of the column that stretches
	top    bool // align cells at the top instead of centring them
}

func (c *columns) pad() float32 { return theme.Padding() }

func (c *columns) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var w, h float32
	for i, o := range objs {
		if !o.Visible() {
			continue
		}
		m := o.MinSize()
		if i < len(c.widths) {
			w += max(c.widths[i], m.Width)
		}
		h = max(h, m.Height)
	}
	return fyne.NewSize(w+c.pad()*float32(len(c.widths)-1), h)
}

func (c *columns) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	fixed := c.pad() * float32(len(c.widths)-1)
	for i, w := range c.widths {
		if i != c.flex {
			fixed += w
		}
	}
	flexW := max(c.widths[c.flex], size.Width-fixed)
	x := float32(0)
	for i, o := range objs {
		if i >= len(c.widths) {
			o.Hide()
			continue
		}
		w := c.widths[i]
		if i == c.flex {
			w = flexW
		}
		h := min(o.MinSize().Height, size.Height)
		y := (size.Height - h) / 2
		if c.top {
			y = 0
		}
		o.Move(fyne.NewPos(x, y))
		o.Resize(fyne.NewSize(w, h))
		x += w + c.pad()
	}
}

// tightVBox stacks objects without padding between them: a name and the
// caption under it read as one cell.
type tightVBox struct{}

func (tightVBox) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var w, h float32
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		m := o.MinSize()
		w = max(w, m.Width)
		h += m.Height - 2*theme.Padding()
	}
	return fyne.NewSize(w, h+2*theme.Padding())
}

func (tightVBox) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		m := o.MinSize()
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, m.Height))
		y += m.Height - 2*theme.Padding()
	}
}
