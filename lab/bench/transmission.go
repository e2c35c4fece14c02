package bench

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
	"github.com/smstorrent/smstorrent/lab/trrpc"
)

// transmissionSystem is the setup of the Russian seed: opentracker in hq,
// an origin transmission-daemon in hq that holds the package, and a
// transmission-daemon on every client, all with default peer settings apart
// from what a closed swarm needs (no DHT, PEX, LPD, port mapping, no limits).
type transmissionSystem struct {
	torrent []byte
	rpc     map[string]*trrpc.Client // by host name
	procs   map[string]*netlab.Proc
}

const (
	trackerPort = 6969
)

func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not installed (make deps): %w", name, err)
	}
	return p, nil
}

func (s *transmissionSystem) setup(ctx context.Context, e *env) error {
	for _, t := range []string{"transmission-daemon", "transmission-create", "opentracker"} {
		if _, err := lookPath(t); err != nil {
			return err
		}
	}
	hq := e.lab.HQ
	hqDir, err := e.lab.HostDir(hq, "transmission")
	if err != nil {
		return err
	}
	// The torrent: transmission-create's defaults, private, one tracker.
	var ot *netlab.Proc
	if s.torrent, ot, err = trrpc.StartOpentracker(ctx, e.lab, hq, trackerPort, hqDir, e.pkg.Path()); err != nil {
		return err
	}

	// Daemons: hq (origin, with the file already in its download folder) and clients.
	s.rpc = map[string]*trrpc.Client{}
	s.procs = map[string]*netlab.Proc{}
	hosts := append([]*netlab.Host{hq}, e.lab.Clients()...)
	for _, h := range hosts {
		dl := filepath.Dir(s.file(e, h))
		if h == hq {
			dl = filepath.Dir(e.pkg.Path())
		}
		if err := s.startDaemon(e, h, dl); err != nil {
			return err
		}
	}
	for _, h := range hosts {
		if err := netlab.Retry(ctx, 30*time.Second, func() error {
			if err := s.procs[h.Name].Exited(); err != nil {
				return netlab.Permanent(err)
			}
			return s.rpc[h.Name].Call(ctx, "session-get", map[string]any{"fields": []string{"version"}}, nil)
		}); err != nil {
			return fmt.Errorf("%s transmission-daemon: %w", h.Name, err)
		}
	}
	// The origin seeds once it has checked the data.
	if err := s.rpc[hq.Name].Add(ctx, s.torrent, filepath.Dir(e.pkg.Path())); err != nil {
		return fmt.Errorf("hq: adding torrent: %w", err)
	}
	for {
		st, err := s.rpc[hq.Name].Status(ctx)
		if err != nil {
			return fmt.Errorf("hq: %w", err)
		}
		if st.PercentDone >= 1 && st.Status == 6 {
			return ot.Exited() // opentracker must still be up
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hq origin not seeding: %+v: %w", st, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *transmissionSystem) startDaemon(e *env, h *netlab.Host, downloadDir string) error {
	cfgDir, err := e.lab.HostDir(h, "transmission-config")
	if err != nil {
		return err
	}
	p, rpc, err := trrpc.StartDaemon(e.lab, h, h.Name+"-transmission", cfgDir, downloadDir)
	if err != nil {
		return err
	}
	s.procs[h.Name] = p
	s.rpc[h.Name] = rpc
	return nil
}

func (s *transmissionSystem) file(e *env, h *netlab.Host) string {
	return filepath.Join(e.dir, h.Name, "transmission", e.pkg.Name)
}

func (s *transmissionSystem) start(ctx context.Context, e *env) error {
	clients := e.lab.Clients()
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, h := range clients {
		wg.Go(func() { errs[i] = s.rpc[h.Name].Add(ctx, s.torrent, filepath.Dir(s.file(e, h))) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *transmissionSystem) done(ctx context.Context, e *env, h *netlab.Host) (time.Time, bool, error) {
	st, err := s.rpc[h.Name].Status(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	if st.Error != 0 {
		return time.Time{}, false, fmt.Errorf("transmission error %d: %s", st.Error, st.ErrorString)
	}
	return time.Now(), st.PercentDone >= 1 && st.LeftUntilDone == 0, nil
}

func (s *transmissionSystem) peers(ctx context.Context, e *env) map[string]map[string]int64 {
	// Transmission reports per-peer rates, not totals; the core's counters
	// say who fed the WAN links.
	return nil
}

func (s *transmissionSystem) close() {}
