package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
)

// smstorrentSystem drives SMSTorrent's real executables through their real
// path: smstorrent-tracker keygen, create and publish; smstorrent-tracker
// serve in hq with a site map (one site per branch LAN, hq as origin
// network); an origin smstorrent-service in hq that has the package in its
// cache and is told to seed it (ctl add --assign); a smstorrent-service on
// every client, started with `ctl add <packageID>` (what the wrapper does)
// and polled with `ctl job <packageID> --json`.
type smstorrentSystem struct {
	configs map[string]string // service config file by host name
	// The publisher's key, the tracker's configuration and the repository,
	// for a later version (delta.go).
	keyPrefix, trackerConfig, repoURL string
	createArgs                        []string // more flags for create

	trackerCmd netlab.Cmd
	trackerMu  sync.Mutex
	tracker    *netlab.Proc

	mu       sync.Mutex
	lastPoll map[string]time.Time
	jobs     map[string]smsJob
	// watchers stream each client's events (`ctl watch --json`, one
	// process per client for the whole run instead of a ctl per poll).
	watchers map[string]*jobWatch
}

// smsJob is the part of the service's api.Job the lab reads (decoded from
// ctl's JSON, so the lab depends on the CLI, not on Go types).
type smsJob struct {
	ID               string    `json:"id"`
	State            string    `json:"state"`
	Error            string    `json:"error"`
	BytesTotal       int64     `json:"bytes_total"`
	BytesDone        int64     `json:"bytes_done"`
	Downloaded       int64     `json:"downloaded"`
	Uploaded         int64     `json:"uploaded"`
	DownloadedSite   int64     `json:"downloaded_site"`
	DownloadedServer int64     `json:"downloaded_server"`
	PeersSite        int       `json:"peers_site"`
	PeersServer      int       `json:"peers_server"`
	Path             string    `json:"path"`
	Version          string    `json:"version"`
	Completed        time.Time `json:"completed"`
}

const (
	smsTrackerPort = 6969
	smsPeerPort    = 6881
	smsAdminToken  = "lab-admin-token-0123456789"
)

func (s *smstorrentSystem) setup(ctx context.Context, e *env) error {
	pubKey, err := s.setupTracker(ctx, e)
	if err != nil {
		return err
	}
	if err := s.startServices(ctx, e, pubKey); err != nil {
		return err
	}
	// The origin checks its copy and seeds.
	hq := e.lab.HQ
	if _, err := s.ctl(ctx, e, hq, "add", e.pkg.ID, "--assign", "--json"); err != nil {
		return fmt.Errorf("hq: ctl add: %w", err)
	}
	for {
		j, err := s.job(ctx, e, hq)
		if err != nil {
			return fmt.Errorf("hq origin: %w", err)
		}
		switch j.State {
		case "transferred":
			if j.Downloaded > 0 {
				e.log.Warn("the origin downloaded data instead of using its cache", "bytes", j.Downloaded)
			}
			return s.startWatchers(e)
		case "error":
			return fmt.Errorf("hq origin: %s", j.Error)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hq origin not seeding (state %s, %d/%d bytes): %w", j.State, j.BytesDone, j.BytesTotal, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// setupTracker makes the signing key, the tracker's configuration and the
// signed torrent, starts the tracker in hq and publishes the torrent; it
// returns the public key.
func (s *smstorrentSystem) setupTracker(ctx context.Context, e *env) (string, error) {
	hq := e.lab.HQ
	dir, err := e.lab.HostDir(hq, "smstorrent")
	if err != nil {
		return "", err
	}
	keyPrefix := filepath.Join(dir, "signing")
	if out, err := exec.CommandContext(ctx, e.bins.tracker, "keygen", "--out", keyPrefix).CombinedOutput(); err != nil {
		return "", fmt.Errorf("tracker keygen: %w: %s", err, out)
	}
	pub, err := os.ReadFile(keyPrefix + ".pub")
	if err != nil {
		return "", err
	}
	pubKey := strings.TrimSpace(string(pub))
	repoURL := fmt.Sprintf("http://%s:%d", hq.Addr, smsTrackerPort)
	var sites []map[string]any
	for _, b := range e.lab.Branches {
		sites = append(sites, map[string]any{"name": b.Name, "networks": []string{b.Net.String()}})
	}
	tcfg := map[string]any{
		"listen":         fmt.Sprintf("%s:%d", hq.Addr, smsTrackerPort),
		"data_dir":       filepath.Join(dir, "tracker"),
		"public_url":     repoURL,
		"admin_token":    smsAdminToken,
		"trusted_keys":   []string{pubKey},
		"allow_networks": []string{"198.18.0.0/15"},
		"sites":          sites,
		"origins":        map[string]any{"networks": []string{e.lab.HQNet.String()}},
	}
	tcfgPath := filepath.Join(dir, "tracker.json")
	if err := netlab.WriteJSON(tcfgPath, tcfg); err != nil {
		return "", err
	}
	// The signed torrent of the package folder.
	torrentPath := filepath.Join(dir, e.pkg.ID+".torrent")
	s.keyPrefix, s.trackerConfig, s.repoURL = keyPrefix, tcfgPath, repoURL
	if out, err := exec.CommandContext(ctx, e.bins.tracker, append([]string{"create", "--id", e.pkg.ID, "--source", e.pkg.content(),
		"--key", keyPrefix + ".key", "--config", tcfgPath, "-o", torrentPath}, s.createArgs...)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("tracker create: %w: %s", err, out)
	}
	s.trackerCmd = netlab.Cmd{NS: hq.NS, Label: "hq-tracker", Path: e.bins.tracker,
		Args: []string{"serve", "--config", tcfgPath}}
	tracker, err := e.lab.Start(s.trackerCmd)
	if err != nil {
		return "", err
	}
	s.tracker = tracker
	if err := netlab.Retry(ctx, 30*time.Second, func() error {
		if err := tracker.Exited(); err != nil {
			return netlab.Permanent(err)
		}
		_, err := e.lab.Run(ctx, netlab.Cmd{NS: hq.NS, Label: "hq-publish", Path: e.bins.tracker,
			Args: []string{"publish", torrentPath, "--repository", repoURL, "--token", smsAdminToken}})
		return err
	}); err != nil {
		return "", fmt.Errorf("publishing: %w", err)
	}
	return pubKey, nil
}

// startServices writes every service's configuration, starts the origin in
// hq (with the package in its cache) and a service on every client, and
// waits until each answers.
func (s *smstorrentSystem) startServices(ctx context.Context, e *env, pubKey string) error {
	hq := e.lab.HQ
	s.configs = map[string]string{}
	s.lastPoll = map[string]time.Time{}
	s.jobs = map[string]smsJob{}
	hosts := append([]*netlab.Host{hq}, e.lab.Clients()...)
	procs := map[string]*netlab.Proc{}
	for _, h := range hosts {
		hdir, err := e.lab.HostDir(h, "smstorrent")
		if err != nil {
			return err
		}
		cfg := map[string]any{
			"data_dir":        filepath.Join(hdir, "data"),
			"api_listen":      "127.0.0.1:7380",
			"listen_host":     h.Addr.String(),
			"listen_port":     smsPeerPort,
			"repository":      s.repoURL,
			"trusted_keys":    []string{pubKey},
			"server_networks": []string{e.lab.HQNet.String()},
		}
		for k, v := range e.cfg.ServiceConfig {
			cfg[k] = v
		}
		if h == hq {
			// The origin has the package in its cache before it starts.
			cache := filepath.Join(hdir, "data", "cache", e.pkg.ID)
			if err := netlab.CopyTree(e.pkg.content(), cache, false); err != nil {
				return err
			}
		}
		cfgPath := filepath.Join(hdir, "config.json")
		if err := netlab.WriteJSON(cfgPath, cfg); err != nil {
			return err
		}
		s.configs[h.Name] = cfgPath
		p, err := e.lab.Start(netlab.Cmd{NS: h.NS, Label: h.Name + "-service", Path: e.bins.service,
			Args: []string{"run", "--config", cfgPath}})
		if err != nil {
			return err
		}
		procs[h.Name] = p
	}
	for _, h := range hosts {
		if err := netlab.Retry(ctx, 60*time.Second, func() error {
			if err := procs[h.Name].Exited(); err != nil {
				return netlab.Permanent(err)
			}
			_, err := s.ctl(ctx, e, h, "status", "--json")
			return err
		}); err != nil {
			return fmt.Errorf("%s: service not ready: %w", h.Name, err)
		}
	}
	return nil
}

// restartTracker stops the tracker (SIGTERM) and starts it again with the
// same configuration: its repository survives on disk, its peers do not.
func (s *smstorrentSystem) restartTracker(ctx context.Context, e *env) error {
	s.trackerMu.Lock()
	defer s.trackerMu.Unlock()
	if err := s.tracker.Stop(5 * time.Second); err != nil {
		return err
	}
	p, err := e.lab.Start(s.trackerCmd)
	if err != nil {
		return err
	}
	s.tracker = p
	return nil
}

func (s *smstorrentSystem) start(ctx context.Context, e *env) error {
	clients := e.lab.Clients()
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, h := range clients {
		args := []string{"add", e.pkg.ID, "--json"}
		if e.cfg.Priority != "" {
			args = append(args, "--priority", e.cfg.Priority)
		}
		wg.Go(func() {
			if _, err := s.ctl(ctx, e, h, args...); err != nil {
				errs[i] = fmt.Errorf("%s: ctl add: %w", h.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// done reads each client's job from its watcher's event stream; if the
// watcher has gone, it polls with `ctl job` at most once a second (each poll
// is a ctl process). The completion time is the job's own "completed" stamp.
func (s *smstorrentSystem) done(ctx context.Context, e *env, h *netlab.Host) (time.Time, bool, error) {
	s.mu.Lock()
	last, w := s.lastPoll[h.Name], s.watchers[h.Name]
	s.mu.Unlock()
	j, ok := w.job()
	if !ok {
		if time.Since(last) < time.Second {
			return time.Time{}, false, nil
		}
		s.mu.Lock()
		s.lastPoll[h.Name] = time.Now()
		s.mu.Unlock()
		var err error
		if j, err = s.job(ctx, e, h); err != nil {
			return time.Time{}, false, err
		}
	}
	s.mu.Lock()
	s.jobs[h.Name] = j
	s.mu.Unlock()
	switch j.State {
	case "error":
		return time.Time{}, false, fmt.Errorf("job error: %s", j.Error)
	case "transferred":
		at := j.Completed
		if at.IsZero() {
			at = time.Now()
		}
		return at, true, nil
	}
	return time.Time{}, false, nil
}

func (s *smstorrentSystem) file(e *env, h *netlab.Host) string {
	s.mu.Lock()
	j := s.jobs[h.Name]
	s.mu.Unlock()
	if j.Path != "" {
		return filepath.Join(j.Path, e.pkg.inContent())
	}
	return filepath.Join(filepath.Dir(s.configs[h.Name]), "data", "cache", e.pkg.ID, e.pkg.inContent())
}

// peers reports, per client, the payload bytes the service says came from
// peers of its site and from servers (the origin).
func (s *smstorrentSystem) peers(ctx context.Context, e *env) map[string]map[string]int64 {
	r := map[string]map[string]int64{}
	for _, h := range e.lab.Clients() {
		j, err := s.job(ctx, e, h)
		if err != nil {
			continue
		}
		r[h.Name] = map[string]int64{"site": j.DownloadedSite, "server": j.DownloadedServer, "uploaded": j.Uploaded}
	}
	return r
}

func (s *smstorrentSystem) close() {}

// startWatchers starts `ctl watch --json` on every client, as lab helpers.
func (s *smstorrentSystem) startWatchers(e *env) error {
	s.watchers = map[string]*jobWatch{}
	if e.cfg.PollCtl {
		return nil
	}
	for _, h := range e.lab.Clients() {
		w := &jobWatch{id: e.pkg.ID}
		p, err := e.lab.Start(netlab.Cmd{NS: h.NS, Label: h.Name + "-watch", Path: e.bins.service, Helper: true,
			Args: []string{"ctl", "watch", "--json", "--config", s.configs[h.Name]}, Stdout: w})
		if err != nil {
			return err
		}
		w.proc = p
		s.watchers[h.Name] = w
	}
	return nil
}

// jobWatch keeps the latest state of one job from a `ctl watch --json`
// stream (one JSON event per line).
type jobWatch struct {
	id   string
	proc *netlab.Proc

	mu      sync.Mutex
	partial []byte
	latest  smsJob
	seen    bool
	// first is the time of the first event with payload done.
	first time.Time
	// status is the latest status event.
	status *watchStatus
}

// watchEvent is the part of the service's api.Event the lab reads.
type watchEvent struct {
	Type   string       `json:"type"`
	Time   time.Time    `json:"time"`
	Status *watchStatus `json:"status"`
	Job    *smsJob      `json:"job"`
	Jobs   []smsJob     `json:"jobs"`
}

// watchStatus is the part of the service's api.Status the lab reads: the
// last announce, for a client that gets nowhere.
type watchStatus struct {
	Tracker struct {
		URL       string `json:"url"`
		Reachable bool   `json:"reachable"`
		Error     string `json:"error"`
	} `json:"tracker"`
}

// Write takes the watcher's standard output.
func (w *jobWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.take(w.partial[:i])
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > 1<<20 {
		w.partial = nil // not a line of ours; drop it rather than grow
	}
	return len(b), nil
}

func (w *jobWatch) take(line []byte) {
	var ev watchEvent
	if json.Unmarshal(line, &ev) != nil {
		return
	}
	if ev.Status != nil {
		w.status = ev.Status
	}
	jobs := ev.Jobs
	if ev.Job != nil {
		jobs = append(jobs, *ev.Job)
	}
	for _, j := range jobs {
		if j.ID == w.id {
			w.latest, w.seen = j, true
			if j.BytesDone > 0 && w.first.IsZero() {
				w.first = ev.Time
			}
		}
	}
}

// diagnose describes a client that is not done: its job and its last
// announce, as its watcher last saw them.
func (s *smstorrentSystem) diagnose(h *netlab.Host) string {
	s.mu.Lock()
	w := s.watchers[h.Name]
	s.mu.Unlock()
	if w == nil {
		return ""
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	j := w.latest
	d := fmt.Sprintf("%s: %s, %d of %d bytes, peers %d site / %d server", h.Name, j.State, j.BytesDone, j.BytesTotal, j.PeersSite, j.PeersServer)
	if st := w.status; st != nil {
		d += fmt.Sprintf(", tracker %s reachable %v", st.Tracker.URL, st.Tracker.Reachable)
		if st.Tracker.Error != "" {
			d += " (" + st.Tracker.Error + ")"
		}
	}
	return d
}

// firstBytes reports, per client, when its watcher first saw payload done
// (the service's event time; events come about once a second, so this is
// up to a second late), in seconds since t0.
func (s *smstorrentSystem) firstBytes(t0 time.Time) map[string]float64 {
	r := map[string]float64{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, w := range s.watchers {
		w.mu.Lock()
		if !w.first.IsZero() {
			r[name] = round(w.first.Sub(t0).Seconds(), 2)
		}
		w.mu.Unlock()
	}
	return r
}

// job returns the latest state seen, and false if the watcher knows none or
// has exited (then the caller polls instead).
func (w *jobWatch) job() (smsJob, bool) {
	if w == nil || w.proc == nil || !w.proc.Running() {
		return smsJob{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest, w.seen
}

// ctl runs `smstorrent-service ctl ARGS --config CFG` inside h's namespace.
func (s *smstorrentSystem) ctl(ctx context.Context, e *env, h *netlab.Host, args ...string) ([]byte, error) {
	return netlab.Output(ctx, h.NS, 20*time.Second, e.bins.service, append(append([]string{"ctl"}, args...), "--config", s.configs[h.Name])...)
}

func (s *smstorrentSystem) job(ctx context.Context, e *env, h *netlab.Host) (smsJob, error) {
	var j smsJob
	err := netlab.OutputJSON(ctx, h.NS, 20*time.Second, &j, e.bins.service, "ctl", "job", e.pkg.ID, "--json", "--config", s.configs[h.Name])
	return j, err
}
