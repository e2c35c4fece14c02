package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// MaxPackages bounds the package label's values; OtherPackages sums the
// packages beyond it.
const (
	MaxPackages   = 100
	OtherPackages = "_other"
)

// SiteFigures are one site's live figures in one package (summed over the
// package's versions).
type SiteFigures struct {
	Seeders, Leechers int
	Gateways          int // versions whose site gateway is present
	GatewaysLimited   int // of those, limited
}

// SiteBytes are a site's announce counters (over all swarms) and savings.
type SiteBytes struct {
	Uploaded, Downloaded         int64 // reported in announces
	FromSite, Origin, OtherSites int64 // from savings reports
	Reports, Complete            int
}

// Snapshot is what one scrape shows.
type Snapshot struct {
	// Packages maps a package ID to its figures per site.
	Packages map[string]map[string]SiteFigures
	Sites    map[string]SiteBytes
	// Handovers counts gateway handovers by reason.
	Handovers map[string]int64
}

// Source takes a Snapshot of the tracker at scrape time.
type Source interface {
	Snapshot() Snapshot
}

var (
	descPeers = prometheus.NewDesc(Namespace+"_peers", "Peers in the swarms now, by site, package and role (seeder, leecher).",
		[]string{"site", "package", "role"}, nil)
	descGateways = prometheus.NewDesc(Namespace+"_gateways", "Package versions whose site has a gateway to the servers now, by site and whether that gateway is limited (throttled or a small upload limit).",
		[]string{"site", "limited"}, nil)
	descBytes = prometheus.NewDesc(Namespace+"_site_bytes_total", "Payload bytes the site's peers reported in their announces (uploaded, downloaded), over every package.",
		[]string{"site", "direction"}, nil)
	descSavings = prometheus.NewDesc(Namespace+"_savings_bytes", "Bytes the site's PCs received, by source (site, origin, other_sites), from their latest savings reports.",
		[]string{"site", "source"}, nil)
	descWAN = prometheus.NewDesc(Namespace+"_wan_bytes_avoided", "Bytes the site's WAN link did not carry: what its PCs got from each other.",
		[]string{"site"}, nil)
	descServer = prometheus.NewDesc(Namespace+"_server_bytes_avoided", "Bytes the servers did not send: what the site's PCs got from site peers and other sites.",
		[]string{"site"}, nil)
	descReported = prometheus.NewDesc(Namespace+"_reported_versions", "PC and package-version pairs with a savings report, by site and whether the version is complete on the PC.",
		[]string{"site", "complete"}, nil)
	descHandovers = prometheus.NewDesc(Namespace+"_gateway_handovers_total", "Times a site's gateway role moved to another PC, by reason (stopped, limited, quiet, stuck, restarted).",
		[]string{"reason"}, nil)
)

// live computes the figures that follow the registry at scrape time, so
// that series of swarms that ended do not linger.
type live struct{ src Source }

func (l *live) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPeers, descGateways, descBytes, descSavings, descWAN, descServer, descReported, descHandovers} {
		ch <- d
	}
}

func (l *live) Collect(ch chan<- prometheus.Metric) {
	s := l.src.Snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gw := map[string][2]int{} // site → unlimited, limited
	for pkg, sites := range bounded(s.Packages) {
		for site, f := range sites {
			gauge(descPeers, float64(f.Seeders), site, pkg, "seeder")
			gauge(descPeers, float64(f.Leechers), site, pkg, "leecher")
			g := gw[site]
			g[0] += f.Gateways - f.GatewaysLimited
			g[1] += f.GatewaysLimited
			gw[site] = g
		}
	}
	for site, g := range gw {
		gauge(descGateways, float64(g[0]), site, "false")
		gauge(descGateways, float64(g[1]), site, "true")
	}
	for site, b := range s.Sites {
		counter(descBytes, float64(b.Uploaded), site, "uploaded")
		counter(descBytes, float64(b.Downloaded), site, "downloaded")
		if b.Reports == 0 {
			continue
		}
		gauge(descSavings, float64(b.FromSite), site, "site")
		gauge(descSavings, float64(b.Origin), site, "origin")
		gauge(descSavings, float64(b.OtherSites), site, "other_sites")
		gauge(descWAN, float64(b.FromSite), site)
		gauge(descServer, float64(b.FromSite+b.OtherSites), site)
		gauge(descReported, float64(b.Complete), site, "true")
		gauge(descReported, float64(b.Reports-b.Complete), site, "false")
	}
	for reason, n := range s.Handovers {
		counter(descHandovers, float64(n), reason)
	}
}

// bounded keeps the MaxPackages packages with most peers and sums the
// rest per site under OtherPackages; packages without peers are left out.
func bounded(pkgs map[string]map[string]SiteFigures) map[string]map[string]SiteFigures {
	type ranked struct {
		id    string
		peers int
	}
	var rs []ranked
	for id, sites := range pkgs {
		n := 0
		for _, f := range sites {
			n += f.Seeders + f.Leechers
		}
		if n > 0 {
			rs = append(rs, ranked{id, n})
		}
	}
	sort.Slice(rs, func(i, j int) bool {
		return rs[i].peers > rs[j].peers || (rs[i].peers == rs[j].peers && rs[i].id < rs[j].id)
	})
	out := make(map[string]map[string]SiteFigures, min(len(rs), MaxPackages+1))
	for i, r := range rs {
		if i < MaxPackages {
			out[r.id] = pkgs[r.id]
			continue
		}
		other := out[OtherPackages]
		if other == nil {
			other = map[string]SiteFigures{}
			out[OtherPackages] = other
		}
		for site, f := range pkgs[r.id] {
			o := other[site]
			o.Seeders += f.Seeders
			o.Leechers += f.Leechers
			o.Gateways += f.Gateways
			o.GatewaysLimited += f.GatewaysLimited
			other[site] = o
		}
	}
	return out
}
