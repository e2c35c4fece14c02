package testbed

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
)

// Config returns a service configuration for tests: its own data folder,
// loopback API on a free port, a free BitTorrent port on listenHost, TCP
// only (uTP over loopback adds nothing but CPU to tests).
func Config(tb testing.TB, key Key, repository, listenHost string) config.Config {
	c := config.Default()
	c.DataDir = tb.TempDir()
	c.CacheDir, c.LogDir = "", ""
	c.APIListen = "127.0.0.1:0"
	c.ListenHost = listenHost
	c.ListenPort = 0
	c.Transports = []string{"tcp"}
	c.Repository = repository
	c.TrustedKeys = []string{key.Pub}
	c.ServerNetworks = []string{HQIP + "/32"}
	// Loopback has no queue to measure; tests of the controller turn it on.
	c.Yield = false
	c.RetryMin = config.Duration(200 * time.Millisecond)
	c.RetryMax = config.Duration(2 * time.Second)
	if err := c.Validate(); err != nil {
		tb.Fatal(err)
	}
	return c
}

// StartService runs a real service in-process until the test ends.
func StartService(tb testing.TB, cfg config.Config, o svc.Options) *svc.Instance {
	tb.Helper()
	if o.Logger == nil {
		tl := &testLog{tb: tb, prefix: filepath.Base(cfg.DataDir) + ": "}
		tb.Cleanup(func() { tl.done.Store(true) }) // runs after the service's Stop below
		o.Logger = slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if o.TickInterval == 0 {
		o.TickInterval = 200 * time.Millisecond
	}
	in, err := svc.Start(context.Background(), cfg, o)
	if err != nil {
		tb.Fatalf("starting service: %v", err)
	}
	tb.Cleanup(func() { _ = in.Stop() })
	return in
}

// PlaceContent copies the package's files into the service's cache, as an
// origin server that already holds the package would have them.
func PlaceContent(tb testing.TB, cfg config.Config, p *Package) {
	tb.Helper()
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
		tb.Fatal(err)
	}
}

// StartOrigin runs a service on HQIP that holds and seeds p; edits change
// its configuration.
func StartOrigin(tb testing.TB, key Key, tr *Tracker, p *Package, edits ...func(*config.Config)) *svc.Instance {
	tb.Helper()
	cfg := Config(tb, key, tr.Repository, HQIP)
	for _, e := range edits {
		e(&cfg)
	}
	PlaceContent(tb, cfg, p)
	in := StartService(tb, cfg, svc.Options{})
	c := in.Client(true)
	if _, err := c.Add(context.Background(), api.AddRequest{Torrent: p.Torrent, Assign: true, Priority: api.High}); err != nil {
		tb.Fatalf("origin add: %v", err)
	}
	WaitJob(tb, c, p.ID, 60*time.Second, "origin verified the package", func(j *api.Job) bool { return j.State == api.StateTransferred })
	return in
}

// WaitJob polls a job until cond holds, failing the test after timeout.
func WaitJob(tb testing.TB, c *api.Client, id string, timeout time.Duration, what string, cond func(*api.Job) bool) *api.Job {
	tb.Helper()
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
	tb.Fatalf("timed out after %v waiting for %s: job %+v, last error %v", timeout, what, summary(last), lastErr)
	return nil
}

func summary(j *api.Job) string {
	if j == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s state=%s %d/%d bytes error=%q", j.ID, j.State, j.BytesDone, j.BytesTotal, j.Error)
}
