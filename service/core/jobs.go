package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/anacrolix/torrent"

	"github.com/smstorrent/smstorrent/internal/atomicfile"
	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/service/api"
)

// Add starts or continues a job; see api.AddRequest. Torrents are verified
// before anything is written. Adding a package that already has a job
// returns that job (raising its priority if asked for a higher one, and
// resuming it if it was suspended or in error); adding a different version
// of it replaces the torrent and keeps the files, so unchanged pieces are
// verified from disk instead of downloaded again.
func (s *Service) Add(ctx context.Context, r api.AddRequest) (api.Job, error) {
	defer s.flush()
	prio, err := api.ParsePriority(string(r.Priority))
	if err != nil {
		return api.Job{}, badRequest("%v", err)
	}
	if err := validVersion(r.Version); err != nil {
		return api.Job{}, badRequest("version: %v", err)
	}
	if len(r.Torrent) > 0 {
		pkg, err := pkgsign.Verify(r.Torrent, s.keys)
		if err != nil {
			s.log.Warn("refused a torrent", "err", err)
			return api.Job{}, signatureError(err)
		}
		if r.PackageID != "" && r.PackageID != pkg.ID {
			return api.Job{}, badRequest("torrent is for package %q, not %q", pkg.ID, r.PackageID)
		}
		if r.Source != "" {
			return s.addSource(pkg, r.Torrent, prio, r.Source)
		}
		return s.addVerified(pkg, r.Torrent, prio, r.Assign)
	}
	if err := pkgsign.ValidID(r.PackageID); err != nil {
		return api.Job{}, badRequest("%v", err)
	}
	s.mu.Lock()
	_, exists := s.jobs[r.PackageID]
	s.mu.Unlock()
	if exists {
		return s.addExisting(ctx, r, prio)
	}
	b, pkg, ferr := s.repo.fetchVersion(ctx, r.PackageID, r.Version)
	if ferr == nil {
		if r.Version != "" {
			return s.addVerifiedPinned(pkg, b, prio, r.Assign, r.Version)
		}
		return s.addVerified(pkg, b, prio, r.Assign)
	}
	var fe *fetchError
	if errors.As(ferr, &fe) && !fe.transient {
		s.log.Warn("package refused", "job", r.PackageID, "err", ferr)
		if fe.notFound {
			return api.Job{}, &Error{Code: api.CodeNotFound, Err: ferr}
		}
		if fe.config {
			return api.Job{}, &Error{Code: api.CodeConflict, Err: ferr}
		}
		if fe.refused {
			return api.Job{}, &Error{Code: api.CodeRepository, Err: ferr}
		}
		return api.Job{}, signatureError(ferr)
	}
	// The repository is unreachable: keep the job and retry by itself.
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[r.PackageID]
	if !ok {
		j = &job{rec: &record{ID: r.PackageID, Priority: prio, Added: s.now(), Assigned: r.Assign}}
		s.jobs[r.PackageID] = j
	}
	s.setFetchError(j, ferr)
	s.saveNow()
	s.log.Warn("repository unreachable; the job will retry", "job", r.PackageID, "err", ferr)
	return s.snapshotJob(j, true), errorf(api.CodeRepository,
		"the job for %s was created but the repository could not deliver its torrent yet (%v); it retries by itself", r.PackageID, ferr)
}

func (s *Service) setFetchError(j *job, err error) {
	j.fetchErr = err.Error()
	j.nextRetry = s.now().Add(backoff(j.retries, s.cfg.RetryMin.D(), s.cfg.RetryMax.D()))
	j.retries++
	j.state = api.StateTransientError
}

// touch applies an Add to an existing job. Called with s.mu.
func (s *Service) touch(j *job, prio api.Priority, assign bool) {
	if prio.Rank() > j.rec.Priority.Rank() {
		j.rec.Priority = prio
	}
	if assign {
		j.rec.Assigned = true
	}
	if j.rec.Suspended {
		j.rec.Suspended = false
	}
	if j.rec.Fatal != "" || j.writeErr != "" {
		s.retryLocked(j)
	}
	s.saveNow()
}

func (s *Service) addVerified(pkg *pkgsign.Package, b []byte, prio api.Priority, assign bool) (api.Job, error) {
	defer s.flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return api.Job{}, errClosed
	}
	j, ok := s.jobs[pkg.ID]
	if ok && j.rec.InfoHash == pkg.InfoHash.HexString() {
		s.touch(j, prio, assign)
		if j.t == nil && j.rec.Fatal == "" {
			if err := s.loadTorrent(j); err != nil {
				return api.Job{}, err
			}
		}
		return s.snapshotJob(j, true), nil
	}
	if ok && j.preparing {
		return api.Job{}, errorf(api.CodeConflict, "package %s is being prepared for version %s; try again in a moment", pkg.ID, j.rec.Version)
	}
	if ok && j.rec.InfoHash != "" {
		if o := findOld(j.rec, "", pkg.InfoHash.HexString()); o != nil && o.Complete && o.t != nil {
			// A cached version is current again (a roll-back): no download.
			s.promoteLocked(j, o)
			s.touch(j, prio, assign)
			s.schedule()
			out := s.snapshotJob(j, true)
			s.poke()
			return out, nil
		}
		s.retireLocked(j)
		j.rec.Dir = newVersionDir(j.rec, pkg.InfoHash.HexString())
	}
	if err := atomicfile.Write(s.torrentPath(pkg.ID), b, 0o644); err != nil {
		return api.Job{}, fmt.Errorf("saving torrent: %w", err)
	}
	if !ok {
		j = &job{rec: &record{ID: pkg.ID, Priority: prio, Added: s.now(), Assigned: assign}}
		s.jobs[pkg.ID] = j
		s.log.Info("job added", "job", pkg.ID, "version", pkg.Version, "size", pkg.Size(), "priority", prio)
	} else {
		// A new version, in a folder of its own; the old one seeds on.
		s.log.Info("package updated", "job", pkg.ID, "from", j.rec.Version, "to", pkg.Version)
		s.dropTorrent(j)
		j.rec.Completed = timeZero
		j.rec.Fatal, j.rec.FatalCode = "", ""
		j.writeErr = ""
		if prio.Rank() > j.rec.Priority.Rank() {
			j.rec.Priority = prio
		}
		j.rec.Assigned = j.rec.Assigned || assign
	}
	j.rec.InfoHash = pkg.InfoHash.HexString()
	j.rec.Version = pkg.Version
	j.rec.Size = pkg.Size()
	j.rec.Name = pkg.Name
	j.fetchErr, j.retries = "", 0
	if src := s.deltaSourcesLocked(j); len(src) > 0 {
		j.preparing = true
		go s.prefillThenAdd(pkg, s.jobDir(j.rec), src)
	} else if err := s.addTorrent(j, pkg); err != nil {
		// The job stays, in error with the engine's reason; nothing else
		// is touched (see engine.go).
		s.log.Error("engine refused the package", "job", pkg.ID, "err", err)
	}
	s.saveNow()
	s.schedule()
	out := s.snapshotJob(j, true)
	s.poke()
	return out, nil
}

func (s *Service) torrentPath(id string) string {
	return filepath.Join(s.cfg.DataDir, "torrents", id+".torrent")
}

// loadTorrent re-reads and re-verifies a saved torrent. Called with s.mu.
func (s *Service) loadTorrent(j *job) error {
	if j.preparing {
		return nil // prefillThenAdd adds it
	}
	b, err := os.ReadFile(s.torrentPath(j.rec.ID))
	if err != nil {
		j.rec.InfoHash = "" // fetch it again
		return fmt.Errorf("reading saved torrent: %w", err)
	}
	pkg, err := pkgsign.Verify(b, s.keys)
	if err != nil {
		j.rec.Fatal = fmt.Sprintf("the saved torrent is no longer accepted (%v): re-publish the package or fix trusted_keys, then resume", err)
		return err
	}
	if pkg.InfoHash.HexString() != j.rec.InfoHash || pkg.ID != j.rec.ID {
		j.rec.InfoHash = ""
		return errors.New("saved torrent does not match the job; fetching it again")
	}
	return s.addTorrent(j, pkg)
}

// addTorrent hands a verified package to the engine. Called with s.mu.
func (s *Service) addTorrent(j *job, pkg *pkgsign.Package) error {
	t, err := s.engineAdd(pkg, s.jobDir(j.rec), j.rec.Source)
	if err != nil {
		return s.engineRefused(j, err)
	}
	j.announce = s.packageTrackers(pkg)
	id := j.rec.ID
	t.SetOnWriteChunkError(func(err error) { s.onWriteError(id, err) })
	t.DownloadAll()
	go s.wakeOnComplete(t)
	j.t, j.pkg = t, pkg
	j.kick = kickState{running: j.kick.running}
	j.lastRead, j.lastWrit, j.lastSrc = 0, 0, sourceBytes{}
	s.peers.forget(pkg.InfoHash)
	return nil
}

// wakeOnComplete runs a step the moment the engine has every piece of t, so
// that the job is stamped transferred, its files are released and its event
// goes out then rather than on the next tick (up to a second later: an
// eighth of a 48 MiB package's time on a 100 Mbit/s link). It returns when t
// completes or is dropped.
func (s *Service) wakeOnComplete(t *torrent.Torrent) {
	select {
	case <-t.Complete().On():
		s.poke()
	case <-t.Closed():
	}
}

func (s *Service) dropTorrent(j *job) {
	if j.t != nil {
		s.peers.forget(j.t.InfoHash())
		s.pc.forget(j.t.InfoHash())
		j.t.Drop()
		j.t = nil
	}
	j.pkg = nil
}

func (s *Service) onWriteError(id string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok || j.writeErr != "" {
		return
	}
	if errors.Is(err, syscall.ENOSPC) {
		j.writeErr = fmt.Sprintf("disk full writing to %s: free space or lower cache_max, then resume the job", s.cfg.CacheDir)
	} else {
		j.writeErr = fmt.Sprintf("cannot write the package to %s (%v): check the folder and its permissions, then resume the job", s.cfg.CacheDir, err)
	}
	if j.t != nil {
		j.t.DisallowDataDownload()
	}
	s.log.Error("write error", "job", id, "err", err)
	s.poke()
}

func (s *Service) withJob(id string, fn func(j *job) error) (api.Job, error) {
	defer s.flush()
	s.mu.Lock()
	j, ok := s.jobs[id]
	if !ok {
		s.mu.Unlock()
		return api.Job{}, notFound(id)
	}
	if err := fn(j); err != nil {
		s.mu.Unlock()
		return api.Job{}, err
	}
	s.saveNow()
	s.schedule()
	out := s.snapshotJob(j, true)
	s.mu.Unlock()
	s.poke()
	return out, nil
}

// Pause suspends a job: it neither downloads nor uploads.
func (s *Service) Pause(id string) (api.Job, error) {
	return s.withJob(id, func(j *job) error {
		if !j.rec.Suspended {
			s.log.Info("job suspended", "job", id)
		}
		j.rec.Suspended = true
		return nil
	})
}

// Resume resumes a suspended job, or retries a job in error.
func (s *Service) Resume(id string) (api.Job, error) {
	return s.withJob(id, func(j *job) error {
		j.rec.Suspended = false
		s.retryLocked(j)
		s.log.Info("job resumed", "job", id)
		return nil
	})
}

func (s *Service) retryLocked(j *job) {
	j.rec.Fatal, j.rec.FatalCode = "", ""
	j.writeErr = ""
	j.fetchErr = ""
	j.retries = 0
	j.nextRetry = timeZero
	if j.t == nil && j.rec.InfoHash != "" {
		if err := s.loadTorrent(j); err != nil {
			s.log.Warn("retrying job", "job", j.rec.ID, "err", err)
		}
	}
}

// SetPriority changes a job's priority.
func (s *Service) SetPriority(id string, p api.Priority) (api.Job, error) {
	if p.Rank() < 0 {
		return api.Job{}, badRequest("unknown priority %q", p)
	}
	return s.withJob(id, func(j *job) error {
		j.rec.Priority = p
		return nil
	})
}

// MarkUsed records that the package was used now (the wrapper ran it).
func (s *Service) MarkUsed(id string) (api.Job, error) {
	return s.withJob(id, func(j *job) error {
		j.rec.LastUsed = s.now()
		return nil
	})
}

// Cancel stops a job and removes its content and torrent.
func (s *Service) Cancel(id string) (api.Job, error) {
	defer s.flush()
	s.mu.Lock()
	j, ok := s.jobs[id]
	if !ok {
		s.mu.Unlock()
		return api.Job{}, notFound(id)
	}
	out := s.snapshotJob(j, false)
	out.State = api.StateCancelled
	s.removeLocked(j, "cancelled")
	s.saveNow()
	s.mu.Unlock()
	s.events.broadcast([]api.Event{{Type: api.EventJob, Time: s.now(), Job: &out}})
	s.poke()
	return out, nil
}

// removeLocked drops a job, its torrent and its files. Called with s.mu.
func (s *Service) removeLocked(j *job, why string) {
	for _, o := range append([]*oldVersion(nil), j.rec.Old...) {
		s.removeOldLocked(j, o, why)
	}
	s.dropTorrent(j)
	delete(s.jobs, j.rec.ID)
	dir := s.jobDir(j.rec)
	if j.rec.Source != "" {
		dir = filepath.Join(s.cfg.CacheDir, ".padding", j.rec.InfoHash) // the source folder is not ours
	}
	if err := os.RemoveAll(dir); err != nil {
		s.log.Warn("removing package content", "job", j.rec.ID, "err", err)
	}
	_ = os.Remove(s.torrentPath(j.rec.ID))
	s.log.Info("job removed", "job", j.rec.ID, "why", why)
}

// PauseAll suspends every job that is not final.
func (s *Service) PauseAll() {
	s.all(func(j *job) {
		if j.state != api.StateError {
			j.rec.Suspended = true
		}
	})
}

// ResumeAll resumes every suspended job.
func (s *Service) ResumeAll() {
	s.all(func(j *job) { j.rec.Suspended = false })
}

func (s *Service) all(fn func(*job)) {
	defer s.flush()
	s.mu.Lock()
	for _, j := range s.jobs {
		fn(j)
	}
	s.saveNow()
	s.schedule()
	s.mu.Unlock()
	s.poke()
}

// Jobs returns all jobs, highest priority first, then by package ID.
func (s *Service) Jobs() []api.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobListLocked(false)
}

func (s *Service) jobListLocked(files bool) []api.Job {
	out := make([]api.Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, s.snapshotJob(j, files))
	}
	sortJobs(out)
	return out
}

func sortJobs(js []api.Job) {
	sort.Slice(js, func(a, b int) bool {
		if ra, rb := js[a].Priority.Rank(), js[b].Priority.Rank(); ra != rb {
			return ra > rb
		}
		return js[a].ID < js[b].ID
	})
}

// Job returns one job with per-file progress.
func (s *Service) Job(id string) (api.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return api.Job{}, notFound(id)
	}
	return s.snapshotJob(j, true), nil
}
