// Package core is the service's engine room: it owns the anacrolix/torrent
// client, the BITS-like job queue and its persistence, the cache and seeding
// policy, and the bandwidth limits. The local API (service/localapi) and the
// service executable drive it through its exported methods.
//
// Its parts, one file each (see Service): the job table (jobs.go), the job
// store (store.go), the bandwidth policy (bandwidth.go, yieldloop.go,
// yield.go), the peer transports (transports.go, tcp.go, utp.go), the
// repository fetch (fetch.go) and the event hub (events.go). Errors carry a
// contract code (errors.go); HTTP statuses are the local API's business.
//
// It imports the local API's contract (service/api), the configuration and
// internal packages; never net/http handlers of its own, the local API's
// server, the desktop programs, the wrapper or the tracker.
package core

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/storage"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
)

// Options configures a Service.
type Options struct {
	Config  config.Config
	Logger  *slog.Logger
	Version string
	// Recent supplies the recent warnings shown in the status; may be nil.
	Recent *RecentLog
	// HTTPClient fetches torrents from the repository; nil: a default with timeouts.
	HTTPClient *http.Client
	// Now is the clock; nil: time.Now. Tests move it to age packages.
	Now func() time.Time
	// TickInterval is how often progress is sampled and events are sent; 0: 1s.
	TickInterval time.Duration
	// RequestTimeout is how long a peer may leave our requests unanswered
	// before its connection is closed (see requests.go); 0: 30s.
	RequestTimeout time.Duration
}

// Service is one running SMSTorrent service. It wires the parts together,
// each with its own state and lock:
//
//   - the job table (this type, jobs.go, policy.go, snapshot.go): jobs, their
//     states and the scheduler, under mu, the job lock;
//   - the job store (store.go): jobs.json, written outside the job lock;
//   - the bandwidth policy (bandwidth.go, yieldloop.go, yield.go): limits,
//     schedule, helpdesk throttle and the yield controller;
//   - the peer transports (transports.go, tcp.go, utp.go) and the path
//     classifier that tells site peers from servers;
//   - the repository (fetch.go): torrents fetched by package ID;
//   - the event hub (events.go): the API's subscribers;
//   - the engine's piece-completion store (completion.go) and counters
//     (peers.go);
//   - the explanations (explain.go): sources, peers, the gateway and the
//     limiting reason of each job, from per-job samples under the job lock
//     and the peers' role messages (roles.go) under the roleBook's lock;
//   - the request watch (requests.go): requests to peers, their number and
//     their answers, under its own lock.
//
// Lock order: the job lock may be held while calling the other parts; they
// never call back into the job table.
type Service struct {
	cfg     config.Config
	log     *slog.Logger
	version string
	started time.Time
	keys    []pkgsign.PublicKey
	recent  *RecentLog
	now     func() time.Time
	tick    time.Duration
	// lastCollect is when collect last read the engine's counters: steps
	// also run between ticks (poke), so rates use the real interval.
	lastCollect time.Time

	cl        *torrent.Client
	net       *transports
	pc        *completion
	unclean   bool // the last run did not shut down cleanly
	stor      storage.ClientImplCloser
	bw        *bandwidthPolicy
	paths     *pathClassifier
	trackers  *trackerHealth
	peers     *peerCounters
	roles     *roleBook     // what peers say they are, what we told them (roles.go)
	reqs      *requestWatch // requests to peers: their number and their answers (requests.go)
	engineLog *slog.Logger  // the engine's log: warnings and errors only
	repo      *repository
	reports   *reporter // savings reports to the repository (report.go); nil without one
	events    *eventHub
	store     *jobStore
	folders   folders // where each torrent's files live

	mu       sync.Mutex // the job lock
	jobs     map[string]*job
	dirty    bool
	lastSave time.Time
	downRate float64
	upRate   float64
	closed   bool
	wake     chan struct{}
	bans     bans // peers the engine banned (bans.go)
}

// job is the in-memory state of one job.
type job struct {
	rec *record
	t   *torrent.Torrent // nil until the torrent is known and added
	pkg *pkgsign.Package
	// announce are the trackers in use (packageTrackers).
	announce [][]string
	kick     kickState // the service's own announces (announce.go)

	fetching  bool
	preparing bool  // delta.go copies cached pieces; the engine has no torrent yet
	reused    int64 // bytes the current version took from cached versions
	fetchErr  string
	nextRetry time.Time
	retries   int
	writeErr  string
	// released is the torrent whose write handles were released since it
	// last became complete (filestorage.go); nil: none.
	released *torrent.Torrent

	state    api.State
	queued   bool
	active   int // connected peers with data interest, last tick
	peersS   int
	peersO   int
	downRate float64
	upRate   float64
	lastRead int64 // engine session counters at the last tick
	lastWrit int64
	lastSrc  sourceBytes                   // the engine session's bytes by source at the last tick
	conns    map[*torrent.Peer]*connSample // per-connection samples (explain.go)
	// view is what the explanations (explain.go) saw at the last tick.
	view jobView
}

// New opens the engine and the job database and re-adds the saved jobs.
func New(opts Options) (*Service, error) {
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{
		cfg:      cfg,
		log:      opts.Logger,
		version:  opts.Version,
		recent:   opts.Recent,
		now:      opts.Now,
		tick:     opts.TickInterval,
		jobs:     map[string]*job{},
		wake:     make(chan struct{}, 1),
		trackers: newTrackerHealth(cfg.ListenHost),
		peers:    newPeerCounters(),
		roles:    newRoleBook(),
		events:   newEventHub(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.reqs = newRequestWatch(opts.RequestTimeout, s.log)
	if s.now == nil {
		s.now = time.Now
	}
	if s.tick <= 0 {
		s.tick = time.Second
	}
	s.started = s.now()
	var err error
	if s.keys, err = cfg.Keys(); err != nil {
		return nil, err
	}
	servers, err := cfg.Servers()
	if err != nil {
		return nil, err
	}
	siteNets, err := cfg.SiteNets()
	if err != nil {
		return nil, err
	}
	s.paths = &pathClassifier{listenHost: cfg.ListenHost, servers: servers, trackers: s.trackers, siteNets: siteNets, siteName: cfg.Site}
	s.repo = newRepository(cfg.Repository, opts.HTTPClient, s.keys, s.now)
	if len(s.keys) == 0 {
		s.log.Warn("no trusted_keys configured: every torrent will be refused until a publisher key is added")
	}
	for _, d := range []string{cfg.DataDir, cfg.CacheDir, filepath.Join(cfg.DataDir, "state"), filepath.Join(cfg.DataDir, "torrents")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
	}
	s.store = &jobStore{path: filepath.Join(cfg.DataDir, "state", "jobs.json")}
	s.bw = newBandwidthPolicy(cfg, s.now, s.log)
	marker := filepath.Join(cfg.DataDir, "state", "running")
	if _, err := os.Stat(marker); err == nil {
		s.unclean = true
		s.log.Warn("the service did not shut down cleanly last time; re-verifying cached packages against the disk")
	}
	if err := s.openEngine(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(marker, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
		s.cl.Close()
		s.pc.Close()
		return nil, fmt.Errorf("writing %s: %w", marker, err)
	}
	if cfg.Repository != "" {
		s.reports = newReporter(s.repo.client, s.cl.PeerID(), s.log.With("part", "report"), s.now)
	}
	s.loadJobs()
	s.bw.tick()
	s.log.Info("service started", "version", s.version, "jobs", len(s.jobs), "cache", cfg.CacheDir,
		"port", s.cl.LocalPort())
	return s, nil
}

// loadJobs re-adds the saved jobs and, after an unclean shutdown,
// re-verifies their content against the disk. Called from New.
func (s *Service) loadJobs() {
	recs, err := s.store.load()
	if err != nil {
		s.log.Error("loading jobs", "err", err)
	}
	for _, r := range recs {
		if pkgsign.ValidID(r.ID) != nil {
			s.log.Warn("dropping a saved job with an invalid package ID", "job", r.ID)
			continue
		}
		j := &job{rec: r}
		s.jobs[r.ID] = j
		if r.InfoHash != "" && r.Fatal == "" {
			if err := s.loadTorrent(j); err != nil {
				s.log.Warn("re-adding saved job", "job", r.ID, "err", err)
			}
		}
		s.loadOldLocked(j)
	}
	if s.unclean {
		for _, j := range s.jobs {
			if t := j.t; t != nil {
				go func() {
					if err := t.VerifyDataContext(context.Background()); err != nil {
						s.log.Warn("re-verifying after unclean shutdown", "job", j.rec.ID, "err", err)
					}
				}()
			}
		}
	}
}

func (s *Service) openEngine() error {
	cfg := s.cfg
	pc, err := openCompletion(filepath.Join(cfg.DataDir, "state"))
	if err != nil {
		return err
	}
	s.pc = pc
	s.stor = fileStorage(storage.NewFileClientOpts{
		ClientBaseDir:   cfg.CacheDir,
		PieceCompletion: pc,
		UsePartFiles:    g.Some(false),
		TorrentDirMaker: s.folders.torrentDir,
		FilePathMaker:   storagePath,
		Logger:          s.log.With("part", "storage"),
	})
	cc, useTCP, useUTP := s.engineConfig()
	cl, err := torrent.NewClient(cc)
	if err != nil {
		pc.Close()
		return fmt.Errorf("starting the BitTorrent engine on port %d: %w", cfg.ListenPort, err)
	}
	network := "udp"
	if cc.DisableIPv6 {
		network = "udp4"
	} else if cc.DisableIPv4 {
		network = "udp6"
	}
	o := transportOptions{
		host: cfg.ListenHost, port: cfg.ListenPort, tcp: useTCP, utp: useUTP, network: network,
		utpTarget: cfg.UTPTarget.D(), paths: s.paths, wrap: s.wrapPeerConn, downLimited: s.bw.downLimited,
	}
	if traceYield {
		o.trace = s.log.Info
	}
	if s.net, err = openTransports(cl, o); err != nil {
		cl.Close()
		pc.Close()
		return err
	}
	s.reqs.outage = s.net.policy.setOutage
	s.cl = cl
	return nil
}

// engineConfig is the engine's configuration: our storage, our sockets,
// our limits and callbacks, and nothing that reaches outside the site's
// swarm (no DHT, PEX, LSD, web torrent or port mapping).
func (s *Service) engineConfig() (cc *torrent.ClientConfig, useTCP, useUTP bool) {
	cfg := s.cfg
	cc = torrent.NewDefaultClientConfig()
	cc.DataDir = cfg.CacheDir
	cc.DefaultStorage = s.stor
	cc.Seed = true
	cc.NoDHT = true
	cc.DisablePEX = true
	cc.LocalServiceDiscovery = nil
	cc.DisableWebtorrent = true
	cc.NoDefaultPortForwarding = true
	// The plain BitTorrent handshake first: the engine's default, header
	// obfuscation (MSE: a Diffie-Hellman exchange and RC4), hides traffic
	// from ISPs that throttle BitTorrent, which a private swarm inside a
	// company does not cross, protects nothing (no peer is authenticated),
	// and costs two round trips before the first byte on every connection
	// (80 ms across a 40 ms WAN). Peers that obfuscate are still accepted.
	cc.HeaderObfuscationPolicy = torrent.HeaderObfuscationPolicy{Preferred: false, RequirePreferred: false}
	// What peers see as our client (ctl job shows theirs).
	cc.ExtendedHandshakeClientVersion = strings.TrimSpace("SMSTorrent " + s.version)
	cc.ListenPort = cfg.ListenPort
	host := cfg.ListenHost
	cc.ListenHost = func(string) string { return host }
	if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
		// Bound to one address: listen on its family only.
		cc.DisableIPv6 = a.Is4()
		cc.DisableIPv4 = a.Is6()
	}
	// Both peer sockets are ours (see utp.go and tcp.go): the engine's
	// built-in ones stay off.
	cc.DisableTCP, cc.DisableUTP = true, true
	for _, t := range cfg.Transports {
		switch t {
		case "tcp":
			useTCP = true
		case "utp":
			useUTP = true
		}
	}
	// Downloads are limited in our sockets (bandwidth.go): the engine's
	// own download limiter stays off.
	cc.DownloadRateLimiter = nil
	cc.UploadRateLimiter = s.bw.up
	// The engine logs every failed piece hash at INFO; keep warnings only.
	s.engineLog = slog.New(minLevel{s.log.Handler(), slog.LevelWarn}).With("part", "engine")
	cc.Slogger = s.engineLog
	cc.TrackerDialContext = s.trackers.dial
	cc.FailedAnnounceMinInterval, cc.FailedAnnounceMaxInterval = announceBackoff(cfg.RetryMin.D(), cfg.RetryMax.D())
	s.reqs.isWAN = s.paths.crossesWAN
	s.reqs.install(&cc.Callbacks)
	s.roles.install(&cc.Callbacks)
	cc.Callbacks.ReceivedUsefulData = append(cc.Callbacks.ReceivedUsefulData, func(ev torrent.ReceivedUsefulDataEvent) {
		s.peers.received(ev, s.kindOf)
	})
	return cc, useTCP, useUTP
}

// Close stops the engine and saves the jobs.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.collect(s.now())
	s.saveNow()
	s.mu.Unlock()
	err := s.store.flush()
	s.events.close()
	s.cl.Close()
	s.net.Close()
	// Sync the piece database before the storage closes it (the file
	// storage closes its piece completion).
	if s.pc != nil {
		if serr := s.pc.sync(); serr != nil && err == nil {
			err = serr
		}
	}
	if s.stor != nil {
		s.stor.Close()
	}
	if s.pc != nil {
		s.pc.Close()
	}
	if err == nil {
		_ = os.Remove(filepath.Join(s.cfg.DataDir, "state", "running"))
	} else {
		s.log.Error("shutting down: the next start re-verifies the cache", "err", err)
	}
	return err
}

// Serve runs the service's periodic work until ctx is done, then closes it.
// It returns nil after a clean shutdown, or the error of the shutdown (the
// job database could not be saved: the next start re-verifies the cache).
func (s *Service) Serve(ctx context.Context) error {
	t := time.NewTicker(s.tick)
	defer t.Stop()
	repoT := time.NewTimer(s.pollDelay())
	defer repoT.Stop()
	go s.pollRepository(ctx)
	go s.reqs.run(ctx)
	go s.reports.run(ctx)
	go s.reqs.silenceLoop(ctx)
	if traceRequests {
		go s.reqs.traceLoop(ctx)
	}
	if s.bw.yielding() {
		go s.bw.runYield(ctx, s.cfg.ProbeAddr())
	}
	s.step()
	for {
		select {
		case <-ctx.Done():
			return s.Close()
		case <-t.C:
			s.step()
		case <-s.wake:
			s.step()
		case <-repoT.C:
			go s.pollRepository(ctx)
			repoT.Reset(s.pollDelay())
		}
	}
}

// poke asks Serve's loop to run a step soon.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ListenPort is the BitTorrent port in use.
func (s *Service) ListenPort() int { return s.cl.LocalPort() }

// Config returns the configuration in force.
func (s *Service) Config() config.Config { return s.cfg }

// step samples progress, schedules jobs, applies the seeding policy,
// retries transient errors, saves and publishes events.
func (s *Service) step() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	now := s.now()
	completed := s.collect(now)
	s.schedule()
	s.kickAnnounces(now)
	s.retention(now)
	s.bw.tick()
	var fetch []string
	for id, j := range s.jobs {
		if j.rec.InfoHash == "" && j.rec.Fatal == "" && !j.rec.Suspended && !j.fetching && !now.Before(j.nextRetry) {
			j.fetching = true
			fetch = append(fetch, id)
		}
	}
	periodic := s.dirty && now.Sub(s.lastSave) > 5*time.Second
	if periodic {
		s.saveNow()
	}
	jobs := s.jobListLocked(false)
	events := append(s.checkBans(now), s.events.diff(now, jobs, s.statusLocked(""))...)
	s.mu.Unlock()
	up, limited := s.bw.uploadPolicy()
	s.reports.consider(now, jobs, up, limited)
	s.flush()
	if completed {
		// A job shows as transferred once its completion is written
		// (counters.go), which flush just did: the next step says so.
		s.poke()
	}
	if periodic {
		if err := s.pc.sync(); err != nil {
			s.log.Error("syncing piece database", "err", err)
		}
	}
	s.events.broadcast(events)
	for _, id := range fetch {
		go s.backgroundFetch(id)
	}
}

// collect reads progress and rates from the engine at now, and reports
// whether a job was stamped transferred. Called with s.mu held.
func (s *Service) collect(now time.Time) (completed bool) {
	dt, a := s.collectInterval(now)
	var totDown, totUp float64
	upLimited, upLimit := s.bw.upLimited()
	live := map[*torrent.PeerConn]bool{}
	defer s.roles.prune(live)
	for _, j := range s.jobs {
		if j.t == nil {
			j.downRate, j.upRate, j.active, j.peersS, j.peersO = 0, 0, 0, 0, 0
			j.view, j.conns = jobView{}, nil
			continue
		}
		st := j.t.Stats()
		read := st.BytesReadUsefulData.Int64()
		writ := st.BytesWrittenData.Int64()
		dr, dw := read-j.lastRead, writ-j.lastWrit
		if dr < 0 {
			dr = 0
		}
		if dw < 0 {
			dw = 0
		}
		j.lastRead, j.lastWrit = read, writ
		j.rec.Downloaded += dr
		j.rec.Uploaded += dw
		s.addSources(j)
		if dr > 0 || dw > 0 {
			s.dirty = true
		}
		// Exponentially weighted rates over a few seconds.
		j.downRate = a*float64(dr)/dt + (1-a)*j.downRate
		j.upRate = a*float64(dw)/dt + (1-a)*j.upRate
		if j.downRate < 1 {
			j.downRate = 0
		}
		if j.upRate < 1 {
			j.upRate = 0
		}
		totDown += j.downRate
		totUp += j.upRate
		j.peersS, j.peersO = 0, 0
		for _, pc := range j.t.PeerConns() {
			if s.paths.isServer(pc.RemoteAddr) {
				j.peersO++
			} else {
				j.peersS++
			}
		}
		for range j.t.WebseedPeerConns() {
			j.peersO++
		}
		j.active = st.ActivePeers
		s.observe(j, dt, a, upLimited, upLimit, live)
		if j.rec.Completed.IsZero() && j.t.Info() != nil && j.t.Complete().Bool() {
			j.rec.Completed = now
			completed = true
			s.dirty = true
			s.lastSave = timeZero // save at once: the API shows counters as saved
			s.log.Info("package transferred", "job", j.rec.ID, "bytes", j.rec.Size,
				"from_site", j.rec.DownloadedSite, "from_origin", j.rec.DownloadedOrigin,
				"from_other_sites", j.rec.DownloadedOther, "reused", j.reused)
		}
		s.releaseWriters(j)
		s.checkSource(j)
	}
	s.downRate, s.upRate = totDown, totUp
	return completed
}

// rateHalfLife is the half-life of the exponentially weighted rates.
const rateHalfLife = time.Second

// collectInterval returns the seconds since the last collect (the tick
// before the first, or when the clock did not move) and the weight of this
// interval in the rates: half for a full second, less for a step between
// ticks. Called with s.mu.
func (s *Service) collectInterval(now time.Time) (dt, a float64) {
	d := now.Sub(s.lastCollect)
	if s.lastCollect.IsZero() || d <= 0 {
		d = s.tick
	}
	s.lastCollect = now
	return d.Seconds(), 1 - math.Exp2(-d.Seconds()/rateHalfLife.Seconds())
}

// schedule decides which incomplete jobs may download: all jobs of the
// highest priority that has runnable jobs; lower priorities only while no
// higher job is moving data (so a stalled high job does not block the rest).
// Called with s.mu.
func (s *Service) schedule() {
	var runnable []*job
	for _, j := range s.jobs {
		scheduleOld(j)
		j.queued = false
		if j.t == nil || j.rec.Fatal != "" || j.writeErr != "" {
			continue
		}
		if j.rec.Suspended {
			j.t.DisallowDataDownload()
			j.t.DisallowDataUpload()
			continue
		}
		j.t.AllowDataUpload()
		if j.t.Info() != nil && j.t.Complete().Bool() {
			continue
		}
		if j.rec.Source != "" {
			j.t.DisallowDataDownload() // never write into a source folder
			continue
		}
		runnable = append(runnable, j)
	}
	sort.Slice(runnable, func(a, b int) bool {
		return runnable[a].rec.Priority.Rank() > runnable[b].rec.Priority.Rank()
	})
	blocked := false
	for i := 0; i < len(runnable); {
		k := i
		rank := runnable[i].rec.Priority.Rank()
		moving := false
		for ; k < len(runnable) && runnable[k].rec.Priority.Rank() == rank; k++ {
			j := runnable[k]
			if blocked {
				j.queued = true
				j.t.DisallowDataDownload()
				continue
			}
			j.t.AllowDataDownload()
			if j.downRate > 0 {
				moving = true
			}
		}
		if moving {
			blocked = true
		}
		i = k
	}
	for _, j := range s.jobs {
		j.state = s.stateOf(j)
	}
	s.bw.setActivity(s.foregroundMoving(), s.backgroundWork())
}

// backgroundWork reports whether a background job is still to be
// transferred. Called with s.mu.
func (s *Service) backgroundWork() bool {
	for _, j := range s.jobs {
		if !j.rec.Priority.Background() || j.t == nil || j.rec.Suspended || j.rec.Fatal != "" {
			continue
		}
		if j.t.Info() == nil || !j.t.Complete().Bool() {
			return true
		}
	}
	return false
}

// foregroundMoving reports whether a foreground job is transferring; then
// background jobs are queued by the scheduler anyway and nothing is held
// back. Called with s.mu.
func (s *Service) foregroundMoving() bool {
	for _, j := range s.jobs {
		if j.rec.Priority.Background() || j.t == nil {
			continue
		}
		if j.state == api.StateTransferring || j.downRate > 0 {
			return true
		}
	}
	return false
}

func (s *Service) stateOf(j *job) api.State {
	switch {
	case j.rec.Fatal != "" || j.writeErr != "":
		return api.StateError
	case j.rec.Suspended:
		return api.StateSuspended
	case j.t == nil && j.fetchErr != "":
		return api.StateTransientError
	case j.t == nil:
		return api.StateConnecting
	case j.t.Info() != nil && j.t.Complete().Bool() && s.store.completionWritten(j.rec.ID):
		s.releaseWriters(j) // before anyone sees it transferred and runs its files
		return api.StateTransferred
	case j.queued:
		return api.StateQueued
	case j.downRate > 0 || j.active > 0:
		return api.StateTransferring
	}
	if msg := s.trackers.problem(j.announce); msg != "" {
		return api.StateTransientError
	}
	return api.StateConnecting
}

// saveNow stages the job records for jobs.json. Called with s.mu; the
// write happens in flush, after the job lock is released (every caller
// flushes before it returns), so state changes are on disk before the API
// answers.
func (s *Service) saveNow() {
	recs := make([]record, 0, len(s.jobs))
	for _, j := range s.jobs {
		recs = append(recs, j.rec.clone())
	}
	sort.Slice(recs, func(a, b int) bool { return recs[a].ID < recs[b].ID })
	s.store.stage(recs)
	s.dirty = false
	s.lastSave = s.now()
}

// flush writes staged job records. Called without s.mu.
func (s *Service) flush() {
	if err := s.store.flush(); err != nil {
		s.log.Error("saving jobs", "err", err)
	}
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}
func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.min} }

// loopbackAddr reports whether host:port is on this machine: there is no
// shared link to give way on, and a busy CPU would read as queueing delay.
func loopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// wrapPeerConn puts peer connections under the download limit and those
// that cross the WAN under the WAN (yield) limiters.
func (s *Service) wrapPeerConn(c net.Conn) net.Conn {
	wan := s.paths.crossesWAN(c.RemoteAddr())
	if traceYield {
		s.log.Info("peer connection", "remote", c.RemoteAddr(), "wan", wan)
	}
	return s.bw.wrapPeer(c, wan)
}
