package yield

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
	"github.com/smstorrent/smstorrent/lab/trrpc"
)

// trSystem is the baseline: Transmission over uTP (libutp's LEDBAT,
// 100 ms target). opentracker and an origin transmission-daemon in hq; on
// the background client a fresh transmission-daemon per run. Transmission
// 3.00 cannot turn TCP peer connections off, so the client's namespace
// rejects TCP to and from the peer port: the only peer path left is uTP.
type trSystem struct {
	torrent []byte
	origin  *trrpc.Client
	rpc     *trrpc.Client
	proc    *netlab.Proc
	dlDir   string
	peers   map[string]int // peer kinds seen while polling
}

const (
	trTrackerPort = 6970
)

func (s *trSystem) name() string { return "transmission" }

func (s *trSystem) setup(ctx context.Context, e *env) error {
	for _, t := range []string{"transmission-daemon", "transmission-create", "opentracker", "iptables"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s not installed (make deps): %w", t, err)
		}
	}
	hq := e.lab.HQ
	dir, err := e.lab.HostDir(hq, "transmission")
	if err != nil {
		return err
	}
	var ot *netlab.Proc
	s.torrent, ot, err = trrpc.StartOpentracker(ctx, e.lab, hq, trTrackerPort, dir, filepath.Join(e.pkg.dir, e.pkg.name))
	if err != nil {
		return err
	}
	// TCP between peers off on the client: reject the peer port both ways.
	for _, rule := range [][]string{
		{"OUTPUT", "-p", "tcp", "--dport", fmt.Sprint(trrpc.PeerPort)},
		{"INPUT", "-p", "tcp", "--dport", fmt.Sprint(trrpc.PeerPort)},
	} {
		args := append([]string{"netns", "exec", e.bg.NS, "iptables", "-w", "5", "-A"}, rule...)
		args = append(args, "-j", "REJECT", "--reject-with", "tcp-reset")
		if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables: %w: %s", err, out)
		}
	}
	p, rpc, err := s.startDaemon(e, hq, "origin", e.pkg.dir)
	if err != nil {
		return err
	}
	s.origin = rpc
	if err := s.waitRPC(ctx, p, rpc); err != nil {
		return fmt.Errorf("origin: %w", err)
	}
	if err := rpc.Add(ctx, s.torrent, e.pkg.dir); err != nil {
		return fmt.Errorf("origin: %w", err)
	}
	for {
		st, err := rpc.Status(ctx)
		if err != nil {
			return fmt.Errorf("origin: %w", err)
		}
		if st.PercentDone >= 1 && st.Status == 6 {
			return ot.Exited()
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return fmt.Errorf("origin not seeding: %+v: %w", st, err)
		}
	}
}

func (s *trSystem) startDaemon(e *env, h *netlab.Host, run, downloadDir string) (*netlab.Proc, *trrpc.Client, error) {
	cfgDir, err := e.lab.HostDir(h, "transmission-config-"+run)
	if err != nil {
		return nil, nil, err
	}
	return trrpc.StartDaemon(e.lab, h, h.Name+"-transmission-"+run, cfgDir, downloadDir)
}

func (s *trSystem) waitRPC(ctx context.Context, p *netlab.Proc, rpc *trrpc.Client) error {
	return netlab.Retry(ctx, 30*time.Second, func() error {
		if err := p.Exited(); err != nil {
			return netlab.Permanent(err)
		}
		return rpc.Call(ctx, "session-get", map[string]any{"fields": []string{"version"}}, nil)
	})
}

func (s *trSystem) startClient(ctx context.Context, e *env, run string) error {
	dir, err := e.lab.HostDir(e.bg, "transmission-"+run)
	if err != nil {
		return err
	}
	s.dlDir = dir
	s.peers = map[string]int{}
	p, rpc, err := s.startDaemon(e, e.bg, run, dir)
	if err != nil {
		return err
	}
	s.proc, s.rpc = p, rpc
	return s.waitRPC(ctx, p, rpc)
}

func (s *trSystem) add(ctx context.Context, e *env) error {
	return s.rpc.Add(ctx, s.torrent, s.dlDir)
}

func (s *trSystem) poll(ctx context.Context, e *env) (StatusSample, error) {
	var res struct {
		Torrents []struct {
			RateDownload int64 `json:"rateDownload"`
			Peers        []struct {
				IsUTP bool `json:"isUTP"`
			} `json:"peers"`
		} `json:"torrents"`
	}
	if err := s.rpc.Call(ctx, "torrent-get", map[string]any{"fields": []string{"rateDownload", "peers"}}, &res); err != nil {
		return StatusSample{}, err
	}
	if len(res.Torrents) == 0 {
		return StatusSample{}, errors.New("no torrent")
	}
	t := res.Torrents[0]
	st := StatusSample{DownRate: t.RateDownload}
	for _, p := range t.Peers {
		if p.IsUTP {
			st.UTPPeers++
		} else {
			st.TCPPeers++
		}
	}
	return st, nil
}

func (s *trSystem) check(ctx context.Context, e *env) string {
	st, err := s.rpc.Status(ctx)
	if err != nil {
		return "status: " + err.Error()
	}
	if st.PercentDone >= 1 {
		return "the package was complete before the end of the run (make it larger)"
	}
	return ""
}

func (s *trSystem) stopClient(e *env) error {
	var err error
	if s.proc != nil {
		err = s.proc.Stop(5 * time.Second)
		s.proc = nil
	}
	if s.dlDir != "" && !e.cfg.Keep {
		os.RemoveAll(s.dlDir)
	}
	return err
}
