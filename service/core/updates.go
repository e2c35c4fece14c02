package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"time"
	"unicode"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/service/api"
)

// currentCheckTimeout bounds the question "which version is current?" that
// an Add (every P2PWrapper run) asks the repository: a slow repository
// must not hold up SCCM for long.
const currentCheckTimeout = 10 * time.Second

// pollRepository is one round of the update poll: the repository's
// reachability for the status and, when the catalogue changed, the new
// versions of the packages this PC holds.
func (s *Service) pollRepository(ctx context.Context) {
	if entries, changed := s.repo.check(ctx); changed {
		s.catalogueChanged(entries)
	}
}

// pollDelay is the next wait of the update poll: update_poll ±25 %, so
// that PCs started together do not ask together.
func (s *Service) pollDelay() time.Duration {
	d := s.cfg.UpdatePoll.D()
	return d*3/4 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// catalogueChanged starts the new current versions of the packages this
// PC holds, in the background, at the job's priority. Pinned, suspended,
// failed and still-fetching jobs are left alone.
func (s *Service) catalogueChanged(entries []repoapi.Entry) {
	type todo struct {
		id, ih string
	}
	var work []todo
	s.mu.Lock()
	for _, e := range entries {
		j, ok := s.jobs[e.ID]
		if !ok || j.rec.InfoHash == "" || j.rec.InfoHash == e.InfoHash || j.rec.Pin != "" ||
			j.rec.Suspended || j.rec.Fatal != "" || j.preparing || j.fetching {
			continue
		}
		j.fetching = true
		work = append(work, todo{e.ID, e.InfoHash})
	}
	s.mu.Unlock()
	for _, w := range work {
		go s.updateTo(w.id, w.ih)
	}
}

// updateTo fetches the current torrent of a package and moves its job to it.
func (s *Service) updateTo(id, ih string) {
	b, pkg, err := s.repo.fetch(context.Background(), id)
	s.mu.Lock()
	j, ok := s.jobs[id]
	if ok {
		j.fetching = false
	}
	if !ok || s.closed {
		s.mu.Unlock()
		return
	}
	prio, assign, pin := j.rec.Priority, j.rec.Assigned, j.rec.Pin
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("background update: fetching the new version failed; the next poll tries again", "job", id, "err", err)
		s.repo.forgetETag()
		return
	}
	if pin != "" {
		return // pinned meanwhile
	}
	if pkg.InfoHash.HexString() != ih {
		s.log.Info("background update: the repository moved on meanwhile", "job", id, "version", pkg.Version)
	}
	if _, err := s.addVerified(pkg, b, prio, assign); err != nil {
		s.log.Error("background update", "job", id, "err", err)
		return
	}
	s.log.Info("background update: fetching the new version before it is asked for", "job", id, "version", pkg.Version)
}

// addExisting is Add for a package that has a job: with a version, it moves
// the job to exactly that version; without, it asks the repository for the
// current version and moves the job to it if it is another. The answer's
// Check says what the repository said. A repository that cannot tell leaves
// the job as it is, with Check.Error set and no error.
func (s *Service) addExisting(ctx context.Context, r api.AddRequest, prio api.Priority) (api.Job, error) {
	if r.Version != "" {
		return s.addPinned(ctx, r, prio)
	}
	id := r.PackageID
	s.mu.Lock()
	j, ok := s.jobs[id]
	if !ok {
		s.mu.Unlock()
		return api.Job{}, notFound(id)
	}
	if j.rec.Pin != "" {
		s.log.Info("a program asks for the current version: the pin ends", "job", id, "pinned", j.rec.Pin)
		j.rec.Pin = ""
	}
	have, haveVer := j.rec.InfoHash, j.rec.Version
	if have == "" || s.cfg.Repository == "" {
		s.touch(j, prio, r.Assign)
		out := s.snapshotJob(j, true)
		s.mu.Unlock()
		s.poke()
		return out, nil
	}
	s.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, currentCheckTimeout)
	defer cancel()
	b, unchanged, err := s.repo.client().TorrentIfChanged(cctx, id, "", have)
	var pkg *pkgsign.Package
	if err == nil && !unchanged {
		if pkg, err = pkgsign.Verify(b, s.keys); err == nil && pkg.ID != id {
			err = fmt.Errorf("repository sent the torrent of package %q for %q", pkg.ID, id)
		}
		if err == nil && pkg.InfoHash.HexString() == have {
			unchanged = true
		}
	}
	check := &api.VersionCheck{}
	switch {
	case err != nil:
		check.Error = err.Error()
		if repoapi.IsNotFound(err) {
			check.Error = fmt.Sprintf("package %s is not published in the repository %s any more", id, s.cfg.Repository)
		}
		s.log.Warn("could not learn the current version", "job", id, "err", check.Error)
	case unchanged:
		check.Checked, check.Current = true, haveVer
	default:
		check.Checked, check.Current, check.Replaced = true, pkg.Version, haveVer
		s.log.Info("a newer version is current", "job", id, "cached", haveVer, "current", pkg.Version)
		out, err := s.addVerified(pkg, b, prio, r.Assign)
		out.Check = check
		return out, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok = s.jobs[id]; !ok {
		return api.Job{}, notFound(id)
	}
	s.touch(j, prio, r.Assign)
	out := s.snapshotJob(j, true)
	out.Check = check
	s.poke()
	return out, nil
}

// addPinned moves a job (or starts one) at exactly version r.Version: the
// job's own, a cached one (at once), or one fetched from the repository.
func (s *Service) addPinned(ctx context.Context, r api.AddRequest, prio api.Priority) (api.Job, error) {
	id, want := r.PackageID, r.Version
	check := &api.VersionCheck{Current: want}
	s.mu.Lock()
	j, ok := s.jobs[id]
	if ok && j.rec.InfoHash != "" && j.rec.Version == want {
		j.rec.Pin = want
		s.touch(j, prio, r.Assign)
		out := s.snapshotJob(j, true)
		s.mu.Unlock()
		out.Check = check
		s.poke()
		return out, nil
	}
	if ok {
		if o := findOld(j.rec, want, ""); o != nil && o.Complete && o.t != nil && !j.preparing {
			check.Replaced = j.rec.Version
			s.promoteLocked(j, o)
			j.rec.Pin = want
			s.touch(j, prio, r.Assign)
			s.schedule()
			out := s.snapshotJob(j, true)
			s.mu.Unlock()
			out.Check = check
			s.poke()
			return out, nil
		}
	}
	s.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, currentCheckTimeout)
	defer cancel()
	b, pkg, err := s.repo.fetchVersion(cctx, id, want)
	if err != nil {
		var fe *fetchError
		if errors.As(err, &fe) && fe.notFound {
			return api.Job{}, errorf(api.CodeNotFound, "%v", err)
		}
		return api.Job{}, errorf(api.CodeRepository, "the pinned version %s of %s is not in the cache and the repository could not deliver it: %v", want, id, err)
	}
	check.Checked = true
	if ok {
		check.Replaced = j.rec.Version
	}
	out, err := s.addVerifiedPinned(pkg, b, prio, r.Assign, want)
	out.Check = check
	return out, err
}

// addVerifiedPinned is addVerified that pins the job at its new version.
func (s *Service) addVerifiedPinned(pkg *pkgsign.Package, b []byte, prio api.Priority, assign bool, pin string) (api.Job, error) {
	out, err := s.addVerified(pkg, b, prio, assign)
	if err != nil {
		return out, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.jobs[pkg.ID]; ok && j.rec.InfoHash == pkg.InfoHash.HexString() {
		j.rec.Pin = pin
		s.saveNow()
		out = s.snapshotJob(j, true)
	}
	return out, nil
}

// validVersion checks a pinned version string from a caller: at most 64
// printable characters without spaces ("" is no pin).
func validVersion(v string) error {
	if len(v) > 64 {
		return fmt.Errorf("%d bytes is longer than 64", len(v))
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f || !unicode.IsPrint(r) {
			return fmt.Errorf("%q has spaces or control characters", v)
		}
	}
	return nil
}
