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
	"unicode/utf16"

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
	// Checked marks the preset in force (the host's checkbox entries).
	Checked bool
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

// maxItem bounds every menu title. The menu is as wide as its longest
// title, and a tray menu opens beside the icon at the screen's edge: an
// error message or a package's long name in the status entry once made it
// run off the screen. The full text stays in the tooltip (Linux trays show
// none, so it is the status entry's tooltip as well).
const maxItem = 40

// Compute derives the tray's view from the store at the moment now.
func Compute(s *viewmodel.Store, now time.Time) View {
	v := View{State: stateOf(s)}
	v.Icon = v.State.Icon()
	v.Tooltip = cut(tooltip(s, v.State), maxTooltip)

	control := s.CanControl()
	var pausable, resumable bool
	for _, j := range s.Jobs() {
		r := viewmodel.NewJobRow(j, now)
		pausable = pausable || r.CanPause
		resumable = resumable || j.State == api.StateSuspended
	}
	override := s.Status != nil && s.Status.Bandwidth.Override
	active := -1
	if s.Status != nil {
		active = viewmodel.ActivePreset(s.Status.Bandwidth)
	}
	full := strings.TrimPrefix(v.Tooltip, app)
	m := Menu{
		Status:    Item{Title: cut(statusTitle(s, v.State), maxItem), Tooltip: full, Visible: true},
		Open:      Item{Title: "Open SMSTorrent", Tooltip: "Show downloads, seeding, bandwidth and diagnostics", Visible: true, Enabled: true},
		PauseAll:  Item{Title: "Pause all", Tooltip: "Suspend every download", Visible: control, Enabled: control && pausable},
		ResumeAll: Item{Title: "Resume all", Tooltip: "Resume every paused download", Visible: control, Enabled: control && resumable},
		Throttle:  Item{Title: "Throttle", Tooltip: "Helpdesk: limit or free SMSTorrent's bandwidth for a while", Visible: control, Enabled: control},
		Clear:     Item{Title: viewmodel.ClearPreset.Label, Visible: control, Enabled: control && override},
		About:     Item{Title: "About SMSTorrent", Visible: true, Enabled: true},
		Quit:      Item{Title: "Quit tray", Tooltip: "Close this icon; downloads and seeding go on in the service", Visible: true, Enabled: true},
	}
	if override {
		m.Throttle.Title = "Throttle (on)"
	}
	for i, p := range viewmodel.Presets {
		m.Presets = append(m.Presets, Item{Title: p.Label, Visible: control, Enabled: control, Checked: i == active})
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

// app starts every tooltip: Windows shows the text without a title.
const app = "SMSTorrent: "

// tooltip says what the tray's state is about, for the busiest download:
// "SMSTorrent: Office 2024 · 63% · about 14 min · 80% from colleagues".
func tooltip(s *viewmodel.Store, st State) string {
	switch st {
	case Offline:
		if !s.EverConnected && s.LastError == "" {
			return app + "connecting to the service…"
		}
		return app + "the service is not running"
	case Error:
		failed := jobsIn(s, api.StateError)
		j := failed[0]
		name := cut(viewmodel.ShortName(j), maxItem)
		t := name + " failed: " + viewmodel.Clean(j.Error, maxTooltip)
		if len(failed) > 1 {
			t = fmt.Sprintf("%d downloads failed · %s: %s", len(failed), name, viewmodel.Clean(j.Error, maxTooltip))
		}
		return app + t
	case Downloading:
		lead, n := leadJob(s)
		parts := []string{cut(viewmodel.ShortName(lead), maxItem), viewmodel.Percent(lead.Progress())}
		if about := viewmodel.About(lead); about != "" {
			parts = append(parts, about)
		} else {
			parts = append(parts, strings.ToLower(viewmodel.StateText(lead.State)))
		}
		if src := viewmodel.SourceShare(lead); src != "" {
			parts = append(parts, src)
		}
		if n > 1 {
			parts = append(parts, fmt.Sprintf("+%d more", n-1))
		}
		return app + strings.Join(parts, " · ")
	case Paused:
		return app + plural(len(jobsIn(s, api.StateSuspended)), "download") + " paused"
	case Seeding:
		t := app + "sharing " + plural(len(s.Seeding()), "package") + " with this site"
		if s.Status != nil && s.Status.UpRate > 0 {
			t += " · " + units.Rate(s.Status.UpRate) + " up"
		}
		return t
	}
	return app + "idle, everything is up to date"
}

// statusTitle is the menu's status entry: the tooltip's gist, short.
func statusTitle(s *viewmodel.Store, st State) string {
	switch st {
	case Error:
		failed := jobsIn(s, api.StateError)
		if len(failed) > 1 {
			return fmt.Sprintf("%d downloads failed", len(failed))
		}
		return cut(viewmodel.ShortName(failed[0]), maxItem-len(" failed")) + " failed"
	case Downloading:
		lead, n := leadJob(s)
		pct := " · " + viewmodel.Percent(lead.Progress())
		if n > 1 {
			return fmt.Sprintf("%d downloads · %s%s", n, cut(viewmodel.ShortName(lead), maxItem-20), pct)
		}
		return cut(viewmodel.ShortName(lead), maxItem-len(pct)) + pct
	case Seeding:
		t := "Sharing " + plural(len(s.Seeding()), "package")
		if s.Status != nil && s.Status.UpRate > 0 {
			t += " · " + units.Rate(s.Status.UpRate) + " up"
		}
		return t
	}
	t := strings.TrimPrefix(tooltip(s, st), app)
	return strings.ToUpper(t[:1]) + t[1:]
}

// leadJob is the download the tooltip speaks of, the busiest one (ties: the
// store's order, highest priority first), and how many are downloading.
func leadJob(s *viewmodel.Store) (api.Job, int) {
	var lead api.Job
	n := 0
	for _, j := range s.Downloads() {
		if j.State.Final() || j.State == api.StateSuspended {
			continue
		}
		n++
		busier := j.State == api.StateTransferring &&
			(lead.State != api.StateTransferring || j.DownRate > lead.DownRate)
		if n == 1 || busier {
			lead = j
		}
	}
	return lead, n
}

func jobsIn(s *viewmodel.Store, st api.State) []api.Job {
	var out []api.Job
	for _, j := range s.Jobs() {
		if j.State == st {
			out = append(out, j)
		}
	}
	return out
}

// cut shortens text to n UTF-16 code units (Windows counts its tooltip's
// length in them; for other text they are characters but for emoji),
// ending it with an ellipsis.
func cut(s string, n int) string {
	if len(utf16.Encode([]rune(s))) <= n {
		return s
	}
	units := 1 // the ellipsis
	var b strings.Builder
	for _, r := range s {
		if units += utf16.RuneLen(r); units > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String() + "…"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
