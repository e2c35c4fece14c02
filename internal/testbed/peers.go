package testbed

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
)

// Client is an anacrolix client bound to one loopback address.
type Client struct {
	*torrent.Client
	IP string
}

// NewClient starts a real anacrolix client listening (TCP only) on ip and
// announcing from ip. Seeders get dataDir with the content; leechers an
// empty folder.
func NewClient(tb testing.TB, ip, dataDir string, seed bool) *Client {
	cfg := torrent.TestingConfig(tb)
	cfg.SetListenAddr(net.JoinHostPort(ip, "0"))
	cfg.DataDir = dataDir
	cfg.Seed = seed
	cfg.DisableTrackers = false
	cfg.NoDHT = true
	cfg.DisablePEX = true
	cfg.DisableIPv6 = true
	cfg.DisableUTP = true
	cfg.DisableWebseeds = true
	cfg.KeepAliveTimeout = 30 * time.Second
	cfg.MaxAllocPeerRequestDataPerConn = 1 << 20
	// Outgoing peer connections must come from ip too, or the kernel picks
	// 127.0.0.1 and the peer appears in the wrong site.
	cfg.DialForPeerConns = false
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	cfg.TrackerDialContext = d.DialContext
	cfg.TrackerListenPacket = func(network, _ string) (net.PacketConn, error) {
		return net.ListenPacket("udp4", net.JoinHostPort(ip, "0"))
	}
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		tb.Fatalf("anacrolix client on %s: %v", ip, err)
	}
	tb.Cleanup(func() { cl.Close() })
	cl.AddDialer(torrent.NetworkDialer{Network: "tcp4", Dialer: &net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second,
	}})
	return &Client{Client: cl, IP: ip}
}

// BoundHTTPClient returns an HTTP client whose connections come from ip.
func BoundHTTPClient(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
	}
}

// Get fetches a URL with c and returns the body.
func Get(tb testing.TB, c *http.Client, u string) (int, []byte) {
	tb.Helper()
	resp, err := c.Get(u)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, b
}

// PeerID makes a 20-byte peer ID from a short name.
func PeerID(name string) string {
	id := []byte("-TT0001-" + name + strings.Repeat("x", 20))
	return string(id[:20])
}
