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
	out.EffectiveDown, out.EffectiveUp = ed, eu
	if y.down != nil && (y.down.Yielding(now) || y.up.Yielding(now)) && !s.foregroundMoving() {
		out.Yielding = true
		out.Reason = "yielding"
		out.Detail = fmt.Sprintf("giving way to other traffic: the delay to hq is %d ms over its %d ms base (target %d ms); background transfers limited to down %s, up %s",
			y.qd.Milliseconds(), y.base.Milliseconds(), s.cfg.YieldTarget.D().Milliseconds(), rateText(ed), rateText(eu))
	}
	if y.probeErr != "" && s.cfg.Yield {
		out.Detail += "; cannot measure the path to hq (" + y.probeErr + "), so not yielding"
	}
	return out
}

// effective returns the limits applied to the engine now (0 = unlimited):
// the policy, lowered by the delay controller unless a foreground job is
// moving data. Called with s.mu.
func (s *Service) effective(now time.Time) (down, up int64) {
	down, up, _, _ = s.bw.policy(now)
	if s.yield.down == nil || s.foregroundMoving() {
		return down, up
	}
	lower := func(pol int64, ctrl float64) int64 {
		c, ok := finite(ctrl)
		if !ok {
			return pol
		}
		c = max(c, 1)
		if pol == 0 || c < pol {
			return c
		}
		return pol
	}
	return lower(down, s.yield.limDown), lower(up, s.yield.limUp)
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

// applyLimits moves the engine's limiters to the policy. Called with s.mu.
func (s *Service) applyLimits() {
	d, u := s.effective(s.now())
	setLimit(s.down, d)
	setLimit(s.up, u)
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
