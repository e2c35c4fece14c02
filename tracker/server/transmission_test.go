package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
)

const transmissionBin = "/usr/bin/transmission-daemon"

func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// transmission drives a transmission-daemon through its RPC.
type transmission struct {
	url     string
	session string
}

func (tr *transmission) call(method string, args any, result any) error {
	body, _ := json.Marshal(map[string]any{"method": method, "arguments": args})
	for range 3 {
		req, _ := http.NewRequest("POST", tr.url, bytes.NewReader(body))
		req.Header.Set("X-Transmission-Session-Id", tr.session)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusConflict {
			tr.session = resp.Header.Get("X-Transmission-Session-Id")
			continue
		}
		var r struct {
			Result    string          `json:"result"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %s: %q", method, resp.Status, b)
		}
		if r.Result != "success" {
			return fmt.Errorf("%s: %s", method, r.Result)
		}
		if result != nil {
			return json.Unmarshal(r.Arguments, result)
		}
		return nil
	}
	return fmt.Errorf("%s: no session", method)
}

// TestTransmissionDownloadsThroughTracker: a real transmission-daemon in
// site A downloads a package from a real anacrolix origin seeder, with
// this tracker as the only way for them to find each other.
func TestTransmissionDownloadsThroughTracker(t *testing.T) {
	if _, err := os.Stat(transmissionBin); err != nil {
		t.Skipf("%s is not installed (Debian package transmission-daemon): %v", transmissionBin, err)
	}
	e := testbed.StartSiteTracker(t, nil)
	p := testbed.RandomPackage(t, e.Key, "PS500001", "1.0", 3<<20, e.Announce)
	e.Publish(p)

	const tip = "127.0.1.50" // transmission's address: site A
	dir := t.TempDir()
	cfgDir, dlDir := filepath.Join(dir, "config"), filepath.Join(dir, "downloads")
	_ = os.MkdirAll(cfgDir, 0o755)
	_ = os.MkdirAll(dlDir, 0o755)
	rpcPort, peerPort := freePort(t, "127.0.0.1"), freePort(t, tip)
	settings := map[string]any{
		"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
		"port-forwarding-enabled": false, "peer-port": peerPort, "peer-port-random-on-start": false,
		"bind-address-ipv4": tip, "bind-address-ipv6": "::1",
		"rpc-enabled": true, "rpc-bind-address": "127.0.0.1", "rpc-port": rpcPort,
		"rpc-authentication-required": false, "rpc-whitelist-enabled": true, "rpc-whitelist": "127.0.0.1",
		"rpc-host-whitelist-enabled": false,
		"download-dir":               dlDir, "incomplete-dir-enabled": false, "watch-dir-enabled": false,
		"encryption": 1, "blocklist-enabled": false, "start-added-torrents": true,
		"speed-limit-down-enabled": false, "speed-limit-up-enabled": false, "alt-speed-enabled": false,
		"message-level": 2,
	}
	sb, _ := json.MarshalIndent(settings, "", "  ")
	if err := os.WriteFile(filepath.Join(cfgDir, "settings.json"), sb, 0o600); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "transmission-daemon", exec.Command(transmissionBin, "-f", "-g", cfgDir, "--log-info"),
		filepath.Join(dir, "transmission.log"))

	tr := &transmission{url: "http://127.0.0.1:" + strconv.Itoa(rpcPort) + "/transmission/rpc"}
	testbed.WaitFor(t, "transmission RPC", 60*time.Second, func() bool {
		return tr.call("session-get", map[string]any{}, nil) == nil
	})
	err := tr.call("torrent-add", map[string]any{"metainfo": base64.StdEncoding.EncodeToString(p.Torrent), "download-dir": dlDir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until transmission is in the swarm, then start the origin: its
	// first announce hands it transmission's address.
	testbed.WaitFor(t, "transmission's announce", 90*time.Second, func() bool {
		st := e.Server.Registry.Stats(p.Hash)
		return st[testbed.SiteA].Leechers+st[testbed.SiteHQ].Leechers > 0
	})
	seeder := testbed.NewClient(t, testbed.OriginIP, p.DataDir, true)
	mi := *p.Meta
	st, err := seeder.AddTorrent(&mi)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.VerifyDataContext(context.Background()); err != nil {
		t.Fatal(err)
	}

	var last string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var r struct {
			Torrents []struct {
				PercentDone    float64 `json:"percentDone"`
				Error          int     `json:"error"`
				ErrorString    string  `json:"errorString"`
				PeersConnected int     `json:"peersConnected"`
				TrackerStats   []struct {
					LastAnnounceResult string `json:"lastAnnounceResult"`
				} `json:"trackerStats"`
			} `json:"torrents"`
		}
		if err := tr.call("torrent-get", map[string]any{"fields": []string{"percentDone", "error", "errorString", "peersConnected", "trackerStats"}}, &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Torrents) == 1 {
			tt := r.Torrents[0]
			last = fmt.Sprintf("%+v", tt)
			if tt.PercentDone == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("transmission did not complete the download: %s", last)
		}
		time.Sleep(200 * time.Millisecond) // polling interval
	}
	got, err := os.ReadFile(filepath.Join(dlDir, p.ID, "sub", "data.cab"))
	want, _ := os.ReadFile(filepath.Join(p.DataDir, p.ID, "sub", "data.cab"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("downloaded file differs: %v", err)
	}
	t.Logf("transmission completed: %s", last)
	t.Logf("swarm per site: %+v", e.Server.Registry.Stats(p.Hash))
}
