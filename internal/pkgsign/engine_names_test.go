package pkgsign

import (
	"errors"
	"strconv"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// TestEngineNames covers the names the engine's storage actually uses
// (name.utf-8 and path.utf-8 win over name and path), the layout it would
// refuse, and the limits.
func TestEngineNames(t *testing.T) {
	key := newKey(t)
	yes := true
	file := func(path ...string) metainfo.FileInfo { return metainfo.FileInfo{Length: 1, Path: path} }
	utf8 := func(path []string, best ...string) metainfo.FileInfo {
		return metainfo.FileInfo{Length: 1, Path: path, PathUtf8: best}
	}
	info := func(files ...metainfo.FileInfo) metainfo.Info {
		return metainfo.Info{Name: "PS1", PieceLength: 16384, Pieces: make([]byte, 20), Private: &yes, Files: files}
	}
	withName8 := func(n string) metainfo.Info { i := info(file("a")); i.NameUtf8 = n; return i }
	for _, c := range []struct {
		name string
		info metainfo.Info
		want error
	}{
		{"name.utf-8 another package", withName8("PS2"), ErrUnsafe},
		{"name.utf-8 dot", withName8("."), ErrUnsafe},
		{"name.utf-8 dot-dot", withName8(".."), ErrUnsafe},
		{"name.utf-8 separator", withName8("PS1/../PS2"), ErrUnsafe},
		{"name.utf-8 backslash", withName8(`..\PS2`), ErrUnsafe},
		{"path.utf-8 dot-dot", info(utf8([]string{"a"}, "..", "PS2", "x")), ErrUnsafe},
		{"path.utf-8 other file", info(utf8([]string{"a"}, "b")), ErrUnsafe},
		{"path.utf-8 only", info(metainfo.FileInfo{Length: 1, PathUtf8: []string{"a"}}), ErrUnsafe},
		{"path.utf-8 reserved", info(utf8([]string{"aux.txt"}, "aux.txt")), ErrUnsafe},
		{"reserved with space", info(file("nul .txt")), ErrUnsafe},
		{"CONIN$", info(file("CONIN$")), ErrUnsafe},
		{"COM superscript", info(file("COM¹")), ErrUnsafe},
		{"stream", info(file("setup.exe:evil")), ErrUnsafe},
		{"symlink", info(metainfo.FileInfo{Length: 1, Path: []string{"a"}, ExtendedFileAttrs: metainfo.ExtendedFileAttrs{Attr: "l", SymlinkPath: []string{"..", ".."}}}), ErrUnsafe},
		{"file and folder", info(file("a"), file("a", "b")), ErrUnsafe},
		{"folder and file", info(file("A", "b"), file("a")), ErrUnsafe},
		{"single file", metainfo.Info{Name: "PS1", PieceLength: 16384, Pieces: make([]byte, 20), Private: &yes, Length: 1}, ErrUnsafe},
		{"piece count", func() metainfo.Info { i := info(file("a")); i.Pieces = make([]byte, 40); return i }(), ErrMalformed},
		{"piece hash size", func() metainfo.Info { i := info(file("a")); i.Pieces = make([]byte, 21); return i }(), ErrMalformed},
		{"piece length", func() metainfo.Info { i := info(file("a")); i.PieceLength = MaxPieceLength * 2; return i }(), ErrUnsafe},
		{"v2", func() metainfo.Info { i := info(file("a")); i.MetaVersion = 2; return i }(), ErrUnsafe},
		{"too long", info(metainfo.FileInfo{Length: MaxTotalLength, Path: []string{"a"}}, file("b")), ErrTooLarge},
		{"length overflow", info(metainfo.FileInfo{Length: 1 << 62, Path: []string{"a"}}, metainfo.FileInfo{Length: 1 << 62, Path: []string{"b"}}), ErrUnsafe},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := signedInfo(t, key, c.info, "PS1")
			if _, err := Verify(b, []PublicKey{key.Public()}); !errors.Is(err, c.want) {
				t.Errorf("%v, want %v", err, c.want)
			}
		})
	}
	t.Run("padding files are ordinary files", func(t *testing.T) {
		i := info(file("a"), metainfo.FileInfo{Length: 16383, Path: []string{".pad", "16383"}, ExtendedFileAttrs: metainfo.ExtendedFileAttrs{Attr: "p"}})
		p, err := Verify(signedInfo(t, key, i, "PS1"), []PublicKey{key.Public()})
		if err != nil {
			t.Fatal(err)
		}
		if sp, err := StoragePath(&p.Info, &p.Info.Files[1]); err != nil || sp != "PS1/.pad/16383" && sp != `PS1\.pad\16383` {
			t.Errorf("storage path %q %v", sp, err)
		}
	})
	t.Run("matching utf-8 fields pass", func(t *testing.T) {
		i := info(utf8([]string{"sub", "ü.txt"}, "sub", "ü.txt"))
		i.NameUtf8 = "PS1"
		if _, err := Verify(signedInfo(t, key, i, "PS1"), []PublicKey{key.Public()}); err != nil {
			t.Error(err)
		}
	})
	t.Run("too many files", func(t *testing.T) {
		fs := make([]metainfo.FileInfo, MaxFiles+1)
		for n := range fs {
			fs[n] = metainfo.FileInfo{Path: []string{"f" + strconv.Itoa(n)}}
		}
		i := info(fs...)
		i.Pieces = nil
		if _, err := Verify(signedInfo(t, key, i, "PS1"), []PublicKey{key.Public()}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%v, want ErrTooLarge", err)
		}
	})
}

// TestSources: v2 signatures cover trackers and web seeds; a v1 torrent's
// are left out of the Package.
func TestSources(t *testing.T) {
	key := newKey(t)
	trusted := []PublicKey{key.Public()}
	b, _ := makePackage(t, key, "PS100012", "1.0")
	p, err := Verify(b, trusted)
	if err != nil {
		t.Fatal(err)
	}
	if !p.SignedSources || len(p.Trackers) != 1 || p.Trackers[0][0] != "http://tracker.example/announce" || len(p.WebSeeds) != 1 {
		t.Errorf("signed sources %v %v %v", p.SignedSources, p.Trackers, p.WebSeeds)
	}
	var w wire
	if err := bencode.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(w *wire){
		"announce":      func(w *wire) { w.Announce = "http://evil.example/announce" },
		"announce-list": func(w *wire) { w.AnnounceList = metainfo.AnnounceList{{"http://evil.example/announce"}} },
		"url-list":      func(w *wire) { w.UrlList = metainfo.UrlList{"http://169.254.169.254/"} },
		"url-list gone": func(w *wire) { w.UrlList = nil },
	} {
		t.Run(name, func(t *testing.T) {
			c := w
			c.Smstorrent = new(signature)
			*c.Smstorrent = *w.Smstorrent
			change(&c)
			m, _ := bencode.Marshal(c)
			if _, err := Verify(m, trusted); !errors.Is(err, ErrBadSignature) {
				t.Errorf("%v, want ErrBadSignature", err)
			}
		})
	}
	t.Run("v1 sources are ignored", func(t *testing.T) {
		c := w
		ih := p.InfoHash
		c.Smstorrent = &signature{V: 1, ID: "PS100012", Version: "1.0", Signer: key.Public(), Sig: signBytes(key, Message(ih, "PS100012", "1.0"))}
		c.UrlList = metainfo.UrlList{"http://169.254.169.254/"}
		m, _ := bencode.Marshal(c)
		q, err := Verify(m, trusted)
		if err != nil {
			t.Fatal(err)
		}
		if q.SignedSources || len(q.Trackers) != 0 || len(q.WebSeeds) != 0 || q.Meta.Announce != "" ||
			len(q.Meta.AnnounceList) != 0 || len(q.Meta.UrlList) != 0 || len(q.Meta.UpvertedAnnounceList()) != 0 {
			t.Errorf("v1 torrent kept unsigned sources: %+v", q)
		}
		if len(q.UnsignedTrackers) != 1 {
			t.Errorf("unsigned trackers %v", q.UnsignedTrackers)
		}
	})
	t.Run("signed but unsafe URL", func(t *testing.T) {
		_, mi := makePackage(t, key, "PS100013", "1")
		mi.UrlList = []string{"file:///etc/passwd"}
		if _, err := Sign(mi, "PS100013", "1", key); !errors.Is(err, ErrUnsafe) {
			t.Errorf("sign: %v", err)
		}
	})
}
