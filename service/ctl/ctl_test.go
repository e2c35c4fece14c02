package ctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/ctl"
	"github.com/smstorrent/smstorrent/service/svc"
)

func TestCtlAgainstRealService(t *testing.T) {
	key := testbed.NewKey(t)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"setup.exe": 200 << 10})
	pkg := testbed.MakePackage(t, key, "PS100012", "1.0", src, "", 0)
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	testbed.PlaceContent(t, cfg, pkg)
	in := testbed.StartService(t, cfg, svc.Options{})
	tfile := filepath.Join(t.TempDir(), "p.torrent")
	if err := os.WriteFile(tfile, pkg.Torrent, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(control bool, args ...string) (string, error) {
		var out bytes.Buffer
		err := ctl.Run(context.Background(), ctl.Env{Client: in.Client(control), Stdout: &out, Stderr: &out}, args)
		return out.String(), err
	}
	out, err := run(true, "add", tfile, "--priority", "high")
	if err != nil || !strings.Contains(out, "PS100012") || !strings.Contains(out, "high") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	testbed.WaitJob(t, in.Client(false), pkg.ID, time.Minute, "verified", func(j *api.Job) bool { return j.State == api.StateTransferred })
	out, err = run(false, "jobs")
	if err != nil || !strings.Contains(out, "transferred") || !strings.Contains(out, "100.0%") {
		t.Fatalf("jobs: %v\n%s", err, out)
	}
	out, err = run(false, "jobs", "--json")
	var js []api.Job
	if err != nil || json.Unmarshal([]byte(out), &js) != nil || len(js) != 1 {
		t.Fatalf("jobs --json: %v\n%s", err, out)
	}
	out, err = run(false, "job", "PS100012")
	if err != nil || !strings.Contains(out, "setup.exe") {
		t.Fatalf("job: %v\n%s", err, out)
	}
	out, err = run(true, "throttle", "--down", "2MB/s", "--up", "512KiB/s", "--for", "2h")
	if err != nil || !strings.Contains(out, "helpdesk throttle") {
		t.Fatalf("throttle: %v\n%s", err, out)
	}
	out, err = run(false, "status")
	if err != nil || !strings.Contains(out, "helpdesk throttle") || !strings.Contains(out, "access      read") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if _, err := run(false, "pause", "PS100012"); !api.IsForbidden(err) {
		t.Fatalf("pause with the read token: %v", err)
	}
	if _, err := run(true, "pause", "NOPE"); !api.IsNotFound(err) {
		t.Fatalf("pause unknown: %v", err)
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"pause"}, {"priority", "PS100012", "urgent"}, {"throttle"}, {"throttle", "--down", "fast"}, {"add"}} {
		if _, err := run(true, args...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, err := run(true, "add", filepath.Join(t.TempDir(), "missing.torrent")); err == nil {
		t.Error("adding a missing .torrent file succeeded")
	}
	out, err = run(true, "cancel", "PS100012")
	if err != nil || !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel: %v\n%s", err, out)
	}
}

func TestMainExitCodes(t *testing.T) {
	key := testbed.NewKey(t)
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	var out, errb bytes.Buffer
	// Nothing runs on this data folder: exit code 3, service down.
	if code := ctl.Main(context.Background(), cfg, []string{"status"}, &out, &errb); code != 3 {
		t.Fatalf("status without a service: exit %d, %s", code, errb.String())
	}
	if code := ctl.Main(context.Background(), cfg, []string{"bogus"}, &out, &errb); code != 2 {
		t.Fatalf("bogus subcommand: exit %d", code)
	}
}
