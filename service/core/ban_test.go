package core_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

// liar claims every piece is complete, so a real engine serves whatever
// bytes are on its disk.
type liar struct{}

func (liar) Get(metainfo.PieceKey) (storage.Completion, error) {
	return storage.Completion{Complete: true, Ok: true}, nil
}
func (liar) Set(metainfo.PieceKey, g.Option[bool]) error { return nil }
func (liar) Close() error                                { return nil }

// A real anacrolix peer that serves garbage for a package is banned by the
// service's engine, and the ban shows: an event on the API's stream, the
// status's banned_peers (which the window's diagnostics show), and a line
// in the log and the recent warnings.
func TestBadPeerIsBannedAndShown(t *testing.T) {
	key := testbed.NewKey(t)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"setup.msi": 256 << 10})
	pkg := testbed.MakePackage(t, key, "BADPEER", "1", src, "", 0)

	cfg := testbed.Config(t, key, "", "127.0.0.1")
	logs := &syncBuffer{}
	in := testbed.StartService(t, cfg, svc.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	c := in.Client(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	banned := make(chan api.BannedPeer, 1)
	go func() {
		_ = c.Events(ctx, func(ev api.Event) error {
			if ev.Type == api.EventPeerBanned && ev.Peer != nil {
				banned <- *ev.Peer
				return errors.New("done")
			}
			return nil
		})
	}()
	if _, err := c.Add(ctx, api.AddRequest{Torrent: pkg.Torrent, Priority: api.High}); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The bad peer: the right torrent, garbage content, claims to have it all.
	bad := t.TempDir()
	if err := os.MkdirAll(filepath.Join(bad, pkg.ID), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, pkg.ID, "setup.msi"), bytes.Repeat([]byte("X"), 256<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	bc := torrent.NewDefaultClientConfig()
	bc.DataDir = bad
	bc.ListenHost = func(string) string { return "127.0.0.3" }
	bc.ListenPort = 0
	bc.NoDHT, bc.DisablePEX, bc.DisableTrackers, bc.DisableUTP, bc.DisableIPv6 = true, true, true, true, true
	bc.NoDefaultPortForwarding = true
	bc.Seed = true
	bc.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{ClientBaseDir: bad, PieceCompletion: liar{}, UsePartFiles: g.Some(false)})
	bcl, err := torrent.NewClient(bc)
	if err != nil {
		t.Fatal(err)
	}
	defer bcl.Close()
	bt, _ := bcl.AddTorrentOpt(torrent.AddTorrentOpts{InfoHash: pkg.Info.InfoHash})
	if err := bt.SetInfoBytes(pkg.Info.Meta.InfoBytes); err != nil {
		t.Fatal(err)
	}
	bt.AddPeers([]torrent.PeerInfo{{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: st.ListenPort}}})

	var p api.BannedPeer
	select {
	case p = <-banned:
	case <-time.After(2 * time.Minute):
		t.Fatalf("no peer_banned event; log:\n%s", string(logs.Bytes()))
	}
	// The bad peer dials from the loopback's default source address.
	if p.Address != "127.0.0.1" && p.Address != "127.0.0.3" {
		t.Errorf("banned %q, want the bad peer's address", p.Address)
	}
	st, err = c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.BannedPeers) != 1 || st.BannedPeers[0].Address != p.Address {
		t.Errorf("status banned_peers %+v", st.BannedPeers)
	}
	found := false
	for _, e := range st.RecentErrors {
		found = found || strings.Contains(e.Message, "banned peer "+p.Address)
	}
	if !found {
		t.Errorf("recent warnings %+v lack the ban", st.RecentErrors)
	}
	if !strings.Contains(string(logs.Bytes()), "banned peer "+p.Address) {
		t.Errorf("log lacks the ban:\n%s", string(logs.Bytes()))
	}
	j, err := c.Job(ctx, pkg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.BytesDone != 0 {
		t.Errorf("%d bad bytes counted as done", j.BytesDone)
	}
}
