package core_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
	"github.com/smstorrent/smstorrent/service/svctest"
)

// A PC whose service restarts (and stops cleanly) on the same address and port reaches the
// origin over uTP again: the origin (uTP only here, so there is no TCP to
// fall back to) must not hold on to the old connection's state.
func TestUTPReconnectAfterRestart(t *testing.T) {
	key := svctest.NewKey(t)
	tr := svctest.StartTracker(t, key)
	src := t.TempDir()
	svctest.WriteFiles(t, src, map[string]int{"big.bin": 24 << 20})
	pkg := svctest.MakePackage(t, key, "RESTART1", "1", src, tr.Announce, 256<<10)
	tr.Publish(t, pkg)
	svctest.StartOrigin(t, key, tr, pkg, func(c *config.Config) { c.Transports = []string{"utp"} })

	// A fixed port, as on a real PC.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	cfg := svctest.Config(t, key, tr.Repository, "127.0.0.1")
	cfg.Transports = []string{"tcp", "utp"}
	cfg.ListenPort = port
	cfg.LimitDown = 1 << 20 // so that the first run is still downloading when it stops
	ctx := context.Background()
	for run := 1; run <= 2; run++ {
		in := svctest.StartService(t, cfg, svc.Options{})
		c := in.Client(true)
		if _, err := c.Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil && run == 1 {
			t.Fatal(err)
		}
		var before int64
		if j, err := c.Job(ctx, pkg.ID); err == nil {
			before = j.Downloaded
		}
		svctest.WaitJob(t, c, pkg.ID, 20*time.Second, "data from the origin over uTP",
			func(j *api.Job) bool { return j.Downloaded > before+(1<<20) })
		if err := in.Stop(); err != nil {
			t.Fatal(err)
		}
		// A clean stop: the next start does not re-verify the cache.
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "state", "running")); !os.IsNotExist(err) {
			t.Fatalf("run %d: the running marker is still there after a clean stop (%v)", run, err)
		}
	}
}
