package svc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/kardianos/service"

	"github.com/smstorrent/smstorrent/internal/logfile"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/core"
)

// ServiceName is the name of the Windows service and the systemd unit.
const ServiceName = "SMSTorrent"

// systemdUnit replaces kardianos/service's template, whose RestartSec=120
// leaves branch PCs without a service for two minutes after a crash.
const systemdUnit = `[Unit]
Description={{.Description}}
ConditionFileIsExecutable={{.Path|cmdEscape}}
After=network-online.target
Wants=network-online.target

[Service]
ExecStart={{.Path|cmdEscape}}{{range .Arguments}} {{.|cmd}}{{end}}
Restart=always
RestartSec=5
StartLimitInterval=0
Nice=10
IOSchedulingClass=idle
KillMode=mixed
TimeoutStopSec=20

[Install]
WantedBy=multi-user.target
`

// newSystemService describes the service to the OS service manager.
func newSystemService(p service.Interface, cfgPath string) (service.Service, error) {
	args := []string{"run"}
	if cfgPath != "" {
		abs, err := filepath.Abs(cfgPath)
		if err != nil {
			return nil, err
		}
		args = append(args, "--config", abs)
	}
	sc := &service.Config{
		Name:        ServiceName,
		DisplayName: "SMSTorrent package distribution",
		Description: "Distributes software packages between the PCs of a site by BitTorrent, for SCCM.",
		Arguments:   args,
		Option: service.KeyValue{
			// Windows: automatic start, restart on failure (set in Install).
			"StartType":              "automatic",
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "5s",
			"OnFailureResetPeriod":   86400,
			"DelayedAutoStart":       true,
			// systemd
			"SystemdScript": systemdUnit,
			"Restart":       "always",
		},
	}
	return service.New(p, sc)
}

// program adapts Start/Stop to kardianos/service.
type program struct {
	cfg    config.Config
	log    *slog.Logger
	recent *core.RecentLog
	inst   *Instance
	closer io.Closer
	// failed receives why the service stopped by itself (not by Stop), so
	// that runService can exit non-zero and the service manager restarts it.
	failed chan error
}

func (p *program) Start(s service.Service) error {
	in, err := Start(context.Background(), p.cfg, Options{Logger: p.log, Recent: p.recent})
	if err != nil {
		p.log.Error("service failed to start", "err", err)
		return err
	}
	p.inst = in
	go func() {
		<-in.Done()
		if err := in.Err(); err != nil {
			select {
			case p.failed <- err:
			default:
			}
		}
	}()
	return nil
}

func (p *program) Stop(s service.Service) error {
	if p.inst != nil {
		if err := p.inst.Stop(); err != nil {
			p.log.Warn("stopping", "err", err)
		}
	}
	p.log.Info("service stopped")
	return nil
}

// openLog sets up logging: a rotating file in the log folder, plus stderr
// when interactive (systemd's journal takes stderr too), plus the Windows
// event log for warnings and errors when running as a Windows service.
func openLog(cfg config.Config, sysLog service.Logger, interactive bool) (*slog.Logger, *core.RecentLog, io.Closer, error) {
	rf, err := logfile.Open(cfg.LogDir, "smstorrent-service.log", int64(cfg.LogMaxSize), cfg.LogFiles)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("opening log in %s: %w", cfg.LogDir, err)
	}
	var w io.Writer = rf
	if interactive || os.Getenv("INVOCATION_ID") != "" { // INVOCATION_ID: started by systemd
		w = io.MultiWriter(rf, os.Stderr)
	}
	var h slog.Handler = slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})
	if sysLog != nil && !interactive && service.Platform() == "windows-service" {
		h = &eventLogHandler{Handler: h, sys: sysLog}
	}
	recent := core.NewRecentLog(h, 50)
	return slog.New(recent), recent, rf, nil
}

// eventLogHandler copies warnings and errors to the service manager's log.
type eventLogHandler struct {
	slog.Handler
	sys service.Logger
}

func (h *eventLogHandler) Handle(ctx context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.Key + "=" + a.Value.String()
		return true
	})
	switch {
	case r.Level >= slog.LevelError:
		_ = h.sys.Error(msg)
	case r.Level >= slog.LevelWarn:
		_ = h.sys.Warning(msg)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *eventLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventLogHandler{Handler: h.Handler.WithAttrs(as), sys: h.sys}
}

func (h *eventLogHandler) WithGroup(n string) slog.Handler {
	return &eventLogHandler{Handler: h.Handler.WithGroup(n), sys: h.sys}
}
