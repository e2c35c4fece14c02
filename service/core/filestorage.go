package core

import (
	"github.com/anacrolix/torrent/storage"
)

// Package files are read and written through the engine's file storage
// with plain reads and writes, never memory-mapped (fileStorage), and the
// engine's cached write handles of a package are closed as soon as it is
// complete (releaseWriters). Both matter on Windows:
//   - a mapped file counts in the process's working set as it is read, so
//     a seeding service's resident memory grew with the cache (admins read
//     that as a leak in Task Manager), and a mapping keeps the file open
//     read-write for as long as the torrent lives;
//   - a file open for writing cannot be executed or opened exclusively by
//     anyone else (a sharing violation), so the wrapper could not run a
//     package's setup.exe or install.cmd from the cache.
// After completion, and after a restart that finds a package complete,
// the engine only opens package files read-only (piece hashing and
// seeding); a write handle comes back only if a piece has to be
// downloaded again, and is released again at completion.

// fileStorage is the engine's file storage with the service's fixed
// choices; every place that builds one goes through it.
func fileStorage(o storage.NewFileClientOpts) storage.ClientImplCloser {
	o.DisableMmap = true
	return storage.NewFileOpts(o)
}

// releaseWriters closes the engine's write handles of a job's files once
// its torrent is complete, once per completion: at every tick (collect) and
// at the latest when the job is first shown as transferred (stateOf).
// Called with s.mu.
func (s *Service) releaseWriters(j *job) {
	if j.t == nil || j.t.Info() == nil || !j.t.Complete().Bool() {
		j.released = nil
		return
	}
	if j.released == j.t {
		return
	}
	j.released = j.t
	if err := j.t.CloseWriters(); err != nil {
		// The handles are gone either way (the storage forgets them
		// before closing); a failed close may have lost a write, which
		// the next verification finds.
		s.log.Error("closing the package's files after completion", "job", j.rec.ID, "err", err)
	}
}
