package core_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/procmem"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

var memoryGiB = flag.Float64("memory.gib", 0, "TestIdleMemoryLargeCache: the cache to measure with, in GiB (0: skip the test)")

// The idle service's memory does not grow with its cache (docs/BENCHMARKS.md,
// "Memory"): a real service process holds packages totalling -memory.gib
// GiB of real data in its cache, verifies every byte of them at add (so the
// engine has read all of it), seeds one package in full to a second service
// over loopback, and then idles. Its resident and private memory, read from
// its status and from /proc/<pid>/smaps_rollup, are reported and must stay
// within 50 MiB. A measurement, not part of make test:
//
//	go test -count=1 -run TestIdleMemoryLargeCache -v ./service/core -args -memory.gib=3
func TestIdleMemoryLargeCache(t *testing.T) {
	if *memoryGiB <= 0 {
		t.Skip("a measurement: -args -memory.gib=3")
	}
	bin := buildService(t)
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	const pkgSize = 512 << 20
	n := max(1, int(*memoryGiB*(1<<30)/pkgSize))
	var pkgs []*testbed.Package
	for i := range n {
		id := fmt.Sprintf("PS2%05d", i)
		dir := filepath.Join(cfg.CacheDir, id)
		writeRandom(t, filepath.Join(dir, "setup.exe"), 4<<20, uint64(i))
		writeRandom(t, filepath.Join(dir, "data", "payload.cab"), pkgSize-4<<20, uint64(i)+1000)
		p := testbed.MakePackage(t, key, id, "1", dir, tr.Announce, 1<<20)
		tr.Publish(p)
		pkgs = append(pkgs, p)
	}
	cfgPath := filepath.Join(t.TempDir(), "config.json")
	if err := cfg.Write(cfgPath); err != nil {
		t.Fatal(err)
	}
	proc := startProcess(t, bin, cfgPath)
	c := &api.Client{DataDir: cfg.DataDir}
	waitAPI(t, c)
	empty := idleMemory(t, c, proc.Process.Pid)
	ctx := context.Background()
	start := time.Now()
	for _, p := range pkgs {
		if _, err := c.Add(ctx, api.AddRequest{Torrent: p.Torrent, Assign: true}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pkgs {
		testbed.WaitJob(t, c, p.ID, 10*time.Minute, "verified from the cache", func(j *api.Job) bool { return j.State == api.StateTransferred })
	}
	t.Logf("%d packages, %s, verified from disk in %v", n, units.Bytes(int64(n)*pkgSize), time.Since(start).Round(time.Second))
	verified := idleMemory(t, c, proc.Process.Pid)

	// Seed one package in full to a second service.
	leech := testbed.StartService(t, testbed.Config(t, key, tr.Repository, "127.0.0.2"), svc.Options{})
	if _, err := leech.Client(true).Add(ctx, api.AddRequest{PackageID: pkgs[0].ID}); err != nil {
		t.Fatal(err)
	}
	testbed.WaitJob(t, leech.Client(false), pkgs[0].ID, 10*time.Minute, "seeded to the second service",
		func(j *api.Job) bool { return j.State == api.StateTransferred })
	seeded := idleMemory(t, c, proc.Process.Pid)
	for _, m := range []struct {
		when string
		m    memFigures
	}{{"empty", empty}, {"after verifying the cache", verified}, {"after seeding " + units.Bytes(pkgSize), seeded}} {
		t.Logf("%-28s %s", m.when+":", m.m)
	}
	if limit := int64(50 << 20); seeded.status.Resident > limit || seeded.status.Private > limit {
		t.Errorf("idle with %s cached: resident %s, private %s; want both within %s",
			units.Bytes(int64(n)*pkgSize), units.Bytes(seeded.status.Resident), units.Bytes(seeded.status.Private), units.Bytes(limit))
	}
}

// memFigures are one reading of the service's memory: as its status says,
// and /proc's file-backed resident part.
type memFigures struct {
	status  procmem.Usage
	rssFile int64
	samples int
}

func (m memFigures) String() string {
	return fmt.Sprintf("resident %s, private %s, file-backed resident %s (largest of %d readings over 10 s)",
		units.Bytes(m.status.Resident), units.Bytes(m.status.Private), units.Bytes(m.rssFile), m.samples)
}

// idleMemory reads the service's memory over 10 s of idling (the engine's
// and Go's background work come and go) and returns the largest figures.
func idleMemory(t *testing.T, c *api.Client, pid int) memFigures {
	t.Helper()
	var m memFigures
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		st, err := c.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.MemoryResident == 0 {
			t.Fatal("the status has no memory figures")
		}
		m.status.Resident = max(m.status.Resident, st.MemoryResident)
		m.status.Private = max(m.status.Private, st.MemoryPrivate)
		m.rssFile = max(m.rssFile, procStatusKB(t, pid, "RssFile"))
		m.samples++
		time.Sleep(500 * time.Millisecond) // sampling interval, not synchronisation
	}
	return m
}

// procStatusKB reads one "kB" field of /proc/<pid>/status in bytes.
func procStatusKB(t *testing.T, pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var v int64
	for _, line := range strings.Split(string(b), "\n") {
		if _, err := fmt.Sscanf(line, field+": %d kB", &v); err == nil {
			return v << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// writeRandom writes size bytes of pseudo-random data (real blocks on disk,
// not a sparse file) to path.
func writeRandom(t *testing.T, path string, size int64, seed uint64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})
	buf := make([]byte, 4<<20)
	for size > 0 {
		k := min(size, int64(len(buf)))
		_, _ = r.Read(buf[:k])
		if _, err := f.Write(buf[:k]); err != nil {
			t.Fatal(err)
		}
		size -= k
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
