// Package metrics exposes the tracker's figures to Prometheus
// (github.com/prometheus/client_golang): announces by protocol and result,
// savings reports by result, gateway handovers, and, computed at each
// scrape from the live registry, peers and seeders per site and package,
// bytes per site from the announces' counters, and the savings per site.
//
// Label values come from bounded sets only: sites are the configured ones
// (plus "origin"), packages the catalogue's IDs, at most MaxPackages of
// them (the ones with most peers; the rest are summed under OtherPackages),
// results and reasons fixed lists. docs/METRICS.md lists every metric.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "smstorrent_tracker"

// Metrics is the tracker's metrics registry. Announce and Report are safe
// for concurrent use and cheap (a map lookup and an atomic add).
type Metrics struct {
	reg       *prometheus.Registry
	announces map[string]map[string]prometheus.Counter // protocol → result
	reports   map[string]prometheus.Counter
	annVec    *prometheus.CounterVec
}

// New makes the registry: the fixed counters for protocols × results and
// report results, the live figures from src, and Go's and the process's
// own collectors.
func New(protocols, results, reportResults []string, src Source) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), announces: map[string]map[string]prometheus.Counter{},
		reports: map[string]prometheus.Counter{}}
	m.annVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "announces_total",
		Help: "Announces answered, by protocol (http, udp) and result (ok, or why it was refused).",
	}, []string{"protocol", "result"})
	for _, p := range protocols {
		m.announces[p] = map[string]prometheus.Counter{}
		for _, r := range results {
			m.announces[p][r] = m.annVec.WithLabelValues(p, r)
		}
	}
	repVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "reports_total",
		Help: "Savings reports from services, by result.",
	}, []string{"result"})
	for _, r := range reportResults {
		m.reports[r] = repVec.WithLabelValues(r)
	}
	m.reg.MustRegister(m.annVec, repVec, &live{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Announce counts one announce. A result outside the fixed list (a
// programming error) is counted as "error", so that the label set stays
// bounded.
func (m *Metrics) Announce(protocol, result string) {
	if c, ok := m.announces[protocol][result]; ok {
		c.Inc()
		return
	}
	if c, ok := m.announces[protocol]["error"]; ok {
		c.Inc()
	}
}

// Report counts one savings report.
func (m *Metrics) Report(result string) {
	if c, ok := m.reports[result]; ok {
		c.Inc()
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Gatherer is the registry, for tests.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }
