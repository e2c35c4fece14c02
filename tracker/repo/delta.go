package repo

import (
	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/tracker/store"
)

// deltaOf says how a new version differs from the one it follows: the
// version its creator named (signed in the torrent), else the current one.
// A piece of the new version whose hash the previous version has is
// unchanged (a PC takes it from its cache); the rest must cross the WAN.
func (h *Handler) deltaOf(id string, pkg *pkgsign.Package) *repoapi.Delta {
	p, err := h.Catalogue.Package(id)
	if err != nil {
		return nil
	}
	prev := p.Current
	if pkg.Previous != "" && pkg.Previous != prev.Version {
		found := false
		for _, v := range p.Previous {
			if v.Version == pkg.Previous {
				prev, found = v, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	b, err := h.Catalogue.Torrent(prev.InfoHash)
	if err != nil {
		return nil
	}
	old, err := pkgsign.Inspect(b)
	if err != nil {
		return nil
	}
	return computeDelta(prev, old, pkg)
}

func computeDelta(prev store.Version, old, pkg *pkgsign.Package) *repoapi.Delta {
	have := map[[20]byte]bool{}
	for i := range old.Info.NumPieces() {
		if hv := old.Info.Piece(i).V1Hash(); hv.Ok {
			have[hv.Value] = true
		}
	}
	d := &repoapi.Delta{Previous: prev.Version}
	info := &pkg.Info
	changed := make([]bool, info.NumPieces())
	for i := range changed {
		p := info.Piece(i)
		if hv := p.V1Hash(); !hv.Ok || !have[hv.Value] {
			changed[i] = true
			d.ChangedBytes += p.Length()
		}
	}
	var off int64
	for _, f := range info.UpvertedFiles() {
		start, end := off, off+f.Length
		off = end
		if pkgsign.IsPadding(f) || f.Length == 0 {
			continue
		}
		for i := start / info.PieceLength; i*info.PieceLength < end; i++ {
			if changed[i] {
				d.ChangedFiles++
				break
			}
		}
	}
	return d
}
