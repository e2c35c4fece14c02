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

// setInfo gives a torrent added without info its info, and checks that
// the engine took it: AddTorrentOpt drops the error of setting the info
// (and so of opening the storage), SetInfoBytes returns it. On a refusal
// the torrent is dropped.
func setInfo(t *torrent.Torrent, pkg *pkgsign.Package) error {
	if err := t.SetInfoBytes(pkg.Meta.InfoBytes); err != nil || t.Info() == nil {
		t.Drop()
		if err == nil {
			err = errors.New("the engine has no info for the torrent")
		}
		return err
	}
	return nil
}

// engineRefused puts a job in error because the engine refused its
// package. The job's record stays (so a restart does not try again until
// the job is resumed) and nothing on disk is removed. Called with s.mu.
func (s *Service) engineRefused(j *job, err error) error {
	j.t, j.pkg = nil, nil
	j.rec.Fatal = fmt.Sprintf("the BitTorrent engine refused the package (%v): re-publish it, or fix %s, then resume the job",
		err, s.jobDir(j.rec))
	j.rec.FatalCode = api.ErrorPackage
	j.state = api.StateError
	s.dirty = true
	return fmt.Errorf("engine refused the package: %w", err)
}

// storagePath is the file storage's FilePathMaker: a file's path inside
// its version's folder (which the service picks, see folders), from the
// BestPath the engine would use, through the same pkgsign.SafeRelPath that
// Verify checked. A path that fails the check (Verify refuses those first)
// becomes one outside the folder, which the storage refuses to open.
func storagePath(o storage.FilePathMakerOpts) string {
	p, err := pkgsign.SafeRelPath(o.File.BestPath())
	if err != nil {
		return filepath.Join("..", "refused-unsafe-path")
	}
	return filepath.FromSlash(p)
}

// packageTrackers are the trackers a package announces to: those the
// signature covers (v2), or for a v1 torrent, whose trackers are not
// signed, only those on the configured repository's host; the rest are
// ignored with a warning.
func (s *Service) packageTrackers(pkg *pkgsign.Package) [][]string {
	if pkg.SignedSources {
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
			"job", pkg.ID, "ignored_trackers", dropped, "used_trackers", len(out))
	}
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
