package core

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
)

func deltaInfo(t *testing.T, dir string) *metainfo.Info {
	t.Helper()
	mi, err := pkgsign.CreateWith(dir, "PS1", pkgsign.CreateOptions{PieceLength: 16 << 10, Align: true, Version: filepath.Base(dir)})
	if err != nil {
		t.Fatal(err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	return &info
}

func writeDeltaFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPrefill: the pieces a cached version shares with the new one are
// copied (checked against their hashes first); nothing else is written,
// and the cached version's files stay as they were.
func TestPrefill(t *testing.T) {
	const pl = 16 << 10
	image := make([]byte, 8*pl)
	same := make([]byte, 3*pl+500)
	changed := make([]byte, 2*pl)
	for _, b := range [][]byte{image, same, changed} {
		_, _ = rand.Read(b)
	}
	v1 := filepath.Join(t.TempDir(), "1")
	writeDeltaFile(t, filepath.Join(v1, "a", "changed.cab"), changed)
	writeDeltaFile(t, filepath.Join(v1, "disk.img"), image)
	writeDeltaFile(t, filepath.Join(v1, "z", "same.cab"), same)
	info1 := deltaInfo(t, v1)
	if err := makePadding(v1, info1); err != nil {
		t.Fatal(err)
	}

	v2src := filepath.Join(t.TempDir(), "2")
	changed2 := make([]byte, 2*pl+7) // a new file of another size
	_, _ = rand.Read(changed2)
	image2 := bytes.Clone(image)
	copy(image2[3*pl+100:], bytes.Repeat([]byte{0xee}, 200)) // one piece changed in place
	writeDeltaFile(t, filepath.Join(v2src, "a", "changed.cab"), changed2)
	writeDeltaFile(t, filepath.Join(v2src, "disk.img"), image2)
	writeDeltaFile(t, filepath.Join(v2src, "z", "same.cab"), same)
	info2 := deltaInfo(t, v2src)

	// A cached piece damaged on disk is not lent.
	f, err := os.OpenFile(filepath.Join(v1, "disk.img"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("rot"), 6*pl+9); err != nil {
		t.Fatal(err)
	}
	f.Close()

	dst := filepath.Join(t.TempDir(), "new")
	n, err := prefill(dst, info2, []deltaSource{{dir: v1, info: info1}})
	if err != nil {
		t.Fatal(err)
	}
	// disk.img: 8 pieces, one changed in place, one damaged in the cache;
	// same.cab: 3 pieces and its 500-byte tail (the last file: no padding).
	if want := int64(6*pl + 3*pl + 500); n != want {
		t.Errorf("copied %d bytes, want %d", n, want)
	}
	got, err := os.ReadFile(filepath.Join(dst, "z", "same.cab"))
	if err != nil || !bytes.Equal(got, same) {
		t.Errorf("same.cab not taken from the cache: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(v1, "z", "same.cab")); err != nil || !bytes.Equal(b, same) {
		t.Errorf("the cached version changed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "a", "changed.cab")); err == nil {
		t.Error("a file the cache does not have was written")
	}
}
