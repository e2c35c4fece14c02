package interop_test

import (
	"bytes"
	"context"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	pp "github.com/anacrolix/torrent/peer_protocol"
	"golang.org/x/time/rate"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/lab/interop"
	"github.com/smstorrent/smstorrent/lab/netlab"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
	"github.com/smstorrent/smstorrent/service/svctest"
)

func TestReproTransmissionSeeds(t *testing.T) {
	size := 64 << 20
	if s := os.Getenv("REPRO_MIB"); s != "" {
		n, _ := strconv.Atoi(s)
		size = n << 20
	}
	key := svctest.NewKey(t)
	tr := svctest.StartTracker(t, key)
	p := svctest.Published(t, key, tr, "PS700001", map[string]int{"data.cab": size}, 256<<10)
	trm, err := interop.StartTransmission(interop.TransmissionOptions{IP: "127.0.0.1", Dir: t.TempDir(), Encryption: 1, Debug: os.Getenv("REPRO_DEBUG") == "1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(trm.Stop)
	if err := netlab.CopyTree(p.Dir, filepath.Join(trm.DownloadDir, p.ID), false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := trm.RPC.Add(ctx, p.Torrent, trm.DownloadDir); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := trm.RPC.Status(ctx)
		if err == nil && st.PercentDone == 1 && st.Status == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("transmission did not verify: %+v %v", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cfg := svctest.Config(t, key, tr.Repository, "127.0.0.1")
	in := svctest.StartService(t, cfg, svc.Options{})
	c := in.Client(true)
	start := time.Now()
	if _, err := c.Add(ctx, api.AddRequest{PackageID: p.ID}); err != nil {
		t.Fatal(err)
	}
	j := svctest.WaitJob(t, c, p.ID, 3*time.Minute, "transferred", func(j *api.Job) bool { return j.State == api.StateTransferred })
	d := time.Since(start)
	t.Logf("%d MiB in %v: %.1f MB/s", size>>20, d, float64(size)/d.Seconds()/1e6)
	if err := svctest.SameTree(p.Dir, j.Path); err != nil {
		t.Fatal(err)
	}
}

func TestReproPlainEngine(t *testing.T) {
	size := 64 << 20
	key := svctest.NewKey(t)
	tr := svctest.StartTracker(t, key)
	p := svctest.Published(t, key, tr, "PS700001", map[string]int{"data.cab": size}, 256<<10)
	trm, err := interop.StartTransmission(interop.TransmissionOptions{IP: "127.0.0.1", Dir: t.TempDir(), Encryption: 1, Debug: os.Getenv("REPRO_DEBUG") == "1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(trm.Stop)
	if err := netlab.CopyTree(p.Dir, filepath.Join(trm.DownloadDir, p.ID), false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := trm.RPC.Add(ctx, p.Torrent, trm.DownloadDir); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := trm.RPC.Status(ctx)
		if err == nil && st.PercentDone == 1 && st.Status == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("transmission did not verify: %+v %v", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cc := torrent.NewDefaultClientConfig()
	cc.DataDir = t.TempDir()
	cc.NoDHT, cc.DisablePEX, cc.DisableUTP = true, true, true
	cc.ListenHost = func(string) string { return "127.0.0.1" }
	cc.ListenPort = 0
	cc.DisableIPv6 = true
	if os.Getenv("REPRO_LIMIT") == "1" {
		cc.DownloadRateLimiter = rate.NewLimiter(rate.Inf, 1<<20)
	}
	var mu sync.Mutex
	counts := map[string]int{}
	sent := 0
	cc.Callbacks.ReadMessage = func(pc *torrent.PeerConn, m *pp.Message) {
		mu.Lock()
		counts[m.Type.String()]++
		if m.Type == pp.Reject || m.Type == pp.Choke || m.Type == pp.Unchoke {
			t.Logf("%v: %v %v %v after %d sent, %d pieces", time.Now().Format("15:04:05.000"), m.Type, m.Index, m.Begin, sent, counts["Piece"])
		}
		mu.Unlock()
	}
	cc.Callbacks.SentRequest = append(cc.Callbacks.SentRequest, func(ev torrent.PeerRequestEvent) {
		mu.Lock()
		sent++
		mu.Unlock()
	})
	if os.Getenv("REPRO_FIX") == "1" {
		cc.Callbacks.ReadExtendedHandshake = func(pc *torrent.PeerConn, d *pp.ExtendedHandshakeMessage) {
			if d.Reqq > 1 {
				d.Reqq--
			}
		}
	}
	cl, err := torrent.NewClient(cc)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	defer func() { mu.Lock(); t.Logf("sent %d requests; received %v", sent, counts); mu.Unlock() }()
	mi, err := metainfo.Load(bytes.NewReader(p.Torrent))
	if err != nil {
		t.Fatal(err)
	}
	mi.AnnounceList = nil
	mi.Announce = ""
	tt, err := cl.AddTorrent(mi)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(trm.Addr)
	pn, _ := strconv.Atoi(port)
	tt.AddPeers([]torrent.PeerInfo{{Addr: &net.TCPAddr{IP: net.ParseIP(host), Port: pn}, Trusted: true}})
	tt.DownloadAll()
	start := time.Now()
	last, lastT := int64(0), time.Now()
	for tt.BytesMissing() > 0 {
		if c := tt.BytesCompleted(); c != last {
			last, lastT = c, time.Now()
		}
		if time.Since(lastT) > 20*time.Second {
			var b bytes.Buffer
			cl.WriteStatus(&b)
			t.Fatalf("stalled at %d:\n%s", last, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	d := time.Since(start)
	t.Logf("%d MiB in %v: %.1f MB/s", size>>20, d, float64(size)/d.Seconds()/1e6)
}
