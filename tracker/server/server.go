package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/tracker/addrlimit"
	"github.com/smstorrent/smstorrent/tracker/announce"
	"github.com/smstorrent/smstorrent/tracker/config"
	"github.com/smstorrent/smstorrent/tracker/metrics"
	"github.com/smstorrent/smstorrent/tracker/repo"
	"github.com/smstorrent/smstorrent/tracker/savings"
	"github.com/smstorrent/smstorrent/tracker/store"
	"github.com/smstorrent/smstorrent/tracker/swarm"
)

// DatabaseFile is the name of the database inside data_dir.
const DatabaseFile = "tracker.db"

// Server is a running smstorrent-tracker: tracker and repository.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	Store    *store.Store
	Registry *swarm.Registry
	Tracker  *Tracker
	Repo     *repo.Handler
	// Savings holds the services' savings reports.
	Savings *savings.Book
	reports *reportDesk
	// Metrics is the Prometheus registry, served on metrics_listen.
	Metrics *metrics.Metrics

	mu        sync.Mutex
	httpLn    net.Listener
	repoLn    net.Listener // nil: the repository shares httpLn
	metricLn  net.Listener // nil: no metrics listener
	announceH *announce.Handler
	udpConns  []net.PacketConn // nil: no UDP tracker
	listened  bool
	saved     int64
}

// New opens the database and prepares a server for a validated
// configuration. Close it with Serve's return or Close.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	nm, err := config.NewNetMap(cfg)
	if err != nil {
		return nil, err
	}
	token, err := cfg.Token()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data_dir: %w", err)
	}
	st, err := store.Open(filepath.Join(cfg.DataDir, DatabaseFile))
	if err != nil {
		return nil, err
	}
	reg := swarm.NewRegistry(swarm.Options{
		MaxPeers: cfg.MaxPeers, OriginPeers: cfg.OriginPeers,
		TTL: time.Duration(cfg.PeerTTL), Policy: nm, MaxSwarmPeers: cfg.MaxSwarmPeers,
		MaxPeersPerAddr: cfg.MaxPeersPerAddress, Gateways: cfg.Gateways(),
		Interval: time.Duration(cfg.AnnounceInterval), MinInterval: time.Duration(cfg.MinInterval),
	})
	recs, err := st.LoadCounters()
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	reg.Restore(recs)
	tr := NewTracker(cfg, nm, reg)
	hs, err := st.Hashes()
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	for _, h := range hs {
		tr.Publish(h)
	}
	book := savings.New(0)
	reports, err := st.LoadReports()
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	book.Restore(reports)
	s := &Server{cfg: cfg, log: log, Store: st, Registry: reg, Tracker: tr, Savings: book, saved: reg.Changes()}
	s.reports = &reportDesk{reg: reg, book: book, now: time.Now,
		limiter: addrlimit.New(ReportRate, ReportBurst, 0, nil)}
	s.Metrics = newMetrics(s)
	s.reports.observe = s.Metrics.Report
	s.Repo = &repo.Handler{
		Catalogue: st, Stats: reg, TrustedKeys: cfg.Keys(), AdminToken: token,
		Sites: nm.SiteNames(), AnnounceURL: AnnounceURL(cfg), Logger: log,
		OnPublish: tr.Publish, Reports: s.reports,
	}
	return s, nil
}

// AnnounceURL is the announce URL clients use: public_url, or one made
// from listen, plus /announce.
func AnnounceURL(cfg *config.Config) string {
	base := strings.TrimRight(cfg.PublicURL, "/")
	if base == "" {
		host, port, _ := net.SplitHostPort(cfg.Listen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			if h, err := os.Hostname(); err == nil {
				host = h
			} else {
				host = "localhost"
			}
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	return base + "/announce"
}

// Listen binds the configured sockets. Serve calls it if needed; tests call
// it first to learn the addresses of ":0" listeners.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listened {
		return nil
	}
	var err error
	// No TCP keep-alive probes on the tracker's port: a connection
	// carries one announce (http.Server's IdleTimeout ends idle ones), and
	// turning them on cost three setsockopt calls per accepted connection.
	lc := net.ListenConfig{KeepAlive: -1}
	if s.httpLn, err = lc.Listen(context.Background(), "tcp", s.cfg.Listen); err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	if s.cfg.RepositoryListen != "" {
		if s.repoLn, err = net.Listen("tcp", s.cfg.RepositoryListen); err != nil {
			_ = s.httpLn.Close()
			return fmt.Errorf("repository_listen %s: %w", s.cfg.RepositoryListen, err)
		}
	}
	closeAll := func() {
		for _, l := range []net.Listener{s.httpLn, s.repoLn, s.metricLn} {
			if l != nil {
				_ = l.Close()
			}
		}
	}
	if s.cfg.MetricsListen != "" {
		if s.metricLn, err = net.Listen("tcp", s.cfg.MetricsListen); err != nil {
			closeAll()
			return fmt.Errorf("metrics_listen %s: %w", s.cfg.MetricsListen, err)
		}
	}
	if s.cfg.UDPListen != "" {
		if s.udpConns, err = announce.ListenUDP(s.cfg.UDPListen, runtime.GOMAXPROCS(0)); err != nil {
			closeAll()
			return fmt.Errorf("udp_listen %s: %w", s.cfg.UDPListen, err)
		}
	}
	s.listened = true
	if s.cfg.PublicURL == "" {
		if host, _, _ := net.SplitHostPort(s.cfg.Listen); host != "" && host != "0.0.0.0" && host != "::" {
			s.Repo.AnnounceURL = "http://" + s.httpLn.Addr().String() + "/announce"
		}
	}
	return nil
}

// HTTPAddr is the tracker's HTTP address (after Listen).
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// RepositoryAddr is the repository's address (after Listen).
func (s *Server) RepositoryAddr() string {
	if s.repoLn != nil {
		return s.repoLn.Addr().String()
	}
	return s.HTTPAddr()
}

// MetricsAddr is the metrics listener's address, "" when it is off.
func (s *Server) MetricsAddr() string {
	if s.metricLn == nil {
		return ""
	}
	return s.metricLn.Addr().String()
}

// UDPAddr is the UDP tracker's address, "" when it is off.
func (s *Server) UDPAddr() string {
	if s.udpConns == nil {
		return ""
	}
	return s.udpConns[0].LocalAddr().String()
}

// Handlers returns the HTTP handlers of the tracker and the repository
// (the same handler when they share a port).
func (s *Server) Handlers() (trackerH, repoH http.Handler) {
	tmux := http.NewServeMux()
	s.announceHandler().Routes(tmux)
	if s.cfg.RepositoryListen == "" {
		s.Repo.Routes(tmux)
		h := s.allowlist(tmux)
		return h, h
	}
	rmux := http.NewServeMux()
	s.Repo.Routes(rmux)
	return s.allowlist(tmux), s.allowlist(rmux)
}

// headerServer is the Server header of every answer (net/http only reads it).
var headerServer = []string{"smstorrent-tracker"}

// announceHandler is the HTTP announce handler (one per server: the fast
// path and net/http share it).
func (s *Server) announceHandler() *announce.Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.announceH == nil {
		s.announceH = &announce.Handler{Backend: s.Tracker, MaxQueryBytes: s.cfg.MaxQueryBytes, Logger: s.log, Observe: s.Metrics.Announce}
	}
	return s.announceH
}

// allowlist refuses HTTP clients outside allow_networks. Tracker paths
// answer with a bencoded failure, the rest with JSON.
func (s *Server) allowlist(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !s.Tracker.NetMap.Allowed(ap.Addr()) {
			msg := fmt.Sprintf("address %s is not allowed to use this tracker", ap.Addr())
			if r.URL.Path == "/announce" {
				s.Metrics.Announce("http", ReasonNotAllowed)
			}
			if r.URL.Path == "/announce" || r.URL.Path == "/scrape" {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write(announce.AppendFailure(nil, msg))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(repoapi.ErrorBody{Error: msg})
			return
		}
		w.Header()["Server"] = headerServer
		next.ServeHTTP(w, r)
	})
}

func (s *Server) newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// GCPercent is the garbage collector's target (GOGC) Serve sets unless
// the environment sets GOGC. Every announce allocates a few KiB (its peer
// list and answer) while the live heap (the swarms) is small, so Go's
// default of 100 collects many times a second: at 400 the tracker used
// about a fifth less CPU per announce in the loopback benchmark
// (docs/BENCHMARKS.md), for a heap up to five times the live swarms.
const GCPercent = 400

// Serve runs the tracker until ctx ends, then shuts down with a deadline,
// saves the counters and closes the database.
func (s *Server) Serve(ctx context.Context) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if err := s.Listen(); err != nil {
		_ = s.Store.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	th, rh := s.Handlers()
	servers := []*http.Server{s.newHTTPServer(th)}
	// Plain announces and scrapes are answered before net/http (see
	// announce.FastListener); everything else reaches the handlers.
	lns := []net.Listener{s.announceHandler().FastListener(s.httpLn, headerServer[0])}
	if s.repoLn != nil {
		servers = append(servers, s.newHTTPServer(rh))
		lns = append(lns, s.repoLn)
	}
	if s.metricLn != nil {
		mh, err := s.metricsHandler()
		if err != nil {
			_ = s.Store.Close()
			return err
		}
		servers = append(servers, s.newHTTPServer(mh))
		lns = append(lns, s.metricLn)
	}
	errc := make(chan error, len(servers)+1)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := servers[i].Serve(lns[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http server on %s: %w", lns[i].Addr(), err)
			}
		}()
	}
	if s.udpConns != nil {
		us := &announce.UDPServer{Backend: s.Tracker, Logger: s.log, Observe: s.Metrics.Announce}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := us.ServeAll(ctx, s.udpConns); err != nil {
				errc <- err
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.periodic(ctx)
	}()
	s.log.Info("smstorrent-tracker serving", "http", s.HTTPAddr(), "repository", s.RepositoryAddr(), "udp", s.UDPAddr(),
		"metrics", s.MetricsAddr(), "announce_url", s.Repo.AnnounceURL)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	for _, hs := range servers {
		_ = hs.Shutdown(sctx)
	}
	wg.Wait()
	if serr := s.SaveCounters(); serr != nil && err == nil {
		err = serr
	}
	if cerr := s.Store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing database: %w", cerr)
	}
	return err
}

// SaveCounters writes the counters if they changed since the last save,
// and the savings reports that changed.
func (s *Server) SaveCounters() error {
	ch := s.Registry.Changes()
	s.mu.Lock()
	defer s.mu.Unlock()
	changed, dropped := s.Savings.Changes()
	if err := s.Store.SaveReports(changed, dropped); err != nil {
		s.Savings.Unsave(changed, dropped)
		return err
	}
	if ch == s.saved {
		return nil
	}
	if err := s.Store.SaveCounters(s.Registry.Counters()); err != nil {
		return err
	}
	s.saved = ch
	return nil
}

func (s *Server) periodic(ctx context.Context) {
	every := min(time.Duration(s.cfg.PeerTTL)/4, 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := s.Registry.Expire(); n > 0 {
				s.log.Debug("expired peers", "count", n)
			}
			if err := s.SaveCounters(); err != nil {
				s.log.Error("saving counters", "err", err)
			}
		}
	}
}
