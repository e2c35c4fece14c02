package pkgsign

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

func writeTestTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSignMetaCoversNameAndPrevious(t *testing.T) {
	key, _ := GenerateKey()
	dir := t.TempDir()
	writeTestTree(t, dir, map[string][]byte{"a.bin": bytes.Repeat([]byte{1}, 40000)})
	mi, err := CreateWith(dir, "PS1", CreateOptions{Align: true, Version: "2"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := SignMeta(mi, Meta{ID: "PS1", Version: "2", Name: "Office 2024", Previous: "1"}, key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Verify(b, []PublicKey{key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Office 2024" || p.Previous != "1" || p.Version != "2" {
		t.Fatalf("got %+v", p)
	}
	// Relabelling the name or the previous version breaks the signature.
	for _, edit := range []func(*signature){
		func(s *signature) { s.Name = "Office 2025" },
		func(s *signature) { s.Name = "" },
		func(s *signature) { s.Previous = "0" },
	} {
		var w wire
		if err := bencode.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		edit(w.Smstorrent)
		forged, err := bencode.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(forged, []PublicKey{key.Public()}); err == nil {
			t.Fatalf("a relabelled torrent verified: %+v", w.Smstorrent)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"", "Office 2024", "Пакет обновлений", "7-Zip (x64)"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{" lead", "trail ", "a\nb", "a\x00b", "bidi\u202eevil", strings.Repeat("x", 101), "\xff"} {
		if err := ValidName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestAlignedCreate: files start on piece boundaries, so a file keeps its
// piece hashes when another file before it changes size.
func TestAlignedCreate(t *testing.T) {
	const pl = 16 << 10
	hashesOf := func(first int) (map[[20]byte]bool, *Package) {
		dir := t.TempDir()
		writeTestTree(t, dir, map[string][]byte{
			"a/first.bin": bytes.Repeat([]byte{7}, first),
			"b/second.bin": func() []byte {
				b := make([]byte, 3*pl+100)
				x := uint32(1)
				for i := range b {
					x = x*1664525 + 1013904223
					b[i] = byte(x >> 24)
				}
				return b
			}(),
		})
		key, _ := GenerateKey()
		mi, err := CreateWith(dir, "PS1", CreateOptions{PieceLength: pl, Align: true, Version: "v"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Sign(mi, "PS1", "v", key)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Verify(b, []PublicKey{key.Public()})
		if err != nil {
			t.Fatal(err)
		}
		hs := map[[20]byte]bool{}
		for i := range p.Info.NumPieces() {
			hs[p.Info.Piece(i).V1Hash().Value] = true
		}
		return hs, p
	}
	h1, p1 := hashesOf(1000)
	h2, p2 := hashesOf(5000)
	if n := len(p1.Info.Files); n != 3 || !IsPadding(p1.Info.Files[1]) || p1.Info.Files[1].Length != pl-1000 {
		t.Fatalf("files %+v", p1.Info.Files)
	}
	if p1.ContentSize() != 1000+3*pl+100 || len(p1.ContentFiles()) != 2 {
		t.Errorf("content %d bytes, %d files", p1.ContentSize(), len(p1.ContentFiles()))
	}
	shared := 0
	for h := range h2 {
		if h1[h] {
			shared++
		}
	}
	if shared != 4 { // every piece of second.bin
		t.Errorf("%d pieces shared, want the 4 of the unchanged file", shared)
	}
	if p1.InfoHash == p2.InfoHash {
		t.Error("different content, same info-hash")
	}
}
