package core

import (
	"fmt"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
)

// bandwidth is the rate policy: configured limits and the helpdesk override.
type bandwidth struct {
	cfgDown, cfgUp int64

	override      bool
	ovDown, ovUp  int64
	overrideUntil time.Time // zero: until cleared
}

func (b *bandwidth) expire(now time.Time) {
	if b.override && !b.overrideUntil.IsZero() && !now.Before(b.overrideUntil) {
		b.override = false
	}
}

// effective returns the limits in force (0 = unlimited) and why.
func (b *bandwidth) effective() (down, up int64, reason string) {
	if b.override {
		return b.ovDown, b.ovUp, "override"
	}
	if b.cfgDown > 0 || b.cfgUp > 0 {
		return b.cfgDown, b.cfgUp, "limit"
	}
	return 0, 0, "unlimited"
}

func (b *bandwidth) describe(now time.Time) api.Bandwidth {
	d, u, reason := b.effective()
	out := api.Bandwidth{
		LimitDown: b.cfgDown, LimitUp: b.cfgUp,
		EffectiveDown: d, EffectiveUp: u,
		Reason: reason, Override: b.override,
	}
	if b.override {
		out.OverrideUntil = b.overrideUntil
	}
	switch reason {
	case "override":
		until := "until cleared"
		if !b.overrideUntil.IsZero() {
			until = "for " + b.overrideUntil.Sub(now).Round(time.Second).String()
		}
		out.Detail = fmt.Sprintf("helpdesk throttle: down %s, up %s, %s", rateText(d), rateText(u), until)
	case "limit":
		out.Detail = fmt.Sprintf("configured limits: down %s, up %s", rateText(d), rateText(u))
	default:
		out.Detail = "no limit is set"
	}
	return out
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
	d, u, _ := s.bw.effective()
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
	out := s.bw.describe(now)
	s.mu.Unlock()
	s.poke()
	return out, nil
}
