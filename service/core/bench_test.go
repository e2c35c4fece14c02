package core_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
)

// BenchmarkLoopbackTransfer moves one 64 MiB package from an origin service
// to a fresh branch service over loopback (TCP), and, in the same run, the
// same bytes over plain HTTP from a file server as the baseline. It reports
// MB/s for both and SMSTorrent's ratio to the baseline; then the same
// transfer with an 8 MiB/s download limit, to show the limiter's accuracy;
// then over uTP (the transport across the WAN: the origin is a server),
// to show what LEDBAT and libutp cost in throughput against TCP.
//
//	go test -run '^$' -bench LoopbackTransfer -benchtime 3x ./service/core
func BenchmarkLoopbackTransfer(b *testing.B) {
	const size = 64 << 20
	key := testbed.NewKey(b)
	tr := testbed.StartTracker(b, key)
	pkg := testbed.Published(b, key, tr, "BENCH", map[string]int{"payload.bin": size}, 256<<10)
	testbed.StartOrigin(b, key, tr, pkg, func(c *config.Config) { c.Transports = []string{"tcp", "utp"} })
	hs := httptest.NewServer(http.FileServer(http.Dir(pkg.Dir)))
	defer hs.Close()

	httpOnce := func() time.Duration {
		start := time.Now()
		resp, err := http.Get(hs.URL + "/payload.bin")
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(filepath.Join(b.TempDir(), "out"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		f.Sync()
		f.Close()
		return time.Since(start)
	}
	torrentOnce := func(limit int64, transports ...string) time.Duration {
		cfg := testbed.Config(b, key, tr.Repository, "127.0.0.1")
		if len(transports) > 0 {
			cfg.Transports = transports
		}
		in := testbed.StartService(b, cfg, svc.Options{})
		c := in.Client(true)
		if limit > 0 {
			if _, err := c.Throttle(context.Background(), api.ThrottleRequest{Down: limit}); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		if _, err := c.Add(context.Background(), api.AddRequest{PackageID: pkg.ID}); err != nil {
			b.Fatal(err)
		}
		testbed.WaitJob(b, c, pkg.ID, 5*time.Minute, "transferred", func(j *api.Job) bool { return j.State == api.StateTransferred })
		d := time.Since(start)
		in.Stop()
		return d
	}
	var tHTTP, tTorrent, tLimited, tUTP time.Duration
	for range b.N {
		tHTTP += httpOnce()
		tTorrent += torrentOnce(0)
		tLimited += torrentOnce(8 << 20)
		tUTP += torrentOnce(0, "utp")
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(tHTTP), "http_MB/s")
	b.ReportMetric(mbps(tTorrent), "smstorrent_MB/s")
	b.ReportMetric(mbps(tTorrent)/mbps(tHTTP), "ratio_vs_http")
	b.ReportMetric(mbps(tLimited), "limited8MiB_MB/s")
	b.ReportMetric(mbps(tLimited)/(8*1.048576), "limited_ratio_to_limit")
	b.ReportMetric(mbps(tUTP), "utp_MB/s")
	b.ReportMetric(mbps(tUTP)/mbps(tTorrent), "utp_ratio_vs_tcp")
}
