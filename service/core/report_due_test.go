package core

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/service/api"
)

// The reporter's pace: a first report at the first byte, none while
// nothing changes, changed bytes only after the (jittered) pace, a
// completion and a limit change at once.
func TestReporterPace(t *testing.T) {
	now := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	rp := newReporter(func() *repoapi.Client { return nil }, [20]byte{1}, slog.Default(), func() time.Time { return now })
	job := api.Job{ID: "P", InfoHash: "ab", State: api.StateTransferring, Added: now}
	sent := func() []pendingReport {
		select {
		case b := <-rp.queue:
			for _, p := range b { // as run does, after a successful send
				st := rp.sent[p.r.InfoHash]
				st.last, st.sent = p.r, true
			}
			return b
		default:
			return nil
		}
	}
	step := func(d time.Duration, j api.Job, up int64, limited bool) []pendingReport {
		now = now.Add(d)
		rp.consider(now, []api.Job{j}, up, limited)
		return sent()
	}
	if got := step(time.Second, job, 0, false); got != nil {
		t.Fatalf("a report before the first byte: %+v", got)
	}
	job.Sources = &api.Sources{Site: 100, Origin: 50}
	if got := step(time.Second, job, 0, false); len(got) != 1 || got[0].r.Site != 100 || got[0].r.Seconds != 2 || got[0].r.PeerID != "01"+strings.Repeat("0", 38) {
		t.Fatalf("first report: %+v", got)
	}
	if got := step(time.Second, job, 0, false); got != nil {
		t.Fatalf("a report with nothing changed: %+v", got)
	}
	job.Sources.Site = 200
	if got := step(time.Minute, job, 0, false); got != nil {
		t.Fatalf("a report one minute after the last: %+v", got)
	}
	if got := step(reportEvery, job, 0, false); len(got) != 1 || got[0].r.Site != 200 {
		t.Fatalf("the paced report: %+v", got)
	}
	if got := step(time.Second, job, 200<<10, true); len(got) != 1 || !got[0].r.Limited || got[0].r.UploadLimit != 200<<10 {
		t.Fatalf("a throttle does not report at once: %+v", got)
	}
	job.State, job.Completed = api.StateTransferred, now.Add(time.Second)
	if got := step(time.Second, job, 200<<10, true); len(got) != 1 || !got[0].r.Complete {
		t.Fatalf("completion does not report at once: %+v", got)
	}
	if got := step(time.Second, job, 0, false); got != nil {
		t.Fatalf("a limit change on a complete job: %+v", got)
	}
}
