package logfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRotatesAndKeeps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	w, err := Open(dir, "x.log", 100, 2) // rounded up to 1 MiB
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(strings.Repeat("a", 1023) + "\n")
	for range 3*1024 + 10 { // a bit over 3 MiB: three rotations
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadFile(filepath.Join(dir, "x.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cur) == 0 || len(cur) > 1<<20 || !bytes.HasSuffix(cur, line) {
		t.Errorf("current file holds %d bytes", len(cur))
	}
	// The library removes old files in the background: wait for it.
	for {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) <= 3 {
			for _, e := range ents {
				if !strings.HasPrefix(e.Name(), "x") || !strings.HasSuffix(e.Name(), ".log") {
					t.Errorf("unexpected file %s", e.Name())
				}
			}
			return
		}
		// No t.Log here: under wine every test fails its TempDir clean-up,
		// and the wine check counts any other line as a real failure.
		select {
		case <-t.Context().Done():
			return
		default:
		}
		// polling for the library's background clean-up, bounded by the test timeout
		waitABit()
	}
}

func TestUnwritableFolderIsReported(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(f, "logs"), "x.log", 1<<20, 1); err == nil {
		t.Fatal("opening a log below a file succeeded")
	}
}
