// Package demo is an in-memory stand-in for the SMSTorrent service with
// realistic jobs in every state. The window's and the tray's hidden
// --demo-fake flag use it for screenshots and demonstrations without a
// service, and tests use its fixtures. It imports no GUI toolkit.
package demo

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/service/api"
)

const (
	mb = 1 << 20
	gb = 1 << 30
)

// Jobs returns one job in every state (several transferred ones), as the
// service would report them at the moment now. The addresses are from the
// documentation ranges (RFC 5737).
func Jobs(now time.Time) []api.Job {
	return []api.Job{
		{ID: "PS100012", Name: "Office 2024", Version: "16.0.17928", State: api.StateTransferring, Priority: api.High,
			BytesTotal: 3480 * mb, BytesDone: 2162 * mb, FilesTotal: 412, FilesDone: 260,
			DownRate: 4600 << 10, UpRate: 900 << 10, Downloaded: 2162 * mb, Uploaded: 310 * mb,
			DownloadedSite: 1790 * mb, DownloadedServer: 372 * mb, PeersSite: 3, PeersServer: 1,
			Sources: &api.Sources{Site: 1790 * mb, Origin: 300 * mb, OtherSites: 72 * mb, Gateway: "192.0.2.15:6881",
				Peers: officePeers(4600 << 10)},
			Limit: &api.JobLimit{Reason: api.LimitSchedule, Rate: 6 * mb,
				Detail: "Business hours (Mon–Fri 08:00–17:00): background downloads are limited to 6 MiB/s."},
			ETASeconds: 287, Added: now.Add(-25 * time.Minute)},
		{ID: "PS100031", Name: "Windows security update KB5048667", Version: "2024-12", State: api.StateConnecting,
			Priority: api.Foreground, BytesTotal: 812 * mb, FilesTotal: 1, ETASeconds: -1, Added: now.Add(-2 * time.Minute),
			Limit: &api.JobLimit{Reason: api.LimitWaitingPeers,
				Detail: "No peer has the package yet: the tracker has not answered with a colleague or the server."}},
		{ID: "PS100060", Name: "Microsoft Teams", Version: "24335", State: api.StateQueued, Priority: api.Low,
			BytesTotal: 146 * mb, FilesTotal: 3, ETASeconds: -1, Added: now.Add(-4 * time.Minute),
			Limit: &api.JobLimit{Reason: api.LimitQueued, Detail: "Waits while downloads of a higher priority run."}},
		{ID: "PS100007", Name: "Adobe Acrobat Reader", Version: "24.005", State: api.StateSuspended, Priority: api.Normal,
			BytesTotal: 688 * mb, BytesDone: 241 * mb, FilesTotal: 7, FilesDone: 2, Downloaded: 241 * mb,
			DownloadedSite: 241 * mb, Sources: &api.Sources{Site: 241 * mb}, ETASeconds: -1, Added: now.Add(-3 * time.Hour),
			Limit: &api.JobLimit{Reason: api.LimitSuspended, Detail: "Paused by a user; Resume starts it again."}},
		{ID: "PS100044", Name: "SAP GUI for Windows", Version: "8.00 PL6", State: api.StateTransientError, Priority: api.Low,
			Error:     "tracker https://tracker.hq.example.com unreachable: connection timed out",
			NextRetry: now.Add(40 * time.Second), BytesTotal: 1210 * mb, BytesDone: 530 * mb,
			Downloaded: 530 * mb, DownloadedSite: 490 * mb, DownloadedServer: 40 * mb, ETASeconds: -1,
			Sources: &api.Sources{Site: 490 * mb, Origin: 40 * mb, IsGateway: true},
			Limit:   &api.JobLimit{Reason: api.LimitError, Detail: "Waits for the tracker; the next try is automatic."},
			Added:   now.Add(-50 * time.Minute)},
		{ID: "PS100050", Name: "AutoCAD LT 2025 with the Architecture toolset and the Express Tools add-ins",
			Version: "2025.1.1", State: api.StateError, Priority: api.Normal,
			Error:      "disk full: the cache folder needs 6.2 GiB more. Free space on D: or lower the cache cap, then click Retry",
			BytesTotal: 7100 * mb, BytesDone: 920 * mb, Downloaded: 920 * mb, DownloadedSite: 800 * mb,
			DownloadedServer: 120 * mb, Sources: &api.Sources{Site: 800 * mb, Origin: 120 * mb},
			Limit:      &api.JobLimit{Reason: api.LimitError, Detail: "Stopped: the disk is full."},
			ETASeconds: -1, Added: now.Add(-5 * time.Hour)},
		{ID: "PS100001", Name: "7-Zip", Version: "24.08", State: api.StateTransferred, Priority: api.Normal,
			BytesTotal: 2 * mb, BytesDone: 2 * mb, Uploaded: 31 * mb, Downloaded: 2 * mb, UpRate: 0,
			Added: now.Add(-9 * 24 * time.Hour), Completed: now.Add(-9 * 24 * time.Hour),
			LastUsed: now.Add(-9 * 24 * time.Hour), Assigned: true},
		{ID: "PS100003", Name: "Firefox ESR", Version: "128.5", State: api.StateTransferred, Priority: api.Normal,
			BytesTotal: 96 * mb, BytesDone: 96 * mb, Uploaded: 402 * mb, UpRate: 310 << 10,
			Added: now.Add(-30 * time.Hour), Completed: now.Add(-29 * time.Hour),
			LastUsed: now.Add(-29 * time.Hour), SeedUntil: now.Add(43 * time.Hour)},
		{ID: "PS100009", Name: "Citrix Workspace", Version: "2409", State: api.StateTransferred, Priority: api.Normal,
			BytesTotal: 321 * mb, BytesDone: 321 * mb, Uploaded: 190 * mb, UpRate: 0,
			Added: now.Add(-80 * time.Hour), Completed: now.Add(-79 * time.Hour),
			LastUsed: now.Add(-70 * time.Hour), SeedUntil: now.Add(2 * time.Hour)},
		{ID: "PS100021", Name: "Windows 11 24H2 feature update", Version: "26100.2605", State: api.StateTransferred,
			Priority: api.High, BytesTotal: 4 * gb, BytesDone: 4 * gb, Uploaded: 9 * gb, UpRate: 1200 << 10,
			Added: now.Add(-6 * 24 * time.Hour), Completed: now.Add(-6 * 24 * time.Hour),
			LastUsed: now.Add(-20 * time.Hour), Assigned: true},
	}
}

// officePeers are the peers of the demo's running download at a total rate:
// the site's gateway, two colleagues and the server.
func officePeers(total int64) []api.JobPeer {
	return []api.JobPeer{
		{Address: "192.0.2.15:6881", Kind: api.PeerGateway, Client: "SMSTorrent 0.9", DownRate: total * 45 / 100, UpRate: 0},
		{Address: "192.0.2.41:6881", Kind: api.PeerSite, Client: "SMSTorrent 0.9", DownRate: total * 25 / 100, UpRate: 300 << 10},
		{Address: "192.0.2.67:6881", Kind: api.PeerSite, Client: "SMSTorrent 0.9", DownRate: total * 15 / 100, UpRate: 600 << 10},
		{Address: "198.51.100.20:6881", Kind: api.PeerOrigin, Client: "SMSTorrent 0.9", DownRate: total - total*85/100},
	}
}

// Status returns a service status as at the moment now, with the given
// access.
func Status(now time.Time, access api.Access) api.Status {
	return api.Status{
		Version: "0.9.0-demo", APIVersion: api.APIVersion, Started: now.Add(-(3*24*time.Hour + 5*time.Hour + 12*time.Minute)),
		Site: "Branch Tallinn-03", DataDir: "/var/lib/smstorrent", CacheDir: "/var/lib/smstorrent/cache",
		LogDir: "/var/log/smstorrent",
		Repository: api.Reachability{URL: "https://sccm-repo.hq.example.com", Reachable: true,
			Checked: now.Add(-40 * time.Second)},
		Bandwidth: api.Bandwidth{LimitDown: 20 * mb, LimitUp: 10 * mb, EffectiveDown: 6 * mb, EffectiveUp: 2 * mb,
			Reason: "schedule", Detail: "Business hours (Mon–Fri 08:00–17:00): background transfers limited to 6 MiB/s down, 2 MiB/s up.",
			Schedule: "Mon–Fri 08:00–17:00: 6 MiB/s down, 2 MiB/s up; otherwise the configured limits"},
		DownRate: 4600 << 10, UpRate: 2410 << 10,
		Jobs: map[api.State]int{api.StateTransferring: 1, api.StateConnecting: 1, api.StateQueued: 1,
			api.StateSuspended: 1, api.StateTransientError: 1, api.StateError: 1, api.StateTransferred: 4},
		CacheBytes: 14 * gb, CacheLimit: 50 * gb,
		RecentErrors: []api.LogEntry{
			{Time: now.Add(-3 * time.Minute), Level: "error", Job: "PS100050",
				Message: "writing piece 118: no space left on device (D:\\SMSTorrent\\cache)"},
			{Time: now.Add(-90 * time.Second), Level: "warn", Job: "PS100044",
				Message: "announce to https://tracker.hq.example.com failed: connection timed out; retrying in 40 s"},
			{Time: now.Add(-26 * time.Hour), Level: "warn",
				Message: "refused torrent PS100099: signed by an unknown key (ed25519:Qm3…)"},
			{Time: now.Add(-2 * time.Hour), Level: "warn",
				Message: "banned peer 10.20.3.77: it sent data that failed the piece hash check"},
		},
		BannedPeers: []api.BannedPeer{{Address: "10.20.3.77", Time: now.Add(-2 * time.Hour)}},
		Access:      access, ListenPort: 6881,
	}
}

// Backend is an in-memory service: it streams a snapshot and then, once a
// second, progress and status, and it carries out the actions.
type Backend struct {
	// Access is what the demo user may do; empty: control.
	Access api.Access

	mu      sync.Mutex
	jobs    []api.Job
	status  api.Status
	subs    map[chan api.Event]struct{}
	started bool
	start   time.Time
}

func (b *Backend) init() {
	if b.started {
		return
	}
	b.started = true
	now := time.Now()
	b.start = now
	b.jobs = Jobs(now)
	if b.Access == "" {
		b.Access = api.AccessControl
	}
	b.status = Status(now, b.Access)
	b.status.DownRate, b.status.UpRate = rates(300)
	b.jobs[0].DownRate = b.status.DownRate
	b.subs = map[chan api.Event]struct{}{}
}

// Watch streams events until ctx is done.
func (b *Backend) Watch(ctx context.Context, fn func(api.Event)) {
	b.mu.Lock()
	b.init()
	ch := make(chan api.Event, 64)
	b.subs[ch] = struct{}{}
	snap := api.Event{Type: api.EventSnapshot, Time: time.Now(), Jobs: append([]api.Job(nil), b.jobs...), Status: b.statusCopy()}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}()
	// Five minutes of made-up history, so that the chart has a past.
	now := time.Now()
	for i := 300; i > 0; i-- {
		at := now.Add(-time.Duration(i) * time.Second)
		st := *snap.Status
		st.DownRate, st.UpRate = rates(float64(300 - i))
		fn(api.Event{Type: api.EventStatus, Time: at, Status: &st})
	}
	fn(snap)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-ch:
			fn(ev)
		case now := <-tick.C:
			for _, ev := range b.step(now) {
				fn(ev)
			}
		}
	}
}

func (b *Backend) statusCopy() *api.Status {
	st := b.status
	st.Jobs = map[api.State]int{}
	for _, j := range b.jobs {
		st.Jobs[j.State]++
	}
	return &st
}

// step advances the simulation by a second and returns its events.
func (b *Backend) step(now time.Time) []api.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var evs []api.Event
	var down, up int64
	total, totalUp := rates(300 + now.Sub(b.start).Seconds())
	n := int64(0)
	for _, j := range b.jobs {
		if j.State == api.StateTransferring {
			n++
		}
	}
	total /= max(n, 1)
	for i := range b.jobs {
		j := &b.jobs[i]
		switch j.State {
		case api.StateTransferring:
			j.DownRate = total
			j.BytesDone = min(j.BytesTotal, j.BytesDone+j.DownRate)
			j.Downloaded += j.DownRate
			j.DownloadedSite += j.DownRate * 85 / 100
			j.DownloadedServer += j.DownRate - j.DownRate*85/100
			if s := j.Sources; s != nil {
				src := *s
				src.Site += j.DownRate * 85 / 100
				src.Origin += j.DownRate - j.DownRate*85/100
				src.Peers = officePeers(j.DownRate)
				j.Sources = &src
			}
			if j.DownRate > 0 {
				j.ETASeconds = (j.BytesTotal - j.BytesDone) / j.DownRate
			}
			if j.BytesDone == j.BytesTotal {
				j.State, j.DownRate, j.ETASeconds, j.Completed, j.LastUsed = api.StateTransferred, 0, 0, now, now
				j.SeedUntil = now.Add(72 * time.Hour)
				evs = append(evs, api.Event{Type: api.EventJobTransferred, Time: now, Job: ptr(*j)})
			}
			evs = append(evs, api.Event{Type: api.EventJob, Time: now, Job: ptr(*j)})
		case api.StateTransferred:
			if j.UpRate > 0 {
				j.Uploaded += j.UpRate
				evs = append(evs, api.Event{Type: api.EventJob, Time: now, Job: ptr(*j)})
			}
		}
		down += j.DownRate
		up += j.UpRate
	}
	b.status.DownRate, b.status.UpRate = down, max(up, totalUp)
	evs = append(evs, api.Event{Type: api.EventStatus, Time: now, Status: b.statusCopy()})
	return evs
}

// rates makes a plausible rate curve t seconds into the demo's story: a
// download that ramped up a few minutes before the window opened (t = 300),
// with upload to other PCs of the site following it.
func rates(t float64) (down, up int64) {
	ramp := math.Min(1, math.Max(0, (t-50)/60))
	wave := 0.5 + 0.5*math.Sin(t/17)
	down = int64((3.4*ramp + 1.4*wave*ramp + 0.25) * mb)
	up = int64((1.2*ramp + 0.9*math.Abs(math.Sin(t/29))*ramp + 0.1) * mb)
	return down, up
}

func ptr[T any](v T) *T { return &v }

func (b *Backend) publish(ev api.Event) {
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

func (b *Backend) check() error {
	if b.Access != api.AccessControl {
		return api.Errorf(403, api.CodeForbidden, "this call needs the control token")
	}
	return nil
}

// change applies f to one job and publishes it.
func (b *Backend) change(id string, f func(j *api.Job) error) (*api.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.init()
	if err := b.check(); err != nil {
		return nil, err
	}
	for i := range b.jobs {
		if b.jobs[i].ID == id {
			if err := f(&b.jobs[i]); err != nil {
				return nil, err
			}
			j := b.jobs[i]
			b.publish(api.Event{Type: api.EventJob, Time: time.Now(), Job: &j})
			return &j, nil
		}
	}
	return nil, api.Errorf(404, api.CodeNotFound, "no job %s", id)
}

func conflict(j *api.Job, what string) error {
	return api.Errorf(409, api.CodeConflict, "cannot %s %s: it is %s", what, j.ID, j.State)
}

// Pause suspends a job.
func (b *Backend) Pause(_ context.Context, id string) (*api.Job, error) {
	return b.change(id, func(j *api.Job) error {
		if j.State.Final() || j.State == api.StateSuspended {
			return conflict(j, "pause")
		}
		j.State, j.DownRate, j.ETASeconds = api.StateSuspended, 0, -1
		return nil
	})
}

// Resume resumes or retries a job.
func (b *Backend) Resume(_ context.Context, id string) (*api.Job, error) {
	return b.change(id, func(j *api.Job) error {
		if j.State != api.StateSuspended && j.State != api.StateError && j.State != api.StateTransientError {
			return conflict(j, "resume")
		}
		j.State, j.Error, j.NextRetry = api.StateTransferring, "", time.Time{}
		return nil
	})
}

// Cancel cancels a job.
func (b *Backend) Cancel(_ context.Context, id string) (*api.Job, error) {
	return b.change(id, func(j *api.Job) error {
		if j.State == api.StateTransferred || j.State == api.StateCancelled {
			return conflict(j, "cancel")
		}
		j.State, j.DownRate, j.ETASeconds, j.BytesDone = api.StateCancelled, 0, -1, 0
		return nil
	})
}

// SetPriority changes a job's priority.
func (b *Backend) SetPriority(_ context.Context, id string, p api.Priority) (*api.Job, error) {
	return b.change(id, func(j *api.Job) error {
		if p.Rank() < 0 {
			return api.Errorf(400, api.CodeBadRequest, "unknown priority %q", p)
		}
		j.Priority = p
		return nil
	})
}

func (b *Backend) all(f func(j *api.Job) bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.init()
	if err := b.check(); err != nil {
		return err
	}
	for i := range b.jobs {
		if f(&b.jobs[i]) {
			j := b.jobs[i]
			b.publish(api.Event{Type: api.EventJob, Time: time.Now(), Job: &j})
		}
	}
	return nil
}

// PauseAll suspends every job that is not final.
func (b *Backend) PauseAll(context.Context) error {
	return b.all(func(j *api.Job) bool {
		if j.State.Final() || j.State == api.StateSuspended {
			return false
		}
		j.State, j.DownRate, j.ETASeconds = api.StateSuspended, 0, -1
		return true
	})
}

// ResumeAll resumes every suspended job.
func (b *Backend) ResumeAll(context.Context) error {
	return b.all(func(j *api.Job) bool {
		if j.State != api.StateSuspended {
			return false
		}
		j.State = api.StateTransferring
		return true
	})
}

// Throttle sets or clears the helpdesk throttle.
func (b *Backend) Throttle(_ context.Context, r api.ThrottleRequest) (*api.Bandwidth, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.init()
	if err := b.check(); err != nil {
		return nil, err
	}
	bw := &b.status.Bandwidth
	if r.Clear {
		bw.Override, bw.OverrideUntil = false, time.Time{}
		bw.EffectiveDown, bw.EffectiveUp, bw.Reason = 6*mb, 2*mb, "schedule"
		bw.Detail = "Business hours (Mon–Fri 08:00–17:00): background transfers limited to 6 MiB/s down, 2 MiB/s up."
	} else {
		bw.Override, bw.EffectiveDown, bw.EffectiveUp, bw.Reason = true, r.Down, r.Up, "override"
		bw.OverrideUntil = time.Time{}
		if r.ForSeconds > 0 {
			bw.OverrideUntil = time.Now().Add(time.Duration(r.ForSeconds) * time.Second)
		}
		bw.Detail = fmt.Sprintf("The helpdesk set %s down, %s up.", units.Limit(r.Down), units.Limit(r.Up))
	}
	b.publish(api.Event{Type: api.EventStatus, Time: time.Now(), Status: b.statusCopy()})
	out := *bw
	return &out, nil
}
