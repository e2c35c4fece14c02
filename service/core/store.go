package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/internal/atomicfile"

	"github.com/smstorrent/smstorrent/service/api"
)

// record is what survives a restart about one job. Piece completion itself
// is kept by the engine's completion database.
type record struct {
	ID        string       `json:"id"`
	Version   string       `json:"version,omitempty"`
	InfoHash  string       `json:"info_hash,omitempty"` // empty while the torrent is being fetched
	Priority  api.Priority `json:"priority"`
	Suspended bool         `json:"suspended,omitempty"`
	// Fatal is the message of an Error state; empty otherwise.
	Fatal     string    `json:"fatal,omitempty"`
	FatalCode string    `json:"fatal_code,omitempty"`
	Added     time.Time `json:"added"`
	Completed time.Time `json:"completed,omitzero"`
	LastUsed  time.Time `json:"last_used,omitzero"`
	Assigned  bool      `json:"assigned,omitempty"`
	Size      int64     `json:"size,omitempty"`
	// Name is the publisher's display name of the version.
	Name string `json:"name,omitempty"`
	// Dir is the version's folder under the cache; "" means the package ID.
	Dir string `json:"dir,omitempty"`
	// Source is a folder outside the cache that the version is seeded from
	// in place (an origin on a distribution point); never written or deleted.
	Source string `json:"source,omitempty"`
	// Pin is the version a program pinned; background updates leave it.
	Pin string `json:"pin,omitempty"`
	// Old are the versions the job moved past that are still cached.
	Old []*oldVersion `json:"old_versions,omitempty"`

	Downloaded       int64 `json:"downloaded,omitempty"`
	Uploaded         int64 `json:"uploaded,omitempty"`
	DownloadedSite   int64 `json:"downloaded_site,omitempty"`
	DownloadedServer int64 `json:"downloaded_server,omitempty"`
	// DownloadedServer split: origin seeders and web seeds, other sites'
	// PCs. Jobs saved before the split have server bytes in neither; load
	// counts them as origin bytes (splitServer).
	DownloadedOrigin int64 `json:"downloaded_origin,omitempty"`
	DownloadedOther  int64 `json:"downloaded_other_sites,omitempty"`
}

// splitServer makes a record saved before the origin / other sites split
// (or damaged by hand) consistent: server bytes in neither column count as
// origin bytes, and a split never exceeds the server total. Counters only
// grow, so nothing shown goes backwards.
func (r *record) splitServer() {
	r.DownloadedOrigin = max(r.DownloadedOrigin, 0)
	r.DownloadedOther = max(r.DownloadedOther, 0)
	if sum := r.DownloadedOrigin + r.DownloadedOther; sum < r.DownloadedServer {
		r.DownloadedOrigin += r.DownloadedServer - sum
	} else if sum > r.DownloadedServer {
		r.DownloadedServer = sum
	}
}

type stateFile struct {
	Version int       `json:"version"`
	Jobs    []*record `json:"jobs"`
}

// jobStore keeps the job records in one JSON file, replaced atomically. It
// owns the file and its own lock: the service stages a copy of the records
// while it holds the job lock (cheap), and flush writes and syncs the newest
// staged copy after the job lock is released, so a slow disk never holds up
// the API, the scheduler or the event stream.
type jobStore struct {
	path string

	mu      sync.Mutex // guards pending and written
	pending []record   // the newest staged copy not yet written; nil: none
	written durableCounters
	// writeFailed is set while the last write failed (counters.go).
	writeFailed bool

	writeMu sync.Mutex // one writer at a time, in staging order
}

func (s *jobStore) load() ([]*record, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading job database: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		// Keep the damaged file for inspection and start empty rather
		// than refusing to start: packages will be re-added by SCCM.
		bad := s.path + ".damaged-" + time.Now().UTC().Format("20060102T150405")
		_ = os.Rename(s.path, bad)
		return nil, fmt.Errorf("job database %s was damaged (%v); moved it to %s and started with no jobs", s.path, err, bad)
	}
	for _, r := range f.Jobs {
		if r != nil {
			r.splitServer()
		}
	}
	s.mu.Lock()
	s.written.setPtrs(f.Jobs)
	s.mu.Unlock()
	return f.Jobs, nil
}

// stage keeps a copy of the records for the next flush, replacing any
// older copy not yet written. recs must be sorted by ID.
func (s *jobStore) stage(recs []record) {
	if recs == nil {
		recs = []record{}
	}
	s.mu.Lock()
	s.pending = recs
	s.mu.Unlock()
}

// flush writes the newest staged copy, if any. Called without the job lock.
// A failed write stays staged (unless a newer copy arrived) for the next
// flush.
func (s *jobStore) flush() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	recs := s.pending
	s.pending = nil
	s.mu.Unlock()
	if recs == nil {
		return nil
	}
	ptrs := make([]*record, len(recs))
	for i := range recs {
		ptrs[i] = &recs[i]
	}
	b, err := json.MarshalIndent(stateFile{Version: 1, Jobs: ptrs}, "", " ")
	if err == nil {
		err = atomicfile.Write(s.path, b, 0o644)
	}
	if err != nil {
		s.mu.Lock()
		if s.pending == nil {
			s.pending = recs
		}
		s.writeFailed = true
		s.mu.Unlock()
		return fmt.Errorf("saving jobs to %s: %w", s.path, err)
	}
	s.mu.Lock()
	s.written.set(recs)
	s.writeFailed = false
	s.mu.Unlock()
	return nil
}
