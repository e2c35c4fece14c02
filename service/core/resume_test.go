package core_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

// buildService builds the real smstorrent-service binary once per test binary.
func buildService(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "smstorrent-service")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/smstorrent/smstorrent/service/cmd/smstorrent-service")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the service: %v\n%s", err, out)
	}
	return bin
}

func startProcess(t *testing.T, bin, cfgPath string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// waitAPI waits until the service process has published its API.
func waitAPI(t *testing.T, c *api.Client) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.Status(ctx)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("service API did not come up")
}

// kill -9 in the middle of a download, then restart: the job comes back
// from the job database, the pieces verified before the kill are not
// downloaded again, and the package completes intact.
func TestKill9ResumesWithoutRedownloading(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the service binary")
	}
	bin := buildService(t)
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"big.bin": 12 << 20, "small.txt": 1000})
	const pieceLen = 64 << 10
	pkg := testbed.MakePackage(t, key, "KILL9", "1", src, tr.Announce, pieceLen)
	tr.Publish(pkg)
	// The origin uploads at 2 MiB/s so the download takes a few seconds.
	ocfg := testbed.Config(t, key, tr.Repository, testbed.HQIP)
	ocfg.LimitUp = 2 << 20
	testbed.PlaceContent(t, ocfg, pkg)
	origin := testbed.StartService(t, ocfg, svc.Options{})
	oc := origin.Client(true)
	ctx := context.Background()
	if _, err := oc.Add(ctx, api.AddRequest{Torrent: pkg.Torrent, Assign: true}); err != nil {
		t.Fatal(err)
	}
	testbed.WaitJob(t, oc, pkg.ID, time.Minute, "origin ready", func(j *api.Job) bool { return j.State == api.StateTransferred })

	lcfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	cfgPath := filepath.Join(t.TempDir(), "config.json")
	if err := lcfg.Write(cfgPath); err != nil {
		t.Fatal(err)
	}
	lc := &api.Client{DataDir: lcfg.DataDir}
	p1 := startProcess(t, bin, cfgPath)
	waitAPI(t, lc)
	if _, err := lc.Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil {
		t.Fatal(err)
	}
	total := pkg.Info.Size()
	before := testbed.WaitJob(t, lc, pkg.ID, time.Minute, "40% downloaded", func(j *api.Job) bool { return j.BytesDone >= total*4/10 })
	if err := p1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p1.Wait()
	t.Logf("killed at %d of %d bytes", before.BytesDone, total)
	// The lifetime download counter as saved before the kill.
	saved := savedDownloaded(t, lcfg.DataDir, pkg.ID)

	// Restart with a trickle download limit so the bytes verified from disk
	// can be read before much new data arrives; then lift it.
	lcfg.LimitDown = 16 << 10
	if err := lcfg.Write(cfgPath); err != nil {
		t.Fatal(err)
	}
	startProcess(t, bin, cfgPath)
	waitAPI(t, lc)
	restarted := testbed.WaitJob(t, lc, pkg.ID, 60*time.Second, "job back and checked after restart", func(j *api.Job) bool { return j.BytesTotal == total && !j.Checking })
	// The lifetime counter never goes backwards: what the API showed
	// before the kill was already on disk.
	if restarted.Downloaded < before.Downloaded {
		t.Errorf("downloaded went back from %d (shown before kill -9) to %d", before.Downloaded, restarted.Downloaded)
	}
	since := restarted.Downloaded - saved
	verified := restarted.BytesDone - since
	t.Logf("after restart: %d bytes verified from disk (%d downloaded since)", verified, since)
	if verified < total*3/10 {
		t.Fatalf("only %d bytes survived the kill; expected most of the %d downloaded before it", verified, before.BytesDone)
	}
	if _, err := lc.Throttle(ctx, api.ThrottleRequest{Down: 0, Up: 0}); err != nil {
		t.Fatal(err)
	}
	done := testbed.WaitJob(t, lc, pkg.ID, 2*time.Minute, "transferred after restart", func(j *api.Job) bool { return j.State == api.StateTransferred })
	if err := testbed.SameTree(src, done.Path); err != nil {
		t.Fatal(err)
	}
	after := done.Downloaded - saved
	t.Logf("downloaded after restart: %d bytes; missing at restart: %d", after, total-verified)
	// Allow a few pieces that were in flight or unhashed at the kill.
	if slack := int64(4 * pieceLen); after > total-verified+slack {
		t.Fatalf("downloaded %d bytes after restart, but only %d were missing: verified pieces were downloaded again", after, total-verified)
	}
}

// The job database survives a restart with its priority, and a clean
// restart of an in-process service resumes the job.
func TestJobsPersistAcrossRestart(t *testing.T) {
	key := testbed.NewKey(t)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"a.bin": 300 << 10})
	pkg := testbed.MakePackage(t, key, "PERSIST", "2", src, "", 0)
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	in := testbed.StartService(t, cfg, svc.Options{})
	c := in.Client(true)
	ctx := context.Background()
	if _, err := c.Add(ctx, api.AddRequest{Torrent: pkg.Torrent, Priority: api.Low}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pause(ctx, pkg.ID); err != nil {
		t.Fatal(err)
	}
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, "state", "jobs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Jobs []map[string]any }
	if err := json.Unmarshal(b, &f); err != nil || len(f.Jobs) != 1 {
		t.Fatalf("job database: %v %s", err, b)
	}
	in2 := testbed.StartService(t, cfg, svc.Options{})
	j, err := in2.Client(false).Job(ctx, pkg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Priority != api.Low || j.State != api.StateSuspended || j.Version != "2" {
		t.Fatalf("after restart: priority %s state %s version %q", j.Priority, j.State, j.Version)
	}
}

func savedDownloaded(t *testing.T, dataDir, id string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "state", "jobs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Jobs []struct {
			ID         string `json:"id"`
			Downloaded int64  `json:"downloaded"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for _, j := range f.Jobs {
		if j.ID == id {
			return j.Downloaded
		}
	}
	t.Fatalf("job %s not in the job database", id)
	return 0
}
