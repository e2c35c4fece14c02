package core_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/testbed"
)

// plainSeeder is a plain engine on 127.0.0.1 (TCP, IPv4) seeding a copy of
// p that announces nowhere: a peer the tests put behind a proxy of their own.
func plainSeeder(t *testing.T, p *testbed.Package) *torrent.Client {
	t.Helper()
	dataDir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dataDir, p.ID), os.DirFS(p.Dir)); err != nil {
		t.Fatal(err)
	}
	cc := torrent.NewDefaultClientConfig()
	cc.DataDir = dataDir
	cc.Seed = true
	cc.NoDHT, cc.DisablePEX, cc.DisableUTP, cc.DisableIPv6 = true, true, true, true
	cc.ListenHost = func(string) string { return "127.0.0.1" }
	cc.ListenPort = 0
	cc.LocalServiceDiscovery = nil
	cl, err := torrent.NewClient(cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	mi, err := metainfo.Load(bytes.NewReader(p.Torrent))
	if err != nil {
		t.Fatal(err)
	}
	mi.Announce, mi.AnnounceList = "", nil
	st, err := cl.AddTorrent(mi)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.VerifyDataContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	return cl
}
