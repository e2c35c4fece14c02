package core

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/storage"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/service/api"
)

// addTorrent hands a verified package to the engine. If the engine refuses
// it (its info, or its storage cannot open), the torrent is dropped again
// and the job is left in error with the reason; the error is returned too.
// Called with s.mu.
func (s *Service) addTorrent(j *job, pkg *pkgsign.Package) error {
	// AddTorrentOpt drops the error of setting the info (and so of opening
	// the storage): add without info, then set it and check.
	t, _ := s.cl.AddTorrentOpt(torrent.AddTorrentOpts{
		InfoHash:             pkg.InfoHash,
		DisallowDataDownload: true,
	})
	if t == nil {
		return s.engineRefused(j, errors.New("the engine did not add the torrent"))
	}
	if err := t.SetInfoBytes(pkg.Meta.InfoBytes); err != nil || t.Info() == nil {
		t.Drop()
		if err == nil {
			err = errors.New("the engine has no info for the torrent")
		}
		return s.engineRefused(j, err)
	}
	trackers := s.packageTrackers(j, pkg)
	if len(trackers) > 0 {
		t.AddTrackers(trackers)
	}
	if len(pkg.WebSeeds) > 0 {
		t.AddWebSeeds(pkg.WebSeeds)
	}
	id := j.rec.ID
	t.SetOnWriteChunkError(func(err error) { s.onWriteError(id, err) })
	t.DownloadAll()
	j.t, j.pkg = t, pkg
	j.lastRead, j.lastWrit, j.lastSite, j.lastSrv = 0, 0, 0, 0
	s.peers.forget(pkg.InfoHash)
	return nil
}

// engineRefused puts a job in error because the engine refused its
// package. The job's record stays (so a restart does not try again until
// the job is resumed) and nothing on disk is removed. Called with s.mu.
func (s *Service) engineRefused(j *job, err error) error {
	j.t, j.pkg = nil, nil
	j.rec.Fatal = fmt.Sprintf("the BitTorrent engine refused the package (%v): re-publish it, or fix %s, then resume the job",
		err, filepath.Join(s.cfg.CacheDir, j.rec.ID))
	j.rec.FatalCode = api.ErrorPackage
	j.state = api.StateError
	s.dirty = true
	return fmt.Errorf("engine refused the package: %w", err)
}

// storagePath is the file storage's FilePathMaker: the path pkgsign
// checked, computed by the same function. A path that fails the check
// (Verify refuses those first) becomes one outside the cache folder, which
// the storage refuses to open.
func storagePath(o storage.FilePathMakerOpts) string {
	p, err := pkgsign.StoragePath(o.Info, o.File)
	if err != nil {
		return filepath.Join("..", "refused-unsafe-path")
	}
	return p
}

// packageTrackers are the trackers a job announces to: those the
// signature covers (v2), or for a v1 torrent, whose trackers are not
// signed, only those on the configured repository's host; the rest are
// ignored with a warning. Called with s.mu.
func (s *Service) packageTrackers(j *job, pkg *pkgsign.Package) [][]string {
	if pkg.SignedSources {
		j.announce = pkg.Trackers
		return pkg.Trackers
	}
	var out [][]string
	repo, _ := url.Parse(s.cfg.Repository)
	dropped := 0
	for _, tier := range pkg.UnsignedTrackers {
		var keep []string
		for _, u := range tier {
			tu, err := url.Parse(u)
			if err == nil && repo != nil && repo.Hostname() != "" && strings.EqualFold(tu.Hostname(), repo.Hostname()) &&
				(tu.Scheme == "http" || tu.Scheme == "https" || tu.Scheme == "udp") && tu.User == nil {
				keep = append(keep, u)
			} else {
				dropped++
			}
		}
		if len(keep) > 0 {
			out = append(out, keep)
		}
	}
	if dropped > 0 || len(out) == 0 {
		s.log.Warn("the torrent's signature (v1) does not cover its trackers and web seeds: only trackers on the repository's host are used; re-publish the package to sign them",
			"job", j.rec.ID, "ignored_trackers", dropped, "used_trackers", len(out))
	}
	j.announce = out
	return out
}

// maxAnnounceBackoff caps the wait after failed announces, so a job finds
// its tracker again within a minute of the tracker's return (the engine's
// default doubles up to 30 minutes).
const maxAnnounceBackoff = time.Minute

// announceBackoff is the engine's retry after failed announces: the
// configured transient-error backoff, capped at maxAnnounceBackoff.
func announceBackoff(retryMin, retryMax time.Duration) (first, most time.Duration) {
	first = min(max(retryMin, time.Second), maxAnnounceBackoff)
	most = min(max(retryMax, first), maxAnnounceBackoff)
	return first, most
}
