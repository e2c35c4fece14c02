package svc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kardianos/service"

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
  setup        the installer's step: write the configuration from its properties (see "setup --help"),
               set failure actions, add the firewall rules
  teardown     the installer's uninstall step: remove the firewall rules (--purge: and the data)
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
	if cmd == "version" || cmd == "--version" || cmd == "-version" {
		fmt.Fprintln(stdout, Version)
		return 0
	}
	if cmd == "ctl" && len(rest) > 0 && (rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help") {
		fmt.Fprint(stdout, ctl.Usage)
		return 0
	}
	switch cmd { // the installer's steps read (or write) the configuration themselves
	case "setup":
		return setupMain(cfgPath, rest, stdout, stderr)
	case "teardown":
		return teardownMain(cfgPath, rest, stdout, stderr)
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
			fmt.Fprintln(stderr, "error:", err)
			return 1
		case st == service.StatusRunning:
			fmt.Fprintln(stdout, "running")
			return 0
		default:
			fmt.Fprintln(stdout, "stopped")
			return 3
		}
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n", cmd)
	fmt.Fprintf(stderr, usage, config.DefaultPath())
	return 2
}

// runService runs under the service manager or in the foreground.
func runService(cfg config.Config, stderr io.Writer) int {
	p := &program{cfg: cfg}
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
	if err := s.Run(); err != nil {
		p.log.Error("service ended with an error", "err", err)
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
