package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/app/tray"
	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

// EnvSession names the folder of a screenshot session: when it is set,
// TestScreenshotSession runs real services for app/scripts/real-service-screenshots.sh.
const EnvSession = "SMSTORRENT_SCREENSHOT_SESSION"

// TestScreenshotSession runs a real tracker with its repository, an origin
// (its upload held to 512 KiB/s, a thin WAN link), a colleague's PC that
// already holds "Office 2024", and this PC, limited to 2 MiB/s down, which
// downloads it from both. Once the job is transferring with bytes from the
// colleague and the server, it writes this PC's data folder to
// <session>/data-dir, for the window and the tray to follow, and waits for
// <session>/done (at most 10 minutes). It checks the source split the
// screenshots show: site + server bytes add up to what was received.
func TestScreenshotSession(t *testing.T) {
	dir := os.Getenv(EnvSession)
	if dir == "" {
		t.Skip("set " + EnvSession + " to a folder (app/scripts/real-service-screenshots.sh does)")
	}
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	pkg := namedPackage(t, key, tr.Announce, "PS100012", "16.0.17928", "Office 2024", map[string]int{
		"setup.msi": 260 << 20, "data/cab1.cab": 60 << 20})
	tr.Publish(pkg)
	testbed.StartOrigin(t, key, tr, pkg, func(c *config.Config) { c.LimitUp = 512 << 10 })

	// A small package only the colleague holds: this PC fetches it first
	// and seeds it while the big one downloads.
	small := namedPackage(t, key, tr.Announce, "PS100001", "24.08", "7-Zip", map[string]int{"7z2408-x64.msi": 6 << 20})
	tr.Publish(small)

	const site = "Branch Tallinn-03" // the display name; the tracker places both PCs in one site
	colleague := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	colleague.Site = site
	cin := testbed.StartService(t, colleague, svc.Options{})
	for _, p := range []*testbed.Package{pkg, small} {
		testbed.PlaceContent(t, colleague, p)
		if _, err := cin.Client(true).Add(context.Background(), api.AddRequest{Torrent: p.Torrent, Assign: true}); err != nil {
			t.Fatalf("colleague add: %v", err)
		}
		testbed.WaitJob(t, cin.Client(true), p.ID, 2*time.Minute, "the colleague verified "+p.ID,
			func(j *api.Job) bool { return j.State == api.StateTransferred })
	}

	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	cfg.LimitDown = 2 << 20
	cfg.Site = site
	testbed.StartService(t, cfg, svc.Options{})
	client := &api.Client{DataDir: cfg.DataDir}
	f := follow(t, client)
	if _, err := client.Add(context.Background(), api.AddRequest{PackageID: small.ID}); err != nil {
		t.Fatalf("add: %v", err)
	}
	f.until("the small package transferred", 2*time.Minute, func(s *viewmodel.Store) bool {
		j, ok := s.Job(small.ID)
		return ok && j.State == api.StateTransferred
	})
	if _, err := client.Add(context.Background(), api.AddRequest{PackageID: pkg.ID, Priority: api.High}); err != nil {
		t.Fatalf("add: %v", err)
	}
	f.until("bytes from a colleague and from the server", 2*time.Minute, func(s *viewmodel.Store) bool {
		j, ok := s.Job(pkg.ID)
		return ok && j.State == api.StateTransferring && j.Sources != nil && j.Sources.Site > 0 && j.Sources.Origin > 0
	})
	j, _ := f.store.Job(pkg.ID)
	if got := j.DownloadedSite + j.DownloadedServer; got > j.Downloaded || got < j.Downloaded*9/10 {
		t.Errorf("site %d + server %d bytes, received %d", j.DownloadedSite, j.DownloadedServer, j.Downloaded)
	}
	tip := tray.Compute(f.store, time.Now()).Tooltip
	if !strings.HasPrefix(tip, "SMSTorrent: Office 2024 · ") || !strings.Contains(tip, "% from colleagues") {
		t.Errorf("tray tooltip %q", tip)
	}
	tmp := filepath.Join(dir, "data-dir.tmp")
	if err := os.WriteFile(tmp, []byte(cfg.DataDir), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "data-dir")); err != nil {
		t.Fatal(err)
	}
	t.Logf("this PC's data folder: %s; %s; tray: %q", cfg.DataDir, viewmodel.SourcesText(j), tip)
	// Wait for the screenshots while applying events (the store stays
	// current; the poll looks for a file another process writes).
	deadline := time.NewTimer(10 * time.Minute)
	defer deadline.Stop()
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case ev := <-f.events:
			f.store.Apply(ev)
		case <-poll.C:
			if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
				return
			}
		case <-deadline.C:
			t.Fatal("no " + filepath.Join(dir, "done") + " after 10 minutes")
		}
	}
}

// namedPackage writes files into a new folder and signs a package of them
// with a display name.
func namedPackage(t *testing.T, key testbed.Key, announce, id, version, name string, files map[string]int) *testbed.Package {
	t.Helper()
	src := t.TempDir()
	testbed.WriteFiles(t, src, files)
	mi, err := pkgsign.Create(src, id, 256<<10, announce, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pkgsign.SignMeta(mi, pkgsign.Meta{ID: id, Version: version, Name: name}, key.Priv)
	if err != nil {
		t.Fatal(err)
	}
	info, err := pkgsign.Verify(b, []pkgsign.PublicKey{key.Priv.Public()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return &testbed.Package{ID: id, Version: version, Dir: src, Torrent: b, Info: info, Meta: m, Hash: m.HashInfoBytes()}
}
