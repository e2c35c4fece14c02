package ui

import (
	"fmt"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

// seedCols: package, size, uploaded, ratio, upload rate, last used, seeding left.
var seedCols = &columns{widths: []float32{240, 90, 100, 70, 100, 120, 150}, flex: 0}

type seedingTab struct {
	w       *Window
	content fyne.CanvasObject
	list    *fyne.Container
	empty   *widget.Label
	summary *widget.Label
	cache   *meter
	scroll  *container.Scroll
	shown   []viewmodel.SeedRow // the rows on screen, to skip rebuilding identical ones
}

func newSeedingTab(w *Window) *seedingTab {
	t := &seedingTab{w: w, list: container.NewVBox(), summary: widget.NewLabel(""), cache: newMeter()}
	t.empty = widget.NewLabel("No packages in the cache yet. A package is shared with the other PCs of " +
		"this site once it has been downloaded, while it is assigned and for a few days after its last use.")
	t.empty.Wrapping = fyne.TextWrapWord
	t.summary.Wrapping = fyne.TextWrapWord
	header := container.New(seedCols, heading("Package"), heading("Size"), heading("Uploaded"), heading("Ratio"),
		heading("Upload rate"), heading("Last used"), heading("Seeding left"))
	cacheRow := container.NewBorder(nil, nil, heading("Cache"), nil, t.cache)
	t.scroll = container.NewVScroll(container.NewVBox(t.empty, t.list))
	t.content = container.NewBorder(
		container.NewVBox(t.summary, cacheRow, widget.NewSeparator(), header, widget.NewSeparator()), nil, nil, nil,
		t.scroll)
	return t
}

func (t *seedingTab) refresh() {
	now := t.w.opt.Now()
	jobs := t.w.store.Seeding()
	rows := make([]viewmodel.SeedRow, len(jobs))
	for i, j := range jobs {
		rows[i] = viewmodel.NewSeedRow(j, now)
	}
	if t.shown != nil && slices.Equal(rows, t.shown) {
		t.refreshSummary()
		return
	}
	t.shown = rows
	objs := make([]fyne.CanvasObject, 0, len(jobs))
	for i, j := range jobs {
		r := rows[i]
		title := widget.NewLabelWithStyle(r.Title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		title.Wrapping = fyne.TextWrapWord // long names wrap: nothing else shows them whole
		left := widget.NewLabel(r.SeedLeft)
		if j.Assigned {
			left.Importance = widget.SuccessImportance
		}
		icon := widget.NewIcon(theme.NewSuccessThemedResource(theme.ConfirmIcon()))
		objs = append(objs, container.NewVBox(container.New(seedCols,
			container.NewBorder(nil, nil, icon, nil, title), widget.NewLabel(r.Size), widget.NewLabel(r.Uploaded),
			widget.NewLabel(r.Ratio), widget.NewLabel(r.UpRate), widget.NewLabel(r.LastUsed), left),
			widget.NewSeparator()))
	}
	t.list.Objects = objs
	t.list.Refresh()
	if len(jobs) == 0 {
		t.empty.Show()
	} else {
		t.empty.Hide()
	}
	t.scroll.Refresh()
	t.refreshSummary()
}

func (t *seedingTab) refreshSummary() {
	st := t.w.store.Status
	n := len(t.w.store.Seeding())
	pk := "packages"
	if n == 1 {
		pk = "package"
	}
	if st == nil {
		t.summary.SetText(fmt.Sprintf("%d %s in the cache.", n, pk))
		t.cache.set(0, "—", theme.ColorNamePrimary)
		return
	}
	site := st.Site
	if site == "" {
		site = "this site"
	}
	t.summary.SetText(fmt.Sprintf("%d %s shared with the other PCs of %s, uploading %s now. "+
		"Packages stay while assigned and for a few days after their last use.", n, pk, site, units.Rate(st.UpRate)))
	used, limit := st.CacheBytes, st.CacheLimit
	if limit > 0 {
		f := float64(used) / float64(limit)
		c := theme.ColorNamePrimary
		if f > 0.9 {
			c = theme.ColorNameWarning
		}
		t.cache.set(f, fmt.Sprintf("%s of %s (%s)", units.Bytes(used), units.Bytes(limit), viewmodel.Percent(f)), c)
	} else {
		t.cache.set(0, units.Bytes(used)+" (no cap)", theme.ColorNamePrimary)
	}
}
