package localapi

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smstorrent/smstorrent/service/api"
)

// Service metrics (configuration key "metrics", docs/METRICS.md): the
// local API answers GET /metrics in the Prometheus text format, on its
// loopback listener, to the read or control token, given in the API's
// token header or as "Authorization: Bearer <token>" (what Prometheus
// sends). Off by default: the route then answers 404.

// PathMetrics is the metrics route (Prometheus' conventional path).
const PathMetrics = "/metrics"

var (
	descJobs = prometheus.NewDesc("smstorrent_service_jobs", "Jobs on this PC, by state.", []string{"state"}, nil)
	descRate = prometheus.NewDesc("smstorrent_service_rate_bytes_per_second", "Payload rate of the whole engine now, by direction (down, up).",
		[]string{"direction"}, nil)
	descLimit = prometheus.NewDesc("smstorrent_service_limit_bytes_per_second", "Rate limit in force on background jobs now, by direction (0: none).",
		[]string{"direction"}, nil)
	descYield = prometheus.NewDesc("smstorrent_service_yielding", "1 while background jobs give way to other traffic on the WAN link.", nil, nil)
	descCache = prometheus.NewDesc("smstorrent_service_cache_bytes", "Bytes of packages in the cache.", nil, nil)
	descBytes = prometheus.NewDesc("smstorrent_service_job_received_bytes_total", "Payload bytes a job received over its life, by package and source (site, origin, other_sites).",
		[]string{"package", "source"}, nil)
	descSent = prometheus.NewDesc("smstorrent_service_job_sent_bytes_total", "Payload bytes a job sent to other PCs over its life, by package.",
		[]string{"package"}, nil)
)

// serviceCollector reads the backend at each scrape. The package label
// takes the IDs of this PC's jobs: a bounded set an administrator chose.
type serviceCollector struct{ b Backend }

func (c serviceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descRate, descLimit, descYield, descCache, descBytes, descSent} {
		ch <- d
	}
}

func (c serviceCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.b.Status(api.AccessRead)
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for state, n := range st.Jobs {
		gauge(descJobs, int64(n), string(state))
	}
	gauge(descRate, st.DownRate, "down")
	gauge(descRate, st.UpRate, "up")
	gauge(descLimit, st.Bandwidth.EffectiveDown, "down")
	gauge(descLimit, st.Bandwidth.EffectiveUp, "up")
	y := int64(0)
	if st.Bandwidth.Yielding {
		y = 1
	}
	gauge(descYield, y)
	gauge(descCache, st.CacheBytes)
	for _, j := range c.b.Jobs() {
		site, origin, other := j.DownloadedSite, j.DownloadedServer, int64(0)
		if s := j.Sources; s != nil {
			site, origin, other = s.Site, s.Origin, s.OtherSites
		}
		counter(descBytes, site, j.ID, "site")
		counter(descBytes, origin, j.ID, "origin")
		counter(descBytes, other, j.ID, "other_sites")
		counter(descSent, j.Uploaded, j.ID)
	}
}

// metricsHandler serves the metrics to the read or control token.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(serviceCollector{s.Backend}, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	prom := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Metrics {
			writeError(w, api.Errorf(http.StatusNotFound, api.CodeNoRoute, "metrics are off (configuration key \"metrics\")"))
			return
		}
		tok := r.Header.Get(api.HeaderToken)
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok == "" {
			tok = b
		}
		ok := false
		for _, t := range []string{s.ReadToken, s.ControlToken} {
			ok = ok || (t != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(t)) == 1)
		}
		if !ok {
			writeError(w, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "metrics need the read token (%s header or Authorization: Bearer)", api.HeaderToken))
			return
		}
		prom.ServeHTTP(w, r)
	})
}
