package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
)

const qbittorrentBin = "/usr/bin/qbittorrent-nox"

// startQBittorrent runs qbittorrent-nox with a profile of its own, bound
// to ip, that keeps everything on the machine (no DHT, PeX, LSD, UPnP or
// NAT-PMP, no peer-country look-up, no RSS, no search plugins, Web UI on
// loopback only), adding torrentFile at start. Its download rate is
// capped at dlKiB KiB/s (0: none); webUI is the base URL of its Web API
// (no login from loopback). It is killed by PID in Cleanup.
func startQBittorrent(t *testing.T, ip, torrentFile string, dlKiB int) (saveDir, webUI string) {
	t.Helper()
	dir := t.TempDir()
	saveDir = filepath.Join(dir, "downloads")
	cfgDir := filepath.Join(dir, "profile", "qBittorrent", "config")
	webPort := freePort(t, "127.0.0.1")
	webUI = "http://127.0.0.1:" + strconv.Itoa(webPort)
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`[LegalNotice]
Accepted=true

[BitTorrent]
Session\DHTEnabled=false
Session\PeXEnabled=false
Session\LSDEnabled=false
Session\Encryption=0
Session\AnonymousModeEnabled=false
Session\QueueingSystemEnabled=false
Session\AddTorrentPaused=false
Session\Port=%d
Session\Interface=lo
Session\InterfaceName=lo
Session\InterfaceAddress=%s
Session\GlobalDLSpeedLimit=%d
Session\DefaultSavePath=%s
Session\TempPathEnabled=false

[Network]
PortForwardingEnabled=false

[Preferences]
Connection\ResolvePeerCountries=false
Connection\UPnP=false
Bittorrent\DHT=false
Bittorrent\PeX=false
Bittorrent\LSD=false
Search\SearchEnabled=false
WebUI\Enabled=true
WebUI\Address=127.0.0.1
WebUI\Port=%d
WebUI\LocalHostAuth=false
WebUI\UseUPnP=false

[RSS]
AutoDownloader\EnableProcessing=false
Session\EnableProcessing=false
`, freePort(t, ip), ip, dlKiB, saveDir, webPort)
	if err := os.WriteFile(filepath.Join(cfgDir, "qBittorrent.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(qbittorrentBin, "--profile="+filepath.Join(dir, "profile"), "--save-path="+saveDir,
		"--skip-dialog=true", torrentFile)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "xdg"))
	startDaemon(t, "qbittorrent-nox", cmd, filepath.Join(dir, "qbittorrent.out"),
		filepath.Join(dir, "profile", "qBittorrent", "data", "logs", "qbittorrent.log"))
	return saveDir, webUI
}

// startDaemon starts cmd with its output in the file out, and kills it by
// PID in Cleanup; if the test failed, it logs out and the other logs.
func startDaemon(t *testing.T, name string, cmd *exec.Cmd, out string, logs ...string) {
	t.Helper()
	logf, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			for _, f := range append([]string{out}, logs...) {
				b, _ := os.ReadFile(f)
				t.Logf("%s: %s:\n%s", name, filepath.Base(f), b)
			}
		}
	})
}

// Issue 17: qBittorrent raises every tracker interval to at least 5
// minutes. As its site's gateway, downloading from our origin, it keeps
// the role while its neighbour (asked back every second here) announces
// 40 times: the tracker judges it by its own pace. Under the old rule
// (2 × min_interval + 30 s = 32 s in this configuration) the neighbour
// took the role after 32 s. Then it completes with identical files and
// counts as its site's seeder.
func TestQBittorrentGatewayAtItsOwnPace(t *testing.T) {
	if _, err := os.Stat(qbittorrentBin); err != nil {
		t.Skipf("%s is not installed (Debian package qbittorrent-nox): %v", qbittorrentBin, err)
	}
	e := testbed.StartSiteTracker(t, nil)
	p := testbed.RandomPackage(t, e.Key, "PS500002", "1.0", 3<<20, e.Announce)
	e.Publish(p)
	torrentFile := filepath.Join(t.TempDir(), p.ID+".torrent")
	if err := os.WriteFile(torrentFile, p.Torrent, 0o644); err != nil {
		t.Fatal(err)
	}

	origin := testbed.NewClient(t, testbed.OriginIP, p.DataDir, true)
	mi := *p.Meta
	ot, err := origin.AddTorrent(&mi)
	if err != nil {
		t.Fatal(err)
	}
	if err := ot.VerifyDataContext(t.Context()); err != nil {
		t.Fatal(err)
	}

	const qip = "127.0.1.60"                                    // qBittorrent's address: site A
	saveDir, webUI := startQBittorrent(t, qip, torrentFile, 16) // 3 MiB at 16 KiB/s: a leecher for minutes
	isQB := func() bool {
		g, ok := e.Server.Registry.Gateway(p.Hash, testbed.SiteA)
		return ok && g.Addr.Addr() == netip.MustParseAddr(qip)
	}
	testbed.WaitFor(t, "qBittorrent's announce making it site A's gateway", 2*time.Minute, isQB)
	became := time.Now()

	// Its neighbour in site A announces at the pace it is asked for (every
	// second here), each time a chance to take over a gateway that looks
	// gone.
	const hold = 40 * time.Second // beyond the old rule's 32 s
	n := 0
	for time.Since(became) < hold {
		if r := rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "neighbour", 7100, "downloaded="+strconv.Itoa(n<<14)); r.Failure != "" {
			t.Fatalf("neighbour's announce refused: %s", r.Failure)
		}
		n++
		if !isQB() {
			g, _ := e.Server.Registry.Gateway(p.Hash, testbed.SiteA)
			t.Fatalf("after %v and %d announces of its neighbour the gateway role moved from qBittorrent to %v",
				time.Since(became).Round(time.Second), n, g.Addr)
		}
		time.Sleep(time.Second) // the neighbour's announce interval
	}
	t.Logf("qBittorrent kept the gateway role for %v against %d announces of its neighbour; site A: %+v",
		time.Since(became).Round(time.Second), n, e.Server.Registry.Stats(p.Hash)[testbed.SiteA])

	// Lift qBittorrent's limit through its Web API and let it finish.
	resp, err := http.PostForm(webUI+"/api/v2/transfer/setDownloadLimit", url.Values{"limit": {"0"}})
	if err != nil {
		t.Fatalf("qBittorrent Web API: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("qBittorrent Web API setDownloadLimit: HTTP %d", resp.StatusCode)
	}
	want, _ := os.ReadFile(filepath.Join(p.DataDir, p.ID, "sub", "data.cab"))
	testbed.WaitFor(t, "qBittorrent completing and announcing it", 5*time.Minute, func() bool {
		got, err := os.ReadFile(filepath.Join(saveDir, p.ID, "sub", "data.cab"))
		return err == nil && bytes.Equal(got, want) && e.Server.Registry.Stats(p.Hash)[testbed.SiteA].Seeders >= 1
	})
	for _, f := range []string{"setup.msi", filepath.Join("sub", "data.cab")} {
		got, err := os.ReadFile(filepath.Join(saveDir, p.ID, f))
		want, _ := os.ReadFile(filepath.Join(p.DataDir, p.ID, f))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s differs from the origin's: %v", f, err)
		}
	}
	t.Logf("qBittorrent completed %d bytes %v after it became the gateway; site A: %+v", 3<<20,
		time.Since(became).Round(time.Second), e.Server.Registry.Stats(p.Hash)[testbed.SiteA])
}
