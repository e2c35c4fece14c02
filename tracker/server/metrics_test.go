package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/tracker/config"
)

// scrape reads /metrics from ip and returns every sample as
// `name{label="v",...}` (labels sorted) → value.
func scrape(t *testing.T, c *http.Client, addr string) (int, map[string]float64) {
	t.Helper()
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, nil
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			out[name+"{"+strings.Join(ls, ",")+"}"] = value(m)
		}
	}
	return 200, out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

// The metrics listener shows announces by protocol and result, peers per
// site and package, bytes per site from announces, savings and gateway
// handovers, to metrics_networks only.
func TestMetricsScraped(t *testing.T) {
	e := testbed.StartSiteTracker(t, func(c *config.Config) {
		c.MetricsListen, c.MetricsNetworks = "127.0.0.1:0", []string{"127.0.0.1/32"}
	})
	p := testbed.RandomPackage(t, e.Key, "PS600001", "1.0", 64<<10, e.Announce)
	e.Publish(p)
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "event=started")
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "downloaded=40000")
	rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "a2", 7002, "event=started")
	rawAnnounce(t, e, testbed.SiteAIP2, p.Hash, "a2", 7002, "event=completed&left=0&uploaded=1000")
	other := testbed.RandomPackage(t, e.Key, "PS600002", "1.0", 16<<10, e.Announce)
	if r := rawAnnounce(t, e, testbed.SiteBIP1, other.Hash, "b1", 7003, ""); r.Failure == "" {
		t.Fatal("an unpublished package was announced")
	}
	if _, err := anacrolixAnnounce(t, e.UDP, testbed.SiteBIP1, p.Hash); err != nil {
		t.Fatal(err)
	}
	rep := repoapi.Report{InfoHash: testbed.HexHash(p.Hash), PeerID: peerHex("a2"), Site: 60000, Origin: 5536, Complete: true, Seconds: 9}
	if _, err := reporter(e, testbed.SiteAIP2).Report(context.Background(), p.ID, rep); err != nil {
		t.Fatal(err)
	}
	addr := e.Server.MetricsAddr()
	if code, _ := scrape(t, testbed.BoundHTTPClient(testbed.SiteAIP1), addr); code != http.StatusForbidden {
		t.Fatalf("a scrape from outside metrics_networks: HTTP %d, want 403", code)
	}
	_, m := scrape(t, testbed.BoundHTTPClient("127.0.0.1"), addr)
	want := map[string]float64{
		`smstorrent_tracker_announces_total{protocol="http",result="ok"}`:             4,
		`smstorrent_tracker_announces_total{protocol="http",result="unknown_hash"}`:   1,
		`smstorrent_tracker_announces_total{protocol="udp",result="ok"}`:              1,
		`smstorrent_tracker_peers{package="PS600001",role="leecher",site="branch-a"}`: 1,
		`smstorrent_tracker_peers{package="PS600001",role="seeder",site="branch-a"}`:  1,
		`smstorrent_tracker_peers{package="PS600001",role="leecher",site="branch-b"}`: 1,
		`smstorrent_tracker_site_bytes_total{direction="downloaded",site="branch-a"}`: 40000,
		`smstorrent_tracker_site_bytes_total{direction="uploaded",site="branch-a"}`:   1000,
		`smstorrent_tracker_savings_bytes{site="branch-a",source="site"}`:             60000,
		`smstorrent_tracker_savings_bytes{site="branch-a",source="origin"}`:           5536,
		`smstorrent_tracker_wan_bytes_avoided{site="branch-a"}`:                       60000,
		`smstorrent_tracker_server_bytes_avoided{site="branch-a"}`:                    60000,
		`smstorrent_tracker_reports_total{result="accepted"}`:                         1,
		`smstorrent_tracker_reported_versions{complete="true",site="branch-a"}`:       1,
		`smstorrent_tracker_gateway_handovers_total{reason="stopped"}`:                0,
		`smstorrent_tracker_gateways{limited="false",site="branch-b"}`:                1,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if _, ok := m[`go_goroutines{}`]; !ok {
		t.Error("no Go runtime metrics")
	}
}
