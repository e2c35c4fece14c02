package core

import (
	"fmt"

	"os"
	"path/filepath"
	"strings"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"

	"github.com/smstorrent/smstorrent/internal/atomicfile"
	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/service/api"
)

// An origin on a distribution point seeds a package from the folder the
// package was made of, in place: the job's Source. The engine only reads
// it — a source job never downloads, so nothing is ever written into the
// folder — and removing the job never deletes it. If the folder does not
// hold exactly the package, the job stops with an error that says so.

// sourceStorage is the engine storage of a package read in place from
// folder src. Padding files cannot live in src (it is not ours to write),
// so they go to <cache>/.padding/<info-hash>; the storage's root is the
// closest folder above both, which must therefore be on the same drive.
func (s *Service) sourceStorage(pkg *pkgsign.Package, src string) (storage.ClientImpl, error) {
	padDir := filepath.Join(s.cfg.CacheDir, ".padding", pkg.InfoHash.HexString())
	root := src
	for {
		if rel, err := filepath.Rel(root, padDir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			break
		}
		up := filepath.Dir(root)
		if up == root {
			return nil, fmt.Errorf("the source folder %s and the cache %s are on different drives: make the torrent with --align=false, or put the cache on the source's drive", src, s.cfg.CacheDir)
		}
		root = up
	}
	if err := makePadding(padDir, &pkg.Info); err != nil {
		return nil, fmt.Errorf("creating the padding files in %s: %w", padDir, err)
	}
	relTo := func(base string, comps []string) string {
		r, _ := filepath.Rel(root, filepath.Join(append([]string{base}, comps...)...))
		return r
	}
	return fileStorage(storage.NewFileClientOpts{
		ClientBaseDir:   root,
		PieceCompletion: sharedCompletion{s.pc},
		UsePartFiles:    g.Some(false),
		Logger:          s.log.With("part", "storage", "source", src),
		TorrentDirMaker: func(string, *metainfo.Info, metainfo.Hash) string { return root },
		FilePathMaker: func(o storage.FilePathMakerOpts) string {
			if pkgsign.IsPadding(*o.File) {
				return relTo(padDir, o.File.BestPath())
			}
			return relTo(src, o.File.BestPath())
		},
	}), nil
}

// sharedCompletion lends the service's piece database to a per-torrent
// storage, which must not close it.
type sharedCompletion struct{ storage.PieceCompletion }

func (sharedCompletion) Close() error { return nil }

// addSource starts seeding a verified package from folder dir.
func (s *Service) addSource(pkg *pkgsign.Package, b []byte, prio api.Priority, dir string) (api.Job, error) {
	if !filepath.IsAbs(dir) {
		return api.Job{}, badRequest("source folder %q must be an absolute path", dir)
	}
	dir = filepath.Clean(dir)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return api.Job{}, badRequest("source folder %q is not a folder this service can read", dir)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return api.Job{}, errClosed
	}
	if j, ok := s.jobs[pkg.ID]; ok {
		if j.rec.Source == dir && j.rec.InfoHash == pkg.InfoHash.HexString() {
			s.touch(j, prio, true)
			return s.snapshotJob(j, true), nil
		}
		return api.Job{}, errorf(api.CodeConflict,
			"package %s already has a job (version %s): cancel it first, then add the source folder", pkg.ID, j.rec.Version)
	}
	if err := atomicfile.Write(s.torrentPath(pkg.ID), b, 0o644); err != nil {
		return api.Job{}, fmt.Errorf("saving torrent: %w", err)
	}
	j := &job{rec: &record{ID: pkg.ID, Priority: prio, Added: s.now(), Assigned: true, Source: dir,
		InfoHash: pkg.InfoHash.HexString(), Version: pkg.Version, Name: pkg.Name, Size: pkg.Size()}}
	s.jobs[pkg.ID] = j
	if err := s.addTorrent(j, pkg); err != nil {
		delete(s.jobs, pkg.ID)
		return api.Job{}, err
	}
	s.log.Info("seeding from a source folder in place", "job", pkg.ID, "version", pkg.Version, "folder", dir)
	s.saveNow()
	s.schedule()
	out := s.snapshotJob(j, true)
	s.poke()
	return out, nil
}

// checkSource stops a source job whose folder turned out not to hold the
// package once the engine has hashed it. Called with s.mu.
func (s *Service) checkSource(j *job) {
	if j.rec.Source == "" || j.t == nil || j.t.Info() == nil || j.writeErr != "" || j.t.Complete().Bool() {
		return
	}
	for _, run := range j.t.PieceStateRuns() {
		if !run.Ok || run.Hashing || run.QueuedForHash || run.Checking {
			return
		}
	}
	j.writeErr = fmt.Sprintf("the source folder %s does not hold version %s of this package (%d of %d bytes match): "+
		"make the torrent of this folder again, or cancel the job", j.rec.Source, j.rec.Version, j.t.BytesCompleted(), j.rec.Size)
	s.log.Error("source folder does not match", "job", j.rec.ID, "folder", j.rec.Source)
}
