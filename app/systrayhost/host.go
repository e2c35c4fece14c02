// Package systrayhost shows a tray.View with github.com/getlantern/systray
// and turns menu clicks into tray.Clicks. It is the only package that
// touches the native tray; everything it shows is decided in app/tray.
package systrayhost

import (
	"github.com/getlantern/systray"

	"github.com/smstorrent/smstorrent/app/tray"
	"github.com/smstorrent/smstorrent/icons"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

// Run runs the native tray loop on the calling (main) thread: it calls
// onReady once the tray exists and returns after Quit.
func Run(onReady func(), onExit func()) { systray.Run(onReady, onExit) }

// Quit ends Run.
func Quit() { systray.Quit() }

// Host owns the tray menu. Create it inside Run's onReady.
type Host struct {
	clicks chan tray.Click
	items  []*entry
	icon   icons.Name
	tip    string

	status, open, notice, pauseAll, resumeAll, throttle, clear, about, quit *entry
	presets                                                                 []*entry
}

type entry struct {
	mi    *systray.MenuItem
	last  tray.Item
	set   bool
	check bool // a checkbox entry (the presets)
}

// New creates the menu (all entries, in their final order).
func New() *Host {
	h := &Host{clicks: make(chan tray.Click, 4)}
	add := func(mi *systray.MenuItem, c *tray.Click) *entry {
		e := &entry{mi: mi}
		h.items = append(h.items, e)
		if c != nil {
			click := *c
			go func() {
				for range mi.ClickedCh {
					select {
					case h.clicks <- click:
					default: // a click is already waiting; drop repeats
					}
				}
			}()
		}
		return e
	}
	h.status = add(systray.AddMenuItem("", ""), nil)
	h.open = add(systray.AddMenuItem("Open SMSTorrent", ""), &tray.Click{Action: tray.ActOpen})
	h.notice = add(systray.AddMenuItem("", ""), nil)
	systray.AddSeparator()
	h.pauseAll = add(systray.AddMenuItem("Pause all", ""), &tray.Click{Action: tray.ActPauseAll})
	h.resumeAll = add(systray.AddMenuItem("Resume all", ""), &tray.Click{Action: tray.ActResumeAll})
	h.throttle = add(systray.AddMenuItem("Bandwidth throttle", ""), nil)
	for i := range viewmodel.Presets {
		h.presets = append(h.presets, add(h.throttle.mi.AddSubMenuItemCheckbox("", "", false), &tray.Click{Action: tray.ActPreset, Preset: i}))
	}
	for _, e := range h.presets {
		e.check = true
	}
	h.clear = add(h.throttle.mi.AddSubMenuItem("", ""), &tray.Click{Action: tray.ActClear})
	systray.AddSeparator()
	h.about = add(systray.AddMenuItem("About SMSTorrent", ""), &tray.Click{Action: tray.ActAbout})
	h.quit = add(systray.AddMenuItem("Quit tray", ""), &tray.Click{Action: tray.ActQuit})
	return h
}

// Clicks delivers menu clicks.
func (h *Host) Clicks() <-chan tray.Click { return h.clicks }

// Show updates icon, tooltip and menu, touching only what changed.
func (h *Host) Show(v tray.View) {
	if v.Icon != h.icon {
		systray.SetIcon(icons.Tray(v.Icon))
		h.icon = v.Icon
	}
	if v.Tooltip != h.tip {
		systray.SetTooltip(v.Tooltip)
		h.tip = v.Tooltip
	}
	m := v.Menu
	h.status.apply(m.Status)
	h.open.apply(m.Open)
	h.notice.apply(m.Notice)
	h.pauseAll.apply(m.PauseAll)
	h.resumeAll.apply(m.ResumeAll)
	h.throttle.apply(m.Throttle)
	for i, e := range h.presets {
		if i < len(m.Presets) {
			e.apply(m.Presets[i])
		}
	}
	h.clear.apply(m.Clear)
	h.about.apply(m.About)
	h.quit.apply(m.Quit)
}

func (e *entry) apply(it tray.Item) {
	if e.set && e.last == it {
		return
	}
	first := !e.set
	if first || it.Title != e.last.Title {
		e.mi.SetTitle(it.Title)
	}
	if first || it.Tooltip != e.last.Tooltip {
		e.mi.SetTooltip(it.Tooltip)
	}
	if e.check && (first || it.Checked != e.last.Checked) {
		if it.Checked {
			e.mi.Check()
		} else {
			e.mi.Uncheck()
		}
	}
	if first || it.Enabled != e.last.Enabled {
		if it.Enabled {
			e.mi.Enable()
		} else {
			e.mi.Disable()
		}
	}
	if first || it.Visible != e.last.Visible {
		if it.Visible {
			e.mi.Show()
		} else {
			e.mi.Hide()
		}
	}
	e.last, e.set = it, true
}
