package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
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

// repository fetches signed torrents from the package repository and keeps
// its reachability for the status. It owns its HTTP client and its own lock.
type repository struct {
	url   string // base URL; "": none configured
	httpc *http.Client
	keys  []pkgsign.PublicKey
	now   func() time.Time

	mu    sync.Mutex
	reach api.Reachability
	etag  string // of the last catalogue seen (update poll)
}

func newRepository(url string, httpc *http.Client, keys []pkgsign.PublicKey, now func() time.Time) *repository {
	if httpc == nil {
		httpc = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ResponseHeaderTimeout: 20 * time.Second,
		}}
	}
	return &repository{url: url, httpc: httpc, keys: keys, now: now}
}

// reachability is the result of the last check.
func (r *repository) reachability() api.Reachability {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reach
	if out.URL == "" {
		out.URL = r.url
	}
	return out
}

// client is the repository's API client.
func (r *repository) client() *repoapi.Client {
	return &repoapi.Client{BaseURL: r.url, HTTPClient: r.httpc}
}

// fetch downloads and verifies a package's current torrent from the repository.
func (r *repository) fetch(ctx context.Context, id string) ([]byte, *pkgsign.Package, error) {
	return r.fetchVersion(ctx, id, "")
}

// fetchVersion downloads and verifies the torrent of one version of a
// package ("": the current one).
func (r *repository) fetchVersion(ctx context.Context, id, version string) ([]byte, *pkgsign.Package, error) {
	if r.url == "" {
		return nil, nil, &fetchError{err: errors.New("no repository is configured: set \"repository\" in the configuration, or add the job from a .torrent file"), config: true}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, err := r.client().Torrent(ctx, id, version)
	switch {
	case repoapi.IsNotFound(err):
		what := "package " + id
		if version != "" {
			what += " version " + version
		}
		return nil, nil, &fetchError{err: fmt.Errorf("%s is not published in the repository %s", what, r.url), notFound: true}
	case repoapi.IsTransient(err):
		return nil, nil, &fetchError{err: err, transient: true}
	case err != nil:
		return nil, nil, &fetchError{err: fmt.Errorf("%w: check that this PC is in the tracker's allow_networks", err), refused: true}
	}
	pkg, err := pkgsign.Verify(b, r.keys)
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
	defer s.flush()
	b, pkg, err := s.repo.fetch(context.Background(), id)
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

// check updates the repository's reachability for the status and returns
// the catalogue when it changed since the last check (one conditional
// request: If-None-Match with the last ETag).
func (r *repository) check(ctx context.Context) (entries []repoapi.Entry, changed bool) {
	if r.url == "" {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res := api.Reachability{URL: r.url, Checked: r.now()}
	r.mu.Lock()
	etag := r.etag
	r.mu.Unlock()
	entries, newETag, unchanged, err := r.client().Catalogue(ctx, etag)
	if err != nil && !repoapi.IsTransient(err) {
		err = nil // it answered: reachable, even if it refused the listing
	}
	res.Reachable = err == nil
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, false
		}
		res.Error = err.Error()
	}
	r.mu.Lock()
	r.reach = res
	if err == nil && !unchanged && entries != nil {
		r.etag, changed = newETag, true
	}
	r.mu.Unlock()
	return entries, changed
}

// forgetETag makes the next check read the whole catalogue again.
func (r *repository) forgetETag() {
	r.mu.Lock()
	r.etag = ""
	r.mu.Unlock()
}
