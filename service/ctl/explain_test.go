package ctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/ctl"
	"github.com/smstorrent/smstorrent/service/svc"
)

// ctl job explains a transfer (sources with percentages, gateway, the
// limiting reason; peers while connected) and --json gives the typed
// fields; ctl status says that yielding is off and why.
func TestCtlExplains(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	pkg := testbed.Published(t, key, tr, "PS100077", map[string]int{"setup.exe": 1 << 20}, 0)
	testbed.StartOrigin(t, key, tr, pkg)
	in := testbed.StartService(t, testbed.Config(t, key, tr.Repository, "127.0.0.1"), svc.Options{})
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := ctl.Run(context.Background(), ctl.Env{Client: in.Client(true), Stdout: &out, Stderr: &out}, args); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	run("add", pkg.ID)
	testbed.WaitJob(t, in.Client(false), pkg.ID, time.Minute, "transferred", func(j *api.Job) bool { return j.State == api.StateTransferred })
	out := run("job", pkg.ID)
	for _, want := range []string{"limited by", "Transferred", "(done)", "site (colleagues) " + units.Bytes(0) + " (0 %), server " + units.Bytes(1<<20) + " (100 %), other sites " + units.Bytes(0) + " (0 %)", "gateway"} {
		if !strings.Contains(out, want) {
			t.Errorf("ctl job: no %q in\n%s", want, out)
		}
	}
	var j api.Job
	if err := json.Unmarshal([]byte(run("job", pkg.ID, "--json")), &j); err != nil {
		t.Fatal(err)
	}
	if j.Sources == nil || j.Sources.Origin != j.Downloaded || j.Limit == nil || j.Limit.Reason != api.LimitDone {
		t.Errorf("ctl job --json: sources %+v, limit %+v", j.Sources, j.Limit)
	}
	if out := run("status"); !strings.Contains(out, "off: yield is off in the configuration (yield: false)") {
		t.Errorf("ctl status does not say yield is off:\n%s", out)
	}
}
