package testbed

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/tracker/cli"
	"github.com/smstorrent/smstorrent/tracker/config"
	"github.com/smstorrent/smstorrent/tracker/server"
)

// Addresses of the two layouts (see the package comment).
const (
	// HQIP is the service layout's hq: the tracker and origin services.
	HQIP = "127.0.0.2"

	SiteA     = "branch-a" // 127.0.1.0/24
	SiteB     = "branch-b" // 127.0.2.0/24
	SiteHQ    = "hq"       // 127.0.0.1/32
	OriginIP  = "127.0.3.1"
	SiteAIP1  = "127.0.1.1"
	SiteAIP2  = "127.0.1.2"
	SiteBIP1  = "127.0.2.1"
	SiteBIP2  = "127.0.2.2"
	NoSiteIP  = "127.0.5.1" // allowed, but in no site
	OutsideIP = "127.0.9.1" // not allowed

	Token     = "test-admin-token-0123456789" // the trackers' admin token
	OriginKey = "test-origin-key-0123456789"
)

// Tracker is a running tracker and repository.
type Tracker struct {
	T          testing.TB
	Cfg        *config.Config
	Server     *server.Server
	Key        Key
	Base       string // http://host:port of the repository
	Repository string // the same as Base
	Announce   string // HTTP announce URL
	UDP        string // UDP announce URL; "" if UDP is off
	cancel     context.CancelFunc
	done       chan error
}

// TrackerConfig returns the site layout's tracker configuration: sites A, B
// and hq, origins in 127.0.3.0/24, everything on 127.0.0.1 with ":0" ports.
func TrackerConfig(tb testing.TB, key Key) *config.Config {
	c := &config.Config{
		Listen:        "127.0.0.1:0",
		UDPListen:     "127.0.0.1:0",
		DataDir:       tb.TempDir(),
		AdminToken:    Token,
		TrustedKeys:   []string{key.Pub},
		AllowNetworks: []string{"127.0.0.1/32", "127.0.1.0/24", "127.0.2.0/24", "127.0.3.0/24", "127.0.5.0/24"},
		Sites: []config.Site{
			{Name: SiteA, Networks: []string{"127.0.1.0/24"}},
			{Name: SiteB, Networks: []string{"127.0.2.0/24"}},
			{Name: SiteHQ, Networks: []string{"127.0.0.1"}},
		},
		Origins:          config.Origins{Networks: []string{"127.0.3.0/24"}, Keys: []string{OriginKey}},
		AnnounceInterval: config.Duration(10 * time.Second),
		MinInterval:      config.Duration(time.Second),
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		tb.Fatalf("test config: %v", err)
	}
	return c
}

// StartSiteTracker runs a tracker with the site layout's configuration,
// changed by mutate (may be nil). It is stopped in Cleanup.
func StartSiteTracker(tb testing.TB, mutate func(*config.Config)) *Tracker {
	key := NewKey(tb)
	c := TrackerConfig(tb, key)
	if mutate != nil {
		mutate(c)
		if err := c.Validate(); err != nil {
			tb.Fatalf("test config: %v", err)
		}
	}
	return StartTrackerConfig(tb, c, key)
}

// StartTracker runs the service layout's tracker on HQIP with one site for
// 127.0.0.1 and HQIP as origin, trusting key.
func StartTracker(tb testing.TB, key Key) *Tracker {
	tb.Helper()
	c := &config.Config{
		// On the origin's address: peers at the tracker's address count as
		// servers, so branch peers on 127.0.0.1 stay site peers.
		Listen:        HQIP + ":0",
		DataDir:       tb.TempDir(),
		AdminToken:    Token,
		TrustedKeys:   []string{key.Pub},
		AllowNetworks: []string{"127.0.0.0/8"},
		Sites:         []config.Site{{Name: "branch", Networks: []string{"127.0.0.1/32"}}},
		Origins:       config.Origins{Networks: []string{HQIP + "/32"}},
		// Announce often so peers find each other quickly in tests.
		AnnounceInterval: config.Duration(10 * time.Second),
		MinInterval:      config.Duration(time.Second),
		// Every branch service shares 127.0.0.1: lift the per-address bounds.
		MaxPeersPerAddress: 1000, AnnounceRate: 1e6, AnnounceBurst: 1000000,
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		tb.Fatalf("tracker config: %v", err)
	}
	return StartTrackerConfig(tb, c, key)
}

// StartTrackerConfig runs a tracker with a given configuration. It is
// stopped in Cleanup.
func StartTrackerConfig(tb testing.TB, c *config.Config, key Key) *Tracker {
	tb.Helper()
	tl := &testLog{tb: tb, prefix: "tracker: "}
	tb.Cleanup(func() { tl.done.Store(true) }) // runs after Stop below
	log := slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(c, log)
	if err != nil {
		tb.Fatalf("starting tracker: %v", err)
	}
	if err := srv.Listen(); err != nil {
		tb.Fatalf("starting tracker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Tracker{T: tb, Cfg: c, Server: srv, Key: key, cancel: cancel, done: make(chan error, 1)}
	e.Base = "http://" + srv.RepositoryAddr()
	e.Repository = e.Base
	e.Announce = "http://" + srv.HTTPAddr() + "/announce"
	if a := srv.UDPAddr(); a != "" {
		e.UDP = "udp://" + a + "/announce"
	}
	go func() { e.done <- srv.Serve(ctx) }()
	tb.Cleanup(func() { _ = e.Stop() })
	return e
}

// Stop stops the tracker and waits for it (idempotent).
func (e *Tracker) Stop() error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("tracker did not stop within 30s")
	}
}

// Publish uploads a package to the tracker's repository.
func (e *Tracker) Publish(p *Package) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.Publish(ctx, http.DefaultClient, e.Base, Token, p.Torrent); err != nil {
		e.T.Fatalf("publishing %s: %v", p.ID, err)
	}
}

// Published writes files (name → size, pseudo-random content) into a new
// folder, makes a package of it signed by key with the tracker's announce
// URL, and publishes it in the tracker's repository.
func Published(tb testing.TB, key Key, tr *Tracker, id string, files map[string]int, pieceLength int64) *Package {
	tb.Helper()
	src := tb.TempDir()
	WriteFiles(tb, src, files)
	p := MakePackage(tb, key, id, "1", src, tr.Announce, pieceLength)
	tr.Publish(p)
	return p
}

// Start runs a stopped tracker again on the same addresses and data
// folder, with its peers forgotten, as a restarted process would be.
func (e *Tracker) Start() {
	e.T.Helper()
	if e.cancel != nil {
		e.T.Fatal("tracker is running")
	}
	c := *e.Cfg
	c.Listen = e.Server.HTTPAddr()
	if a := e.Server.UDPAddr(); a != "" {
		c.UDPListen = a
	}
	if c.RepositoryListen != "" {
		c.RepositoryListen = e.Server.RepositoryAddr()
	}
	tl := &testLog{tb: e.T, prefix: "tracker: "}
	e.T.Cleanup(func() { tl.done.Store(true) })
	srv, err := server.New(&c, slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		e.T.Fatalf("restarting tracker: %v", err)
	}
	if err := srv.Listen(); err != nil {
		e.T.Fatalf("restarting tracker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.Server, e.cancel, e.done = srv, cancel, make(chan error, 1)
	go func() { e.done <- srv.Serve(ctx) }()
}

// ShareWith is a StartSiteTracker change: site's peers may also receive
// the peers of others (share_with).
func ShareWith(site string, others ...string) func(*config.Config) {
	return func(c *config.Config) {
		for i := range c.Sites {
			if c.Sites[i].Name == site {
				c.Sites[i].ShareWith = append(c.Sites[i].ShareWith, others...)
			}
		}
	}
}
