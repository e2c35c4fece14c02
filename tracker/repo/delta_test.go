package repo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/tracker/store"
)

func signedTree(t *testing.T, key pkgsign.PrivateKey, version string, files map[string][]byte) *pkgsign.Package {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mi, err := pkgsign.CreateWith(dir, "PS1", pkgsign.CreateOptions{PieceLength: 16 << 10, Align: true, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pkgsign.Sign(mi, "PS1", version, key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pkgsign.Verify(b, []pkgsign.PublicKey{key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestComputeDelta(t *testing.T) {
	key, _ := pkgsign.GenerateKey()
	noise := func(n int, seed byte) []byte {
		b := make([]byte, n)
		x := uint32(seed) + 1
		for i := range b {
			x = x*1664525 + 1013904223
			b[i] = byte(x >> 24)
		}
		return b
	}
	img := noise(4*16<<10, 1)
	old := signedTree(t, key, "1", map[string][]byte{"a.bin": noise(20000, 2), "img.vhd": img, "z.txt": noise(100, 3)})
	img2 := bytes.Clone(img)
	img2[16<<10+5] ^= 0xff // one piece changed in place
	cur := signedTree(t, key, "2", map[string][]byte{"a.bin": noise(20000, 2), "img.vhd": img2, "z.txt": noise(120, 4)})
	d := computeDelta(store.Version{Version: "1"}, old, cur)
	if d.Previous != "1" || d.ChangedFiles != 2 || d.ChangedBytes != 16<<10+120 {
		t.Errorf("delta %+v, want 2 files (img.vhd, z.txt), %d bytes", d, 16<<10+120)
	}
}
