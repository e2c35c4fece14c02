package core_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
)

// A signed torrent that pkgsign accepts but the engine refuses (here its
// storage cannot open: an empty file of the package is a folder on disk)
// leaves its job in error with a message. The service process does not
// crash, starts again after kill -9 with the job still in error, keeps
// serving the other packages, and the job recovers once the disk is fixed
// and it is resumed. (Before, the engine's error was dropped and the
// service panicked on every start.)
func TestEngineRefusalIsAJobErrorAcrossRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the service binary")
	}
	bin := buildService(t)
	key := testbed.NewKey(t)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"setup.msi": 100 << 10})
	if err := os.WriteFile(filepath.Join(src, "empty.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := testbed.MakePackage(t, key, "REFUSED", "1", src, "", 0)
	good := testbed.MakePackage(t, key, "GOOD", "1", src, "", 0)

	cfg := testbed.Config(t, key, "", "127.0.0.1")
	// The engine creates empty files when it opens the storage; a folder in
	// the way makes the open fail.
	if err := os.MkdirAll(filepath.Join(cfg.CacheDir, "REFUSED", "empty.txt", "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	testbed.PlaceContent(t, cfg, good)
	cfgPath := filepath.Join(t.TempDir(), "config.json")
	if err := cfg.Write(cfgPath); err != nil {
		t.Fatal(err)
	}
	c := &api.Client{DataDir: cfg.DataDir}
	ctx := context.Background()
	p1 := startProcess(t, bin, cfgPath)
	waitAPI(t, c)
	j, err := c.Add(ctx, api.AddRequest{Torrent: bad.Torrent, Assign: true})
	if err != nil {
		t.Fatalf("adding the refused package: %v (did the service crash?)", err)
	}
	checkRefused := func(j *api.Job) {
		t.Helper()
		if j.State != api.StateError || j.ErrorCode != api.ErrorPackage || !strings.Contains(j.Error, "engine refused") {
			t.Fatalf("job %s: state %s code %q error %q; want error/package", j.ID, j.State, j.ErrorCode, j.Error)
		}
	}
	checkRefused(j)
	if _, err := c.Add(ctx, api.AddRequest{Torrent: good.Torrent, Assign: true}); err != nil {
		t.Fatal(err)
	}
	testbed.WaitJob(t, c, good.ID, time.Minute, "the good package verified", func(j *api.Job) bool { return j.State == api.StateTransferred })

	// kill -9 and start again: the service comes up, the job is still in error.
	if err := p1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p1.Wait()
	p2 := startProcess(t, bin, cfgPath)
	waitAPI(t, c)
	j, err = c.Job(ctx, bad.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkRefused(j)
	testbed.WaitJob(t, c, good.ID, time.Minute, "the good package after restart", func(j *api.Job) bool { return j.State == api.StateTransferred })
	// A clean stop and start, too.
	if err := p2.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = p2.Wait()
	startProcess(t, bin, cfgPath)
	waitAPI(t, c)
	j, err = c.Job(ctx, bad.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkRefused(j)

	// Fix the disk and resume: the job leaves error (it has no peers, so
	// it waits for them rather than completing).
	if err := os.RemoveAll(filepath.Join(cfg.CacheDir, "REFUSED", "empty.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resume(ctx, bad.ID); err != nil {
		t.Fatal(err)
	}
	testbed.WaitJob(t, c, bad.ID, time.Minute, "resumed after the fix", func(j *api.Job) bool {
		return j.State != api.StateError && j.BytesTotal == bad.Info.Size()
	})
}
