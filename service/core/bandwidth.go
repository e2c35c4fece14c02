package core

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
)

// bandwidth is the rate policy: configured limits, the schedule and the
// helpdesk override. The delay controller (yield) comes on top.
type bandwidth struct {
	cfgDown, cfgUp int64
	schedule       []config.Window

	override      bool
	ovDown, ovUp  int64
	overrideUntil time.Time // zero: until cleared
}

func (b *bandwidth) expire(now time.Time) {
	if b.override && !b.overrideUntil.IsZero() && !now.Before(b.overrideUntil) {
		b.override = false
	}
}

// policy returns the limits in force from configuration, schedule and
// override (0 = unlimited) and why.
func (b *bandwidth) policy(now time.Time) (down, up int64, reason, detail string) {
	switch {
	case b.override:
		until := "until cleared"
		if !b.overrideUntil.IsZero() {
			until = "for " + b.overrideUntil.Sub(now).Round(time.Second).String()
		}
		return b.ovDown, b.ovUp, "override", fmt.Sprintf("helpdesk throttle: down %s, up %s, %s", rateText(b.ovDown), rateText(b.ovUp), until)
	}
	if w, ok := config.ActiveWindow(b.schedule, now.Local()); ok {
		return int64(w.LimitDown), int64(w.LimitUp), "schedule", w.Describe()
	}
	if b.cfgDown > 0 || b.cfgUp > 0 {
		return b.cfgDown, b.cfgUp, "limit", fmt.Sprintf("configured limits: down %s, up %s", rateText(b.cfgDown), rateText(b.cfgUp))
	}
	return 0, 0, "unlimited", "no limit is set"
}

// bandwidthPolicy owns the engine's rate limiters and decides where they
// stand: the policy (helpdesk throttle, else the schedule window, else the
// configured limits) on the whole engine, and on top, for traffic that
// crosses the WAN, the yield controller (yieldloop.go). It has its own lock;
// the job scheduler tells it what the jobs are doing (setActivity) instead of
// it reading the jobs.
type bandwidthPolicy struct {
	now    func() time.Time
	log    *slog.Logger
	yield  bool          // yield is configured (it may still be off: no probe address)
	target time.Duration // yield_target
	// yieldOff says why the yield controller does not run; "" when it does.
	yieldOff string

	// down and up limit the whole engine (the policy); wanDown and wanUp
	// hold back traffic that crosses the WAN (servers, other sites) while
	// yielding; site peers are never held back by them.
	down, up, wanDown, wanUp *rate.Limiter
	// wanRead and wanWritten count the bytes of connections across the WAN.
	wanRead, wanWritten atomic.Int64
	// wake is closed (and replaced) whenever a limit moves, so that a
	// connection asleep on the old limit wakes at once (limitedConn).
	wake atomic.Pointer[chan struct{}]

	mu sync.Mutex
	bw bandwidth
	y  yieldState
	// What the jobs are doing, as of the scheduler's last pass.
	foregroundMoving bool // a foreground job moves data: nothing is held back
	backgroundWork   bool // a background job is still to be transferred
}

func newBandwidthPolicy(cfg config.Config, now func() time.Time, log *slog.Logger) *bandwidthPolicy {
	// Our own limiters: the library's default upload limiter is shared
	// package state. The engine gets the upload limiter (it reserves a
	// chunk, and if it must wait, sets a timer and moves on); the download
	// limiters apply in our sockets (limitedConn), because the engine's
	// reader sleeps for the old limit's time after each read, where a
	// cleared 2 B/s throttle kept a transfer stuck for minutes. Web seeds
	// (HTTP) use the engine's reader with the policy's limiter.
	// Bursts stay at least one chunk (16 KiB) or peer connections fail.
	b := &bandwidthPolicy{
		now: now, log: log, yield: cfg.Yield, target: cfg.YieldTarget.D(),
		down:    rate.NewLimiter(rate.Inf, 1<<20),
		up:      rate.NewLimiter(rate.Inf, 1<<20),
		wanDown: rate.NewLimiter(rate.Inf, 1<<20),
		wanUp:   rate.NewLimiter(rate.Inf, 1<<20),
	}
	b.bw.cfgDown, b.bw.cfgUp = int64(cfg.LimitDown), int64(cfg.LimitUp)
	b.bw.schedule = cfg.Schedule
	b.y.limDown, b.y.limUp = math.Inf(1), math.Inf(1)
	w := make(chan struct{})
	b.wake.Store(&w)
	switch probe := cfg.ProbeAddr(); {
	case !cfg.Yield:
		b.yieldOff = "yield is off in the configuration (yield: false)"
	case probe == "":
		b.yieldOff = "nothing to measure the path to hq by: neither repository nor yield_probe is configured"
	case loopbackAddr(probe):
		b.yieldOff = "the path to hq (" + probe + ") is on this machine: no shared link to give way on"
	default:
		b.y.down = newDelayController(cfg.YieldTarget.D())
		b.y.up = newDelayController(cfg.YieldTarget.D())
	}
	return b
}

// upLimited reports whether a helpdesk throttle or the schedule limits the
// upload now, and to what (bytes per second): what the role message tells
// peers (roles.go).
func (b *bandwidthPolicy) upLimited() (bool, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, up, reason, _ := b.bw.policy(b.now())
	return up > 0 && (reason == "override" || reason == "schedule"), up
}

// yielding reports whether the yield controller runs (yield is on and there
// is a path to hq to measure).
func (b *bandwidthPolicy) yielding() bool { return b.y.down != nil }

// setActivity records what the jobs are doing and moves the limiters if
// that changes what is held back.
func (b *bandwidthPolicy) setActivity(foregroundMoving, backgroundWork bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.foregroundMoving, b.backgroundWork = foregroundMoving, backgroundWork
	b.applyLocked(b.now())
}

// tick ends an expired throttle and moves the limiters.
func (b *bandwidthPolicy) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.bw.expire(now)
	b.applyLocked(now)
}

// describe combines the policy with the delay controller for the status.
func (b *bandwidthPolicy) describe() api.Bandwidth {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.describeLocked(b.now())
}

func (b *bandwidthPolicy) describeLocked(now time.Time) api.Bandwidth {
	bw := &b.bw
	d, u, reason, detail := bw.policy(now)
	out := api.Bandwidth{
		LimitDown: bw.cfgDown, LimitUp: bw.cfgUp,
		EffectiveDown: d, EffectiveUp: u,
		Reason: reason, Detail: detail, Override: bw.override,
	}
	if bw.override {
		out.OverrideUntil = bw.overrideUntil
	}
	var ws []string
	for _, w := range bw.schedule {
		ws = append(ws, w.Describe())
	}
	out.Schedule = strings.Join(ws, "; ")
	y := &b.y
	if y.measuring {
		out.QueueDelayMS = y.qd.Milliseconds()
		out.BaseDelayMS = y.base.Milliseconds()
	}
	ed, eu := b.effective(now)
	wd, wu := b.wanLimits()
	out.EffectiveDown, out.EffectiveUp = minLimit(ed, wd), minLimit(eu, wu)
	if y.down != nil && (y.down.Yielding(now) || y.up.Yielding(now)) && !b.foregroundMoving {
		out.Yielding = true
		out.Reason = "yielding"
		out.Detail = fmt.Sprintf("giving way to other traffic: the delay to hq is %d ms over its %d ms base (target %d ms); transfers across the WAN limited to down %s, up %s (transfers inside the site are not held back)",
			y.qd.Milliseconds(), y.base.Milliseconds(), b.target.Milliseconds(), rateText(out.EffectiveDown), rateText(out.EffectiveUp))
	}
	if y.probeErr != "" && b.yield {
		out.Detail += "; cannot measure the path to hq (" + y.probeErr + "), so not yielding"
	}
	switch {
	case b.yieldOff != "":
		out.YieldOff, out.YieldOffReason = true, b.yieldOff
	case y.probeErr != "":
		out.YieldOff, out.YieldOffReason = true, "cannot measure the path to hq ("+y.probeErr+")"
	}
	return out
}

// effective returns the policy limits applied to the whole engine now
// (0 = unlimited). Called with b.mu.
func (b *bandwidthPolicy) effective(now time.Time) (down, up int64) {
	down, up, _, _ = b.bw.policy(now)
	return down, up
}

// wanLimits returns the yield limits for traffic that crosses the WAN
// (0 = unlimited): the delay controller's, unless a foreground job is moving
// data. Called with b.mu.
func (b *bandwidthPolicy) wanLimits() (down, up int64) {
	if b.y.down == nil || b.foregroundMoving {
		return 0, 0
	}
	lim := func(x float64) int64 {
		v, ok := finite(x)
		if !ok {
			return 0
		}
		return max(v, 1)
	}
	return lim(b.y.limDown), lim(b.y.limUp)
}

// minLimit combines two limits where 0 means unlimited.
func minLimit(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

func rateText(n int64) string { return config.Rate(n).String() }

// setLimit moves a limiter; it reports whether the limit changed.
func setLimit(l *rate.Limiter, bps int64) bool {
	want := rate.Inf
	if bps > 0 {
		want = rate.Limit(bps)
	}
	changed := l.Limit() != want
	if changed {
		l.SetLimit(want)
	}
	// Keep bursts small against the limit so a cap shows within a second,
	// but never below one 16 KiB chunk.
	burst := 1 << 20
	if bps > 0 {
		burst = max(min(int(bps/4), 1<<20), 64<<10)
	}
	if l.Burst() != burst {
		l.SetBurst(burst)
	}
	return changed
}

// applyLocked moves the engine's limiters to the policy and the WAN
// limiters to the delay controller. Called with b.mu.
func (b *bandwidthPolicy) applyLocked(now time.Time) {
	d, u := b.effective(now)
	changed := setLimit(b.down, d)
	changed = setLimit(b.up, u) || changed
	wd, wu := b.wanLimits()
	changed = setLimit(b.wanDown, wd) || changed
	changed = setLimit(b.wanUp, wu) || changed
	if changed {
		w := make(chan struct{})
		close(*b.wake.Swap(&w))
	}
}

// changed returns a channel that is closed when a limit next moves.
func (b *bandwidthPolicy) changed() <-chan struct{} { return *b.wake.Load() }

// downLimited reports whether any download limit is in force.
func (b *bandwidthPolicy) downLimited() bool {
	return b.down.Limit() != rate.Inf || b.wanDown.Limit() != rate.Inf
}

// wrapPeer puts a peer connection under the policy's download limiter
// and, if it crosses the WAN, under the WAN (yield) limiters and counters.
func (b *bandwidthPolicy) wrapPeer(c net.Conn, wan bool) net.Conn {
	lc := &limitedConn{Conn: c, down: []*rate.Limiter{b.down}, wake: b.changed}
	if wan {
		lc.down = append(lc.down, b.wanDown)
		lc.up, lc.read, lc.written = b.wanUp, &b.wanRead, &b.wanWritten
	}
	return lc
}

// throttle sets or clears the helpdesk throttle. It takes effect at once.
func (b *bandwidthPolicy) throttle(r api.ThrottleRequest) (api.Bandwidth, error) {
	if r.Down < 0 || r.Up < 0 || r.ForSeconds < 0 {
		return api.Bandwidth{}, badRequest("rates and duration must not be negative")
	}
	if r.ForSeconds > 366*24*3600 {
		return api.Bandwidth{}, badRequest("for_seconds: at most a year")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if r.Clear {
		b.bw.override = false
		b.log.Info("helpdesk throttle cleared")
	} else {
		b.bw.override = true
		b.bw.ovDown, b.bw.ovUp = r.Down, r.Up
		b.bw.overrideUntil = timeZero
		if r.ForSeconds > 0 {
			b.bw.overrideUntil = now.Add(time.Duration(r.ForSeconds) * time.Second)
		}
		b.log.Info("helpdesk throttle set", "down", rateText(r.Down), "up", rateText(r.Up), "for_seconds", r.ForSeconds)
	}
	b.applyLocked(now)
	return b.describeLocked(now), nil
}

// Throttle sets or clears the helpdesk throttle. It takes effect at once.
func (s *Service) Throttle(r api.ThrottleRequest) (api.Bandwidth, error) {
	out, err := s.bw.throttle(r)
	if err == nil {
		s.poke()
	}
	return out, err
}

// limitsNow is what the bandwidth policy holds back right now, for the
// jobs' limiting reasons (explain.go).
type limitsNow struct {
	down         int64  // the policy's download limit; 0: none
	reason       string // "override", "schedule", "limit" or "unlimited"
	detail       string
	yielding     bool  // the yield controller holds WAN traffic back
	wanDown      int64 // its download limit across the WAN; 0: none
	foreground   bool  // a foreground job moves data (background jobs wait)
	queueDelayMS int64
}

func (b *bandwidthPolicy) limitsNow() limitsNow {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	d, _, reason, detail := b.bw.policy(now)
	out := limitsNow{down: d, reason: reason, detail: detail, foreground: b.foregroundMoving}
	if y := &b.y; y.down != nil && !b.foregroundMoving && (y.down.Yielding(now) || y.up.Yielding(now)) {
		out.yielding = true
		out.wanDown, _ = b.wanLimits()
		out.queueDelayMS = y.qd.Milliseconds()
	}
	return out
}
