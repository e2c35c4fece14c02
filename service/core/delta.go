package core

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/service/api"
)

// Delta: a new version of a package starts from what the cached versions
// already hold. Every piece of the new version whose SHA-1 equals a piece
// of a cached version is read from that version's folder, checked against
// the hash, and copied (never linked) into the new version's folder before
// the engine sees the torrent. The engine then hashes the new folder like
// any partly present download, so a copied piece counts only once it
// verified there; the rest comes from peers. Torrents made with aligned
// files (smstorrent-tracker create, the default) give an unchanged file the
// same piece hashes in every version, and a file changed in place keeps the
// hashes of its unchanged pieces.

// deltaSource is a cached version that can lend pieces.
type deltaSource struct {
	dir  string
	info *metainfo.Info
}

// layout maps a torrent's byte stream onto files in a folder.
type layout struct {
	dir   string
	files []metainfo.FileInfo
	offs  []int64
}

func newLayout(dir string, info *metainfo.Info) (*layout, error) {
	l := &layout{dir: dir, files: info.UpvertedFiles()}
	var off int64
	for _, f := range l.files {
		if _, err := pkgsign.SafeRelPath(f.BestPath()); err != nil && !pkgsign.IsPadding(f) {
			return nil, err
		}
		l.offs = append(l.offs, off)
		off += f.Length
	}
	return l, nil
}

func (l *layout) path(i int) string {
	return filepath.Join(append([]string{l.dir}, l.files[i].BestPath()...)...)
}

// span calls fn for each file part of [off, off+n).
func (l *layout) span(off, n int64, fn func(i int, fileOff, bufOff, k int64) error) error {
	for i, f := range l.files {
		start, end := l.offs[i], l.offs[i]+f.Length
		if end <= off || start >= off+n || f.Length == 0 {
			continue
		}
		a, b := max(off, start), min(off+n, end)
		if err := fn(i, a-start, a-off, b-a); err != nil {
			return err
		}
	}
	return nil
}

// read fills buf from the torrent's bytes at off; padding reads as zeros.
func (l *layout) read(off int64, buf []byte) error {
	return l.span(off, int64(len(buf)), func(i int, fo, bo, k int64) error {
		part := buf[bo : bo+k]
		if pkgsign.IsPadding(l.files[i]) {
			clear(part)
			return nil
		}
		f, err := os.Open(l.path(i))
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.ReadAt(part, fo)
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	})
}

// write stores buf as the torrent's bytes at off, creating files as needed.
func (l *layout) write(off int64, buf []byte) error {
	return l.span(off, int64(len(buf)), func(i int, fo, bo, k int64) error {
		p := l.path(i)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.WriteAt(buf[bo:bo+k], fo); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

// prefill copies into dir every piece of info that a source holds. It
// returns the bytes copied. A source piece that does not match its hash on
// disk is skipped.
func prefill(dir string, info *metainfo.Info, sources []deltaSource) (int64, error) {
	dst, err := newLayout(dir, info)
	if err != nil {
		return 0, err
	}
	type loc struct {
		src   *layout
		off   int64
		count int64
	}
	index := map[[20]byte]loc{}
	for _, s := range sources {
		l, err := newLayout(s.dir, s.info)
		if err != nil {
			continue
		}
		for i := range s.info.NumPieces() {
			p := s.info.Piece(i)
			h := p.V1Hash()
			if !h.Ok {
				continue
			}
			if _, ok := index[h.Value]; !ok {
				index[h.Value] = loc{l, p.Offset(), p.Length()}
			}
		}
	}
	var copied int64
	buf := make([]byte, info.PieceLength)
	for i := range info.NumPieces() {
		p := info.Piece(i)
		h := p.V1Hash()
		if !h.Ok {
			continue
		}
		src, ok := index[h.Value]
		if !ok || src.count != p.Length() {
			continue
		}
		b := buf[:p.Length()]
		if err := src.src.read(src.off, b); err != nil {
			continue // not on disk (any more): the network sends it
		}
		if sum := sha1.Sum(b); !bytes.Equal(sum[:], h.Value[:]) {
			continue
		}
		if err := dst.write(p.Offset(), b); err != nil {
			return copied, fmt.Errorf("copying a cached piece into %s: %w", dir, err)
		}
		copied += p.Length()
	}
	return copied, nil
}

// deltaSourcesLocked lists the job's cached versions that can lend pieces
// to its new version. Called with s.mu.
func (s *Service) deltaSourcesLocked(j *job) []deltaSource {
	var out []deltaSource
	for _, o := range j.rec.Old {
		pkg, err := s.loadOldPackage(j.rec.ID, o)
		if err != nil {
			continue
		}
		o.pkg = pkg
		out = append(out, deltaSource{dir: s.versionDir(j.rec.ID, o.Dir, o.Source), info: &pkg.Info})
	}
	return out
}

// prefillThenAdd copies what the cached versions hold into the new
// version's folder, then hands the version to the engine, which verifies
// the copied pieces before they count. It runs without s.mu: copying a
// large package takes a while.
func (s *Service) prefillThenAdd(pkg *pkgsign.Package, dir string, sources []deltaSource) {
	defer s.flush()
	n, err := prefill(dir, &pkg.Info, sources)
	if err != nil {
		s.log.Warn("reusing cached versions", "job", pkg.ID, "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[pkg.ID]
	if !ok || s.closed || j.rec.InfoHash != pkg.InfoHash.HexString() {
		return
	}
	j.preparing = false
	j.reused = n
	s.log.Info("new version starts from the cached versions", "job", pkg.ID, "version", pkg.Version,
		"reused_bytes", n, "size", pkg.Size())
	if err := s.addTorrent(j, pkg); err != nil {
		s.log.Error("adding the new version", "job", pkg.ID, "err", err)
		j.rec.Fatal, j.rec.FatalCode = fmt.Sprintf("the engine refused version %s (%v): resume the job to retry", pkg.Version, err), api.ErrorDisk
	}
	s.saveNow()
	s.schedule()
	s.poke()
}

// makePadding creates a torrent's BEP 47 padding files in dir as sparse
// files of zeros, so the pieces that end in padding verify from the
// content alone and padding never crosses the network. It never touches a
// file that has the right size.
func makePadding(dir string, info *metainfo.Info) error {
	for _, f := range info.UpvertedFiles() {
		if !pkgsign.IsPadding(f) {
			continue
		}
		p := filepath.Join(append([]string{dir}, f.BestPath()...)...)
		if st, err := os.Stat(p); err == nil && st.Size() == f.Length {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if err := fh.Truncate(f.Length); err != nil {
			fh.Close()
			return err
		}
		if err := fh.Close(); err != nil {
			return err
		}
	}
	return nil
}
