package ctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/internal/units/unitstest"
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

// TestCommandLine checks the command line without a service: flags belong
// to their subcommand, --json goes anywhere, stray words and typed-in
// mistakes are refused with the subcommand's usage and a message that shows
// the right form.
func TestCommandLine(t *testing.T) {
	// No service listens here: a command that gets past its command line
	// reports the service as down.
	c := &api.Client{DataDir: t.TempDir()}
	for _, tc := range []struct {
		args []string
		want string // in the error; "" for a command line that is accepted
	}{
		{[]string{"--json", "status"}, ""},
		{[]string{"status", "--json"}, ""},
		{[]string{"jobs", "--json"}, ""},
		{[]string{"throttle", "--down", "2MiB/s", "--for", "2h"}, ""},
		{[]string{"throttle", "--clear"}, ""},
		{[]string{"add", "PS100012", "--priority", "high", "--assign"}, ""},
		{[]string{"status", "--priority", "high"}, "ctl status does not take --priority"},
		{[]string{"jobs", "extra"}, `unexpected "extra"`},
		{[]string{"throttle", "--down", "2", "MB/s"}, "give a unit, like 2MiB/s"},
		{[]string{"throttle", "--down", "2MiB/s", "extra", "junk"}, `unexpected "extra junk"`},
		{[]string{"throttle", "--down", "2MiB/s", "--for", "1h", "extra", "junk"}, `unexpected "extra junk"`},
		{[]string{"throttle", "--down", "1MiB/s", "--for", "banana"}, `--for: "banana" is not a duration: write it like 30m, 2h or 1h30m`},
		{[]string{"throttle", "--down", "2mb/s"}, "write 2MB/s for bytes or 2Mbit/s for bits"},
		{[]string{"throttle", "--clear", "--down", "1MiB/s"}, "--clear takes no --down or --up"},
		{[]string{"throttle", "--down"}, "--down needs a value"},
		{[]string{"add", "PS1", "--priority", "urgent"}, "--priority"},
		{[]string{"job"}, "missing arguments"},
		{[]string{"pause", "A", "B"}, `unexpected "B"`},
	} {
		err := ctl.Run(context.Background(), ctl.Env{Client: c, Stdout: io.Discard, Stderr: io.Discard}, tc.args)
		switch {
		case tc.want == "" && !api.IsServiceDown(err):
			t.Errorf("%q: %v, want the command line accepted (and the service reported down)", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "usage: ctl ")):
			t.Errorf("%q: %v, want a usage error with %q", tc.args, err, tc.want)
		}
	}
}

// TestUnitForms runs the shared table of unit forms through ctl's --down:
// what ctl accepts and refuses is what the configuration accepts and
// refuses.
func TestUnitForms(t *testing.T) {
	c := &api.Client{DataDir: t.TempDir()}
	for _, u := range unitstest.Rates {
		err := ctl.Run(context.Background(), ctl.Env{Client: c, Stdout: io.Discard, Stderr: io.Discard},
			[]string{"throttle", "--down", u.In})
		switch {
		case u.Err == "" && !api.IsServiceDown(err):
			t.Errorf("--down %q: %v, want it accepted", u.In, err)
		case u.Err != "" && (err == nil || !strings.Contains(err.Error(), u.Err)):
			t.Errorf("--down %q: %v, want an error with %q", u.In, err, u.Err)
		}
	}
}

func TestServiceDownSaysWhatToDo(t *testing.T) {
	key := testbed.NewKey(t)
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	var out, errb bytes.Buffer
	if code := ctl.Main(context.Background(), cfg, []string{"jobs"}, &out, &errb); code != 3 {
		t.Fatalf("exit %d, want 3", code)
	}
	for _, want := range []string{"not running", "smstorrent-service status", "smstorrent-service start"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("message %q lacks %q", errb.String(), want)
		}
	}
	errb.Reset()
	if code := ctl.Main(context.Background(), cfg, []string{"throttle", "--down", "2", "MB/s"}, &out, &errb); code != 2 {
		t.Fatalf("typo: exit %d, want 2", code)
	}
	if lines := strings.Count(errb.String(), "\n"); lines > 4 || !strings.Contains(errb.String(), "usage: ctl throttle") {
		t.Errorf("a mistake should get a short usage, got:\n%s", errb.String())
	}
}
