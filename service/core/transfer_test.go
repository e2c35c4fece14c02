package core_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
)

// A real origin seeder and two real branch services, with the real tracker
// and repository, over loopback: both branches get the package by ID from
// the repository and end up with identical files.
func TestSeederToTwoLeechers(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{
		"setup.msi":          3<<20 + 12345,
		"install.cmd":        200,
		"data/cab1.cab":      1 << 20,
		"data/empty-ish.txt": 1,
	})
	pkg := testbed.MakePackage(t, key, "PS100012", "1.0", src, tr.Announce, 64<<10)
	tr.Publish(pkg)
	testbed.StartOrigin(t, key, tr, pkg)

	var leechers []*svc.Instance
	for range 2 {
		cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
		leechers = append(leechers, testbed.StartService(t, cfg, svc.Options{}))
	}
	// Follow the first leecher's event stream to see the transferred event.
	transferred := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	go leechers[0].Client(false).Watch(ctx, func(ev api.Event) {
		if ev.Type == api.EventJobTransferred && ev.Job != nil && ev.Job.ID == pkg.ID {
			once.Do(func() { close(transferred) })
		}
	})
	for _, l := range leechers {
		j, err := l.Client(true).Add(ctx, api.AddRequest{PackageID: pkg.ID})
		if err != nil {
			t.Fatalf("add: %v", err)
		}
		if j.State == api.StateError {
			t.Fatalf("job in error: %s", j.Error)
		}
	}
	total := pkg.Info.Size()
	for i, l := range leechers {
		j := testbed.WaitJob(t, l.Client(false), pkg.ID, 2*time.Minute, "leecher transferred",
			func(j *api.Job) bool { return j.State == api.StateTransferred })
		if err := testbed.SameTree(src, j.Path); err != nil {
			t.Fatalf("leecher %d content: %v", i, err)
		}
		if j.FilesDone != 4 || j.FilesTotal != 4 {
			t.Errorf("leecher %d files %d/%d, want 4/4", i, j.FilesDone, j.FilesTotal)
		}
		if got := j.DownloadedSite + j.DownloadedServer; got < total {
			t.Errorf("leecher %d: site %d + server %d bytes < package %d", i, j.DownloadedSite, j.DownloadedServer, total)
		}
		t.Logf("leecher %d: %d bytes from site peers, %d from the origin", i, j.DownloadedSite, j.DownloadedServer)
	}
	select {
	case <-transferred:
	case <-time.After(30 * time.Second):
		t.Fatal("no job_transferred event on the stream")
	}
}

// A torrent that is unsigned, or signed by a key the service does not
// trust, is refused before anything is written.
func TestRefusesUnsignedAndUnknownSigner(t *testing.T) {
	key, other := testbed.NewKey(t), testbed.NewKey(t)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"a.bin": 100 << 10})
	good := testbed.MakePackage(t, key, "PKG1", "1", src, "", 0)
	foreign := testbed.MakePackage(t, other, "PKG1", "1", src, "", 0)
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	in := testbed.StartService(t, cfg, svc.Options{})
	c := in.Client(true)
	ctx := context.Background()

	unsigned := good.Info.Meta
	var buf []byte
	{
		f, err := os.CreateTemp(t.TempDir(), "*.torrent")
		if err != nil {
			t.Fatal(err)
		}
		if err := unsigned.Write(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		buf, _ = os.ReadFile(f.Name())
	}
	for name, b := range map[string][]byte{"unsigned": buf, "unknown signer": foreign.Torrent, "garbage": []byte("d4:infoi1ee"), "deep": deepBencode(100000)} {
		_, err := c.Add(ctx, api.AddRequest{Torrent: b})
		if !api.IsSignature(err) {
			t.Errorf("%s: err = %v, want a signature refusal", name, err)
		}
	}
	for _, d := range []string{cfg.CacheDir, filepath.Join(cfg.DataDir, "torrents")} {
		ents, _ := os.ReadDir(d)
		if len(ents) != 0 {
			t.Errorf("%s is not empty after refusals: %v", d, ents)
		}
	}
	js, _ := c.Jobs(ctx)
	if len(js) != 0 {
		t.Errorf("jobs after refusals: %v", js)
	}
}

func deepBencode(n int) []byte {
	b := make([]byte, 0, 2*n)
	for range n {
		b = append(b, 'l')
	}
	for range n {
		b = append(b, 'e')
	}
	return b
}

// A PC whose service restarts (and stops cleanly) on the same address and port reaches the
// origin over uTP again: the origin (uTP only here, so there is no TCP to
// fall back to) must not hold on to the old connection's state.
func TestUTPReconnectAfterRestart(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	pkg := testbed.Published(t, key, tr, "RESTART1", map[string]int{"big.bin": 24 << 20}, 256<<10)
	testbed.StartOrigin(t, key, tr, pkg, func(c *config.Config) { c.Transports = []string{"utp"} })

	// A fixed port, as on a real PC.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	cfg.Transports = []string{"tcp", "utp"}
	cfg.ListenPort = port
	cfg.LimitDown = 1 << 20 // so that the first run is still downloading when it stops
	ctx := context.Background()
	for run := 1; run <= 2; run++ {
		in := testbed.StartService(t, cfg, svc.Options{})
		c := in.Client(true)
		if _, err := c.Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil && run == 1 {
			t.Fatal(err)
		}
		var before int64
		if j, err := c.Job(ctx, pkg.ID); err == nil {
			before = j.Downloaded
		}
		testbed.WaitJob(t, c, pkg.ID, 20*time.Second, "data from the origin over uTP",
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
