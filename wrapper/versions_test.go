//go:build !windows

package wrapper

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/svc"
)

// Package versions through the wrapper, with the real tracker, repository
// and services on loopback: the current version wins, a pin runs exactly
// its version, and a repository that cannot be asked runs the cached
// version (or, by flag, retries).

const verID = "PS200001"

// versionScript is a package's install script that exits with code.
func versionScript(code string) string { return "#!/bin/sh\nexit " + code + "\n" }

// makeVersion writes a package folder and signs an aligned torrent of it.
func makeVersion(t *testing.T, key testbed.Key, announce, dir, version, previous string) *testbed.Package {
	t.Helper()
	mi, err := pkgsign.CreateWith(dir, verID, pkgsign.CreateOptions{Announce: announce, Align: true, Version: version, PieceLength: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pkgsign.SignMeta(mi, pkgsign.Meta{ID: verID, Version: version, Name: "Office 2024", Previous: previous}, key.Priv)
	if err != nil {
		t.Fatal(err)
	}
	info, err := pkgsign.Verify(b, []pkgsign.PublicKey{key.Priv.Public()})
	if err != nil {
		t.Fatal(err)
	}
	return &testbed.Package{ID: verID, Version: version, Dir: dir, Torrent: b, Info: info, Meta: info.Meta, Hash: info.InfoHash}
}

type versionLab struct {
	key    testbed.Key
	tr     *testbed.Tracker
	v1, v2 *testbed.Package
}

// newVersionLab publishes version 1.0.0 (script exits 10) with an origin.
func newVersionLab(t *testing.T) *versionLab {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts a tracker and services")
	}
	l := &versionLab{key: testbed.NewKey(t)}
	l.tr = testbed.StartTracker(t, l.key)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"office.msi": 2 << 20, "data/a.cab": 300 << 10, "data/b.cab": 500 << 10})
	if err := os.WriteFile(filepath.Join(src, "install.sh"), []byte(versionScript("10")), 0o644); err != nil {
		t.Fatal(err)
	}
	l.v1 = makeVersion(t, l.key, l.tr.Announce, src, "1.0.0", "")
	l.tr.Publish(l.v1)
	testbed.StartOrigin(t, l.key, l.tr, l.v1)
	return l
}

// publishV2 publishes version 1.0.1: another script (exits 11), one file
// replaced, the rest unchanged; a second origin seeds it.
func (l *versionLab) publishV2(t *testing.T) {
	t.Helper()
	src := t.TempDir()
	if err := os.CopyFS(src, os.DirFS(l.v1.Dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "install.sh"), []byte(versionScript("11")), 0o644); err != nil {
		t.Fatal(err)
	}
	testbed.WriteFiles(t, src, map[string]int{"data/b.cab": 500 << 10})
	l.v2 = makeVersion(t, l.key, l.tr.Announce, src, "1.0.1", "1.0.0")
	l.tr.Publish(l.v2)
	testbed.StartOrigin(t, l.key, l.tr, l.v2)
}

func (l *versionLab) branch(t *testing.T, edit func(*config.Config)) (config.Config, *svc.Instance) {
	t.Helper()
	cfg := testbed.Config(t, l.key, l.tr.Repository, "127.0.0.1")
	cfg.UpdatePoll = config.Duration(time.Hour) // only the wrapper asks, unless edit says otherwise
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg, testbed.StartService(t, cfg, svc.Options{})
}

func runScript(t *testing.T, cfg config.Config, flags ...string) result {
	t.Helper()
	return runWrapper(t, nil, Invocation{
		Args: args([]string{"--data-dir", cfg.DataDir, "--package", verID}, flags, []string{"sh", "install.sh"}),
	})
}

func wantCode(t *testing.T, what string, res result, code int) {
	t.Helper()
	if res.code != code {
		t.Fatalf("%s: exit code %d, want %d; stderr:\n%s", what, res.code, code, res.stderr)
	}
}

func waitVersion(t *testing.T, c *api.Client, version string) *api.Job {
	t.Helper()
	return testbed.WaitJob(t, c, verID, 2*time.Minute, "version "+version+" transferred", func(j *api.Job) bool {
		return j.Version == version && j.State == api.StateTransferred
	})
}

func TestIntegrationVersionsCurrentWins(t *testing.T) {
	l := newVersionLab(t)
	cfg, in := l.branch(t, nil)
	c := in.Client(true)

	wantCode(t, "first run", runScript(t, cfg), DefaultRetryCode)
	j1 := waitVersion(t, c, "1.0.0")
	if j1.Name != "Office 2024" {
		t.Errorf("display name %q", j1.Name)
	}
	wantCode(t, "1.0.0 installed", runScript(t, cfg), 10)

	l.publishV2(t)
	res := runScript(t, cfg)
	wantCode(t, "run after publishing 1.0.1", res, DefaultRetryCode)
	if log := wrapperLog(t, cfg); !strings.Contains(log, "version 1.0.1 of package PS200001 (Office 2024) is current in the repository and the cache held 1.0.0") {
		t.Errorf("the log does not give the decision:\n%s", log)
	}
	j2 := waitVersion(t, c, "1.0.1")
	if err := testbed.SameTree(l.v2.Dir, j2.Path); err != nil {
		t.Fatal(err)
	}
	if err := testbed.SameTree(l.v1.Dir, j1.Path); err != nil {
		t.Fatalf("version 1.0.0 was altered: %v", err)
	}
	// Only what changed came over the network.
	got := j2.Downloaded - j1.Downloaded
	if changed := int64(600 << 10); got > changed+int64(256<<10) || got <= 0 {
		t.Errorf("version 1.0.1 downloaded %d bytes; about %d changed", got, changed)
	}
	if len(j2.OtherVersions) != 1 || !j2.OtherVersions[0].Complete || j2.OtherVersions[0].Version != "1.0.0" {
		t.Errorf("the previous version does not keep seeding: %+v", j2.OtherVersions)
	}
	res = runScript(t, cfg)
	wantCode(t, "1.0.1 installed", res, 11)

	// A pinned program runs exactly its version, from the cache at once.
	wantCode(t, "pinned 1.0.0", runScript(t, cfg, "--version", "1.0.0"), 10)
	if log := wrapperLog(t, cfg); !strings.Contains(log, "is pinned to version 1.0.0, which is in the cache") {
		t.Errorf("log:\n%s", log)
	}
	wantCode(t, "current again", runScript(t, cfg), 11)

	// The repository cannot be asked: the cached version runs (logged),
	// or with --if-repository-down=retry, SCCM retries.
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg.Repository = closedURL()
	in = testbed.StartService(t, cfg, svc.Options{})
	waitVersion(t, in.Client(false), "1.0.1")
	wantCode(t, "repository down", runScript(t, cfg), 11)
	if log := wrapperLog(t, cfg); !strings.Contains(log, "running the cached version 1.0.1 (--if-repository-down=run-cached") {
		t.Errorf("log:\n%s", log)
	}
	wantCode(t, "repository down, retry mode", runScript(t, cfg, "--if-repository-down", "retry"), DefaultRetryCode)
	if log := wrapperLog(t, cfg); !strings.Contains(log, "does not run because --if-repository-down=retry") {
		t.Errorf("log:\n%s", log)
	}
}

func TestIntegrationVersionsBackgroundUpdate(t *testing.T) {
	l := newVersionLab(t)
	cfg, in := l.branch(t, func(c *config.Config) { c.UpdatePoll = config.Duration(300 * time.Millisecond) })
	c := in.Client(true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Add(ctx, api.AddRequest{PackageID: verID}); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, c, "1.0.0")
	l.publishV2(t)
	// No wrapper run: the poll finds 1.0.1 and fetches it.
	waitVersion(t, c, "1.0.1")
	wantCode(t, "run after the background update", runScript(t, cfg), 11)
	if log := wrapperLog(t, cfg); !strings.Contains(log, "version 1.0.1 of package PS200001 (Office 2024) is the current version") {
		t.Errorf("log:\n%s", log)
	}
}

// listTree lists a folder's files with their sizes.
func listTree(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIntegrationSourceOrigin: an origin seeds a package from the folder it
// was made of, in place: nothing is written into the folder, a branch gets
// the package from it, cancelling leaves the folder, and a folder that does
// not hold the package stops the job with an error.
func TestIntegrationSourceOrigin(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts a tracker and services")
	}
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"setup.msi": 1 << 20, "data/x.cab": 100 << 10, "data/y.cab": 3000})
	p := makeVersion(t, key, tr.Announce, src, "1", "")
	tr.Publish(p)
	before := listTree(t, src)

	ocfg := testbed.Config(t, key, tr.Repository, testbed.HQIP)
	origin := testbed.StartService(t, ocfg, svc.Options{})
	oc := origin.Client(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := oc.Add(ctx, api.AddRequest{Torrent: p.Torrent, Source: src, Priority: api.High}); err != nil {
		t.Fatal(err)
	}
	j := testbed.WaitJob(t, oc, verID, time.Minute, "origin seeds the source folder", func(j *api.Job) bool { return j.State == api.StateTransferred })
	if j.Path != src || j.Downloaded != 0 {
		t.Errorf("origin job path %q, downloaded %d", j.Path, j.Downloaded)
	}

	_, branch := (&versionLab{key: key, tr: tr}).branch(t, nil)
	bc := branch.Client(true)
	if _, err := bc.Add(ctx, api.AddRequest{PackageID: verID}); err != nil {
		t.Fatal(err)
	}
	bj := testbed.WaitJob(t, bc, verID, 2*time.Minute, "branch download from the source origin", func(j *api.Job) bool { return j.State == api.StateTransferred })
	if err := testbed.SameTree(src, bj.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := oc.Cancel(ctx, verID); err != nil {
		t.Fatal(err)
	}
	after := listTree(t, src)
	if len(after) != len(before) {
		t.Fatalf("the source folder changed: %v, was %v", after, before)
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("the source folder changed: %v, was %v", after, before)
		}
	}

	// A folder that does not hold the package: an error, nothing written.
	wrong := t.TempDir()
	testbed.WriteFiles(t, wrong, map[string]int{"setup.msi": 1 << 20})
	if _, err := oc.Add(ctx, api.AddRequest{Torrent: p.Torrent, Source: wrong}); err != nil {
		t.Fatal(err)
	}
	ej := testbed.WaitJob(t, oc, verID, time.Minute, "a wrong source folder is refused", func(j *api.Job) bool { return j.State == api.StateError })
	if !strings.Contains(ej.Error, "does not hold version 1") {
		t.Errorf("error %q", ej.Error)
	}
	if got := listTree(t, wrong); len(got) != 1 {
		t.Errorf("files were written into the wrong folder: %v", got)
	}
}
