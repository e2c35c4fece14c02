package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/service/api"
)

// A job follows one version of its package: the current one, or the one an
// SCCM program pinned. When it moves to another version, the version it
// held stays in the cache as an oldVersion, in its own folder: a complete
// one keeps seeding for the site until the seeding policy lets it go (see
// retentionOld), and any of them lends the new version the pieces they
// share (see delta.go). Versions never share files: each has its own
// folder, filled by copying, so a change to one cannot alter another.

// oldVersion is a version of a package that its job has moved past.
type oldVersion struct {
	Version   string    `json:"version,omitempty"`
	Name      string    `json:"name,omitempty"`
	InfoHash  string    `json:"info_hash"`
	Dir       string    `json:"dir,omitempty"`    // folder under the cache; "" means the package ID
	Source    string    `json:"source,omitempty"` // a folder outside the cache, seeded in place
	Size      int64     `json:"size,omitempty"`
	Complete  bool      `json:"complete,omitempty"`
	Completed time.Time `json:"completed,omitzero"`
	Retired   time.Time `json:"retired"`
	LastUsed  time.Time `json:"last_used,omitzero"`

	t   *torrent.Torrent // seeding; nil for an incomplete version
	pkg *pkgsign.Package
}

// clone copies a record, and its old versions, for the job store, which
// writes it without s.mu.
func (r *record) clone() record {
	c := *r
	c.Old = nil
	for _, o := range r.Old {
		oc := *o
		oc.t, oc.pkg = nil, nil
		c.Old = append(c.Old, &oc)
	}
	return c
}

// folders tells the engine's storage where each torrent's files live. It
// has its own lock: the storage asks while the engine adds a torrent, which
// happens with s.mu held.
type folders struct {
	mu sync.Mutex
	m  map[metainfo.Hash]string
}

func (f *folders) set(ih metainfo.Hash, dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[metainfo.Hash]string{}
	}
	f.m[ih] = dir
}

func (f *folders) get(ih metainfo.Hash) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.m[ih]
	return d, ok
}

// torrentDir is the storage's TorrentDirMaker: the registered folder, else
// <cache>/<name> as the engine's default layout has it.
func (f *folders) torrentDir(base string, info *metainfo.Info, ih metainfo.Hash) string {
	if d, ok := f.get(ih); ok {
		return d
	}
	return filepath.Join(base, info.BestName())
}

// versionDir is the folder of a version: its source folder, or its folder
// under the cache.
func (s *Service) versionDir(id, dir, source string) string {
	if source != "" {
		return source
	}
	if dir == "" {
		dir = id
	}
	return filepath.Join(s.cfg.CacheDir, dir)
}

func (s *Service) jobDir(r *record) string { return s.versionDir(r.ID, r.Dir, r.Source) }

// newVersionDir picks a folder name under the cache for a new version of
// a package that none of the job's old versions uses ("": the package ID).
// Called after retireLocked.
func newVersionDir(r *record, ih string) string {
	name := func(d string) string {
		if d == "" {
			return r.ID
		}
		return d
	}
	used := map[string]bool{}
	for _, o := range r.Old {
		if o.Source == "" {
			used[name(o.Dir)] = true
		}
	}
	if !used[r.ID] {
		return ""
	}
	return r.ID + "~" + ih[:12]
}

func (s *Service) oldTorrentPath(id, ih string) string {
	return filepath.Join(s.cfg.DataDir, "torrents", id+"@"+ih+".torrent")
}

// engineAdd hands a verified package to the engine, not yet downloading:
// stored in dir under the cache, or read in place from a source folder.
func (s *Service) engineAdd(pkg *pkgsign.Package, dir, source string) (*torrent.Torrent, error) {
	// Without info: setInfo sets it and checks the engine's answer.
	opts := torrent.AddTorrentOpts{
		InfoHash:             pkg.InfoHash,
		DisallowDataDownload: true,
	}
	if source != "" {
		st, err := s.sourceStorage(pkg, source)
		if err != nil {
			return nil, err
		}
		opts.Storage = st
	} else {
		s.folders.set(pkg.InfoHash, dir)
		if err := makePadding(dir, &pkg.Info); err != nil {
			return nil, fmt.Errorf("creating the padding files in %s: %w", dir, err)
		}
	}
	t, _ := s.cl.AddTorrentOpt(opts)
	if t == nil {
		return nil, errors.New("the engine did not add the torrent")
	}
	if err := setInfo(t, pkg); err != nil {
		return nil, err
	}
	// Trackers and web seeds only from signed data or the configuration
	// (engine.go).
	if trackers := s.packageTrackers(pkg); len(trackers) > 0 {
		t.AddTrackers(trackers)
	}
	if len(pkg.WebSeeds) > 0 {
		t.AddWebSeeds(pkg.WebSeeds, torrent.WebSeedResponseBodyRateLimiter(s.bw.down))
	}
	return t, nil
}

// retireLocked moves the job's version into its old versions; the caller
// then gives the job its new version. Called with s.mu.
func (s *Service) retireLocked(j *job) {
	r := j.rec
	if r.InfoHash == "" {
		return
	}
	o := &oldVersion{
		Version: r.Version, Name: r.Name, InfoHash: r.InfoHash, Dir: r.Dir, Source: r.Source,
		Size: r.Size, Complete: !r.Completed.IsZero() && j.t != nil, Completed: r.Completed,
		Retired: s.now(), LastUsed: r.LastUsed, pkg: j.pkg,
	}
	if err := os.Rename(s.torrentPath(r.ID), s.oldTorrentPath(r.ID, r.InfoHash)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("keeping the torrent of the previous version", "job", r.ID, "err", err)
	}
	if o.Complete {
		o.t, j.t, j.pkg = j.t, nil, nil
		s.log.Info("previous version keeps seeding", "job", r.ID, "version", o.Version)
	} else {
		s.dropTorrent(j)
	}
	r.Old = append(r.Old, o)
	r.Dir, r.Source, r.Pin = "", "", ""
}

// promoteLocked makes a complete old version the job's version again (a
// pinned program, or a roll-back): nothing is downloaded. Called with s.mu.
func (s *Service) promoteLocked(j *job, o *oldVersion) {
	r := j.rec
	tmp := s.oldTorrentPath(r.ID, o.InfoHash) + ".promote"
	if err := os.Rename(s.oldTorrentPath(r.ID, o.InfoHash), tmp); err != nil {
		s.log.Warn("moving the torrent of a cached version", "job", r.ID, "err", err)
	}
	s.retireLocked(j)
	if err := os.Rename(tmp, s.torrentPath(r.ID)); err != nil {
		s.log.Warn("moving the torrent of a cached version", "job", r.ID, "err", err)
	}
	r.Old = removeOld(r.Old, o)
	r.Version, r.Name, r.InfoHash, r.Dir, r.Source, r.Size = o.Version, o.Name, o.InfoHash, o.Dir, o.Source, o.Size
	r.Completed = o.Completed
	if o.LastUsed.After(r.LastUsed) {
		r.LastUsed = o.LastUsed
	}
	r.Fatal, r.FatalCode = "", ""
	j.writeErr, j.fetchErr = "", ""
	j.t, j.pkg = o.t, o.pkg
	st := j.t.Stats()
	j.lastRead, j.lastWrit = st.BytesReadUsefulData.Int64(), st.BytesWrittenData.Int64()
	j.lastSrc = s.peers.get(j.t.InfoHash())
	s.log.Info("switched to a cached version", "job", r.ID, "version", r.Version)
}

func removeOld(list []*oldVersion, o *oldVersion) []*oldVersion {
	out := list[:0]
	for _, x := range list {
		if x != o {
			out = append(out, x)
		}
	}
	return out
}

// findOld returns the old version with the given version string or
// info-hash ("" matches nothing).
func findOld(r *record, version, ih string) *oldVersion {
	for _, o := range r.Old {
		if (version != "" && o.Version == version) || (ih != "" && o.InfoHash == ih) {
			return o
		}
	}
	return nil
}

// loadOldLocked re-adds the complete old versions of a job after a
// restart. A version whose torrent no longer verifies stops seeding and
// leaves with the next policy round. Called with s.mu.
func (s *Service) loadOldLocked(j *job) {
	for _, o := range j.rec.Old {
		if !o.Complete {
			continue
		}
		pkg, err := s.loadOldPackage(j.rec.ID, o)
		if err == nil {
			o.t, err = s.engineAdd(pkg, s.versionDir(j.rec.ID, o.Dir, o.Source), o.Source)
		}
		if err != nil {
			s.log.Warn("a previous version no longer seeds", "job", j.rec.ID, "version", o.Version, "err", err)
			o.Complete = false
			continue
		}
		o.pkg = pkg
	}
}

// loadOldPackage reads and verifies the saved torrent of an old version.
func (s *Service) loadOldPackage(id string, o *oldVersion) (*pkgsign.Package, error) {
	if o.pkg != nil {
		return o.pkg, nil
	}
	b, err := os.ReadFile(s.oldTorrentPath(id, o.InfoHash))
	if err != nil {
		return nil, fmt.Errorf("reading saved torrent: %w", err)
	}
	pkg, err := pkgsign.Verify(b, s.keys)
	if err != nil {
		return nil, err
	}
	if pkg.ID != id || pkg.InfoHash.HexString() != o.InfoHash {
		return nil, errors.New("saved torrent does not match the version")
	}
	return pkg, nil
}

// removeOldLocked drops an old version, its torrent and (unless it is a
// source folder outside the cache) its files. Called with s.mu.
func (s *Service) removeOldLocked(j *job, o *oldVersion, why string) {
	if o.t != nil {
		s.peers.forget(o.t.InfoHash())
		s.pc.forget(o.t.InfoHash())
		o.t.Drop()
		o.t = nil
	}
	j.rec.Old = removeOld(j.rec.Old, o)
	s.removeFolder(j.rec, o.Dir, o.Source)
	_ = os.Remove(s.oldTorrentPath(j.rec.ID, o.InfoHash))
	s.log.Info("previous version removed", "job", j.rec.ID, "version", o.Version, "why", why)
}

// removeFolder deletes a version's folder unless another version of the
// job uses it or it is a source folder, which is never ours to delete.
func (s *Service) removeFolder(r *record, dir, source string) {
	if source != "" {
		return
	}
	if r.Source == "" && r.Dir == dir && r.InfoHash != "" {
		return
	}
	if err := os.RemoveAll(s.versionDir(r.ID, dir, "")); err != nil {
		s.log.Warn("removing package content", "job", r.ID, "err", err)
	}
}

// neededBySwarm reports whether a connected peer lacks pieces of t: a PC
// of the site still downloading this version.
func neededBySwarm(t *torrent.Torrent) bool {
	if t == nil || t.Info() == nil {
		return false
	}
	n := uint64(t.NumPieces())
	for _, pc := range t.PeerConns() {
		if pc.PeerPieces().GetCardinality() < n {
			return true
		}
	}
	return false
}

func (s *Service) oldSeedUntil(o *oldVersion) time.Time {
	// The same rule as a package's: seed_days after the later of when it
	// was replaced and when it last ran.
	return s.seedUntil(&record{Completed: o.Retired, LastUsed: o.LastUsed})
}

// retentionOld applies the seeding policy to old versions: an incomplete
// one leaves once the job's version is complete (its pieces were lent); a
// complete one seeds for seed_days after it was replaced or last used, and
// beyond that while peers still download it. Called with s.mu.
func (s *Service) retentionOld(now time.Time) {
	for _, j := range s.jobs {
		for _, o := range append([]*oldVersion(nil), j.rec.Old...) {
			switch {
			case !o.Complete && !j.rec.Completed.IsZero() && !j.preparing:
				s.removeOldLocked(j, o, "the new version is complete")
			case o.Complete && !now.Before(s.oldSeedUntil(o)) && !neededBySwarm(o.t):
				s.removeOldLocked(j, o, "seeding period over and no peer needs it")
			default:
				continue
			}
			s.dirty = true
		}
	}
}

// evictOld removes old versions, least recently used first, while the
// cache is above limit, except those of a job whose new version is not
// complete yet (they lend it their pieces); it returns the new total.
// Called with s.mu.
func (s *Service) evictOld(total, limit int64) int64 {
	for total > limit {
		var oj *job
		var oldest *oldVersion
		for _, j := range s.jobs {
			if j.preparing || j.rec.Completed.IsZero() {
				continue // its old versions still lend pieces to the new one
			}
			for _, o := range j.rec.Old {
				if oldest == nil || s.oldSeedUntil(o).Before(s.oldSeedUntil(oldest)) {
					oj, oldest = j, o
				}
			}
		}
		if oldest == nil {
			break
		}
		total -= oldest.Size
		s.removeOldLocked(oj, oldest, "cache is above cache_max")
		s.dirty = true
	}
	return total
}

// oldSize is the cache space of a job's old versions.
func oldSize(r *record) int64 {
	var n int64
	for _, o := range r.Old {
		if o.Source == "" {
			n += o.Size
		}
	}
	return n
}

// scheduleOld lets old versions seed unless their job is suspended.
// Called with s.mu.
func scheduleOld(j *job) {
	for _, o := range j.rec.Old {
		if o.t == nil {
			continue
		}
		o.t.DisallowDataDownload()
		if j.rec.Suspended {
			o.t.DisallowDataUpload()
		} else {
			o.t.AllowDataUpload()
		}
	}
}

// heldVersions renders a job's old versions for the API. Called with s.mu.
func (s *Service) heldVersions(r *record) []api.HeldVersion {
	var out []api.HeldVersion
	for _, o := range r.Old {
		h := api.HeldVersion{Version: o.Version, InfoHash: o.InfoHash, Size: o.Size, Complete: o.Complete}
		if o.Complete {
			h.Path = s.versionDir(r.ID, o.Dir, o.Source)
			h.SeedUntil = s.oldSeedUntil(o)
		}
		out = append(out, h)
	}
	return out
}
