package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

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
}

type stateFile struct {
	Version int       `json:"version"`
	Jobs    []*record `json:"jobs"`
}

// store keeps the job records in one JSON file, replaced atomically.
type store struct {
	path string
}

func (s *store) load() ([]*record, error) {
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
	return f.Jobs, nil
}

func (s *store) save(recs []*record) error {
	b, err := json.MarshalIndent(stateFile{Version: 1, Jobs: recs}, "", " ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, b, 0o644)
}

// writeFileAtomic writes b to a temporary file, syncs it and renames it over
// path, so a crash leaves either the old or the new content.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
