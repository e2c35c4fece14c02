package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
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

// fetch downloads and verifies a package's torrent from the repository.
func (r *repository) fetch(ctx context.Context, id string) ([]byte, *pkgsign.Package, error) {
	if r.url == "" {
		return nil, nil, &fetchError{err: errors.New("no repository is configured: set \"repository\" in the configuration, or add the job from a .torrent file"), config: true}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	u := strings.TrimRight(r.url, "/") + "/api/v1/packages/" + url.PathEscape(id) + "/torrent"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, &fetchError{err: err}
	}
	resp, err := r.httpc.Do(req)
	if err != nil {
		return nil, nil, &fetchError{err: fmt.Errorf("repository %s unreachable: %w", r.url, err), transient: true}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, nil, &fetchError{err: fmt.Errorf("package %s is not published in the repository %s", id, r.url), notFound: true}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, nil, &fetchError{err: fmt.Errorf("repository answered %s", resp.Status), transient: true}
	case resp.StatusCode != http.StatusOK:
		return nil, nil, &fetchError{err: fmt.Errorf("repository %s refused the request (%s): check that this PC is in the tracker's allow_networks", r.url, resp.Status), refused: true}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, pkgsign.MaxTorrentSize+1))
	if err != nil {
		return nil, nil, &fetchError{err: fmt.Errorf("reading torrent from repository: %w", err), transient: true}
	}
	pkg, err := pkgsign.Verify(b, r.keys)
	if err != nil {
		return nil, nil, &fetchError{err: err}
	}
	if pkg.ID != id {
		return nil, nil, &fetchError{err: fmt.Errorf("repository sent the torrent of package %q for %q", pkg.ID, id)}
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

// check updates the repository's reachability for the status.
func (r *repository) check(ctx context.Context) {
	if r.url == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := strings.TrimRight(r.url, "/") + "/api/v1/packages"
	res := api.Reachability{URL: r.url, Checked: r.now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err == nil {
		var resp *http.Response
		resp, err = r.httpc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				err = fmt.Errorf("answered %s", resp.Status)
			}
		}
	}
	res.Reachable = err == nil
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return
		}
		res.Error = err.Error()
	}
	r.mu.Lock()
	r.reach = res
	r.mu.Unlock()
}
