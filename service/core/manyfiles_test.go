package core_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

// manyFiles signs a package of n one-byte files.
func manyFiles(t *testing.T, key testbed.Key, id string, n int) []byte {
	t.Helper()
	yes := true
	info := metainfo.Info{Name: id, PieceLength: 16 << 10, Private: &yes}
	for i := range n {
		info.Files = append(info.Files, metainfo.FileInfo{Length: 1, Path: []string{"d" + strconv.Itoa(i%100), "f" + strconv.Itoa(i) + ".dll"}})
	}
	info.Pieces = make([]byte, 20*((n+16<<10-1)/(16<<10)))
	ib, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pkgsign.Sign(&metainfo.MetaInfo{InfoBytes: ib}, id, "1", key.Priv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFileCap: a package over pkgsign.MaxFiles is refused with a clear
// error before it reaches the engine.
func TestFileCap(t *testing.T) {
	key := testbed.NewKey(t)
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	in := testbed.StartService(t, cfg, svc.Options{})
	_, err := in.Client(true).Add(context.Background(), api.AddRequest{Torrent: manyFiles(t, key, "TOOMANY", pkgsign.MaxFiles+1)})
	if !api.IsSignature(err) {
		t.Fatalf("add: %v, want a refusal", err)
	}
	t.Log(err)
}

// TestManyFilesMemory measures the service's heap with one package of
// SMSTORRENT_MEASURE_FILES files (not run by default).
func TestManyFilesMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SMSTORRENT_MEASURE_FILES"))
	if n == 0 {
		t.Skip("set SMSTORRENT_MEASURE_FILES")
	}
	key := testbed.NewKey(t)
	b := manyFiles(t, key, "MANY", n)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	in := testbed.StartService(t, cfg, svc.Options{})
	c := in.Client(true)
	base := heap()
	if _, err := c.Add(context.Background(), api.AddRequest{Torrent: b}); err != nil {
		t.Fatal(err)
	}
	added := heap()
	// A few ticks of progress sampling and a full job read with files.
	deadline := time.Now().Add(time.Minute)
	for range 10 {
		if _, err := c.Job(context.Background(), "MANY"); err != nil || time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	ticked := heap()
	st, _ := os.ReadFile("/proc/self/status")
	rss := ""
	for _, l := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(l, "VmHWM:") || strings.HasPrefix(l, "VmRSS:") {
			rss += " " + strings.Join(strings.Fields(l), " ")
		}
	}
	t.Logf("%d files: .torrent %d KB; heap +%d MB after add, +%d MB after ticks and job reads (%.0f bytes per file); test process%s",
		n, len(b)>>10, (added-base)>>20, (ticked-base)>>20, float64(ticked-base)/float64(n), rss)
}
