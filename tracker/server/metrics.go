package server

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/smstorrent/smstorrent/tracker/config"
	"github.com/smstorrent/smstorrent/tracker/metrics"
	"github.com/smstorrent/smstorrent/tracker/store"
	"github.com/smstorrent/smstorrent/tracker/swarm"
)

// newMetrics makes the tracker's metrics over its live state.
func newMetrics(s *Server) *metrics.Metrics {
	return metrics.New([]string{"http", "udp"}, AnnounceResults, reportResults, s)
}

// Snapshot implements metrics.Source: the live figures of every
// published version, summed per package and site, the announce counters
// and the savings per site.
func (s *Server) Snapshot() metrics.Snapshot {
	snap := metrics.Snapshot{Packages: map[string]map[string]metrics.SiteFigures{},
		Sites: map[string]metrics.SiteBytes{}, Handovers: s.Registry.Handovers()}
	if ps, err := s.Store.Packages(); err == nil {
		for _, p := range ps {
			sites := map[string]metrics.SiteFigures{}
			for _, v := range append([]store.Version{p.Current}, p.Previous...) {
				var ih swarm.Hash
				if n, err := hex.Decode(ih[:], []byte(v.InfoHash)); err != nil || n != 20 {
					continue
				}
				for site, f := range s.Registry.Stats(ih) {
					sf := sites[site]
					sf.Seeders += f.Seeders
					sf.Leechers += f.Leechers
					if f.Gateway != "" {
						sf.Gateways++
						if f.GatewayLimited {
							sf.GatewaysLimited++
						}
					}
					sites[site] = sf
				}
			}
			snap.Packages[p.ID] = sites
		}
	} else {
		s.log.Error("metrics: listing packages", "err", err)
	}
	for _, rec := range s.Registry.Counters() {
		b := snap.Sites[rec.Site]
		b.Uploaded += rec.Counters.Uploaded
		b.Downloaded += rec.Counters.Downloaded
		snap.Sites[rec.Site] = b
	}
	for site, t := range s.Savings.Totals() {
		b := snap.Sites[site]
		b.FromSite, b.Origin, b.OtherSites, b.Reports, b.Complete = t.FromSite, t.Origin, t.OtherSites, t.Reports, t.Complete
		snap.Sites[site] = b
	}
	return snap
}

// metricsHandler serves /metrics to clients in metrics_networks only.
func (s *Server) metricsHandler() (http.Handler, error) {
	var allow []netip.Prefix
	for _, n := range s.cfg.MetricsNetworks {
		p, err := config.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("metrics_networks: %w", err)
		}
		allow = append(allow, p)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics.Handler())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		ok := false
		for _, p := range allow {
			ok = ok || (err == nil && p.Contains(ap.Addr().Unmap()))
		}
		if !ok {
			http.Error(w, "this address may not read the metrics (metrics_networks)", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	}), nil
}
