package core_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
)

// alignedVersion signs an aligned torrent of src as version v of id.
func alignedVersion(t *testing.T, key testbed.Key, id, v, src string) *testbed.Package {
	t.Helper()
	mi, err := pkgsign.CreateWith(src, id, pkgsign.CreateOptions{Align: true, Version: v, PieceLength: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pkgsign.SignMeta(mi, pkgsign.Meta{ID: id, Version: v, Name: "Old and new"}, key.Priv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pkgsign.Verify(b, []pkgsign.PublicKey{key.Priv.Public()})
	if err != nil {
		t.Fatal(err)
	}
	return &testbed.Package{ID: id, Version: v, Dir: src, Torrent: b, Info: p, Meta: p.Meta, Hash: p.InfoHash}
}

// A job that moves to a new version keeps the old one seeding in its own
// folder, the new one takes every shared piece from it (here: all, the
// content is the same), and the old one leaves after seed_days, or at once
// when the cache is above cache_max.
func TestOldVersionLeaves(t *testing.T) {
	key := testbed.NewKey(t)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"a.msi": 300 << 10, "b/c.cab": 70 << 10})
	for _, tt := range []struct {
		name  string
		edit  func(*config.Config)
		after time.Duration // clock advance after which version 1 must be gone
	}{
		{name: "seed_days", edit: func(c *config.Config) { c.SeedDays = 3 }, after: 3*24*time.Hour + time.Minute},
		{name: "cache_max", edit: func(c *config.Config) { c.SeedDays = 3; c.CacheMax = 600 << 10 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			cfg := testbed.Config(t, key, "", "127.0.0.1")
			tt.edit(&cfg)
			v1 := alignedVersion(t, key, "OLD1", "1", src)
			v2 := alignedVersion(t, key, "OLD1", "2", src)
			testbed.PlaceContent(t, cfg, v1)
			in := testbed.StartService(t, cfg, svc.Options{Now: clk.Now})
			c := in.Client(true)
			ctx := context.Background()
			seedLocal(t, c, cfg.CacheDir, v1)
			if _, err := c.Add(ctx, api.AddRequest{Torrent: v2.Torrent}); err != nil {
				t.Fatal(err)
			}
			j := testbed.WaitJob(t, c, "OLD1", time.Minute, "version 2 from version 1", func(j *api.Job) bool {
				return j.Version == "2" && j.State == api.StateTransferred
			})
			if j.Downloaded != 0 || j.Name != "Old and new" {
				t.Errorf("version 2 downloaded %d bytes (none needed); name %q", j.Downloaded, j.Name)
			}
			if err := testbed.SameTree(src, j.Path); err != nil {
				t.Fatal(err)
			}
			old := filepath.Join(cfg.CacheDir, "OLD1")
			if tt.after > 0 {
				if len(j.OtherVersions) != 1 || !j.OtherVersions[0].Complete || j.OtherVersions[0].Path != old {
					t.Fatalf("version 1 does not seed on: %+v", j.OtherVersions)
				}
				// Version 2 runs on day 2: the package stays to day 5,
				// version 1 (replaced on day 0) leaves on day 3.
				clk.Advance(2 * 24 * time.Hour)
				if _, err := c.MarkUsed(ctx, "OLD1"); err != nil {
					t.Fatal(err)
				}
				clk.Advance(tt.after - 2*24*time.Hour)
			}
			testbed.WaitJob(t, c, "OLD1", time.Minute, "version 1 gone", func(j *api.Job) bool { return len(j.OtherVersions) == 0 })
			if _, err := os.Stat(old); !os.IsNotExist(err) {
				t.Errorf("version 1's folder is still there: %v", err)
			}
			if err := testbed.SameTree(src, j.Path); err != nil {
				t.Fatalf("version 2 lost files with version 1: %v", err)
			}
		})
	}
}
