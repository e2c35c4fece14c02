package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/service/api"
)

// fetchError classifies a failed torrent fetch.
type fetchError struct {
	err       error
	transient bool // retry later: network, server errors
	notFound  bool // the repository does not publish the package
	config    bool // the service is not configured to fetch
	refused   bool // the repository refused us (access, allowlist)
}

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// repoClient is the repository's client for this service's configuration.
func (s *Service) repoClient() *repoapi.Client {
	return &repoapi.Client{BaseURL: s.cfg.Repository, HTTPClient: s.httpc}
}

// fetch downloads and verifies a package's current torrent from the repository.
func (s *Service) fetch(ctx context.Context, id string) ([]byte, *pkgsign.Package, error) {
	return s.fetchVersion(ctx, id, "")
}

// fetchVersion downloads and verifies the torrent of one version of a
// package ("": the current one).
func (s *Service) fetchVersion(ctx context.Context, id, version string) ([]byte, *pkgsign.Package, error) {
	if s.cfg.Repository == "" {
		return nil, nil, &fetchError{err: errors.New("no repository is configured: set \"repository\" in the configuration, or add the job from a .torrent file"), config: true}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, err := s.repoClient().Torrent(ctx, id, version)
	switch {
	case repoapi.IsNotFound(err):
		what := "package " + id
		if version != "" {
			what += " version " + version
		}
		return nil, nil, &fetchError{err: fmt.Errorf("%s is not published in the repository %s", what, s.cfg.Repository), notFound: true}
	case repoapi.IsTransient(err):
		return nil, nil, &fetchError{err: err, transient: true}
	case err != nil:
		return nil, nil, &fetchError{err: fmt.Errorf("%w: check that this PC is in the tracker's allow_networks", err), refused: true}
	}
	pkg, err := pkgsign.Verify(b, s.keys)
	if err != nil {
		return nil, nil, &fetchError{err: err}
	}
	if pkg.ID != id {
		return nil, nil, &fetchError{err: fmt.Errorf("repository sent the torrent of package %q for %q", pkg.ID, id)}
	}
	if version != "" && pkg.Version != version {
		return nil, nil, &fetchError{err: fmt.Errorf("repository sent version %q of %s for version %q", pkg.Version, id, version)}
	}
	return b, pkg, nil
}

// backgroundFetch retries the torrent fetch of a job created while the
// repository was unreachable.
func (s *Service) backgroundFetch(id string) {
	b, pkg, err := s.fetch(context.Background(), id)
	s.mu.Lock()
	j, ok := s.jobs[id]
	if !ok || s.closed {
		s.mu.Unlock()
		return
	}
	j.fetching = false
	if err != nil {
		var fe *fetchError
		if errors.As(err, &fe) && !fe.transient {
			j.rec.Fatal = fmt.Sprintf("%v: publish the package (or fix trusted_keys), then resume the job", err)
			switch {
			case fe.notFound:
				j.rec.FatalCode = api.ErrorNotFound
			case fe.refused, fe.config:
				j.rec.FatalCode = api.ErrorRepository
			default:
				j.rec.FatalCode = api.ErrorSignature
			}
			s.log.Error("package refused", "job", id, "err", err)
		} else {
			s.setFetchError(j, err)
			s.log.Warn("repository still unreachable", "job", id, "err", err, "next", j.nextRetry)
		}
		s.saveNow()
		s.mu.Unlock()
		s.poke()
		return
	}
	prio, assign := j.rec.Priority, j.rec.Assigned
	s.mu.Unlock()
	if _, err := s.addVerified(pkg, b, prio, assign); err != nil {
		s.log.Error("adding fetched torrent", "job", id, "err", err)
	}
}

// checkRepository updates the repository's reachability for the status,
// and, when the catalogue changed, starts the new versions of the packages
// this PC holds (see updates.go).
func (s *Service) checkRepository(ctx context.Context) {
	if s.cfg.Repository == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r := api.Reachability{URL: s.cfg.Repository, Checked: s.now()}
	entries, etag, unchanged, err := s.repoClient().Catalogue(ctx, s.catalogueETag())
	if err != nil && !repoapi.IsTransient(err) {
		err = nil // it answered: reachable, even if it refused the listing
	}
	r.Reachable = err == nil
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return
		}
		r.Error = err.Error()
	}
	s.mu.Lock()
	s.repo = r
	s.mu.Unlock()
	if err == nil && !unchanged && entries != nil {
		s.catalogueChanged(etag, entries)
	}
}
