package tray

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

// Backend is what the tray needs of the service; *api.Client satisfies it.
type Backend interface {
	Watch(ctx context.Context, fn func(api.Event))
	PauseAll(ctx context.Context) error
	ResumeAll(ctx context.Context) error
	Throttle(ctx context.Context, r api.ThrottleRequest) (*api.Bandwidth, error)
}

var _ Backend = (*api.Client)(nil)

// Host shows views; the systray host and test fakes implement it. Show is
// called from the controller's goroutine only.
type Host interface {
	Show(View)
}

// Launcher opens the window; page is "" for the default tab or "about".
type Launcher interface {
	Open(page string) error
}

// Action is a menu click.
type Action int

// Actions.
const (
	ActOpen Action = iota
	ActPauseAll
	ActResumeAll
	ActPreset // Click.Preset says which of viewmodel.Presets
	ActClear
	ActAbout
	ActQuit
)

// Click is one menu click.
type Click struct {
	Action Action
	Preset int
}

// Controller connects a backend, a host and a launcher.
type Controller struct {
	Backend  Backend
	Host     Host
	Launcher Launcher
	// Logf reports failed actions; nil: discard.
	Logf func(format string, args ...any)
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Done, if set, is called after each event or click has been handled
	// and the host updated (tests wait on it).
	Done func()
}

// Run shows the service's state until ctx is done or Quit is clicked.
func (c *Controller) Run(ctx context.Context, clicks <-chan Click) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	now := c.Now
	if now == nil {
		now = time.Now
	}
	events := make(chan api.Event, 16)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		c.Backend.Watch(ctx, func(ev api.Event) {
			select {
			case events <- ev:
			case <-ctx.Done():
			}
		})
	}()
	defer func() { cancel(); <-watchDone }()

	store := viewmodel.NewStore(time.Minute)
	var last View
	shown := false
	show := func() {
		v := Compute(store, now())
		if !shown || !reflect.DeepEqual(v, last) {
			c.Host.Show(v)
			last, shown = v, true
		}
	}
	show()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			store.Apply(ev)
			show()
		case cl := <-clicks:
			if cl.Action == ActQuit {
				return nil
			}
			c.act(ctx, cl)
		}
		if c.Done != nil {
			c.Done()
		}
	}
}

// act performs a click. API calls run on their own goroutine so that the
// menu stays responsive; their effect arrives through the event stream.
func (c *Controller) act(ctx context.Context, cl Click) {
	call := func(what string, f func(context.Context) error) {
		go func() {
			cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			if err := f(cctx); err != nil {
				c.logf("%s: %v", what, err)
			}
		}()
	}
	switch cl.Action {
	case ActOpen, ActAbout:
		page := ""
		if cl.Action == ActAbout {
			page = "about"
		}
		if err := c.Launcher.Open(page); err != nil {
			c.logf("opening the window: %v", err)
		}
	case ActPauseAll:
		call("pause all", c.Backend.PauseAll)
	case ActResumeAll:
		call("resume all", c.Backend.ResumeAll)
	case ActPreset, ActClear:
		p := viewmodel.ClearPreset
		if cl.Action == ActPreset {
			if cl.Preset < 0 || cl.Preset >= len(viewmodel.Presets) {
				c.logf("no throttle preset %d", cl.Preset)
				return
			}
			p = viewmodel.Presets[cl.Preset]
		}
		call(fmt.Sprintf("throttle %q", p.Label), func(ctx context.Context) error {
			_, err := c.Backend.Throttle(ctx, p.Request)
			return err
		})
	}
}

func (c *Controller) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}
