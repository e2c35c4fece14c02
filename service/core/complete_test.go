package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

// A job is stamped transferred when the engine has its last piece, not on
// the service's next tick: with a tick of an hour, the only steps after the
// add are the ones the engine's completion wakes (a real origin, tracker and
// leecher over loopback).
func TestCompletionWakesTheService(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"setup.msi": 2<<20 + 777})
	pkg := testbed.MakePackage(t, key, "PS100077", "1.0", src, tr.Announce, 64<<10)
	tr.Publish(pkg)
	testbed.StartOrigin(t, key, tr, pkg)

	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	l := testbed.StartService(t, cfg, svc.Options{TickInterval: time.Hour})
	if _, err := l.Client(true).Add(context.Background(), api.AddRequest{PackageID: pkg.ID}); err != nil {
		t.Fatalf("add: %v", err)
	}
	j := testbed.WaitJob(t, l.Client(false), pkg.ID, 2*time.Minute, "transferred without a tick",
		func(j *api.Job) bool { return j.State == api.StateTransferred })
	if j.Completed.IsZero() {
		t.Fatal("transferred without a completion stamp")
	}
	if err := testbed.SameTree(src, j.Path); err != nil {
		t.Fatalf("content: %v", err)
	}
}
