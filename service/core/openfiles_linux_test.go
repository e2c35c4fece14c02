package core_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

// A complete package is never held open for writing nor mapped, so the
// wrapper can run its setup.exe or install.cmd from the cache (on Windows
// a file open for writing cannot be executed: a sharing violation). Real
// origin, tracker and branch service; the files the process holds are read
// from /proc/self (the services run in this process): after the download,
// and after a restart that finds the package complete.
func TestCompletePackageNotOpenForWriting(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"setup.exe": 2<<20 + 777, "install.cmd": 100, "data/a.cab": 1 << 20})
	pkg := testbed.MakePackage(t, key, "PS100077", "1.0", src, tr.Announce, 64<<10)
	tr.Publish(pkg)
	testbed.StartOrigin(t, key, tr, pkg)

	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	in := testbed.StartService(t, cfg, svc.Options{})
	ctx := context.Background()
	if _, err := in.Client(true).Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil {
		t.Fatal(err)
	}
	j := testbed.WaitJob(t, in.Client(false), pkg.ID, 2*time.Minute, "transferred",
		func(j *api.Job) bool { return j.State == api.StateTransferred })
	// The engine is still seeding (the origin is connected); read handles
	// are fine, write handles and mappings are not.
	checkNoWriters(t, "after the download", j.Path, cfg.CacheDir)

	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	in2 := testbed.StartService(t, cfg, svc.Options{})
	j = testbed.WaitJob(t, in2.Client(false), pkg.ID, time.Minute, "transferred after restart",
		func(j *api.Job) bool { return j.State == api.StateTransferred })
	checkNoWriters(t, "after a restart", j.Path, cfg.CacheDir)
}

// checkNoWriters fails if this process holds a file under one of dirs open
// for writing, or has one mapped.
func checkNoWriters(t *testing.T, when string, dirs ...string) {
	t.Helper()
	under := func(p string) bool {
		for _, d := range dirs {
			if rel, err := filepath.Rel(d, p); err == nil && !strings.HasPrefix(rel, "..") {
				return true
			}
		}
		return false
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	readers := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil || !under(target) {
			continue // closed meanwhile, or not ours
		}
		flags, err := fdFlags(fd.Name())
		if err != nil {
			continue // closed meanwhile
		}
		if acc := flags & 3; acc != os.O_RDONLY {
			t.Errorf("%s: %s is open for writing (fd %s, flags %o)", when, target, fd.Name(), flags)
			continue
		}
		readers++
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(maps), "\n") {
		if f := strings.Fields(line); len(f) >= 6 && under(f[5]) {
			t.Errorf("%s: %s is memory-mapped (%s)", when, f[5], f[1])
		}
	}
	t.Logf("%s: %d read-only handles on package files", when, readers)
}

// fdFlags reads the open flags of one of this process's descriptors.
func fdFlags(fd string) (int, error) {
	b, err := os.ReadFile(filepath.Join("/proc/self/fdinfo", fd))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
			return int(n), err
		}
	}
	return 0, fmt.Errorf("no flags in fdinfo %s", fd)
}
