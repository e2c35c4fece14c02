package core

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/service/api"
)

// Report pace (see reporter).
const (
	// reportEvery is how often a running job reports at most, jittered by
	// ±reportJitter; the repository may ask for a longer pace.
	reportEvery  = 5 * time.Minute
	reportJitter = 0.25
	// reportRetry is the wait after a report the repository did not take
	// because the peer has not announced yet, or that failed.
	reportRetry = time.Minute
)

// reporter sends the repository a repoapi.Report per job version: where
// the job's bytes came from (site peers, the origin, other sites), how long
// it took, and the PC's upload limit, so that the repository can show an
// administrator what the site saved and the tracker can hand the site's
// gateway role away from a throttled PC. It is cheap for thousands of PCs:
// one tiny JSON request per job when it completes and, while it runs, at
// most every reportEvery (jittered) and only when a figure changed; at once
// when the PC's upload limit or throttle changes. It has its own lock and
// one sending goroutine (run); the job table hands it snapshots (consider)
// and never waits for it.
type reporter struct {
	client func() *repoapi.Client // nil result or empty BaseURL: no repository
	peerID string                 // hex, as announced
	log    *slog.Logger
	now    func() time.Time
	queue  chan []pendingReport

	mu      sync.Mutex
	sent    map[string]*reportState // by info-hash
	limited bool                    // the limit state last considered
	limit   int64
	pace    time.Duration // the repository's pace (at least reportEvery)
	holdOff time.Time     // after "too many requests": nothing before
}

// reportState is what was last sent for one version, and when the next may go.
type reportState struct {
	last  repoapi.Report
	sent  bool
	next  time.Time // the pace: the next report of a running job, at the earliest
	retry time.Time // after a failure: nothing before
	gone  bool      // the repository does not know the version: never again
}

type pendingReport struct {
	id string
	r  repoapi.Report
}

func newReporter(client func() *repoapi.Client, peerID [20]byte, log *slog.Logger, now func() time.Time) *reporter {
	return &reporter{client: client, peerID: hex.EncodeToString(peerID[:]), log: log, now: now,
		queue: make(chan []pendingReport, 1), sent: map[string]*reportState{}, pace: reportEvery}
}

// uploadPolicy is the upload limit the policy puts on the whole engine
// now (0: none) and whether a helpdesk throttle or the schedule set it:
// what the tracker weighs for the gateway role. The yield controller's
// limits are left out: they hold back only traffic across the WAN, not
// what a gateway passes on to its site.
func (b *bandwidthPolicy) uploadPolicy() (up int64, limited bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, up, reason, _ := b.bw.policy(b.now())
	return up, reason == "override" || reason == "schedule"
}

// reportOf is the report of one job snapshot.
func (rp *reporter) reportOf(j *api.Job, now time.Time, up int64, limited bool) repoapi.Report {
	r := repoapi.Report{InfoHash: j.InfoHash, PeerID: rp.peerID, UploadLimit: up, Limited: limited}
	if s := j.Sources; s != nil {
		r.Site, r.Origin, r.OtherSites = s.Site, s.Origin, s.OtherSites
	} else {
		r.Site, r.Origin = j.DownloadedSite, j.DownloadedServer
	}
	r.Complete = j.State == api.StateTransferred
	end := now
	if r.Complete && !j.Completed.IsZero() {
		end = j.Completed
	}
	if !j.Added.IsZero() && end.After(j.Added) {
		r.Seconds = int64(end.Sub(j.Added) / time.Second)
	}
	return r
}

// consider decides which jobs report now and hands them to run. Called
// by the job table with fresh snapshots, without its lock.
func (rp *reporter) consider(now time.Time, jobs []api.Job, up int64, limited bool) {
	if rp == nil {
		return
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if now.Before(rp.holdOff) {
		return
	}
	limitChanged := limited != rp.limited || up != rp.limit
	rp.limited, rp.limit = limited, up
	var due []pendingReport
	for i := range jobs {
		j := &jobs[i]
		switch {
		case j.InfoHash == "", j.State == api.StateCancelled, j.State == api.StateError:
			continue
		case j.State == api.StateSuspended:
			// A paused job left the swarm (it announced stopped): the
			// repository would refuse its report; it reports once resumed.
			continue
		}
		st := rp.sent[j.InfoHash]
		if st == nil {
			st = &reportState{}
			rp.sent[j.InfoHash] = st
		}
		r := rp.reportOf(j, now, up, limited)
		if rp.due(st, r, now, limitChanged) {
			due = append(due, pendingReport{j.ID, r})
			st.next = now.Add(rp.jittered())
		}
	}
	rp.forget(jobs)
	if len(due) == 0 {
		return
	}
	select {
	case rp.queue <- due:
	default: // a batch is still being sent; these go at the next chance
		for _, d := range due {
			rp.sent[d.r.InfoHash].next = now
		}
	}
}

// due reports whether r must be sent now: something changed and, unless
// the job just completed or the limit changed while it still downloads,
// its pace has passed. The first report waits for the first byte (or
// completion, or a limit that matters for the gateway role). Called with
// rp.mu.
func (rp *reporter) due(st *reportState, r repoapi.Report, now time.Time, limitChanged bool) bool {
	if st.gone || now.Before(st.retry) {
		return false
	}
	if !st.sent {
		return r.Site+r.Origin+r.OtherSites > 0 || r.Complete || (r.Limited && !r.Complete)
	}
	l := st.last
	bytesChanged := r.Site != l.Site || r.Origin != l.Origin || r.OtherSites != l.OtherSites
	switch {
	case r.Complete && !l.Complete:
		return true
	case limitChanged && !r.Complete:
		return true
	case bytesChanged && !now.Before(st.next):
		return true
	}
	return false
}

// forget drops the state of versions no job holds any more. Called with rp.mu.
func (rp *reporter) forget(jobs []api.Job) {
	if len(rp.sent) <= len(jobs) {
		return
	}
	keep := make(map[string]bool, len(jobs))
	for i := range jobs {
		keep[jobs[i].InfoHash] = true
	}
	for ih := range rp.sent {
		if !keep[ih] {
			delete(rp.sent, ih)
		}
	}
}

func (rp *reporter) jittered() time.Duration {
	return time.Duration(float64(rp.pace) * (1 - reportJitter + 2*reportJitter*rand.Float64()))
}

// run sends the batches consider hands it until ctx ends.
func (rp *reporter) run(ctx context.Context) {
	if rp == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case batch := <-rp.queue:
			for _, p := range batch {
				if ctx.Err() != nil {
					return
				}
				rp.send(ctx, p)
			}
		}
	}
}

// send sends one report and records the outcome.
func (rp *reporter) send(ctx context.Context, p pendingReport) {
	c := rp.client()
	if c == nil || c.BaseURL == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ans, err := c.Report(ctx, p.id, p.r)
	rp.mu.Lock()
	defer rp.mu.Unlock()
	st := rp.sent[p.r.InfoHash]
	if st == nil {
		return
	}
	var re *repoapi.Error
	switch {
	case err == nil:
		st.last, st.sent = p.r, true
		if ans.NextSeconds > 0 {
			rp.pace = max(reportEvery, min(time.Duration(ans.NextSeconds)*time.Second, 24*time.Hour))
		}
	case errors.As(err, &re) && re.Status == http.StatusNotFound:
		st.gone = true // not a version of the repository's (added from a file)
	case errors.As(err, &re) && re.Status == http.StatusTooManyRequests:
		rp.holdOff = rp.now().Add(reportRetry)
	default:
		// Not announced yet (403), or the repository is unreachable: the
		// report is still due; it goes again after reportRetry.
		st.retry = rp.now().Add(reportRetry)
		rp.log.Debug("savings report not taken", "package", p.id, "err", err)
	}
}
