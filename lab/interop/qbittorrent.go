package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// QBittorrentBin is the Debian package qbittorrent-nox's executable.
const QBittorrentBin = "/usr/bin/qbittorrent-nox"

// QBittorrent is a qbittorrent-nox driven through its Web API.
type QBittorrent struct {
	Addr        string // peer address host:port
	DownloadDir string
	LogPath     string
	base        string // http://127.0.0.1:port
	http        *http.Client
	proc        *proc
}

// QBittorrentOptions configures StartQBittorrent.
type QBittorrentOptions struct {
	IP  string // the address its peer socket binds to
	Dir string // profile, downloads and log
}

// qbConfig is qbittorrent-nox's configuration file: peers on ip:peerPort
// only, the Web API on loopback, and nothing that leaves the machine (no
// DHT, PeX, LSD, UPnP, peer-country look-up).
func qbConfig(ip, dl string, peerPort, webPort int) string {
	return strings.Join([]string{
		"[LegalNotice]", "Accepted=true", "",
		"[Application]", "FileLogger\\Enabled=false", "",
		"[BitTorrent]",
		"Session\\DHTEnabled=false", "Session\\LSDEnabled=false", "Session\\PeXEnabled=false",
		"Session\\Port=" + strconv.Itoa(peerPort),
		"Session\\InterfaceAddress=" + ip, "Session\\Interface=lo", "Session\\InterfaceName=lo",
		"Session\\DefaultSavePath=" + dl, "Session\\TempPathEnabled=false",
		"Session\\BTProtocol=TCP", "Session\\MultiConnectionsPerIp=true",
		"Session\\QueueingSystemEnabled=false", "Session\\AddTrackersEnabled=false",
		"Session\\AnonymousModeEnabled=false", "Session\\GlobalMaxRatio=-1",
		"",
		"[Preferences]",
		"WebUI\\Enabled=true", "WebUI\\Address=127.0.0.1", "WebUI\\Port=" + strconv.Itoa(webPort),
		"WebUI\\LocalHostAuth=false", "WebUI\\CSRFProtection=false", "WebUI\\HostHeaderValidation=false",
		"WebUI\\UseUPnP=false", "Connection\\UPnP=false", "Connection\\ResolvePeerCountries=false",
		"General\\UseRandomPort=false", "Advanced\\AnonymousMode=false",
		"",
	}, "\n")
}

// StartQBittorrent starts qbittorrent-nox with nothing that leaves the
// machine: DHT, PeX, LSD, UPnP/NAT-PMP off, no peer-country look-up, no
// update check, TCP only, bound to o.IP; the Web API on 127.0.0.1 without
// a login for localhost. Stop ends it.
func StartQBittorrent(o QBittorrentOptions) (*QBittorrent, error) {
	if _, err := os.Stat(QBittorrentBin); err != nil {
		return nil, fmt.Errorf("%s is not installed (Debian package qbittorrent-nox): %w", QBittorrentBin, err)
	}
	dl := filepath.Join(o.Dir, "downloads")
	cfgDir := filepath.Join(o.Dir, "profile", "qBittorrent", "config")
	for _, d := range []string{dl, cfgDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	webPort, err := FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	peerPort, err := FreePort(o.IP)
	if err != nil {
		return nil, err
	}
	conf := qbConfig(o.IP, dl, peerPort, webPort)
	if err := os.WriteFile(filepath.Join(cfgDir, "qBittorrent.conf"), []byte(conf), 0o600); err != nil {
		return nil, err
	}
	qb := &QBittorrent{
		Addr:        fmt.Sprintf("%s:%d", o.IP, peerPort),
		DownloadDir: dl,
		LogPath:     filepath.Join(o.Dir, "qbittorrent.log"),
		base:        fmt.Sprintf("http://127.0.0.1:%d", webPort),
		http:        &http.Client{Timeout: 10 * time.Second},
	}
	qb.proc, err = startProc(QBittorrentBin, qb.LogPath, "", []string{"HOME=" + o.Dir}, "--profile="+filepath.Join(o.Dir, "profile"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = qb.proc.waitReady("qbittorrent-nox's Web API", 60*time.Second, func(ctx context.Context) error {
		_, err := qb.get(ctx, "/api/v2/app/version")
		return err
	})
	if err != nil {
		return nil, err
	}
	// The configuration file sets these already; the API makes sure of the
	// ones that would leave the machine, whatever the version reads.
	prefs := map[string]any{
		"dht": false, "pex": false, "lsd": false, "upnp": false, "resolve_peer_countries": false,
		"listen_port": peerPort, "random_port": false, "current_interface_address": o.IP,
		"bittorrent_protocol": 1, "enable_multi_connections_from_same_ip": true,
		"queueing_enabled": false, "max_ratio_enabled": false, "anonymous_mode": false,
		"save_path": dl, "temp_path_enabled": false,
	}
	pb, err := json.Marshal(prefs)
	if err != nil {
		qb.Stop()
		return nil, err
	}
	if err := qb.postForm(ctx, "/api/v2/app/setPreferences", url.Values{"json": {string(pb)}}); err != nil {
		qb.Stop()
		return nil, err
	}
	return qb, nil
}

// Add adds a torrent, started, saving into saveDir.
func (qb *QBittorrent) Add(ctx context.Context, torrent []byte, saveDir string) error {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("torrents", "package.torrent")
	if err != nil {
		return err
	}
	if _, err := fw.Write(torrent); err != nil {
		return err
	}
	for k, v := range map[string]string{"savepath": saveDir, "paused": "false", "autoTMM": "false"} {
		if err := mw.WriteField(k, v); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, qb.base+"/api/v2/torrents/add", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	_, err = qb.do(req)
	return err
}

// QBStatus is what the matrix reads of a torrent.
type QBStatus struct {
	Hash     string  `json:"hash"`
	Progress float64 `json:"progress"`
	State    string  `json:"state"`
	NumSeeds int     `json:"num_seeds"`
	NumLeech int     `json:"num_leechs"`
	Tracker  string  `json:"tracker"`
}

// Status returns the status of the torrent with the info-hash ih (hex).
func (qb *QBittorrent) Status(ctx context.Context, ih string) (QBStatus, error) {
	b, err := qb.get(ctx, "/api/v2/torrents/info?hashes="+url.QueryEscape(ih))
	if err != nil {
		return QBStatus{}, err
	}
	var ts []QBStatus
	if err := json.Unmarshal(b, &ts); err != nil {
		return QBStatus{}, fmt.Errorf("torrents/info: %w", err)
	}
	if len(ts) == 0 {
		return QBStatus{}, errors.New("qbittorrent has no such torrent")
	}
	return ts[0], nil
}

// Seeding reports whether a state of qBittorrent's means it has the whole
// torrent and offers it.
func (s QBStatus) Seeding() bool {
	switch s.State {
	case "uploading", "stalledUP", "forcedUP", "queuedUP":
		return s.Progress == 1
	}
	return false
}

// Stop ends the daemon.
func (qb *QBittorrent) Stop() { qb.proc.stop() }

func (qb *QBittorrent) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, qb.base+path, nil)
	if err != nil {
		return nil, err
	}
	return qb.do(req)
}

func (qb *QBittorrent) postForm(ctx context.Context, path string, v url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, qb.base+path, strings.NewReader(v.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err = qb.do(req)
	return err
}

func (qb *QBittorrent) do(req *http.Request) ([]byte, error) {
	resp, err := qb.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(b))
	}
	if bytes.Equal(bytes.TrimSpace(b), []byte("Fails.")) {
		return nil, fmt.Errorf("%s %s: qBittorrent refused", req.Method, req.URL.Path)
	}
	return b, nil
}
