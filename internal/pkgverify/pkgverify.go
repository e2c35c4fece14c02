// Package pkgverify checks that a package folder in the cache holds exactly
// what the publisher signed: the torrent's files and nothing else, each of
// the signed length, every piece re-hashed against the torrent's piece
// hashes. P2PWrapper has the service run this check (POST
// /api/v1/jobs/{id}/verify) right before it runs a command from the folder
// as SYSTEM, so a file planted or changed there (a DLL beside setup.exe, an
// msiexec.exe that shadows the system's) is refused, not run.
package pkgverify

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgid"
	"github.com/smstorrent/smstorrent/internal/pkgsign"
)

// ErrMismatch is wrapped by every error that says the folder differs from
// the torrent (as opposed to an error reading it).
var ErrMismatch = errors.New("the package folder does not match its signed torrent")

// Result describes a successful check.
type Result struct {
	Files  int
	Bytes  int64
	Pieces int
	Took   time.Duration
}

func mismatch(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMismatch, fmt.Sprintf(format, args...))
}

type file struct {
	rel     string // OS form, relative to the folder
	length  int64
	padding bool // a BEP 47 padding file: zeros, which the folder may lack
}

// files lists the torrent's files in piece order, as the engine lays them
// out under the package folder.
func files(info *metainfo.Info) ([]file, error) {
	if len(info.Files) == 0 {
		return nil, mismatch("the torrent has a single file, not a package folder")
	}
	out := make([]file, 0, len(info.Files))
	for _, f := range info.Files {
		rel, err := pkgid.SafeRelPath(f.BestPath())
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMismatch, err)
		}
		out = append(out, file{rel: filepath.FromSlash(rel), length: f.Length, padding: pkgsign.IsPadding(f)})
	}
	return out, nil
}

// Folder checks dir against info. A missing empty file or BEP 47 padding
// file is accepted (the engine need not create files without content; a
// padding file's zeros are hashed as the torrent says); anything else missing,
// added, of another size or another content is an error wrapping
// ErrMismatch that names the first difference.
func Folder(ctx context.Context, dir string, info *metainfo.Info) (Result, error) {
	start := time.Now()
	want, err := files(info)
	if err != nil {
		return Result{}, err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return Result{}, err
	}
	if !fi.IsDir() {
		return Result{}, mismatch("%s is not a folder (%s)", dir, fi.Mode().Type())
	}
	expect := make(map[string]int64, len(want))
	dirs := map[string]bool{}
	for _, f := range want {
		expect[f.rel] = f.length
		for d := filepath.Dir(f.rel); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	seen := make(map[string]bool, len(want))
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		switch t := d.Type(); {
		case t.IsDir():
			if !dirs[rel] {
				return mismatch("folder %s is not part of the package", rel)
			}
			return nil
		case !t.IsRegular():
			return mismatch("%s is not a regular file (%s)", rel, t)
		}
		n, ok := expect[rel]
		if !ok {
			return mismatch("file %s is not part of the package", rel)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() != n {
			return mismatch("file %s has %d bytes, the torrent says %d", rel, info.Size(), n)
		}
		seen[rel] = true
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	for _, f := range want {
		if !seen[f.rel] && f.length != 0 && !f.padding {
			return Result{}, mismatch("file %s is missing", f.rel)
		}
	}
	res := Result{Files: len(want), Bytes: info.TotalLength(), Pieces: info.NumPieces()}
	if err := hashPieces(ctx, dir, want, seen, info); err != nil {
		return Result{}, err
	}
	res.Took = time.Since(start)
	return res, nil
}

// hashPieces reads the files in torrent order and compares every piece.
func hashPieces(ctx context.Context, dir string, want []file, present map[string]bool, info *metainfo.Info) error {
	plen := info.PieceLength
	if plen <= 0 || plen > 1<<30 {
		return mismatch("piece length %d", plen)
	}
	buf := make([]byte, plen)
	fill, piece := int64(0), 0
	h := sha1.New()
	check := func() error {
		if piece >= info.NumPieces() {
			return mismatch("the files are longer than the torrent's pieces")
		}
		h.Reset()
		h.Write(buf[:fill])
		var sum [sha1.Size]byte
		h.Sum(sum[:0])
		if got, want := sum, info.Piece(piece).V1Hash(); !want.Ok || got != want.Value {
			return mismatch("piece %d does not have the signed content", piece)
		}
		piece++
		fill = 0
		return ctx.Err()
	}
	for _, f := range want {
		if f.length == 0 {
			continue
		}
		var fh io.ReadCloser
		switch {
		case present[f.rel]:
			h, err := os.Open(filepath.Join(dir, f.rel))
			if err != nil {
				return err
			}
			fh = h
		case f.padding:
			fh = io.NopCloser(zeros{})
		default:
			return mismatch("file %s is missing", f.rel)
		}
		left := f.length
		for left > 0 {
			n := min(left, plen-fill)
			if _, err := io.ReadFull(fh, buf[fill:fill+n]); err != nil {
				fh.Close()
				return fmt.Errorf("reading %s: %w", f.rel, err)
			}
			fill += n
			left -= n
			if fill == plen {
				if err := check(); err != nil {
					fh.Close()
					return err
				}
			}
		}
		if err := fh.Close(); err != nil {
			return err
		}
	}
	if fill > 0 {
		if err := check(); err != nil {
			return err
		}
	}
	if piece != info.NumPieces() {
		return mismatch("the files hold %d pieces, the torrent %d", piece, info.NumPieces())
	}
	return nil
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}
