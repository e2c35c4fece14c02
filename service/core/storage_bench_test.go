package core

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"

	"github.com/smstorrent/smstorrent/internal/procmem"
)

// BenchmarkFileStorage compares the service's file storage (plain reads and
// writes, fileStorage) with the engine's default memory-mapped one, in the
// same run and alternating, on one 128 MiB package between two real engine
// clients over loopback TCP: the seeder hashes the package from disk
// ("verify"), then serves it to a fresh leecher, which writes and hashes it
// ("transfer"). It reports MB/s of both for each storage, the ratio
// plain/mapped (1 = no loss), and how much more file-backed memory the
// process held resident after the transfer than before it (the mapped
// pages; procmem: resident minus private).
//
//	go test -run '^$' -bench FileStorage -benchtime 3x ./service/core
func BenchmarkFileStorage(b *testing.B) {
	const size = 128 << 20
	seedDir := b.TempDir()
	name := "payload.bin"
	buf := make([]byte, size)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seedDir, name), buf, 0o644); err != nil {
		b.Fatal(err)
	}
	buf = nil
	info := metainfo.Info{PieceLength: 256 << 10}
	if err := info.BuildFromFilePath(filepath.Join(seedDir, name)); err != nil {
		b.Fatal(err)
	}
	ib, err := bencode.Marshal(info)
	if err != nil {
		b.Fatal(err)
	}
	mi := &metainfo.MetaInfo{InfoBytes: ib}
	kinds := []struct {
		name string
		open func(dir string) storage.ClientImplCloser
	}{
		{"mapped", func(dir string) storage.ClientImplCloser {
			return storage.NewFileOpts(storage.NewFileClientOpts{ClientBaseDir: dir,
				PieceCompletion: storage.NewMapPieceCompletion(), UsePartFiles: g.Some(false)})
		}},
		{"plain", func(dir string) storage.ClientImplCloser {
			return fileStorage(storage.NewFileClientOpts{ClientBaseDir: dir,
				PieceCompletion: storage.NewMapPieceCompletion(), UsePartFiles: g.Some(false)})
		}},
	}
	verify := map[string][]float64{}
	transfer := map[string][]float64{}
	fileRSS := map[string]int64{}
	b.ResetTimer()
	for range b.N {
		for _, k := range kinds {
			v, tr, rss := storageRound(b, mi, seedDir, k.open)
			verify[k.name] = append(verify[k.name], size/v.Seconds()/1e6)
			transfer[k.name] = append(transfer[k.name], size/tr.Seconds()/1e6)
			fileRSS[k.name] = max(fileRSS[k.name], rss)
		}
	}
	b.StopTimer()
	for _, k := range kinds {
		b.ReportMetric(median(verify[k.name]), "verify-MB/s-"+k.name)
		b.ReportMetric(median(transfer[k.name]), "transfer-MB/s-"+k.name)
		b.ReportMetric(float64(fileRSS[k.name])/(1<<20), "extra-resident-MiB-"+k.name)
	}
	b.ReportMetric(median(verify["plain"])/median(verify["mapped"]), "verify-plain/mapped")
	b.ReportMetric(median(transfer["plain"])/median(transfer["mapped"]), "transfer-plain/mapped")
}

// storageRound runs one seeder and one leecher with the storage open gives
// them. It returns how long the seeder took to hash the package, how long
// the leecher took to get it, and how much more file-backed memory the
// process had resident at the end of the transfer than before the clients
// started.
func storageRound(b *testing.B, mi *metainfo.MetaInfo, seedDir string, open func(string) storage.ClientImplCloser) (verify, transfer time.Duration, extra int64) {
	b.Helper()
	before, err := procmem.Read()
	if err != nil {
		b.Fatal(err)
	}
	client := func(dir string, seed bool) (*torrent.Client, *torrent.Torrent) {
		cfg := torrent.TestingConfig(b)
		cfg.ListenHost = func(string) string { return "127.0.0.1" }
		cfg.DisableIPv6, cfg.DisableUTP, cfg.DisableWebseeds, cfg.DisablePEX = true, true, true, true
		cfg.Seed = seed
		cfg.KeepAliveTimeout = 30 * time.Second
		cfg.MaxAllocPeerRequestDataPerConn = 1 << 20
		st := open(dir)
		cfg.DefaultStorage = st
		cl, err := torrent.NewClient(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cl.Close(); st.Close() })
		cl.AddDialer(torrent.NetworkDialer{Network: "tcp4", Dialer: &net.Dialer{}})
		t, err := cl.AddTorrent(mi)
		if err != nil {
			b.Fatal(err)
		}
		return cl, t
	}
	start := time.Now()
	seeder, st := client(seedDir, true)
	waitComplete(b, st)
	verify = time.Since(start)
	start = time.Now()
	leecher, lt := client(b.TempDir(), false)
	lt.AddClientPeer(seeder)
	lt.DownloadAll()
	waitComplete(b, lt)
	transfer = time.Since(start)
	after, err := procmem.Read()
	if err != nil {
		b.Fatal(err)
	}
	leecher.Close()
	seeder.Close()
	return verify, transfer, max(0, (after.Resident-after.Private)-(before.Resident-before.Private))
}

func waitComplete(b *testing.B, t *torrent.Torrent) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	select {
	case <-t.Complete().On():
	case <-ctx.Done():
		b.Fatalf("torrent not complete after 5 minutes: %d of %d bytes", t.BytesCompleted(), t.Length())
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
