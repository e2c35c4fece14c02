package core

// The lifetime byte counters of a job (downloaded, uploaded, from the site,
// from servers) grow every tick but reach the job database every few
// seconds. The API shows them as last written, so a value once shown is on
// disk and a kill -9 cannot make it go backwards.

// counters are a job's lifetime byte counters.
type counters struct {
	Down, Up, Site, Server int64
}

func countersOf(r *record) counters {
	return counters{r.Downloaded, r.Uploaded, r.DownloadedSite, r.DownloadedServer}
}

// durableCounters are the counters as last written to the job database, by
// job ID.
type durableCounters map[string]counters

func (d *durableCounters) set(recs []record) {
	m := make(durableCounters, len(recs))
	for i := range recs {
		m[recs[i].ID] = countersOf(&recs[i])
	}
	*d = m
}

func (d *durableCounters) setPtrs(recs []*record) {
	m := make(durableCounters, len(recs))
	for _, r := range recs {
		if r != nil {
			m[r.ID] = countersOf(r)
		}
	}
	*d = m
}

// shown returns the counters the API may show for a job: those written to
// disk, or zero for a job not written yet.
func (s *jobStore) shown(id string) counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written[id]
}
