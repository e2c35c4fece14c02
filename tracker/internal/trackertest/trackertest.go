// Package trackertest starts real smstorrent-tracker servers on loopback
// sockets for tests, makes signed packages, and builds real anacrolix
// BitTorrent clients and HTTP clients bound to chosen loopback addresses
// (Linux routes all of 127.0.0.0/8 to lo), so that tests can put peers in
// different sites.
package trackertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/tracker/cli"
	"github.com/smstorrent/smstorrent/tracker/config"
	"github.com/smstorrent/smstorrent/tracker/server"
)

// Addresses used by the standard test configuration.
const (
	SiteA     = "branch-a" // 127.0.1.0/24
	SiteB     = "branch-b" // 127.0.2.0/24
	SiteHQ    = "hq"       // 127.0.0.1/32
	OriginIP  = "127.0.3.1"
	SiteAIP1  = "127.0.1.1"
	SiteAIP2  = "127.0.1.2"
	SiteBIP1  = "127.0.2.1"
	SiteBIP2  = "127.0.2.2"
	NoSiteIP  = "127.0.5.1" // allowed, but in no site
	OutsideIP = "127.0.9.1" // not allowed
	Token     = "test-admin-token-0123456789"
	OriginKey = "test-origin-key-0123456789"
)

// Env is a running tracker.
type Env struct {
	T        testing.TB
	Cfg      *config.Config
	Server   *server.Server
	Key      pkgsign.PrivateKey
	Base     string // http://host:port of the repository
	Announce string // HTTP announce URL
	UDP      string // UDP announce URL
	cancel   context.CancelFunc
	done     chan error
}

// Config returns the standard test configuration: sites A, B and hq,
// origins in 127.0.3.0/24, everything on 127.0.0.1 with ":0" ports.
func Config(tb testing.TB, key pkgsign.PrivateKey) *config.Config {
	c := &config.Config{
		Listen:        "127.0.0.1:0",
		UDPListen:     "127.0.0.1:0",
		DataDir:       tb.TempDir(),
		AdminToken:    Token,
		TrustedKeys:   []string{key.Public().String()},
		AllowNetworks: []string{"127.0.0.1/32", "127.0.1.0/24", "127.0.2.0/24", "127.0.3.0/24", "127.0.5.0/24"},
		Sites: []config.Site{
			{Name: SiteA, Networks: []string{"127.0.1.0/24"}},
			{Name: SiteB, Networks: []string{"127.0.2.0/24"}},
			{Name: SiteHQ, Networks: []string{"127.0.0.1"}},
		},
		Origins:          config.Origins{Networks: []string{"127.0.3.0/24"}, Keys: []string{OriginKey}},
		AnnounceInterval: config.Duration(10 * time.Second),
		MinInterval:      config.Duration(time.Second),
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		tb.Fatalf("test config: %v", err)
	}
	return c
}

// NewKey makes a signing key.
func NewKey(tb testing.TB) pkgsign.PrivateKey {
	k, err := pkgsign.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// Start runs a tracker with the standard configuration, changed by mutate
// (may be nil). It is stopped in Cleanup.
func Start(tb testing.TB, mutate func(*config.Config)) *Env {
	key := NewKey(tb)
	c := Config(tb, key)
	if mutate != nil {
		mutate(c)
		if err := c.Validate(); err != nil {
			tb.Fatalf("test config: %v", err)
		}
	}
	return StartConfig(tb, c, key)
}

// StartConfig runs a tracker with a given configuration.
func StartConfig(tb testing.TB, c *config.Config, key pkgsign.PrivateKey) *Env {
	log := slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(c, log)
	if err != nil {
		tb.Fatalf("starting tracker: %v", err)
	}
	if err := srv.Listen(); err != nil {
		tb.Fatalf("starting tracker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Env{T: tb, Cfg: c, Server: srv, Key: key, cancel: cancel, done: make(chan error, 1)}
	e.Base = "http://" + srv.RepositoryAddr()
	e.Announce = "http://" + srv.HTTPAddr() + "/announce"
	if a := srv.UDPAddr(); a != "" {
		e.UDP = "udp://" + a + "/announce"
	}
	go func() { e.done <- srv.Serve(ctx) }()
	tb.Cleanup(func() { _ = e.Stop() })
	return e
}

// Stop stops the tracker and waits for it (idempotent).
func (e *Env) Stop() error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("tracker did not stop within 30s")
	}
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Package is a created package.
type Package struct {
	ID      string
	Dir     string // the folder holding the package folder (a seeder's DataDir)
	Torrent []byte
	Meta    *metainfo.MetaInfo
	Hash    metainfo.Hash
}

// MakePackage writes a package folder with a few files of random content
// (size bytes in total), and signs a torrent of it announcing to announce.
func MakePackage(tb testing.TB, key pkgsign.PrivateKey, id, version string, size int, announce string) *Package {
	dir := tb.TempDir()
	src := filepath.Join(dir, id)
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		tb.Fatal(err)
	}
	data := make([]byte, size)
	_, _ = rand.Read(data)
	half := size / 2
	if err := os.WriteFile(filepath.Join(src, "setup.msi"), data[:half], 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "data.cab"), data[half:], 0o644); err != nil {
		tb.Fatal(err)
	}
	mi, err := pkgsign.Create(src, id, 16<<10, announce, nil)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := pkgsign.Sign(mi, id, version, key)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	return &Package{ID: id, Dir: dir, Torrent: b, Meta: m, Hash: m.HashInfoBytes()}
}

// Publish uploads a package to the tracker's repository.
func (e *Env) Publish(p *Package) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.Publish(ctx, http.DefaultClient, e.Base, Token, p.Torrent); err != nil {
		e.T.Fatalf("publishing %s: %v", p.ID, err)
	}
}

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

// HexHash is an info-hash in hex.
func HexHash(h metainfo.Hash) string { return hex.EncodeToString(h[:]) }

// WaitFor polls cond until it is true or the deadline passes.
func WaitFor(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}
