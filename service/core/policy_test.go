package core_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
)

type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// seedLocal makes a service hold packages that are already in its cache.
func seedLocal(t *testing.T, c *api.Client, cfgCache string, pkgs ...*testbed.Package) {
	t.Helper()
	for _, p := range pkgs {
		if _, err := c.Add(context.Background(), api.AddRequest{Torrent: p.Torrent}); err != nil {
			t.Fatal(err)
		}
		testbed.WaitJob(t, c, p.ID, time.Minute, p.ID+" verified", func(j *api.Job) bool { return j.State == api.StateTransferred })
	}
}

// Unassigned packages are seeded for seed_days after their last use, then
// removed; assigned ones stay.
func TestSeedingRetention(t *testing.T) {
	key := testbed.NewKey(t)
	clk := newClock()
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	cfg.SeedDays = 3
	pkgs := cachedPackages(t, key, cfg, "RET", 3, 64<<10)
	in := testbed.StartService(t, cfg, svc.Options{Now: clk.Now})
	c := in.Client(true)
	ctx := context.Background()
	seedLocal(t, c, cfg.CacheDir, pkgs...)
	if _, err := c.Add(ctx, api.AddRequest{PackageID: pkgs[2].ID, Assign: true}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * 24 * time.Hour)
	if _, err := c.MarkUsed(ctx, pkgs[1].ID); err != nil { // used on day 2: kept until day 5
		t.Fatal(err)
	}
	j, _ := c.Job(ctx, pkgs[1].ID)
	if want := clk.Now().Add(3 * 24 * time.Hour); !j.SeedUntil.Equal(want) {
		t.Errorf("seed_until = %v, want %v", j.SeedUntil, want)
	}
	clk.Advance(24*time.Hour + time.Minute) // day 3: RET0 (never used, completed day 0) expires
	waitGone(t, c, pkgs[0].ID)
	if _, err := os.Stat(cfg.CacheDir + "/" + pkgs[0].ID); !os.IsNotExist(err) {
		t.Errorf("content of an expired package is still in the cache: %v", err)
	}
	for _, p := range pkgs[1:] {
		if _, err := c.Job(ctx, p.ID); err != nil {
			t.Errorf("%s removed too early: %v", p.ID, err)
		}
	}
	clk.Advance(2 * 24 * time.Hour) // day 5: RET1 expires; RET2 is assigned
	waitGone(t, c, pkgs[1].ID)
	if _, err := c.Job(ctx, pkgs[2].ID); err != nil {
		t.Errorf("assigned package removed: %v", err)
	}
}

// Above cache_max, the packages used longest ago are evicted first.
func TestCacheCapEvictsOldestUnused(t *testing.T) {
	key := testbed.NewKey(t)
	clk := newClock()
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	cfg.CacheMax = 2*(100<<10) + 1000 // room for two packages of 100 KiB
	pkgs := cachedPackages(t, key, cfg, "CAP", 3, 100<<10)
	in := testbed.StartService(t, cfg, svc.Options{Now: clk.Now})
	c := in.Client(true)
	ctx := context.Background()
	seedLocal(t, c, cfg.CacheDir, pkgs[0], pkgs[1])
	// CAP1 used recently, CAP0 long ago.
	clk.Advance(time.Hour)
	if _, err := c.MarkUsed(ctx, pkgs[0].ID); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if _, err := c.MarkUsed(ctx, pkgs[1].ID); err != nil {
		t.Fatal(err)
	}
	seedLocal(t, c, cfg.CacheDir, pkgs[2])
	waitGone(t, c, pkgs[0].ID)
	for _, p := range pkgs[1:] {
		if _, err := c.Job(ctx, p.ID); err != nil {
			t.Errorf("%s evicted: %v", p.ID, err)
		}
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.CacheBytes > st.CacheLimit {
		t.Errorf("cache %d above its limit %d", st.CacheBytes, st.CacheLimit)
	}
}

// cachedPackages makes n signed packages of one file each and places their
// content in cfg's cache, as if the service already held them.
func cachedPackages(t *testing.T, key testbed.Key, cfg config.Config, prefix string, n, size int) []*testbed.Package {
	t.Helper()
	var pkgs []*testbed.Package
	for i := range n {
		src := t.TempDir()
		testbed.WriteFiles(t, src, map[string]int{"f.bin": size})
		p := testbed.MakePackage(t, key, fmt.Sprintf("%s%d", prefix, i), "1", src, "", 0)
		testbed.PlaceContent(t, cfg, p)
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func waitGone(t *testing.T, c *api.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, err := c.Job(context.Background(), id)
		if api.IsNotFound(err) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %s was not removed", id)
}
