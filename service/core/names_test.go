package core_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

// Signed torrents whose names, as the engine's storage uses them
// (name.utf-8 and path.utf-8 win), point at another package's folder, the
// cache root or outside it are refused before the engine sees them; real
// files of the other package stay intact and nothing appears beside them.
// (Before, name.utf-8 "VICTIM" truncated VICTIM's files through the empty
// file the storage creates.)
func TestHostileEngineNamesTouchNothing(t *testing.T) {
	key := testbed.NewKey(t)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"setup.msi": 64 << 10, "sub/data.cab": 20 << 10})
	victim := testbed.MakePackage(t, key, "VICTIM", "1", src, "", 0)
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	testbed.PlaceContent(t, cfg, victim)
	in := testbed.StartService(t, cfg, svc.Options{})
	c := in.Client(true)
	ctx := context.Background()
	if _, err := c.Add(ctx, api.AddRequest{Torrent: victim.Torrent, Assign: true}); err != nil {
		t.Fatal(err)
	}
	testbed.WaitJob(t, c, victim.ID, time.Minute, "victim verified", func(j *api.Job) bool { return j.State == api.StateTransferred })
	rootBefore := entries(t, cfg.CacheDir)

	// The evil package: the same file names, but empty, so that opening its
	// storage creates (truncates) them.
	evilSrc := t.TempDir()
	for _, f := range []string{"setup.msi", "sub/data.cab"} {
		p := filepath.Join(evilSrc, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c1 := range []struct {
		name  string
		edit  func(m map[string]any)
		files []any
	}{
		{"name.utf-8 another package", func(m map[string]any) { m["name.utf-8"] = "VICTIM" }, nil},
		{"name.utf-8 dot", func(m map[string]any) { m["name.utf-8"] = "." }, nil},
		{"name.utf-8 dot-dot", func(m map[string]any) { m["name.utf-8"] = ".." }, nil},
		{"name.utf-8 separator", func(m map[string]any) { m["name.utf-8"] = "EVIL/../VICTIM" }, nil},
		{"path.utf-8 escape", func(m map[string]any) {
			m["files"] = []any{map[string]any{"length": 0, "path": []any{"setup.msi"}, "path.utf-8": []any{"..", "VICTIM", "setup.msi"}}}
		}, nil},
		{"path.utf-8 backslash", func(m map[string]any) {
			m["files"] = []any{map[string]any{"length": 0, "path": []any{"setup.msi"}, "path.utf-8": []any{`..\VICTIM\setup.msi`}}}
		}, nil},
		{"path reserved name", func(m map[string]any) {
			m["files"] = []any{map[string]any{"length": 0, "path": []any{"CON.txt"}}}
		}, nil},
	} {
		t.Run(c1.name, func(t *testing.T) {
			b := signedEdit(t, key, evilSrc, "EVIL", c1.edit)
			_, err := c.Add(ctx, api.AddRequest{Torrent: b})
			if !api.IsSignature(err) {
				t.Fatalf("add: %v, want a refusal", err)
			}
			if err := testbed.SameTree(src, filepath.Join(cfg.CacheDir, "VICTIM")); err != nil {
				t.Fatalf("the other package's files changed: %v", err)
			}
			if got := entries(t, cfg.CacheDir); !slices.Equal(got, rootBefore) {
				t.Fatalf("cache root now holds %v, was %v", got, rootBefore)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(cfg.CacheDir), "VICTIM")); err == nil {
				t.Fatal("a folder appeared beside the cache")
			}
		})
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// signedEdit makes a package of src, edits its info dictionary and signs
// the result properly: only Verify's checks stand between it and the engine.
func signedEdit(t *testing.T, key testbed.Key, src, id string, edit func(map[string]any)) []byte {
	t.Helper()
	mi, err := pkgsign.Create(src, id, 0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := bencode.Unmarshal(mi.InfoBytes, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if mi.InfoBytes, err = bencode.Marshal(m); err != nil {
		t.Fatal(err)
	}
	b, err := pkgsign.Sign(mi, id, "1", key.Priv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
