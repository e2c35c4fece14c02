package svc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kardianos/service"

	"github.com/smstorrent/smstorrent/internal/cmdline"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/ctl"
)

const usage = `smstorrent-service — SMSTorrent's background service

usage: smstorrent-service [--config PATH] COMMAND [--config PATH] [args]

commands:
  run          run in the foreground (development, the lab); Ctrl-C stops
  install      register with the service manager (Windows service / systemd), automatic start
  uninstall    remove the registration
  start|stop   start or stop the registered service
  status       is the registered service running?
  check-config validate the configuration and print it with defaults filled in
  version      print the version
  ctl ...      helpdesk commands against the running service (see "ctl help")

--config PATH  configuration file (default %s)
`

// Main is the whole command line; it returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfgPath, args, err := takeConfigFlag(args)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(stdout, usage, config.DefaultPath())
		return 0
	}
	cmd, rest := args[0], args[1:]
	if _, ok := commands[cmd]; !ok {
		cmdline.Print(stderr, cmdline.Usagef(shortUsage, "unknown command %q", cmd), `"smstorrent-service help"`)
		return 2
	}
	if cmd != "ctl" {
		if err := cmdline.Args(rest, 0, 0, "smstorrent-service [--config PATH] "+cmd); err != nil {
			cmdline.Print(stderr, err, `"smstorrent-service help"`)
			return 2
		}
	}
	if cmd == "version" {
		fmt.Fprintln(stdout, Version)
		return 0
	}
	if cmd == "ctl" && len(rest) > 0 && (rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help") {
		fmt.Fprint(stdout, ctl.Usage)
		return 0
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "configuration refused:", err)
		return 2
	}
	switch cmd {
	case "ctl":
		return ctl.Main(ctx, cfg, rest, stdout, stderr)
	case "check-config":
		b, err := cfg.JSON()
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 1
		}
		_, _ = stdout.Write(b)
		return 0
	case "run":
		return runService(cfg, stderr)
	case "install", "uninstall", "start", "stop", "restart":
		s, err := newSystemService(&program{cfg: cfg}, cfg.Path)
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 1
		}
		if err := service.Control(s, cmd); err != nil {
			fmt.Fprintf(stderr, "%s failed: %v\n", cmd, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: done\n", cmd)
		return 0
	case "status":
		return status(ctx, cfg, stdout, stderr)
	}
	return 2 // not reached: every name in commands has a case
}

// status asks the service manager whether the service is installed and
// running; without one it asks the local API.
func status(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) int {
	s, err := newSystemService(&program{cfg: cfg}, cfg.Path)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	st, err := s.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		fmt.Fprintln(stdout, "not installed")
		return 3
	case err != nil:
		return statusWithoutManager(ctx, cfg, err, stdout, stderr)
	case st == service.StatusRunning:
		fmt.Fprintln(stdout, "running")
		return 0
	default:
		fmt.Fprintln(stdout, "stopped")
		return 3
	}
}

// shortUsage is the line printed under a mistake.
const shortUsage = "smstorrent-service [--config PATH] run|install|uninstall|start|stop|restart|status|check-config|version|ctl ..."

// commands are the subcommands Main knows.
var commands = map[string]bool{
	"run": true, "install": true, "uninstall": true, "start": true, "stop": true, "restart": true,
	"status": true, "check-config": true, "version": true, "ctl": true,
}

// statusWithoutManager answers "status" when the service manager cannot be
// asked (no systemd: a container, WSL, a minimal system): it asks the local
// API instead and says how to run the service.
func statusWithoutManager(ctx context.Context, cfg config.Config, managerErr error, stdout, stderr io.Writer) int {
	c := &api.Client{DataDir: cfg.DataDir}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if st, err := c.Status(ctx); err == nil {
		fmt.Fprintf(stdout, "running (version %s, not under the service manager: %s)\n", st.Version, service.Platform())
		return 0
	}
	fmt.Fprintf(stderr, "cannot ask the service manager (%s: %v), and no service answers on this data folder (%s).\n"+
		"  - Without systemd (a container, WSL), run it in the foreground: smstorrent-service run\n"+
		"  - With systemd, check the unit: systemctl status %s\n", service.Platform(), managerErr, cfg.DataDir, ServiceName)
	return 3
}

// runService runs under the service manager or in the foreground. If the
// service stops by itself with an error, it returns 1 so that the process
// exits and the service manager restarts it.
func runService(cfg config.Config, stderr io.Writer) int {
	p := &program{cfg: cfg, failed: make(chan error, 1)}
	s, err := newSystemService(p, cfg.Path)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	sysLog, _ := s.Logger(nil)
	p.log, p.recent, p.closer, err = openLog(cfg, sysLog, service.Interactive())
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	defer p.closer.Close()
	ran := make(chan error, 1)
	go func() { ran <- s.Run() }()
	select {
	case err = <-ran:
	case err = <-p.failed:
		err = fmt.Errorf("the service stopped by itself: %w", err)
	}
	if err != nil {
		p.log.Error("service ended with an error; exiting so that the service manager restarts it", "err", err)
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// takeConfigFlag removes every "--config PATH" / "--config=PATH" from args,
// wherever it stands, so it works on every subcommand.
func takeConfigFlag(args []string) (string, []string, error) {
	var path string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i:]...)
			return path, rest, nil
		case a == "--config" || a == "-config":
			if i+1 >= len(args) {
				return "", nil, errors.New("--config needs a path")
			}
			path = args[i+1]
			i++
		case len(a) > 9 && (a[:9] == "--config=" || a[:8] == "-config="):
			path = a[len("--config="):]
			if a[1] != '-' {
				path = a[len("-config="):]
			}
		default:
			rest = append(rest, a)
		}
	}
	return path, rest, nil
}
