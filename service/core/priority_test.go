package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

// A High job runs before a Low one: the Low job waits in Queued while the
// High job moves data, and the High job completes first.
func TestHigherPriorityRunsFirst(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	var pkgs []*testbed.Package
	ocfg := testbed.Config(t, key, tr.Repository, testbed.HQIP)
	ocfg.LimitUp = 2 << 20
	for _, id := range []string{"LOWPKG", "HIGHPKG"} {
		src := t.TempDir()
		testbed.WriteFiles(t, src, map[string]int{"f.bin": 4 << 20})
		p := testbed.MakePackage(t, key, id, "1", src, tr.Announce, 64<<10)
		tr.Publish(p)
		testbed.PlaceContent(t, ocfg, p)
		pkgs = append(pkgs, p)
	}
	origin := testbed.StartService(t, ocfg, svc.Options{})
	oc := origin.Client(true)
	ctx := context.Background()
	for _, p := range pkgs {
		if _, err := oc.Add(ctx, api.AddRequest{Torrent: p.Torrent, Assign: true}); err != nil {
			t.Fatal(err)
		}
		testbed.WaitJob(t, oc, p.ID, time.Minute, "origin ready", func(j *api.Job) bool { return j.State == api.StateTransferred })
	}
	c := testbed.StartService(t, testbed.Config(t, key, tr.Repository, "127.0.0.1"), svc.Options{}).Client(true)
	if _, err := c.Add(ctx, api.AddRequest{PackageID: "LOWPKG", Priority: api.Low}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Add(ctx, api.AddRequest{PackageID: "HIGHPKG", Priority: api.High}); err != nil {
		t.Fatal(err)
	}
	sawQueued := false
	testbed.WaitJob(t, c, "HIGHPKG", 2*time.Minute, "high transferred", func(j *api.Job) bool {
		if low, err := c.Job(ctx, "LOWPKG"); err == nil && low.State == api.StateQueued {
			sawQueued = true
		}
		return j.State == api.StateTransferred
	})
	low := testbed.WaitJob(t, c, "LOWPKG", 2*time.Minute, "low transferred", func(j *api.Job) bool { return j.State == api.StateTransferred })
	high, _ := c.Job(ctx, "HIGHPKG")
	if !sawQueued {
		t.Error("the Low job was never Queued while the High job transferred")
	}
	if !high.Completed.Before(low.Completed) {
		t.Errorf("high completed %v, low %v", high.Completed, low.Completed)
	}
}
