package yield

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
)

// smsSystem is SMSTorrent on its real path (as in lab/bench): tracker and
// repository in hq, an origin smstorrent-service in hq seeding the package
// from its cache, and on the background client a fresh smstorrent-service
// per run, told `ctl add <id>` at the default (normal, background) priority.
type smsSystem struct {
	pubKey  string
	repoURL string
	origin  string // origin's config
	client  string // this run's client config
	proc    *netlab.Proc
	dataDir string
}

const (
	smsTrackerPort = 6969
	smsPeerPort    = 6881
	smsAdminToken  = "lab-admin-token-0123456789"
	smsPackageID   = "LAB00001"
)

func (s *smsSystem) name() string { return "smstorrent" }

func (s *smsSystem) setup(ctx context.Context, e *env) error {
	if err := s.setupTracker(ctx, e); err != nil {
		return err
	}
	return s.startOrigin(ctx, e)
}

// setupTracker makes the signing key, the tracker's configuration and the
// signed torrent, starts the tracker in hq and publishes the torrent.
func (s *smsSystem) setupTracker(ctx context.Context, e *env) error {
	hq := e.lab.HQ
	dir, err := e.lab.HostDir(hq, "smstorrent")
	if err != nil {
		return err
	}
	keyPrefix := filepath.Join(dir, "signing")
	if out, err := exec.CommandContext(ctx, e.bins.tracker, "keygen", "--out", keyPrefix).CombinedOutput(); err != nil {
		return fmt.Errorf("tracker keygen: %w: %s", err, out)
	}
	pub, err := os.ReadFile(keyPrefix + ".pub")
	if err != nil {
		return err
	}
	s.pubKey = strings.TrimSpace(string(pub))
	s.repoURL = fmt.Sprintf("http://%s:%d", hq.Addr, smsTrackerPort)
	var sites []map[string]any
	for _, b := range e.lab.Branches {
		sites = append(sites, map[string]any{"name": b.Name, "networks": []string{b.Net.String()}})
	}
	tcfgPath := filepath.Join(dir, "tracker.json")
	if err := netlab.WriteJSON(tcfgPath, map[string]any{
		"listen":         fmt.Sprintf("%s:%d", hq.Addr, smsTrackerPort),
		"data_dir":       filepath.Join(dir, "tracker"),
		"public_url":     s.repoURL,
		"admin_token":    smsAdminToken,
		"trusted_keys":   []string{s.pubKey},
		"allow_networks": []string{"198.18.0.0/15"},
		"sites":          sites,
		"origins":        map[string]any{"networks": []string{e.lab.HQNet.String()}},
	}); err != nil {
		return err
	}
	torrentPath := filepath.Join(dir, smsPackageID+".torrent")
	if out, err := exec.CommandContext(ctx, e.bins.tracker, "create", "--id", smsPackageID, "--source", e.pkg.dir,
		"--key", keyPrefix+".key", "--config", tcfgPath, "-o", torrentPath).CombinedOutput(); err != nil {
		return fmt.Errorf("tracker create: %w: %s", err, out)
	}
	tracker, err := e.lab.Start(netlab.Cmd{NS: hq.NS, Label: "hq-tracker", Path: e.bins.tracker,
		Args: []string{"serve", "--config", tcfgPath}})
	if err != nil {
		return err
	}
	if err := netlab.Retry(ctx, 30*time.Second, func() error {
		if err := tracker.Exited(); err != nil {
			return netlab.Permanent(err)
		}
		_, err := e.lab.Run(ctx, netlab.Cmd{NS: hq.NS, Label: "hq-publish", Path: e.bins.tracker,
			Args: []string{"publish", torrentPath, "--repository", s.repoURL, "--token", smsAdminToken}})
		return err
	}); err != nil {
		return fmt.Errorf("publishing: %w", err)
	}
	return nil
}

// startOrigin starts the origin service in hq with the package in its cache
// and waits until it seeds.
func (s *smsSystem) startOrigin(ctx context.Context, e *env) error {
	hq := e.lab.HQ
	// The origin: the package in its cache, yield off (its probe would
	// measure its own address: nothing to give way to in hq).
	hdir, err := e.lab.HostDir(hq, "smstorrent-origin")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(hdir, "data", "cache"), 0o755); err != nil {
		return err
	}
	// A hard link is enough: the origin only reads the file.
	if err := netlab.CopyTree(e.pkg.dir, filepath.Join(hdir, "data", "cache", smsPackageID), true); err != nil {
		return err
	}
	s.origin = filepath.Join(hdir, "config.json")
	if err := netlab.WriteJSON(s.origin, s.config(hq, hdir, originConfig(e.cfg.ServiceConfig))); err != nil {
		return err
	}
	p, err := e.lab.Start(netlab.Cmd{NS: hq.NS, Label: "hq-origin-service", Path: e.bins.service,
		Args: []string{"run", "--config", s.origin}})
	if err != nil {
		return err
	}
	if err := s.waitReady(ctx, e, hq, s.origin, p); err != nil {
		return fmt.Errorf("origin: %w", err)
	}
	if _, err := s.ctl(ctx, e, hq, s.origin, "add", smsPackageID, "--assign", "--json"); err != nil {
		return fmt.Errorf("origin: ctl add: %w", err)
	}
	for {
		j, err := s.job(ctx, e, hq, s.origin)
		if err != nil {
			return fmt.Errorf("origin: %w", err)
		}
		switch j.State {
		case "transferred":
			return nil
		case "error":
			return fmt.Errorf("origin: %s", j.Error)
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return fmt.Errorf("origin not seeding (state %s): %w", j.State, err)
		}
	}
}

func (s *smsSystem) config(h *netlab.Host, dir string, extra map[string]any) map[string]any {
	cfg := map[string]any{
		"data_dir":        filepath.Join(dir, "data"),
		"api_listen":      "127.0.0.1:7380",
		"listen_host":     h.Addr.String(),
		"listen_port":     smsPeerPort,
		"repository":      s.repoURL,
		"trusted_keys":    []string{s.pubKey},
		"server_networks": []string{"198.18.0.0/24"},
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

func (s *smsSystem) startClient(ctx context.Context, e *env, run string) error {
	h := e.bg
	dir, err := e.lab.HostDir(h, "smstorrent-"+run)
	if err != nil {
		return err
	}
	s.dataDir = dir
	s.client = filepath.Join(dir, "config.json")
	if err := netlab.WriteJSON(s.client, s.config(h, dir, e.cfg.ServiceConfig)); err != nil {
		return err
	}
	s.proc, err = e.lab.Start(netlab.Cmd{NS: h.NS, Label: h.Name + "-service-" + run, Path: e.bins.service,
		Args: []string{"run", "--config", s.client}})
	if err != nil {
		return err
	}
	return s.waitReady(ctx, e, h, s.client, s.proc)
}

func (s *smsSystem) add(ctx context.Context, e *env) error {
	_, err := s.ctl(ctx, e, e.bg, s.client, "add", smsPackageID, "--json")
	return err
}

// smsStatus is the part of `ctl status --json` the lab reads.
type smsStatus struct {
	Bandwidth struct {
		EffectiveDown int64  `json:"effective_down"`
		Reason        string `json:"reason"`
		Yielding      bool   `json:"yielding"`
		QueueDelayMS  int64  `json:"queue_delay_ms"`
		BaseDelayMS   int64  `json:"base_delay_ms"`
	} `json:"bandwidth"`
	DownRate int64 `json:"down_rate"`
}

func (s *smsSystem) poll(ctx context.Context, e *env) (StatusSample, error) {
	out, err := s.ctl(ctx, e, e.bg, s.client, "status", "--json")
	if err != nil {
		return StatusSample{}, err
	}
	var st smsStatus
	if err := json.Unmarshal(out, &st); err != nil {
		return StatusSample{}, err
	}
	b := st.Bandwidth
	return StatusSample{Reason: b.Reason, Yielding: b.Yielding, QueueDelayMS: b.QueueDelayMS,
		BaseDelayMS: b.BaseDelayMS, EffectiveDown: b.EffectiveDown, DownRate: st.DownRate}, nil
}

func (s *smsSystem) check(ctx context.Context, e *env) string {
	j, err := s.job(ctx, e, e.bg, s.client)
	if err != nil {
		return "job: " + err.Error()
	}
	if j.State == "transferred" {
		return "the package was complete before the end of the run (make it larger)"
	}
	if j.State == "error" {
		return "job error: " + j.Error
	}
	return ""
}

func (s *smsSystem) stopClient(e *env) error {
	var err error
	if s.proc != nil {
		err = s.proc.Stop(5 * time.Second)
		s.proc = nil
	}
	if s.dataDir != "" && !e.cfg.Keep {
		// Logs stay in the lab's logs folder; the downloaded data goes.
		os.RemoveAll(filepath.Join(s.dataDir, "data", "cache"))
	}
	return err
}

func (s *smsSystem) waitReady(ctx context.Context, e *env, h *netlab.Host, cfg string, p *netlab.Proc) error {
	return netlab.Retry(ctx, 60*time.Second, func() error {
		if err := p.Exited(); err != nil {
			return netlab.Permanent(err)
		}
		_, err := s.ctl(ctx, e, h, cfg, "status", "--json")
		return err
	})
}

// ctl runs `smstorrent-service ctl ARGS --config CFG` inside h's namespace.
func (s *smsSystem) ctl(ctx context.Context, e *env, h *netlab.Host, cfg string, args ...string) ([]byte, error) {
	return netlab.Output(ctx, h.NS, 20*time.Second, e.bins.service, append(append([]string{"ctl"}, args...), "--config", cfg)...)
}

type smsJob struct {
	State string `json:"state"`
	Error string `json:"error"`
}

func (s *smsSystem) job(ctx context.Context, e *env, h *netlab.Host, cfg string) (smsJob, error) {
	var j smsJob
	err := netlab.OutputJSON(ctx, h.NS, 20*time.Second, &j, e.bins.service, "ctl", "job", smsPackageID, "--json", "--config", cfg)
	return j, err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// originConfig is the origin's configuration: the lab's extra keys (the
// transport settings must match on both ends), with yield off.
func originConfig(extra map[string]any) map[string]any {
	cfg := map[string]any{}
	for k, v := range extra {
		cfg[k] = v
	}
	cfg["yield"] = false
	return cfg
}
