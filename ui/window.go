// Package ui is SMSTorrent's window, built with Fyne: downloads, seeding,
// bandwidth and throttle, and diagnostics. It shows the service through a
// small Backend interface (which *api.Client satisfies) and follows the
// service's event stream; the logic behind the views is in ui/viewmodel.
package ui

import (
	"context"
	"fmt"
	"image/color"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/smstorrent/smstorrent/icons"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

// Backend is what the window needs of the service.
type Backend interface {
	// Watch follows the event stream until ctx is done, reconnecting by
	// itself and reporting breaks as api.EventDisconnected.
	Watch(ctx context.Context, fn func(api.Event))
	Pause(ctx context.Context, id string) (*api.Job, error)
	Resume(ctx context.Context, id string) (*api.Job, error)
	Cancel(ctx context.Context, id string) (*api.Job, error)
	SetPriority(ctx context.Context, id string, p api.Priority) (*api.Job, error)
	PauseAll(ctx context.Context) error
	ResumeAll(ctx context.Context) error
	Throttle(ctx context.Context, r api.ThrottleRequest) (*api.Bandwidth, error)
}

var _ Backend = (*api.Client)(nil)

// Options tune the window.
type Options struct {
	// Now is the clock for relative times; nil: time.Now.
	Now func() time.Time
	// ClientVersion is shown in diagnostics and About.
	ClientVersion string
	// History is the span of the bandwidth chart; 0: 5 minutes.
	History time.Duration
}

// Pages the window can show.
const (
	PageDownloads   = "downloads"
	PageSeeding     = "seeding"
	PageBandwidth   = "bandwidth"
	PageDiagnostics = "diagnostics"
	PageAbout       = "about" // the About dialog over the current tab
)

// AppIcon is SMSTorrent's application icon as a Fyne resource.
var AppIcon = fyne.NewStaticResource("smstorrent.png", icons.PNG(icons.App))

// Window is the SMSTorrent window.
type Window struct {
	app   fyne.App
	win   fyne.Window
	b     Backend
	opt   Options
	store *viewmodel.Store

	banner     *banner
	header     *widget.Label
	tabs       *container.AppTabs
	downloads  *downloadsTab
	seeding    *seedingTab
	bandwidth  *bandwidthTab
	diagnostic *diagnosticsTab

	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex // guards pending and scheduled
	pending   []api.Event
	scheduled bool
	// async runs backend calls off the UI thread; tests make it synchronous.
	async func(func())
}

// New builds the window; call Start to follow the service, then Show.
func New(a fyne.App, b Backend, opt Options) *Window {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.History == 0 {
		opt.History = 5 * time.Minute
	}
	if opt.ClientVersion == "" {
		opt.ClientVersion = "dev"
	}
	w := &Window{app: a, b: b, opt: opt, store: viewmodel.NewStore(opt.History),
		async: func(f func()) { go f() }}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.win = a.NewWindow("SMSTorrent")
	w.win.SetIcon(AppIcon)

	w.banner = newBanner()
	w.header = widget.NewLabel("")
	w.header.Alignment = fyne.TextAlignTrailing
	w.header.Truncation = fyne.TextTruncateEllipsis
	w.downloads = newDownloadsTab(w)
	w.seeding = newSeedingTab(w)
	w.bandwidth = newBandwidthTab(w)
	w.diagnostic = newDiagnosticsTab(w)
	w.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Downloads", theme.DownloadIcon(), w.downloads.content),
		container.NewTabItemWithIcon("Seeding", theme.UploadIcon(), w.seeding.content),
		container.NewTabItemWithIcon("Bandwidth", theme.MediaFastForwardIcon(), w.bandwidth.content),
		container.NewTabItemWithIcon("Diagnostics", theme.InfoIcon(), w.diagnostic.content),
	)
	logo := canvas.NewImageFromResource(AppIcon)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSize(28, 28))
	title := widget.NewLabelWithStyle("SMSTorrent", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	about := widget.NewButtonWithIcon("", theme.HelpIcon(), w.showAbout)
	about.Importance = widget.LowImportance
	top := container.NewVBox(
		container.NewBorder(nil, nil, container.NewHBox(logo, title), about, w.header),
		w.banner.content,
	)
	w.win.SetContent(container.NewBorder(top, nil, nil, nil, w.tabs))
	w.win.Resize(fyne.NewSize(1120, 740))
	w.win.SetOnClosed(w.cancel)
	w.refresh()
	return w
}

// Window is the Fyne window.
func (w *Window) Window() fyne.Window { return w.win }

// Start follows the service's event stream until the window closes or ctx
// is done. Events reach the widgets through fyne.Do.
func (w *Window) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(w.ctx, cancel) // the window closed
	go func() {
		defer cancel()
		defer stop()
		w.b.Watch(ctx, w.enqueue)
	}()
}

// enqueue hands an event from the Watch goroutine to the Fyne thread.
// Events that arrive while the Fyne thread is busy are applied together,
// with one refresh of the widgets.
func (w *Window) enqueue(ev api.Event) {
	w.mu.Lock()
	w.pending = append(w.pending, ev)
	schedule := !w.scheduled
	w.scheduled = true
	w.mu.Unlock()
	if schedule {
		fyne.Do(w.drain)
	}
}

func (w *Window) drain() {
	w.mu.Lock()
	evs := w.pending
	w.pending, w.scheduled = nil, false
	w.mu.Unlock()
	w.Apply(evs...)
}

// Close stops following the service and closes the window.
func (w *Window) Close() {
	w.cancel()
	w.win.Close()
}

// Apply shows events, refreshing each part of the window at most once.
// Call it on the Fyne thread.
func (w *Window) Apply(evs ...api.Event) {
	var jobs, status, all bool
	for _, ev := range evs {
		if !w.store.Apply(ev) {
			continue
		}
		switch ev.Type {
		case api.EventJob, api.EventJobTransferred, api.EventJobError, api.EventJobRemoved:
			jobs = true
		case api.EventStatus:
			status = true
		default:
			all = true
		}
	}
	if all {
		w.refresh()
		return
	}
	if jobs || status { // the header says what the jobs do
		w.refreshHeader()
	}
	if status {
		w.refreshBanner() // the access may change with the token
		w.bandwidth.refresh()
	}
	if jobs || status { // rows depend on the access as well as on the jobs
		w.downloads.refresh()
		w.seeding.refresh()
		w.diagnostic.refresh()
	}
}

// ShowPage selects a tab by name (the Page constants); PageAbout opens the
// About dialog.
func (w *Window) ShowPage(page string) {
	switch page {
	case PageDownloads, "":
		w.tabs.SelectIndex(0)
	case PageSeeding:
		w.tabs.SelectIndex(1)
	case PageBandwidth:
		w.tabs.SelectIndex(2)
	case PageDiagnostics:
		w.tabs.SelectIndex(3)
	case PageAbout:
		w.showAbout()
	}
}

func (w *Window) refresh() {
	w.refreshHeader()
	w.refreshBanner()
	w.downloads.refresh()
	w.seeding.refresh()
	w.bandwidth.refresh()
	w.diagnostic.refresh()
}

func (w *Window) refreshHeader() {
	s := w.store
	switch {
	case s.Connected && s.Status != nil:
		w.header.SetText(viewmodel.Header(s))
	case s.Connected:
		w.header.SetText("Connected")
	case s.EverConnected || s.LastError != "":
		w.header.SetText("Service not running")
	default:
		w.header.SetText("Connecting…")
	}
}

func (w *Window) refreshBanner() {
	s := w.store
	switch {
	case !s.Connected && s.LastError == "" && !s.EverConnected:
		w.banner.show(bannerInfo, "Connecting to the SMSTorrent service…", "")
	case !s.Connected:
		w.banner.show(bannerError, "The SMSTorrent service is not running or not reachable. Reconnecting by itself…",
			s.LastError)
	case !s.CanControl():
		w.banner.show(bannerInfo, viewmodel.ReadOnlyNote, "")
	default:
		w.banner.hide()
	}
}

// call runs a backend call off the UI thread and shows a failure.
func (w *Window) call(what string, f func(ctx context.Context) error) {
	w.async(func() {
		ctx, cancel := context.WithTimeout(w.ctx, 20*time.Second)
		defer cancel()
		if err := f(ctx); err != nil {
			fyne.Do(func() { w.showError(what, err) })
		}
	})
}

// callJob is call for job actions: the changed job is shown at once, before
// its event arrives.
func (w *Window) callJob(what string, f func(ctx context.Context) (*api.Job, error)) {
	w.call(what, func(ctx context.Context) error {
		j, err := f(ctx)
		if err == nil && j != nil && j.ID != "" {
			fyne.Do(func() { w.Apply(api.Event{Type: api.EventJob, Time: w.opt.Now(), Job: j}) })
		}
		return err
	})
}

func (w *Window) showError(what string, err error) {
	msg := err.Error()
	switch {
	case api.IsForbidden(err) || api.IsUnauthorized(err):
		msg = viewmodel.ReadOnlyNote
	case api.IsServiceDown(err):
		msg = viewmodel.OfflineNote
	}
	dialog.ShowError(fmt.Errorf("%s: %s", what, msg), w.win)
}

func (w *Window) showAbout() {
	logo := canvas.NewImageFromResource(AppIcon)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSize(64, 64))
	svc := "not connected"
	if w.store.ServiceVersion != "" {
		svc = w.store.ServiceVersion
	}
	text := widget.NewLabel(fmt.Sprintf(
		"SMSTorrent distributes software packages inside your site by peer-to-peer,\n"+
			"so each package crosses the branch's WAN link about once.\n\n"+
			"Window version: %s\nService version: %s\nAPI version: %s",
		w.opt.ClientVersion, svc, api.APIVersion))
	dialog.ShowCustom("About SMSTorrent", "Close", container.NewHBox(container.NewVBox(logo), text), w.win)
}

// banner is the coloured strip under the header that says the service is
// down or the user may only look.
type banner struct {
	content *fyne.Container
	bg      *canvas.Rectangle
	icon    *widget.Icon
	text    *widget.Label
	detail  *widget.Label
	kind    bannerKind
}

type bannerKind int

const (
	bannerInfo bannerKind = iota
	bannerError
)

func newBanner() *banner {
	b := &banner{bg: canvas.NewRectangle(color.Transparent), icon: widget.NewIcon(theme.InfoIcon()),
		text: widget.NewLabel(""), detail: widget.NewLabel("")}
	b.bg.CornerRadius = theme.InputRadiusSize()
	b.text.Wrapping = fyne.TextWrapWord
	b.detail.Wrapping = fyne.TextWrapWord
	b.detail.SizeName = theme.SizeNameCaptionText
	b.content = container.NewStack(b.bg, container.NewBorder(nil, nil, container.NewCenter(b.icon), nil,
		container.NewVBox(b.text, b.detail)))
	b.content.Hide()
	return b
}

func (b *banner) show(k bannerKind, text, detail string) {
	b.kind = k
	if k == bannerError {
		b.icon.SetResource(theme.NewErrorThemedResource(theme.ErrorIcon()))
		b.bg.FillColor = withAlpha(theme.Color(theme.ColorNameError), 0x30)
		b.text.Importance = widget.DangerImportance
	} else {
		b.icon.SetResource(theme.NewPrimaryThemedResource(theme.InfoIcon()))
		b.bg.FillColor = withAlpha(theme.Color(theme.ColorNamePrimary), 0x24)
		b.text.Importance = widget.MediumImportance
	}
	b.text.SetText(text)
	b.detail.SetText(detail)
	if detail == "" {
		b.detail.Hide()
	} else {
		b.detail.Show()
	}
	b.bg.Refresh()
	b.content.Show()
}

func (b *banner) hide() { b.content.Hide() }

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, bl, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), a}
}

// heading is a bold label for table headers and section titles.
func heading(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}
