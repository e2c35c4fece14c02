// Package svctest runs real SMSTorrent parts for tests: signing keys, package
// folders with random content, signed torrents, the real tracker and
// repository (tracker/server) and real services (service/svc), all on
// loopback with temporary folders and free ports, stopped in t.Cleanup.
//
// Loopback layout: the tracker listens on 127.0.0.1; services that play the
// origin listen on OriginIP, which the tracker treats as an origin and the
// services count as a server; branch services listen on 127.0.0.1.
package svctest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
	tcli "github.com/smstorrent/smstorrent/tracker/cli"
	tconfig "github.com/smstorrent/smstorrent/tracker/config"
	tserver "github.com/smstorrent/smstorrent/tracker/server"
)

// OriginIP is the loopback address origin services listen on.
const OriginIP = "127.0.0.2"

// AdminToken is the test tracker's admin token.
const AdminToken = "svctest-admin-token"

// Key is a publisher key pair.
type Key struct {
	Priv pkgsign.PrivateKey
	Pub  string // "ed25519:..."
}

// NewKey makes a publisher key.
func NewKey(t testing.TB) Key {
	k, err := pkgsign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return Key{Priv: k, Pub: k.Public().String()}
}

// WriteFiles fills dir with files of random content: name -> size.
func WriteFiles(t testing.TB, dir string, files map[string]int) {
	t.Helper()
	for name, size := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Package is a signed package ready to publish and seed.
type Package struct {
	ID      string
	Version string
	Dir     string // the source folder (its content, not a folder named ID)
	Torrent []byte
	Info    *pkgsign.Package
}

// MakePackage creates a signed torrent for the folder src.
func MakePackage(t testing.TB, key Key, id, version, src, announce string, pieceLength int64) *Package {
	t.Helper()
	mi, err := pkgsign.Create(src, id, pieceLength, announce, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pkgsign.Sign(mi, id, version, key.Priv)
	if err != nil {
		t.Fatal(err)
	}
	info, err := pkgsign.Verify(b, []pkgsign.PublicKey{key.Priv.Public()})
	if err != nil {
		t.Fatal(err)
	}
	return &Package{ID: id, Version: version, Dir: src, Torrent: b, Info: info}
}

// Tracker is a running tracker and repository.
type Tracker struct {
	Announce   string // http://127.0.0.2:port/announce
	Repository string // http://127.0.0.2:port
	Server     *tserver.Server
	cfg        *tconfig.Config
	stop       func()
}

// Published writes files (name → size, pseudo-random content) into a new
// folder, makes a package of it signed by key with the tracker's announce
// URL, and publishes it in the tracker's repository.
func Published(t testing.TB, key Key, tr *Tracker, id string, files map[string]int, pieceLength int64) *Package {
	t.Helper()
	src := t.TempDir()
	WriteFiles(t, src, files)
	p := MakePackage(t, key, id, "1", src, tr.Announce, pieceLength)
	tr.Publish(t, p)
	return p
}

// StartTracker runs the real tracker on OriginIP with one site for
// 127.0.0.1 and OriginIP as origin, trusting key.
func StartTracker(t testing.TB, key Key) *Tracker {
	t.Helper()
	c := &tconfig.Config{
		// On the origin's address: peers at the tracker's address count as
		// servers, so branch peers on 127.0.0.1 stay site peers.
		Listen:        OriginIP + ":0",
		DataDir:       t.TempDir(),
		AdminToken:    AdminToken,
		TrustedKeys:   []string{key.Pub},
		AllowNetworks: []string{"127.0.0.0/8"},
		Sites:         []tconfig.Site{{Name: "branch", Networks: []string{"127.0.0.1/32"}}},
		Origins:       tconfig.Origins{Networks: []string{OriginIP + "/32"}},
		// Announce often so peers find each other quickly in tests.
		AnnounceInterval: tconfig.Duration(10 * time.Second),
		MinInterval:      tconfig.Duration(time.Second),
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("tracker config: %v", err)
	}
	tr := &Tracker{cfg: c}
	tr.Start(t)
	tr.Announce = "http://" + tr.Server.HTTPAddr() + "/announce"
	tr.Repository = "http://" + tr.Server.RepositoryAddr()
	// The next Start listens where this one did.
	c.Listen = tr.Server.HTTPAddr()
	t.Cleanup(tr.Stop)
	return tr
}

// Start runs the tracker (again, after Stop: on the same address and data
// folder, with its peers forgotten, like a restarted process).
func (tr *Tracker) Start(t testing.TB) {
	t.Helper()
	srv, err := tserver.New(tr.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("starting tracker: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("starting tracker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = srv.Serve(ctx)
		close(done)
	}()
	tr.Server = srv
	tr.stop = func() { cancel(); <-done }
}

// Stop stops the tracker; it does nothing if the tracker is stopped.
func (tr *Tracker) Stop() {
	if tr.stop != nil {
		tr.stop()
		tr.stop = nil
	}
}

// Publish puts a package into the repository.
func (tr *Tracker) Publish(t testing.TB, p *Package) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := tcli.Publish(ctx, http.DefaultClient, tr.Repository, AdminToken, p.Torrent); err != nil {
		t.Fatalf("publishing %s: %v", p.ID, err)
	}
}

// Config returns a service configuration for tests: its own data folder,
// loopback API on a free port, a free BitTorrent port on listenHost, TCP
// only (uTP over loopback adds nothing but CPU to tests).
func Config(t testing.TB, key Key, repository, listenHost string) config.Config {
	c := config.Default()
	c.DataDir = t.TempDir()
	c.CacheDir, c.LogDir = "", ""
	c.APIListen = "127.0.0.1:0"
	c.ListenHost = listenHost
	c.ListenPort = 0
	c.Transports = []string{"tcp"}
	c.Repository = repository
	c.TrustedKeys = []string{key.Pub}
	c.ServerNetworks = []string{OriginIP + "/32"}
	// Loopback has no queue to measure; tests of the controller turn it on.
	c.Yield = false
	c.RetryMin = config.Duration(200 * time.Millisecond)
	c.RetryMax = config.Duration(2 * time.Second)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// StartService runs a real service in-process until the test ends.
func StartService(t testing.TB, cfg config.Config, o svc.Options) *svc.Instance {
	t.Helper()
	if o.Logger == nil {
		tl := &testLog{t: t, prefix: filepath.Base(cfg.DataDir)}
		t.Cleanup(func() { tl.done.Store(true) }) // runs after the service's Stop below
		o.Logger = slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if o.TickInterval == 0 {
		o.TickInterval = 200 * time.Millisecond
	}
	in, err := svc.Start(context.Background(), cfg, o)
	if err != nil {
		t.Fatalf("starting service: %v", err)
	}
	t.Cleanup(func() { _ = in.Stop() })
	return in
}

// PlaceContent copies the package's files into the service's cache, as an
// origin server that already holds the package would have them.
func PlaceContent(t testing.TB, cfg config.Config, p *Package) {
	t.Helper()
	dst := filepath.Join(cfg.CacheDir, p.ID)
	err := filepath.WalkDir(p.Dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(p.Dir, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// StartOrigin runs a service on OriginIP that holds and seeds p; edits
// change its configuration.
func StartOrigin(t testing.TB, key Key, tr *Tracker, p *Package, edits ...func(*config.Config)) *svc.Instance {
	t.Helper()
	cfg := Config(t, key, tr.Repository, OriginIP)
	for _, e := range edits {
		e(&cfg)
	}
	PlaceContent(t, cfg, p)
	in := StartService(t, cfg, svc.Options{})
	c := in.Client(true)
	if _, err := c.Add(context.Background(), api.AddRequest{Torrent: p.Torrent, Assign: true, Priority: api.High}); err != nil {
		t.Fatalf("origin add: %v", err)
	}
	WaitJob(t, c, p.ID, 60*time.Second, "origin verified the package", func(j *api.Job) bool { return j.State == api.StateTransferred })
	return in
}

// WaitJob polls a job until cond holds, failing the test after timeout.
func WaitJob(t testing.TB, c *api.Client, id string, timeout time.Duration, what string, cond func(*api.Job) bool) *api.Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *api.Job
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		j, err := c.Job(ctx, id)
		cancel()
		if err == nil {
			last = j
			if cond(j) {
				return j
			}
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
	t.Fatalf("timed out after %v waiting for %s: job %+v, last error %v", timeout, what, summary(last), lastErr)
	return nil
}

func summary(j *api.Job) string {
	if j == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s state=%s %d/%d bytes error=%q", j.ID, j.State, j.BytesDone, j.BytesTotal, j.Error)
}

// SameTree reports an error if the package folder in a cache differs from src.
func SameTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		a, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		if !bytes.Equal(a, b) {
			return fmt.Errorf("%s differs", rel)
		}
		return nil
	})
}

type testLog struct {
	t      testing.TB
	prefix string
	done   atomic.Bool
}

func (w *testLog) Write(p []byte) (int, error) {
	if w.done.Load() {
		return len(p), nil
	}
	w.t.Log(w.prefix + ": " + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
