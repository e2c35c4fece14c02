// Package tray is the logic of SMSTorrent's tray icon in plain Go: it turns
// the service's event stream into a state (idle, downloading, seeding,
// paused, error, service not running), an icon, a tooltip and the menu's
// enablement, and it turns menu clicks into API calls and window launches.
// The tray host itself (getlantern/systray) lives in app/systrayhost; tests
// drive this package with a fake host and a fake backend.
package tray

import (
	"fmt"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/icons"
	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

// State is what the tray icon shows.
type State int

// States, in the order the tray prefers them when several apply: a stopped
// service hides everything else; an error needs someone to act; downloads
// matter more than paused jobs; seeding is the quiet normal case.
const (
	Offline State = iota
	Error
	Downloading
	Paused
	Seeding
	Idle
)

func (s State) String() string {
	return [...]string{"offline", "error", "downloading", "paused", "seeding", "idle"}[s]
}

// Icon is the state's icon.
func (s State) Icon() icons.Name {
	return [...]icons.Name{icons.Offline, icons.Error, icons.Downloading, icons.Paused, icons.Seeding, icons.Idle}[s]
}

// Item is one menu entry's presentation.
type Item struct {
	Title   string
	Tooltip string
	Visible bool
	Enabled bool
}

// Menu is the tray menu. Its shape is fixed (hosts create every entry once
// and then only show, hide, enable, disable and retitle them).
type Menu struct {
	Status    Item // the tooltip's text as a disabled first entry (Linux trays show no tooltips)
	Open      Item
	Notice    Item // an explanation, never clickable (read-only access, service down)
	PauseAll  Item
	ResumeAll Item
	Throttle  Item   // a submenu holding Presets and Clear
	Presets   []Item // one per viewmodel.Presets entry
	Clear     Item
	About     Item
	Quit      Item
}

// View is everything the tray host shows.
type View struct {
	State   State
	Icon    icons.Name
	Tooltip string
	Menu    Menu
}

// maxTooltip is Windows' limit for a notification-area tooltip (127 characters).
const maxTooltip = 127

// maxStatus keeps the menu's status entry from widening the menu too much.
const maxStatus = 64

// Compute derives the tray's view from the store at the moment now.
func Compute(s *viewmodel.Store, now time.Time) View {
	v := View{State: stateOf(s)}
	v.Icon = v.State.Icon()
	v.Tooltip = tooltip(s, v.State)
	if r := []rune(v.Tooltip); len(r) > maxTooltip {
		v.Tooltip = string(r[:maxTooltip-1]) + "…"
	}

	control := s.CanControl()
	var pausable, resumable bool
	for _, j := range s.Jobs() {
		r := viewmodel.NewJobRow(j, now)
		pausable = pausable || r.CanPause
		resumable = resumable || j.State == api.StateSuspended
	}
	override := s.Status != nil && s.Status.Bandwidth.Override
	status := strings.TrimPrefix(v.Tooltip, "SMSTorrent: ")
	if r := []rune(status); len(r) > maxStatus {
		status = string(r[:maxStatus-1]) + "…"
	}
	m := Menu{
		Status:    Item{Title: strings.ToUpper(status[:1]) + status[1:], Visible: true},
		Open:      Item{Title: "Open SMSTorrent", Tooltip: "Show downloads, seeding, bandwidth and diagnostics", Visible: true, Enabled: true},
		PauseAll:  Item{Title: "Pause all", Tooltip: "Suspend every download", Visible: control, Enabled: control && pausable},
		ResumeAll: Item{Title: "Resume all", Tooltip: "Resume every paused download", Visible: control, Enabled: control && resumable},
		Throttle:  Item{Title: "Bandwidth throttle", Tooltip: "Helpdesk: limit or free SMSTorrent's bandwidth for a while", Visible: control, Enabled: control},
		Clear:     Item{Title: viewmodel.ClearPreset.Label, Visible: control, Enabled: control && override},
		About:     Item{Title: "About SMSTorrent", Visible: true, Enabled: true},
		Quit:      Item{Title: "Quit tray", Tooltip: "Close this icon; downloads and seeding go on in the service", Visible: true, Enabled: true},
	}
	if override {
		m.Throttle.Title = "Bandwidth throttle (active)"
	}
	for _, p := range viewmodel.Presets {
		m.Presets = append(m.Presets, Item{Title: p.Label, Visible: control, Enabled: control})
	}
	switch {
	case !s.Connected:
		m.Notice = Item{Title: "Service not running", Tooltip: viewmodel.OfflineNote, Visible: true}
	case !control:
		m.Notice = Item{Title: "View only (no control token)", Tooltip: viewmodel.ReadOnlyNote, Visible: true}
	}
	v.Menu = m
	return v
}

func stateOf(s *viewmodel.Store) State {
	if !s.Connected {
		return Offline
	}
	var active, paused, seeding bool
	for _, j := range s.Jobs() {
		switch j.State {
		case api.StateError:
			return Error
		case api.StateQueued, api.StateConnecting, api.StateTransferring, api.StateTransientError:
			active = true
		case api.StateSuspended:
			paused = true
		case api.StateTransferred:
			seeding = true
		}
	}
	switch {
	case active:
		return Downloading
	case paused:
		return Paused
	case seeding:
		return Seeding
	}
	return Idle
}

func tooltip(s *viewmodel.Store, st State) string {
	const app = "SMSTorrent: "
	switch st {
	case Offline:
		if !s.EverConnected && s.LastError == "" {
			return app + "connecting to the service…"
		}
		return app + "the service is not running"
	case Error:
		for _, j := range s.Jobs() {
			if j.State == api.StateError {
				return app + viewmodel.Label(j) + " failed: " + j.Error
			}
		}
	case Downloading:
		var lead *api.Job
		var n int
		for _, j := range s.Downloads() {
			if j.State.Final() || j.State == api.StateSuspended {
				continue
			}
			n++
			if lead == nil || (lead.State != api.StateTransferring && j.State == api.StateTransferring) {
				lead = &j
			}
		}
		t := fmt.Sprintf("downloading %s %s", viewmodel.Label(*lead), viewmodel.Percent(lead.Progress()))
		if lead.State == api.StateTransferring && lead.ETASeconds >= 0 {
			t += ", " + viewmodel.ETA(lead.ETASeconds) + " left"
		} else {
			t += ", " + strings.ToLower(viewmodel.StateText(lead.State))
		}
		if n > 1 {
			t += fmt.Sprintf(" (+%d more)", n-1)
		}
		if s.Status != nil {
			t += " · " + units.Rate(s.Status.DownRate)
		}
		return app + t
	case Paused:
		n := 0
		for _, j := range s.Jobs() {
			if j.State == api.StateSuspended {
				n++
			}
		}
		return app + plural(n, "download") + " paused"
	case Seeding:
		t := app + "sharing " + plural(len(s.Seeding()), "package") + " with this site"
		if s.Status != nil && s.Status.UpRate > 0 {
			t += " · " + units.Rate(s.Status.UpRate) + " up"
		}
		return t
	}
	return app + "idle, everything is up to date"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
