// Command smstorrent-tray is SMSTorrent's tray icon, started in every user
// session. It shows the service's state and opens the window process
// (smstorrent-window) on demand; quitting it leaves the service running.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/smstorrent/smstorrent/app/instance"
	"github.com/smstorrent/smstorrent/app/systrayhost"
	"github.com/smstorrent/smstorrent/app/tray"
	"github.com/smstorrent/smstorrent/internal/logfile"
	"github.com/smstorrent/smstorrent/internal/version"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/ui/demo"
)

func main() {
	// A GUI-subsystem program on Windows: stderr goes nowhere, so the log
	// goes to a rotating file in the user's profile as well.
	logw, closeLog := logfile.DesktopOrStderr("smstorrent-tray")
	defer closeLog()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], logw)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(logw, "smstorrent-tray:", err)
		os.Exit(1)
	}
}

// besideMe is the path of the program name in this program's folder.
func besideMe(name string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the window program: %w", err)
	}
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(filepath.Dir(exe), name), nil
}

func run(ctx context.Context, args []string, logw io.Writer) error {
	if version.Requested(args) {
		fmt.Println(version.String("smstorrent-tray"))
		return nil
	}
	fs := flag.NewFlagSet("smstorrent-tray", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "the service's data folder (default: "+api.DefaultDataDir()+")")
	window := fs.String("window", "", "the window program (default: smstorrent-window beside this program)")
	demoFake := fs.Bool("demo-fake", false, "show an in-memory demo instead of the service (for screenshots)")
	demoAccess := fs.String("demo-access", "control", "with --demo-fake: the demo user's access, read or control")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *window == "" {
		w, err := besideMe("smstorrent-window")
		if err != nil {
			return err
		}
		*window = w
	}
	dir, err := instance.Dir()
	if err != nil {
		return err
	}
	// One tray per session as well: a second start (the Run key at logon
	// plus a user's double click) shows the window if it is open and exits.
	self, err := instance.Acquire(dir, "tray")
	if errors.Is(err, instance.ErrRunning) {
		_ = instance.Send(dir, "window", "show")
		fmt.Fprintln(os.Stderr, "smstorrent-tray: already running in this session")
		return nil
	}
	if err != nil {
		return err
	}
	defer self.Close()
	go func() {
		for range self.Messages() { // nothing to show: the tray has no window
		}
	}()

	var backend tray.Backend = &api.Client{DataDir: *dataDir}
	if *demoFake {
		backend = &demo.Backend{Access: api.Access(*demoAccess)}
	}
	launcher := &instance.Launcher{Dir: dir, Name: "window", Command: func(page string) *exec.Cmd {
		a := []string{}
		if *dataDir != "" {
			a = append(a, "--data-dir", *dataDir)
		}
		if *demoFake {
			a = append(a, "--demo-fake", "--demo-access", *demoAccess)
		}
		if page != "" {
			a = append(a, "--page", page)
		}
		cmd := exec.Command(*window, a...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd
	}}
	logger := log.New(logw, "smstorrent-tray: ", log.LstdFlags)

	errc := make(chan error, 1)
	systrayhost.Run(func() {
		h := systrayhost.New()
		c := &tray.Controller{Backend: backend, Host: h, Launcher: launcher, Logf: logger.Printf}
		go func() {
			errc <- c.Run(ctx, h.Clicks())
			systrayhost.Quit()
		}()
	}, nil)
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}
