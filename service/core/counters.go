package core

// The lifetime byte counters of a job (downloaded, uploaded, from the site,
// from servers: origins and other sites) grow every tick but reach the job database every few
// seconds. The API shows them as last written, so a value once shown is on
// disk and a kill -9 cannot make it go backwards; and a job shows as
// transferred only once its completion (with its final counters) is
// written, which happens at once (see collect).

// counters are a job's lifetime byte counters, and whether it had completed.
type counters struct {
	Down, Up, Site, Server int64
	Origin, Other          int64 // Server split (store.go)
	Completed              bool
}

func countersOf(r *record) counters {
	return counters{r.Downloaded, r.Uploaded, r.DownloadedSite, r.DownloadedServer,
		r.DownloadedOrigin, r.DownloadedOther, !r.Completed.IsZero()}
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

// completionWritten reports whether the job's completion is in the job
// database, or writing it fails (a failing disk must not hold a complete
// package back from the wrapper).
func (s *jobStore) completionWritten(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written[id].Completed || s.writeFailed
}

// shown returns the counters the API may show for a job: those written to
// disk, or zero for a job not written yet.
func (s *jobStore) shown(id string) counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written[id]
}
