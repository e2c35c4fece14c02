package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// selectable is a table row that a tap selects: taps on its buttons and
// selects still reach them (Fyne delivers a tap to the innermost tappable
// object), a tap anywhere else calls onTap. A selected row is highlighted.
type selectable struct {
	widget.BaseWidget
	content  fyne.CanvasObject
	bg       *canvas.Rectangle
	selected bool
	onTap    func()
}

func newSelectable(content fyne.CanvasObject, onTap func()) *selectable {
	s := &selectable{content: content, bg: canvas.NewRectangle(color.Transparent), onTap: onTap}
	s.bg.CornerRadius = theme.InputRadiusSize()
	s.ExtendBaseWidget(s)
	return s
}

func (s *selectable) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(s.bg, s.content))
}

// Tapped selects the row.
func (s *selectable) Tapped(*fyne.PointEvent) {
	if s.onTap != nil {
		s.onTap()
	}
}

func (s *selectable) setSelected(on bool) {
	if on == s.selected {
		return
	}
	s.selected = on
	if on {
		s.bg.FillColor = theme.Color(theme.ColorNameSelection)
	} else {
		s.bg.FillColor = color.Transparent
	}
	s.bg.Refresh()
}
