package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

// detailCols lay out the detail pane: a name and its text.
var detailCols = &columns{widths: []float32{130, 400}, flex: 1, top: true}

// jobDetail is the Downloads tab's lower pane: the selected job explained
// (the whole title, where its bytes came from, the gateway, what holds it
// back, its peers). Every line comes from the service; empty ones hide.
type jobDetail struct {
	content fyne.CanvasObject
	title   *widget.Label
	status  *widget.Label
	rows    map[string]*detailRow
	order   []string
}

type detailRow struct {
	row  fyne.CanvasObject
	text *widget.Label
}

// Detail rows, in order.
const (
	detSources = "Sources"
	detGateway = "Gateway"
	detLimit   = "Held back by"
	detPeers   = "Peers"
	detMessage = "Problem"
)

func newJobDetail() *jobDetail {
	d := &jobDetail{rows: map[string]*detailRow{},
		title:  widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		status: widget.NewLabel("")}
	d.title.Wrapping = fyne.TextWrapWord
	d.status.Wrapping = fyne.TextWrapWord
	box := container.NewVBox(d.title, d.status)
	for _, name := range []string{detSources, detGateway, detLimit, detPeers, detMessage} {
		l := widget.NewLabel("")
		l.Wrapping = fyne.TextWrapWord
		r := &detailRow{text: l, row: container.New(detailCols, heading(name), l)}
		d.rows[name] = r
		d.order = append(d.order, name)
		box.Add(r.row)
	}
	d.rows[detMessage].text.Importance = widget.DangerImportance
	d.rows[detPeers].text.SizeName = theme.SizeNameCaptionText
	d.content = container.NewVScroll(box)
	d.clear()
	return d
}

func (d *jobDetail) set(name, text string) {
	r := d.rows[name]
	r.text.SetText(text)
	if text == "" {
		r.row.Hide()
	} else {
		r.row.Show()
	}
}

// show fills the pane with one job.
func (d *jobDetail) show(v viewmodel.JobDetail) {
	d.title.SetText(v.Title)
	d.title.Show()
	d.status.SetText(v.Status)
	d.status.Show()
	d.set(detSources, v.Sources)
	d.set(detGateway, v.Gateway)
	limit := v.Limit
	if v.LimitDetail != "" {
		limit += "\n" + v.LimitDetail
	}
	d.set(detLimit, strings.TrimSpace(limit))
	peers := v.PeerCounts
	if len(v.Peers) > 0 {
		peers += "\n" + strings.Join(v.Peers, "\n")
	}
	d.set(detPeers, peers)
	d.set(detMessage, v.Message)
	d.content.Refresh()
}

// clear empties the pane (no downloads).
func (d *jobDetail) clear() {
	d.title.Hide()
	d.status.Hide()
	for _, name := range d.order {
		d.set(name, "")
	}
}
