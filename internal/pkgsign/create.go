package pkgsign

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// CreateOptions configures CreateWith.
type CreateOptions struct {
	PieceLength int64 // a power of two ≥ 16 KiB; 0: 256 KiB
	Announce    string
	WebSeeds    []string
	// Align starts every file on a piece boundary, with BEP 47 padding
	// files (attr "p", zeros, named .pad/N) between them. An unchanged file
	// then has the same piece hashes in every version of the package, and a
	// file changed in place keeps the hashes of its unchanged pieces, so a
	// PC can take those pieces from a cached version instead of the network.
	Align bool
	// Version, when set, is written into the info dictionary (key
	// "smstorrent version"), so the same content published as another
	// version (a roll-back) gets another info-hash and its own swarm.
	Version string
}

// CreateWith builds a private torrent of the folder src for package id.
func CreateWith(src, id string, o CreateOptions) (*metainfo.MetaInfo, error) {
	if !o.Align && o.Version == "" {
		return Create(src, id, o.PieceLength, o.Announce, o.WebSeeds)
	}
	if err := ValidID(id); err != nil {
		return nil, err
	}
	pl := o.PieceLength
	if pl == 0 {
		pl = 256 << 10
	}
	if pl < 16<<10 || pl&(pl-1) != 0 {
		return nil, fmt.Errorf("piece length %d must be a power of two of at least 16 KiB", pl)
	}
	files, err := listFiles(src)
	if err != nil {
		return nil, err
	}
	yes := true
	info := metainfo.Info{Name: id, PieceLength: pl, Private: &yes}
	ph := newPieceHasher(pl)
	for i, f := range files {
		comps := strings.Split(f.rel, "/")
		if _, err := SafeRelPath(comps); err != nil {
			return nil, err
		}
		if err := ph.addFile(filepath.Join(src, filepath.FromSlash(f.rel)), f.size); err != nil {
			return nil, err
		}
		info.Files = append(info.Files, metainfo.FileInfo{Path: comps, Length: f.size})
		if pad := (pl - f.size%pl) % pl; o.Align && pad != 0 && i < len(files)-1 {
			ph.zeros(pad)
			info.Files = append(info.Files, metainfo.FileInfo{
				Path:              []string{".pad", strconv.Itoa(i)},
				Length:            pad,
				ExtendedFileAttrs: metainfo.ExtendedFileAttrs{Attr: "p"},
			})
		}
	}
	info.Pieces = ph.finish()
	ib, err := bencode.Marshal(info)
	if err != nil {
		return nil, err
	}
	if o.Version != "" {
		var m map[string]any
		if err := bencode.Unmarshal(ib, &m); err != nil {
			return nil, err
		}
		m["smstorrent version"] = o.Version
		if ib, err = bencode.Marshal(m); err != nil {
			return nil, err
		}
	}
	mi := &metainfo.MetaInfo{Announce: o.Announce, CreatedBy: "SMSTorrent", InfoBytes: ib}
	if o.Announce != "" {
		mi.AnnounceList = [][]string{{o.Announce}}
	}
	mi.UrlList = o.WebSeeds
	return mi, nil
}

type srcFile struct {
	rel  string // slash-separated
	size int64
}

// listFiles lists the regular files under src in lexical order.
func listFiles(src string) ([]srcFile, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("source folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("source %s is not a folder", src)
	}
	var out []srcFile
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("source %s holds %s, which is not a regular file: a package holds files and folders only", src, p)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out = append(out, srcFile{rel: filepath.ToSlash(rel), size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", src, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("source %s has no files", src)
	}
	return out, nil
}

// pieceHasher hashes a stream of bytes in pieces.
type pieceHasher struct {
	pl     int64
	h      hash.Hash
	inCur  int64
	pieces []byte
}

func newPieceHasher(pl int64) *pieceHasher { return &pieceHasher{pl: pl, h: sha1.New()} }

func (ph *pieceHasher) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		k := min(int64(len(b)), ph.pl-ph.inCur)
		ph.h.Write(b[:k])
		ph.inCur += k
		b = b[k:]
		if ph.inCur == ph.pl {
			ph.pieces = ph.h.Sum(ph.pieces)
			ph.h.Reset()
			ph.inCur = 0
		}
	}
	return n, nil
}

func (ph *pieceHasher) addFile(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("hashing: %w", err)
	}
	defer f.Close()
	n, err := io.Copy(ph, f)
	if err != nil {
		return fmt.Errorf("hashing %s: %w", path, err)
	}
	if n != size {
		return errors.New("hashing " + path + ": the file changed while it was read")
	}
	return nil
}

func (ph *pieceHasher) zeros(n int64) {
	z := make([]byte, min(n, 1<<16))
	for n > 0 {
		k := min(n, int64(len(z)))
		_, _ = ph.Write(z[:k])
		n -= k
	}
}

func (ph *pieceHasher) finish() []byte {
	if ph.inCur > 0 {
		ph.pieces = ph.h.Sum(ph.pieces)
		ph.h.Reset()
		ph.inCur = 0
	}
	return ph.pieces
}
