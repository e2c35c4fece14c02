package pkgsign

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

func newKey(t *testing.T) PrivateKey {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// makePackage creates and signs a two-file package.
func makePackage(t *testing.T, key PrivateKey, id, version string) ([]byte, *metainfo.MetaInfo) {
	t.Helper()
	src := filepath.Join(t.TempDir(), id)
	if err := os.MkdirAll(filepath.Join(src, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "setup.msi"), bytes.Repeat([]byte("msi"), 20000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "bin", "tool.exe"), []byte("MZ tool"), 0o644); err != nil {
		t.Fatal(err)
	}
	mi, err := Create(src, id, 0, "http://tracker.example/announce", []string{"http://dp01.example/PS1/"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Sign(mi, id, version, key)
	if err != nil {
		t.Fatal(err)
	}
	return b, mi
}

func TestRoundTrip(t *testing.T) {
	key := newKey(t)
	b, mi := makePackage(t, key, "PS100012", "1.0")
	p, err := Verify(b, []PublicKey{newKey(t).Public(), key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "PS100012" || p.Version != "1.0" || !p.Signer.Equal(key.Public()) || p.InfoHash != mi.HashInfoBytes() ||
		p.Size() != 60007 || len(p.Info.Files) != 2 || p.Meta.Announce != "http://tracker.example/announce" || len(p.Meta.UrlList) != 1 {
		t.Errorf("verified package %+v", p)
	}
	// The signature lives outside info: a plain BitTorrent reader sees the same info-hash.
	plain, err := metainfo.Load(bytes.NewReader(b))
	if err != nil || plain.HashInfoBytes() != mi.HashInfoBytes() {
		t.Errorf("plain load: %v", err)
	}
	var top map[string]bencode.Bytes
	if err := bencode.Unmarshal(b, &top); err != nil || top["smstorrent"] == nil {
		t.Errorf("no top-level smstorrent key: %v", err)
	}
	// Inspect reads without trust.
	if q, err := Inspect(b); err != nil || q.ID != "PS100012" {
		t.Errorf("inspect: %v", err)
	}
}

func TestTamperedAndForeign(t *testing.T) {
	key := newKey(t)
	b, mi := makePackage(t, key, "PS100012", "1.0")
	trusted := []PublicKey{key.Public()}

	t.Run("one byte of info changed", func(t *testing.T) {
		i := bytes.Index(b, mi.InfoBytes)
		// Change a byte of a piece hash, and a byte of a file name.
		pieces := bytes.Index(mi.InfoBytes, []byte("6:pieces")) + 12
		for _, off := range []int{pieces, bytes.Index(mi.InfoBytes, []byte("setup.msi"))} {
			c := bytes.Clone(b)
			c[i+off] ^= 0x01
			_, err := Verify(c, trusted)
			if !errors.Is(err, ErrBadSignature) {
				t.Errorf("offset %d: %v, want ErrBadSignature", off, err)
			}
		}
	})
	t.Run("re-signed with another key", func(t *testing.T) {
		other := newKey(t)
		c, err := Sign(mi, "PS100012", "1.0", other)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(c, trusted); !errors.Is(err, ErrUnknownSigner) {
			t.Errorf("%v, want ErrUnknownSigner", err)
		}
		// A signature made by another key but claiming our key as signer.
		var w wire
		if err := bencode.Unmarshal(c, &w); err != nil {
			t.Fatal(err)
		}
		w.Smstorrent.Signer = key.Public()
		forged, _ := bencode.Marshal(w)
		if _, err := Verify(forged, trusted); !errors.Is(err, ErrBadSignature) {
			t.Errorf("forged signer: %v, want ErrBadSignature", err)
		}
	})
	t.Run("version or id changed", func(t *testing.T) {
		var w wire
		if err := bencode.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		w.Smstorrent.Version = "9.9"
		c, _ := bencode.Marshal(w)
		if _, err := Verify(c, trusted); !errors.Is(err, ErrBadSignature) {
			t.Errorf("version changed: %v", err)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		c, err := bencode.Marshal(map[string]any{"announce": "http://x/announce", "info": bencode.Bytes(mi.InfoBytes)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(c, trusted); !errors.Is(err, ErrUnsigned) {
			t.Errorf("%v, want ErrUnsigned", err)
		}
	})
	t.Run("unknown signer with no trusted keys", func(t *testing.T) {
		if _, err := Verify(b, nil); !errors.Is(err, ErrUnknownSigner) {
			t.Errorf("%v, want ErrUnknownSigner", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, c := range [][]byte{nil, []byte("garbage"), []byte("de"), b[:len(b)/2], bytes.Repeat([]byte("l"), 50000)} {
			if _, err := Verify(c, trusted); !errors.Is(err, ErrMalformed) {
				t.Errorf("%.20q: %v, want ErrMalformed", c, err)
			}
		}
	})
}

// signedInfo signs an arbitrary info dictionary, to test what Verify
// refuses even when the signature is good.
func signedInfo(t *testing.T, key PrivateKey, info metainfo.Info, id string) []byte {
	t.Helper()
	ib, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	mi := &metainfo.MetaInfo{InfoBytes: ib}
	// Sign refuses bad IDs, so build the signature by hand for those.
	ih := mi.HashInfoBytes()
	w := wire{Info: ib, Smstorrent: &signature{V: 1, ID: id, Version: "1", Signer: key.Public(),
		Sig: signBytes(key, Message(ih, id, "1"))}}
	b, err := bencode.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHostileNames(t *testing.T) {
	key := newKey(t)
	yes, no := true, false
	file := func(path ...string) metainfo.FileInfo {
		return metainfo.FileInfo{Length: 1, Path: path}
	}
	info := func(name string, private *bool, files ...metainfo.FileInfo) metainfo.Info {
		return metainfo.Info{Name: name, PieceLength: 16384, Pieces: make([]byte, 20), Private: private, Files: files}
	}
	for _, c := range []struct {
		name string
		info metainfo.Info
		id   string
	}{
		{"dot-dot", info("PS1", &yes, file("..", "x")), "PS1"},
		{"dot-dot in name", info("PS1", &yes, file("../x")), "PS1"},
		{"backslash", info("PS1", &yes, file(`a\b`)), "PS1"},
		{"CON", info("PS1", &yes, file("CON")), "PS1"},
		{"con.txt", info("PS1", &yes, file("sub", "con.txt")), "PS1"},
		{"LPT1", info("PS1", &yes, file("LPT1")), "PS1"},
		{"colon", info("PS1", &yes, file("C:", "x")), "PS1"},
		{"absolute", info("PS1", &yes, file("", "etc", "passwd")), "PS1"},
		{"trailing dot", info("PS1", &yes, file("x.")), "PS1"},
		{"control char", info("PS1", &yes, file("a\nb")), "PS1"},
		{"case duplicates", info("PS1", &yes, file("A.txt"), file("a.TXT")), "PS1"},
		{"id ../x", info("../x", &yes, file("a")), "../x"},
		{"id CON", info("CON", &yes, file("a")), "CON"},
		{"name is not id", info("PS2", &yes, file("a")), "PS1"},
		{"not private", info("PS1", &no, file("a")), "PS1"},
		{"private missing", info("PS1", nil, file("a")), "PS1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := signedInfo(t, key, c.info, c.id)
			if _, err := Verify(b, []PublicKey{key.Public()}); !errors.Is(err, ErrUnsafe) {
				t.Errorf("%v, want ErrUnsafe", err)
			}
		})
	}
	// A sane one passes the same path.
	b := signedInfo(t, key, info("PS1", &yes, file("sub", "ok.txt"), file("readme")), "PS1")
	if _, err := Verify(b, []PublicKey{key.Public()}); err != nil {
		t.Errorf("sane package: %v", err)
	}
}

func TestSafeRelPath(t *testing.T) {
	for _, bad := range [][]string{{}, {".."}, {"a", ".."}, {"."}, {""}, {`a\b`}, {"a/b"}, {"CON"}, {"nul.txt"}, {"com1"}, {"x "}, {"a:b"}, {strings.Repeat("x", 256)}} {
		if _, err := SafeRelPath(bad); !errors.Is(err, ErrUnsafe) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if p, err := SafeRelPath([]string{"sub", "CONSOLE.txt"}); err != nil || p != "sub/CONSOLE.txt" {
		t.Errorf("got %q %v", p, err)
	}
}

func TestKeys(t *testing.T) {
	key := newKey(t)
	dir := t.TempDir()
	kf := filepath.Join(dir, "k.key")
	if err := os.WriteFile(kf, MarshalPrivateKey(key), 0o600); err != nil {
		t.Fatal(err)
	}
	k2, err := LoadPrivateKey(kf)
	if err != nil || !k2.Public().Equal(key.Public()) {
		t.Fatalf("private key round trip: %v", err)
	}
	pf := filepath.Join(dir, "k.pub")
	if err := os.WriteFile(pf, []byte(key.Public().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{pf, key.Public().String()} {
		if p, err := LoadPublicKey(s); err != nil || !p.Equal(key.Public()) {
			t.Errorf("LoadPublicKey(%s): %v", s, err)
		}
	}
	for _, bad := range []string{"", "ed25519:!!!", "ed25519:AAAA"} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
	if _, err := ParsePrivateKey([]byte("smstorrent-ed25519-private:AAAA")); err == nil {
		t.Error("damaged private key accepted")
	}
	if _, err := Create(dir, "CON", 0, "", nil); !errors.Is(err, ErrUnsafe) {
		t.Errorf("Create with id CON: %v", err)
	}
	if _, err := Create(dir, "PS1", 1000, "", nil); err == nil {
		t.Error("piece length 1000 accepted")
	}
}
