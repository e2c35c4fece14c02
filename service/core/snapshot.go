package core

import (
	"slices"
	"strings"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/procmem"
	"github.com/smstorrent/smstorrent/service/api"
)

var timeZero time.Time

// snapshotJob renders a job for the API. Called with s.mu.
func (s *Service) snapshotJob(j *job, files bool) api.Job {
	r := j.rec
	state := j.state
	if state == "" {
		state = s.stateOf(j)
	}
	out := api.Job{
		ID:            r.ID,
		Version:       r.Version,
		InfoHash:      r.InfoHash,
		State:         state,
		Priority:      r.Priority,
		BytesTotal:    r.Size,
		DownRate:      int64(j.downRate),
		UpRate:        int64(j.upRate),
		PeersSite:     j.peersS,
		PeersServer:   j.peersO,
		ETASeconds:    -1,
		Path:          s.jobDir(r),
		Name:          r.Name,
		Pinned:        r.Pin,
		OtherVersions: s.heldVersions(r),
		Checking:      j.preparing,
		Added:         r.Added,
		Completed:     r.Completed,
		LastUsed:      r.LastUsed,
		Assigned:      r.Assigned,
	}
	// As written to the job database (counters.go).
	c := s.store.shown(r.ID)
	out.Downloaded, out.Uploaded, out.DownloadedSite, out.DownloadedServer = c.Down, c.Up, c.Site, c.Server
	out.Sources = sourcesOf(c, &j.view)
	switch {
	case r.Fatal != "":
		out.Error = r.Fatal
		out.ErrorCode = r.FatalCode
		if out.ErrorCode == "" {
			out.ErrorCode = api.ErrorSignature
		}
	case j.writeErr != "":
		out.Error, out.ErrorCode = j.writeErr, api.ErrorDisk
	case j.fetchErr != "":
		out.Error = "fetching the torrent from the repository failed: " + j.fetchErr + "; retrying by itself"
		out.ErrorCode = api.ErrorRepository
		out.NextRetry = j.nextRetry
	case state == api.StateTransientError:
		out.Error, out.ErrorCode = s.trackers.problem(j.announce), api.ErrorTracker
	}
	if j.t != nil && j.t.Info() != nil {
		engineProgress(j.t, state, files, &out)
	}
	if state == api.StateTransferred {
		out.BytesDone = out.BytesTotal
		if !r.Assigned {
			out.SeedUntil = s.seedUntil(r)
		}
	}
	out.Limit = s.limitOf(j, state, out.Error, s.bw.limitsNow())
	if left := out.BytesTotal - out.BytesDone; left > 0 && out.DownRate > 0 {
		out.ETASeconds = left / out.DownRate
	} else if state == api.StateTransferred {
		out.ETASeconds = 0
	}
	return out
}

// engineProgress fills in bytes, files and the checking flag from the
// engine's view of a torrent whose info is known.
func engineProgress(t *torrent.Torrent, state api.State, files bool, out *api.Job) {
	out.BytesDone = t.BytesCompleted()
	for _, run := range t.PieceStateRuns() {
		if !run.Ok || run.Hashing || run.QueuedForHash {
			out.Checking = true
			break
		}
	}
	for _, f := range t.Files() {
		if pkgsign.IsPadding(f.FileInfo()) {
			continue // BEP 47 padding: not content
		}
		out.FilesTotal++
		done := f.BytesCompleted()
		ready := done == f.Length()
		if ready && state != api.StateTransferred {
			for i := f.BeginPieceIndex(); i < f.EndPieceIndex(); i++ {
				if !t.PieceState(i).Complete {
					ready = false
					break
				}
			}
		}
		if ready {
			out.FilesDone++
		}
		if files {
			out.Files = append(out.Files, api.FileProgress{
				Path:  relPath(f.FileInfo()),
				Size:  f.Length(),
				Done:  done,
				Ready: ready,
			})
		}
	}
}

func (s *Service) seedUntil(r *record) time.Time {
	base := r.Completed
	if r.LastUsed.After(base) {
		base = r.LastUsed
	}
	return base.Add(time.Duration(s.cfg.SeedDays * float64(24*time.Hour)))
}

// Status describes the service for a caller with the given access.
func (s *Service) Status(access api.Access) api.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statusLocked(access)
}

func (s *Service) statusLocked(access api.Access) api.Status {
	st := api.Status{
		Version:      s.version,
		APIVersion:   api.APIVersion,
		Started:      s.started,
		Site:         s.cfg.Site,
		DataDir:      s.cfg.DataDir,
		CacheDir:     s.cfg.CacheDir,
		LogDir:       s.cfg.LogDir,
		Repository:   s.repo.reachability(),
		Tracker:      s.trackers.reachability(),
		Bandwidth:    s.bw.describe(),
		DownRate:     int64(s.downRate),
		UpRate:       int64(s.upRate),
		Jobs:         map[api.State]int{},
		CacheLimit:   int64(s.cfg.CacheMax),
		RecentErrors: s.recent.Entries(),
		Access:       access,
		ListenPort:   s.cl.LocalPort(),
		BannedPeers:  slices.Clone(s.bans.list),
	}
	for _, j := range s.jobs {
		st.Jobs[s.stateOf(j)]++
		st.CacheBytes += j.rec.Size + oldSize(j.rec)
	}
	// A few microseconds (one small read of /proc, or one system call).
	if m, err := procmem.Read(); err == nil {
		st.MemoryResident, st.MemoryPrivate = m.Resident, m.Private
	}
	return st
}

// Subscribe returns a channel of events, starting with a snapshot. The
// channel is closed when cancel is called, when the service closes, or when
// the subscriber falls too far behind (it should then reconnect).
func (s *Service) Subscribe(access api.Access) (<-chan api.Event, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.statusLocked(access)
	return s.events.subscribe(api.Event{Type: api.EventSnapshot, Time: s.now(), Jobs: s.jobListLocked(false), Status: &st})
}

func relPath(fi metainfo.FileInfo) string { return strings.Join(fi.BestPath(), "/") }
