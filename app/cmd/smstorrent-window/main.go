// Command smstorrent-window is SMSTorrent's window (Fyne): downloads,
// seeding, bandwidth and diagnostics. The tray starts it on demand; only one
// runs per user session, and a second launch raises the first.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/smstorrent/smstorrent/app/instance"
	"github.com/smstorrent/smstorrent/internal/logfile"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/ui"
	"github.com/smstorrent/smstorrent/ui/demo"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// A GUI-subsystem program on Windows: stderr goes nowhere, so the log
	// (ours and Fyne's) goes to a rotating file in the user's profile.
	logw, closeLog := logfile.DesktopOrStderr("smstorrent-window")
	defer closeLog()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(logw, "smstorrent-window:", err)
		os.Exit(1)
	}
}

// memoryLimit is the window's soft Go heap limit: Fyne keeps parsed fonts
// and text textures that are mostly garbage between refreshes, and the
// window runs beside the user's own programs. GOMEMLIMIT overrides it.
const memoryLimit = 80 << 20

func run(ctx context.Context, args []string) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	fs := flag.NewFlagSet("smstorrent-window", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "the service's data folder (default: "+api.DefaultDataDir()+")")
	page := fs.String("page", "", "the tab to show: downloads, seeding, bandwidth, diagnostics or about")
	demoFake := fs.Bool("demo-fake", false, "show an in-memory demo service instead of the real one (screenshots)")
	demoAccess := fs.String("demo-access", "control", "with --demo-fake: the demo user's access, read or control")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := instance.Dir()
	if err != nil {
		return err
	}
	inst, err := instance.Acquire(dir, "window")
	if errors.Is(err, instance.ErrRunning) {
		return instance.Send(dir, "window", strings.TrimSpace("show "+*page))
	}
	if err != nil {
		return err
	}
	defer inst.Close()

	var backend ui.Backend = &api.Client{DataDir: *dataDir}
	if *demoFake {
		backend = &demo.Backend{Access: api.Access(*demoAccess)}
	}
	a := fyneapp.NewWithID("org.smstorrent.desktop")
	a.SetIcon(ui.AppIcon)
	w := ui.New(a, backend, ui.Options{ClientVersion: version})
	w.Start(ctx)
	go func() {
		for msg := range inst.Messages() {
			p := strings.TrimSpace(strings.TrimPrefix(msg, "show"))
			fyne.Do(func() {
				w.Window().Show()
				w.Window().RequestFocus()
				w.ShowPage(p)
			})
		}
	}()
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	w.Window().Show()
	w.ShowPage(*page)
	a.Run()
	return nil
}
