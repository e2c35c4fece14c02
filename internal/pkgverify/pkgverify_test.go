package pkgverify

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
)

// pkg writes files (name → size) into a new folder and returns the folder
// and the torrent's info, built by the publisher's code.
func pkg(t testing.TB, files map[string]int, pieceLength int64) (string, *metainfo.Info) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "PS100012")
	rng := rand.New(rand.NewPCG(1, 2))
	for name, size := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mi, err := pkgsign.Create(dir, "PS100012", pieceLength, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	return dir, &info
}

const symlinkCase = "file replaced by a symbolic link"

func TestFolder(t *testing.T) {
	files := map[string]int{"setup.exe": 100_000, "data/cab1.cab": 40_000, "data/deep/x.dll": 17, "empty.txt": 0}
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		ok     bool
	}{
		{"untouched", func(*testing.T, string) {}, true},
		{"empty file not created by the engine", func(t *testing.T, dir string) { rm(t, dir, "empty.txt") }, true},
		{"planted DLL", func(t *testing.T, dir string) { write(t, dir, "version.dll", "MZ") }, false},
		{"planted msiexec.exe in a sub-folder", func(t *testing.T, dir string) { write(t, dir, "data/msiexec.exe", "MZ") }, false},
		{"extra folder", func(t *testing.T, dir string) { mkdir(t, dir, "plugins") }, false},
		{"one byte changed", func(t *testing.T, dir string) { flip(t, dir, "data/cab1.cab", 39_999) }, false},
		{"changed in the last short piece", func(t *testing.T, dir string) { flip(t, dir, "data/deep/x.dll", 3) }, false},
		{"file grown", func(t *testing.T, dir string) { appendTo(t, dir, "setup.exe") }, false},
		{"file missing", func(t *testing.T, dir string) { rm(t, dir, "data/cab1.cab") }, false},
		{symlinkCase, func(t *testing.T, dir string) {
			rm(t, dir, "data/deep/x.dll")
			if err := os.Symlink(filepath.Join(dir, "setup.exe"), filepath.Join(dir, "data", "deep", "x.dll")); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == symlinkCase && runtime.GOOS == "windows" {
				// Before any TempDir: wine cannot remove one (check.sh).
				t.Skip("symbolic links need a privilege on Windows")
			}
			dir, info := pkg(t, files, 16<<10)
			tt.change(t, dir)
			res, err := Folder(context.Background(), dir, info)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if res.Files != 4 || res.Bytes != 140_017 || res.Pieces != info.NumPieces() {
					t.Errorf("result %+v", res)
				}
				return
			}
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("want a mismatch, got %v", err)
			}
		})
	}
}

func TestFolderIsAFolder(t *testing.T) {
	dir, info := pkg(t, map[string]int{"a": 10}, 16<<10)
	if _, err := Folder(context.Background(), filepath.Join(dir, "a"), info); !errors.Is(err, ErrMismatch) {
		t.Errorf("a file as the package folder: %v", err)
	}
	if _, err := Folder(context.Background(), filepath.Join(dir, "nope"), info); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing folder: %v", err)
	}
}

// TestVerifyCost measures the check on a large package when
// SMSTORRENT_VERIFY_GB is set (for example 3.5): it writes that many GB in
// 16 files, then times the check twice (the second from the page cache).
func TestVerifyCost(t *testing.T) {
	gb, _ := strconv.ParseFloat(os.Getenv("SMSTORRENT_VERIFY_GB"), 64)
	if gb <= 0 {
		t.Skip("set SMSTORRENT_VERIFY_GB to measure")
	}
	const n = 16
	size := int(gb * (1 << 30) / n)
	files := map[string]int{}
	for i := range n {
		files["cab"+strconv.Itoa(i)+".cab"] = size
	}
	dir, info := pkg(t, files, 4<<20)
	for i := range 2 {
		res, err := Folder(context.Background(), dir, info)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: %d files, %d bytes, %d pieces in %s (%.0f MB/s)", i+1, res.Files, res.Bytes, res.Pieces, res.Took,
			float64(res.Bytes)/1e6/res.Took.Seconds())
	}
}

func write(t *testing.T, dir, name, s string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
}

func rm(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
		t.Fatal(err)
	}
}

func flip(t *testing.T, dir, name string, at int) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, dir, name string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("x"); err != nil {
		t.Fatal(err)
	}
}

// Aligned torrents carry BEP 47 padding files (.pad/N, zeros): the folder
// may hold them or not; their zeros are part of the piece hashes either way.
func TestFolderWithPadding(t *testing.T) {
	dir, _ := pkg(t, map[string]int{"a.msi": 20_000, "b.cab": 5_000, "c.txt": 100}, 16<<10)
	mi, err := pkgsign.CreateWith(dir, "PS100012", pkgsign.CreateOptions{PieceLength: 16 << 10, Align: true})
	if err != nil {
		t.Fatal(err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	pads := 0
	for _, f := range info.UpvertedFiles() {
		if pkgsign.IsPadding(f) {
			pads++
		}
	}
	if pads == 0 {
		t.Fatal("the aligned torrent has no padding files")
	}
	if _, err := Folder(context.Background(), dir, &info); err != nil {
		t.Fatalf("without padding files: %v", err)
	}
	for _, f := range info.UpvertedFiles() {
		if pkgsign.IsPadding(f) {
			p := filepath.Join(append([]string{dir}, f.BestPath()...)...)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, make([]byte, f.Length), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := Folder(context.Background(), dir, &info); err != nil {
		t.Fatalf("with padding files: %v", err)
	}
	write(t, dir, ".pad/0", "not zeros")
	if _, err := Folder(context.Background(), dir, &info); !errors.Is(err, ErrMismatch) {
		t.Errorf("a padding file with content: %v", err)
	}
}
