package server_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/internal/units"
)

// seedDemo publishes a few packages and fills their swarms with announces
// from several sites, for the web page.
func seedDemo(t *testing.T, e *testbed.Tracker) {
	office1 := testbed.RandomPackage(t, e.Key, "PS100012", "16.0.1", 300<<10, e.Announce)
	office2 := testbed.RandomPackage(t, e.Key, "PS100012", "16.0.2", 320<<10, e.Announce)
	patch := testbed.RandomPackage(t, e.Key, "KB5031356", "2023-10", 120<<10, e.Announce)
	driver := testbed.RandomPackage(t, e.Key, "DRV-HP-G9", "1.4", 64<<10, e.Announce)
	zip := testbed.RandomPackage(t, e.Key, "7ZIP-2301", "23.01", 90<<10, e.Announce)
	chrome := testbed.RandomPackage(t, e.Key, "CHROME-ENT", "119.0.6045", 200<<10, e.Announce)
	for _, p := range []*testbed.Package{office1, office2, patch, driver, zip, chrome} {
		e.Publish(p)
	}
	rawAnnounce(t, e, testbed.OriginIP, zip.Hash, "origin9", 6881, "left=0")
	for i := range 5 {
		rawAnnounce(t, e, fmt.Sprintf("127.0.1.%d", 10+i), zip.Hash, fmt.Sprint("a", i), 6881, "event=completed&left=0")
		rawAnnounce(t, e, fmt.Sprintf("127.0.2.%d", 10+i), zip.Hash, fmt.Sprint("b", i), 6881, "event=completed&left=0")
		rawAnnounce(t, e, fmt.Sprintf("127.0.2.%d", 10+i), chrome.Hash, fmt.Sprint("b", i), 6881, "left=0")
	}
	// Origin seeds everything; branch A is well along; branch B has leechers only.
	for i, p := range []*testbed.Package{office2, patch} {
		rawAnnounce(t, e, testbed.OriginIP, p.Hash, fmt.Sprint("origin", i), 6881, "left=0")
	}
	for i := range 6 {
		ip := fmt.Sprintf("127.0.1.%d", 10+i)
		ev := "event=started"
		if i < 4 {
			ev = fmt.Sprintf("event=completed&left=0&downloaded=%d", 320<<10)
		}
		rawAnnounce(t, e, ip, office2.Hash, fmt.Sprint("a", i), 6881, ev)
	}
	for i := range 3 {
		rawAnnounce(t, e, fmt.Sprintf("127.0.2.%d", 10+i), office2.Hash, fmt.Sprint("b", i), 6881, "downloaded=100000")
		rawAnnounce(t, e, fmt.Sprintf("127.0.2.%d", 10+i), driver.Hash, fmt.Sprint("b", i), 6881, "")
	}
	rawAnnounce(t, e, "127.0.0.1", patch.Hash, "hq", 6881, "event=completed&left=0")
	// The PCs of branch A report where office2's bytes came from: the
	// gateway a0 from the servers, the others from it.
	for i := range 4 {
		r := repoapi.Report{InfoHash: testbed.HexHash(office2.Hash), PeerID: peerHex(fmt.Sprint("a", i)),
			Site: 320 << 10, Complete: true, Seconds: int64(20 + 5*i)}
		if i == 0 {
			r.Site, r.Origin = 0, 320<<10
		}
		if _, err := reporter(e, fmt.Sprintf("127.0.1.%d", 10+i)).Report(context.Background(), office2.ID, r); err != nil {
			t.Fatal(err)
		}
	}
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestWebPageInChromium renders the repository page in real headless
// Chromium and checks what it shows. With SMSTORRENT_SCREENSHOT=<file.png>
// the screenshot is also copied there (docs/tracker-page.png is made so).
func TestWebPageInChromium(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		t.Skip("chromium is not installed (Debian package chromium)")
	}
	e := testbed.StartSiteTracker(t, nil)
	seedDemo(t, e)

	// The page's own headers and content, without a browser.
	resp, err := http.Get(e.Base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("security headers: %v", resp.Header)
	}

	dir := t.TempDir()
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir=" + filepath.Join(dir, "profile")}
	runChromium := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, chromium, append(append([]string(nil), flags...), args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.Bytes())
		}
		return stdout.Bytes()
	}
	dom := string(runChromium("--dump-dom", e.Base+"/"))
	for _, want := range []string{"SMSTorrent repository", "PS100012", "16.0.2", "previous:", "16.0.1", "KB5031356", "DRV-HP-G9",
		testbed.SiteA, testbed.SiteB, "Seeded", "Stalled: no seeder", "/api/v1/packages/PS100012/torrent"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	detail := string(runChromium("--dump-dom", e.Base+"/packages/PS100012"))
	for _, want := range []string{"Swarm per site", "Savings per site", "WAN avoided", units.Bytes(960 << 10), "4 PCs:", "setup.msi", "sub/data.cab", "Previous versions", "16.0.1"} {
		if !strings.Contains(detail, want) {
			t.Errorf("package page lacks %q", want)
		}
	}
	shot := filepath.Join(dir, "page.png")
	runChromium("--screenshot="+shot, "--window-size=1400,720", e.Base+"/")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() != 1400 {
		t.Fatalf("screenshot: %v %v", img.Bounds(), err)
	}
	// The header bar is dark blue: the style sheet was applied.
	if r, g, b, _ := img.At(5, 5).RGBA(); !(b > r && b > g && r < 0x4000) {
		t.Errorf("pixel (5,5) = %x %x %x: style sheet not applied?", r, g, b)
	}
	if out := os.Getenv("SMSTORRENT_SCREENSHOT"); out != "" {
		b, _ := os.ReadFile(shot)
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
