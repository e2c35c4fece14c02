package icons

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"testing"

	"github.com/smstorrent/smstorrent/icons/internal/paint"
)

func TestEveryIconDecodes(t *testing.T) {
	for _, n := range All {
		t.Run(string(n), func(t *testing.T) {
			img, err := png.Decode(bytes.NewReader(PNG(n)))
			if err != nil {
				t.Fatalf("PNG: %v", err)
			}
			want := 64
			if n == App {
				want = 256
			}
			if b := img.Bounds(); b.Dx() != want || b.Dy() != want {
				t.Errorf("PNG is %v, want %d px square", b, want)
			}
			ico := ICO(n)
			if len(ico) < 6 {
				t.Fatalf("ICO is %d bytes", len(ico))
			}
			var hdr [3]uint16
			if err := binary.Read(bytes.NewReader(ico), binary.LittleEndian, &hdr); err != nil || hdr[0] != 0 || hdr[1] != 1 || hdr[2] == 0 {
				t.Errorf("ICO header %v, %v", hdr, err)
			}
			if len(Tray(n)) == 0 {
				t.Error("no tray icon")
			}
		})
	}
	if PNG("nonexistent") != nil {
		t.Error("PNG of an unknown name is not nil")
	}
}

// TestGeneratedFilesAreCurrent fails when a design in icons/internal/paint
// changed without `go generate ./icons`.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	for _, f := range paint.Files() {
		got, err := files.ReadFile(f.Path)
		if err != nil {
			t.Errorf("%s is not embedded: %v (run go generate ./icons)", f.Path, err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s differs from its design (run go generate ./icons)", f.Path)
		}
	}
}
