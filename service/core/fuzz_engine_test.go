package core

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/service/config"
)

// fuzzEngine is one real service (engine, file storage, piece database)
// per fuzzing process.
var fuzzEngine struct {
	once sync.Once
	s    *Service
	key  pkgsign.PrivateKey
	root string   // holds the data folder and nothing else
	data []string // the data folder's entries after start
	err  error
}

func startFuzzEngine() {
	fe := &fuzzEngine
	fe.root, fe.err = os.MkdirTemp("", "smstorrent-fuzz-engine-")
	if fe.err != nil {
		return
	}
	if fe.key, fe.err = pkgsign.GenerateKey(); fe.err != nil {
		return
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(fe.root, "data")
	cfg.CacheDir, cfg.LogDir = "", ""
	cfg.ListenHost, cfg.ListenPort = "127.0.0.1", 0
	cfg.Transports = []string{"tcp"}
	cfg.Yield = false
	cfg.TrustedKeys = []string{fe.key.Public().String()}
	if fe.err = cfg.Validate(); fe.err != nil {
		return
	}
	fe.s, fe.err = New(Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if fe.err != nil {
		return
	}
	fe.data, fe.err = names(cfg.DataDir)
}

func names(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out, err
}

// FuzzVerifyThenEngine signs arbitrary info dictionaries with a trusted
// key, so that only Verify's checks stand between them and the engine, and
// hands what Verify accepts to the real engine and file storage through the
// service's own addTorrent. Nothing may panic, the engine may refuse (that
// is a job error), and nothing may appear outside the package's folder.
func FuzzVerifyThenEngine(f *testing.F) {
	f.Cleanup(func() {
		if fe := &fuzzEngine; fe.s != nil {
			fe.s.Close()
			os.RemoveAll(fe.root)
		}
	})
	src := f.TempDir()
	for name, size := range map[string]int{"setup.msi": 40000, "sub/data.cab": 100, "sub/empty.txt": 0} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{'x'}, size), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	mi, err := pkgsign.Create(src, "PS1", 16<<10, "", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(mi.InfoBytes), "PS1")
	var info map[string]any
	if err := bencode.Unmarshal(mi.InfoBytes, &info); err != nil {
		f.Fatal(err)
	}
	variant := func(edit func(m map[string]any)) []byte {
		m := map[string]any{}
		for k, v := range info {
			m[k] = v
		}
		edit(m)
		b, err := bencode.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	for _, n := range []string{"PS2", ".", "..", "PS1/../PS2", `..\x`} {
		f.Add(variant(func(m map[string]any) { m["name.utf-8"] = n }), "PS1")
	}
	f.Add(variant(func(m map[string]any) {
		m["files"] = []any{map[string]any{"length": 0, "path": []any{"a"}, "path.utf-8": []any{"..", "..", "x"}}}
	}), "PS1")
	f.Add(variant(func(m map[string]any) {
		m["files"] = []any{map[string]any{"length": 0, "path": []any{"a"}}, map[string]any{"length": 0, "path": []any{"a", "b"}}}
	}), "PS1")
	f.Add(variant(func(m map[string]any) {
		m["files"] = []any{map[string]any{"length": 16384, "path": []any{".pad", "16384"}, "attr": "p"}, map[string]any{"length": 1, "path": []any{"x"}}}
		m["pieces"] = strings.Repeat("a", 40)
	}), "PS1")
	f.Add(variant(func(m map[string]any) { m["pieces"] = strings.Repeat("a", 20) }), "PS1")
	f.Add(variant(func(m map[string]any) { m["piece length"] = 1 }), "PS1")

	f.Fuzz(func(t *testing.T, ib []byte, id string) {
		fe := &fuzzEngine
		fe.once.Do(startFuzzEngine)
		if fe.err != nil {
			t.Fatal(fe.err)
		}
		if pkgsign.ValidID(id) != nil || len(ib) > 1<<20 {
			return
		}
		b, err := pkgsign.Sign(&metainfo.MetaInfo{InfoBytes: ib}, id, "1", fe.key)
		if err != nil {
			return
		}
		pkg, err := pkgsign.Verify(b, []pkgsign.PublicKey{fe.key.Public()})
		if err != nil {
			return
		}
		s := fe.s
		s.mu.Lock()
		j := &job{rec: &record{ID: pkg.ID}}
		if err := s.addTorrent(j, pkg); err == nil {
			s.dropTorrent(j)
		} else if j.rec.Fatal == "" || j.t != nil {
			t.Errorf("refused torrent left job %+v with torrent %v", j.rec, j.t)
		}
		s.mu.Unlock()
		// Nothing beside the data folder, nothing new in it, and nothing
		// in the cache but the package's own folder.
		if got, err := names(fe.root); err != nil || !slices.Equal(got, []string{"data"}) {
			t.Fatalf("beside the data folder: %v %v", got, err)
		}
		if got, err := names(s.cfg.DataDir); err != nil || !slices.Equal(got, fe.data) {
			t.Fatalf("data folder holds %v, was %v (%v)", got, fe.data, err)
		}
		got, err := names(s.cfg.CacheDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range got {
			if n != pkg.ID {
				t.Fatalf("cache holds %q after package %q", n, pkg.ID)
			}
		}
		if err := os.RemoveAll(filepath.Join(s.cfg.CacheDir, pkg.ID)); err != nil {
			t.Fatal(err)
		}
	})
}
