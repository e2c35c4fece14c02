package core

import (
	"fmt"
	"net/http"
	"strings"
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

// describe combines the policy with the delay controller. Called with s.mu.
func (s *Service) describeBandwidth(now time.Time) api.Bandwidth {
	b := &s.bw
	d, u, reason, detail := b.policy(now)
	out := api.Bandwidth{
		LimitDown: b.cfgDown, LimitUp: b.cfgUp,
		EffectiveDown: d, EffectiveUp: u,
		Reason: reason, Detail: detail, Override: b.override,
	}
	if b.override {
		out.OverrideUntil = b.overrideUntil
	}
	var ws []string
	for _, w := range b.schedule {
		ws = append(ws, w.Describe())
	}
	out.Schedule = strings.Join(ws, "; ")
	y := &s.yield
	if y.measuring {
		out.QueueDelayMS = y.qd.Milliseconds()
		out.BaseDelayMS = y.base.Milliseconds()
	}
	ed, eu := s.effective(now)
	wd, wu := s.wanLimits()
	out.EffectiveDown, out.EffectiveUp = minLimit(ed, wd), minLimit(eu, wu)
	if y.down != nil && (y.down.Yielding(now) || y.up.Yielding(now)) && !s.foregroundMoving() {
		out.Yielding = true
		out.Reason = "yielding"
		out.Detail = fmt.Sprintf("giving way to other traffic: the delay to hq is %d ms over its %d ms base (target %d ms); transfers across the WAN limited to down %s, up %s (transfers inside the site are not held back)",
			y.qd.Milliseconds(), y.base.Milliseconds(), s.cfg.YieldTarget.D().Milliseconds(), rateText(out.EffectiveDown), rateText(out.EffectiveUp))
	}
	if y.probeErr != "" && s.cfg.Yield {
		out.Detail += "; cannot measure the path to hq (" + y.probeErr + "), so not yielding"
	}
	return out
}

// effective returns the policy limits applied to the whole engine now
// (0 = unlimited). Called with s.mu.
func (s *Service) effective(now time.Time) (down, up int64) {
	down, up, _, _ = s.bw.policy(now)
	return down, up
}

// wanLimits returns the yield limits for traffic that crosses the WAN
// (0 = unlimited): the delay controller's, unless a foreground job is moving
// data. Called with s.mu.
func (s *Service) wanLimits() (down, up int64) {
	if s.yield.down == nil || s.foregroundMoving() {
		return 0, 0
	}
	lim := func(x float64) int64 {
		v, ok := finite(x)
		if !ok {
			return 0
		}
		return max(v, 1)
	}
	return lim(s.yield.limDown), lim(s.yield.limUp)
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

func setLimit(l *rate.Limiter, bps int64) {
	want := rate.Inf
	if bps > 0 {
		want = rate.Limit(bps)
	}
	if l.Limit() != want {
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
}

// applyLimits moves the engine's limiters to the policy and the WAN
// limiters to the delay controller. Called with s.mu.
func (s *Service) applyLimits() {
	d, u := s.effective(s.now())
	setLimit(s.down, d)
	setLimit(s.up, u)
	wd, wu := s.wanLimits()
	setLimit(s.wanDown, wd)
	setLimit(s.wanUp, wu)
}

// Throttle sets or clears the helpdesk throttle. It takes effect at once.
func (s *Service) Throttle(r api.ThrottleRequest) (api.Bandwidth, error) {
	if r.Down < 0 || r.Up < 0 || r.ForSeconds < 0 {
		return api.Bandwidth{}, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "rates and duration must not be negative")
	}
	if r.ForSeconds > 366*24*3600 {
		return api.Bandwidth{}, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "for_seconds: at most a year")
	}
	s.mu.Lock()
	now := s.now()
	if r.Clear {
		s.bw.override = false
		s.log.Info("helpdesk throttle cleared")
	} else {
		s.bw.override = true
		s.bw.ovDown, s.bw.ovUp = r.Down, r.Up
		s.bw.overrideUntil = timeZero
		if r.ForSeconds > 0 {
			s.bw.overrideUntil = now.Add(time.Duration(r.ForSeconds) * time.Second)
		}
		s.log.Info("helpdesk throttle set", "down", rateText(r.Down), "up", rateText(r.Up), "for_seconds", r.ForSeconds)
	}
	s.applyLimits()
	out := s.describeBandwidth(now)
	s.mu.Unlock()
	s.poke()
	return out, nil
}
