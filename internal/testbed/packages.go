package testbed

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
)

// Package is a signed package ready to publish and seed.
type Package struct {
	ID      string
	Version string
	Dir     string // the content folder
	// DataDir holds a folder named ID with the content (a seeder's data
	// folder); set by RandomPackage only.
	DataDir string
	Torrent []byte
	Info    *pkgsign.Package
	Meta    *metainfo.MetaInfo
	Hash    metainfo.Hash
}

// MakePackage creates a signed torrent for the folder src.
func MakePackage(tb testing.TB, key Key, id, version, src, announce string, pieceLength int64) *Package {
	tb.Helper()
	mi, err := pkgsign.Create(src, id, pieceLength, announce, nil)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := pkgsign.Sign(mi, id, version, key.Priv)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := pkgsign.Verify(b, []pkgsign.PublicKey{key.Priv.Public()})
	if err != nil {
		tb.Fatal(err)
	}
	m, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	return &Package{ID: id, Version: version, Dir: src, Torrent: b, Info: info, Meta: m, Hash: m.HashInfoBytes()}
}

// RandomPackage writes a package folder with two files of random content
// (size bytes in total: setup.msi and sub/data.cab) into a new data folder,
// and signs a torrent of it with 16 KiB pieces announcing to announce.
func RandomPackage(tb testing.TB, key Key, id, version string, size int, announce string) *Package {
	tb.Helper()
	dir := tb.TempDir()
	src := filepath.Join(dir, id)
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		tb.Fatal(err)
	}
	data := make([]byte, size)
	_, _ = rand.Read(data)
	half := size / 2
	if err := os.WriteFile(filepath.Join(src, "setup.msi"), data[:half], 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "data.cab"), data[half:], 0o644); err != nil {
		tb.Fatal(err)
	}
	p := MakePackage(tb, key, id, version, src, announce, 16<<10)
	p.DataDir = dir
	return p
}

// SameTree reports an error if the package folder in a cache differs from src.
func SameTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		a, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		if !bytes.Equal(a, b) {
			return fmt.Errorf("%s differs", rel)
		}
		return nil
	})
}

// HexHash is an info-hash in hex.
func HexHash(h metainfo.Hash) string { return hex.EncodeToString(h[:]) }
