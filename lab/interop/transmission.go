package interop

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
	"github.com/smstorrent/smstorrent/lab/trrpc"
)

// TransmissionBin is the Debian package transmission-daemon's executable.
const TransmissionBin = "/usr/bin/transmission-daemon"

// Transmission is a transmission-daemon started on loopback.
type Transmission struct {
	RPC         *trrpc.Client
	Addr        string // peer address host:port
	DownloadDir string
	LogPath     string
	proc        *proc
}

// TransmissionOptions configures StartTransmission.
type TransmissionOptions struct {
	IP  string // the address it binds its peer socket to
	Dir string // its configuration, downloads and log go here
	// Encryption is 0 (prefer plain), 1 (prefer encrypted) or 2 (require).
	Encryption int
	UTP        bool
	// Debug turns on its debug log (every request and block).
	Debug bool
}

// StartTransmission starts transmission-daemon with nothing that leaves
// the machine: no DHT, LPD, PEX, port forwarding or blocklist update; RPC
// on 127.0.0.1 without authentication. Stop ends it.
func StartTransmission(o TransmissionOptions) (*Transmission, error) {
	if _, err := os.Stat(TransmissionBin); err != nil {
		return nil, fmt.Errorf("%s is not installed (Debian package transmission-daemon): %w", TransmissionBin, err)
	}
	cfgDir, dl := filepath.Join(o.Dir, "config"), filepath.Join(o.Dir, "downloads")
	for _, d := range []string{cfgDir, dl} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	rpcPort, err := FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	peerPort, err := FreePort(o.IP)
	if err != nil {
		return nil, err
	}
	level := 2
	if o.Debug {
		level = 3
	}
	settings := map[string]any{
		"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": o.UTP,
		"port-forwarding-enabled": false, "peer-port": peerPort, "peer-port-random-on-start": false,
		"bind-address-ipv4": o.IP, "bind-address-ipv6": "::1",
		"rpc-enabled": true, "rpc-bind-address": "127.0.0.1", "rpc-port": rpcPort,
		"rpc-authentication-required": false, "rpc-whitelist-enabled": true, "rpc-whitelist": "127.0.0.1",
		"rpc-host-whitelist-enabled": false,
		"download-dir":               dl, "incomplete-dir-enabled": false, "watch-dir-enabled": false,
		"encryption": o.Encryption, "blocklist-enabled": false, "start-added-torrents": true,
		"speed-limit-down-enabled": false, "speed-limit-up-enabled": false, "alt-speed-enabled": false,
		"ratio-limit-enabled": false, "idle-seeding-limit-enabled": false,
		"scrape-paused-torrents-enabled": false,
		"message-level":                  level,
	}
	if err := netlab.WriteJSON(filepath.Join(cfgDir, "settings.json"), settings); err != nil {
		return nil, err
	}
	tr := &Transmission{
		Addr:        net.JoinHostPort(o.IP, strconv.Itoa(peerPort)),
		DownloadDir: dl,
		LogPath:     filepath.Join(o.Dir, "transmission.log"),
		RPC:         trrpc.New(&http.Client{Timeout: 10 * time.Second}, fmt.Sprintf("http://127.0.0.1:%d/transmission/rpc", rpcPort)),
	}
	logFlag := "--log-error"
	if o.Debug {
		logFlag = "--log-debug"
	}
	if tr.proc, err = startProc(TransmissionBin, tr.LogPath, "", nil, "-f", "-g", cfgDir, logFlag); err != nil {
		return nil, err
	}
	err = tr.proc.waitReady("transmission-daemon's RPC", 60*time.Second, func(ctx context.Context) error {
		return tr.RPC.Call(ctx, "session-get", map[string]any{}, nil)
	})
	if err != nil {
		return nil, err
	}
	return tr, nil
}

// Stop ends the daemon.
func (tr *Transmission) Stop() { tr.proc.stop() }

// FreePort returns a TCP port that was free on ip a moment ago.
func FreePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
