package trrpc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/lab/netlab"
)

// The ports a lab transmission-daemon uses: peers on its host's address,
// RPC on the namespace's loopback.
const (
	PeerPort = 51413
	RPCPort  = 9091
)

// StartDaemon starts transmission-daemon in h's namespace with its
// configuration in cfgDir and downloads in downloadDir: bound to h's
// address, uTP on, no DHT, LPD, PEX, port forwarding, limits or seeding
// ratio, RPC without authentication on loopback. It returns the process
// and an RPC client (the daemon may not answer yet).
func StartDaemon(lab *netlab.Lab, h *netlab.Host, label, cfgDir, downloadDir string) (*netlab.Proc, *Client, error) {
	if err := os.MkdirAll(downloadDir, 0o755); err != nil {
		return nil, nil, err
	}
	settings := map[string]any{
		"bind-address-ipv4":              h.Addr.String(),
		"bind-address-ipv6":              "::1",
		"peer-port":                      PeerPort,
		"peer-port-random-on-start":      false,
		"port-forwarding-enabled":        false,
		"dht-enabled":                    false,
		"lpd-enabled":                    false,
		"pex-enabled":                    false,
		"utp-enabled":                    true,
		"download-dir":                   downloadDir,
		"incomplete-dir-enabled":         false,
		"start-added-torrents":           true,
		"ratio-limit-enabled":            false,
		"idle-seeding-limit-enabled":     false,
		"speed-limit-down-enabled":       false,
		"speed-limit-up-enabled":         false,
		"alt-speed-enabled":              false,
		"blocklist-enabled":              false,
		"watch-dir-enabled":              false,
		"rpc-enabled":                    true,
		"rpc-bind-address":               "127.0.0.1",
		"rpc-port":                       RPCPort,
		"rpc-authentication-required":    false,
		"rpc-whitelist-enabled":          false,
		"rpc-host-whitelist-enabled":     false,
		"message-level":                  2,
		"scrape-paused-torrents-enabled": false,
	}
	if err := netlab.WriteJSON(filepath.Join(cfgDir, "settings.json"), settings); err != nil {
		return nil, nil, err
	}
	p, err := lab.Start(netlab.Cmd{NS: h.NS, Label: label, Path: "transmission-daemon",
		Args: []string{"-f", "-g", cfgDir, "--log-error"}})
	if err != nil {
		return nil, nil, err
	}
	rpc := New(netlab.HTTPClient(h.NS, 10*time.Second), fmt.Sprintf("http://127.0.0.1:%d/transmission/rpc", RPCPort))
	return p, rpc, nil
}

// StartOpentracker makes a private torrent of content (a file or folder)
// with transmission-create, announcing to an opentracker on h:port, and
// starts that opentracker (Debian builds it whitelist-only, so the
// torrent's info-hash is whitelisted) with its files in dir. It returns
// the torrent and the tracker's process.
func StartOpentracker(ctx context.Context, lab *netlab.Lab, h *netlab.Host, port int, dir, content string) ([]byte, *netlab.Proc, error) {
	torrentPath := filepath.Join(dir, "package.torrent")
	announce := fmt.Sprintf("http://%s:%d/announce", h.Addr, port)
	if out, err := exec.CommandContext(ctx, "transmission-create", "-p", "-t", announce, "-o", torrentPath, content).CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("transmission-create: %w: %s", err, out)
	}
	mi, err := metainfo.LoadFromFile(torrentPath)
	if err != nil {
		return nil, nil, err
	}
	torrent, err := os.ReadFile(torrentPath)
	if err != nil {
		return nil, nil, err
	}
	otDir := filepath.Join(dir, "opentracker")
	if err := os.MkdirAll(otDir, 0o755); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(otDir, "whitelist.txt"), []byte(mi.HashInfoBytes().HexString()+"\n"), 0o644); err != nil {
		return nil, nil, err
	}
	conf := "access.whitelist whitelist.txt\ntracker.rootdir " + otDir + "\n"
	if err := os.WriteFile(filepath.Join(otDir, "opentracker.conf"), []byte(conf), 0o644); err != nil {
		return nil, nil, err
	}
	p, err := lab.Start(netlab.Cmd{NS: h.NS, Label: h.Name + "-opentracker", Path: "opentracker", Dir: otDir,
		Args: []string{"-f", filepath.Join(otDir, "opentracker.conf"), "-i", h.Addr.String(),
			"-p", fmt.Sprint(port), "-P", fmt.Sprint(port), "-u", "nobody"}})
	return torrent, p, err
}
