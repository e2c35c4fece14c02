package core

import (
	"math"
	"time"
)

// delayController is LEDBAT's idea applied to a whole transfer rate: it
// watches the round-trip time to hq, keeps the base (minimum) delay over the
// last minutes, and moves a rate limit so that the queueing delay the
// service adds stays under a target. When someone else's traffic fills the
// branch's link, the delay rises and every PC's background transfers back
// off; when the link is idle again, they take it back.
//
// It is plain logic driven by Sample and Update, so tests feed it synthetic
// delay traces. It is not safe for concurrent use.
type delayController struct {
	target time.Duration
	floor  float64 // never limit below this, bytes/s

	// base delay: minimum per bucket, over the last len(buckets) buckets.
	bucketLen time.Duration
	buckets   []bucketMin
	// current delay: minimum of the last few samples (filters noise).
	recent []delaySample

	limit        float64 // current limit, bytes/s; +Inf when not limiting
	started      bool
	slowStart    bool
	ssCeil       float64   // leave slow start at this limit
	congested    bool      // the delay is above target
	congestedAt  time.Time // since when
	capacity     float64   // the rate that flowed when the queue last passed the target
	lastQd       time.Duration
	recentPeak   float64
	recentPeakAt time.Time
	calmSince    time.Time
	lastUpdate   time.Time
	lastDecrease time.Time
}

type bucketMin struct {
	start time.Time
	min   time.Duration
}

type delaySample struct {
	at  time.Time
	rtt time.Duration
}

const (
	baseBuckets   = 10
	recentSamples = 2
	staleAfter    = 3 * time.Second
)

func newDelayController(target time.Duration) *delayController {
	return &delayController{target: target, floor: 16 << 10, bucketLen: time.Minute, limit: math.Inf(1)}
}

// Sample records one round-trip time measured at now.
func (c *delayController) Sample(now time.Time, rtt time.Duration) {
	if rtt <= 0 {
		return
	}
	c.recent = append(c.recent, delaySample{now, rtt})
	if len(c.recent) > recentSamples {
		c.recent = c.recent[len(c.recent)-recentSamples:]
	}
	n := len(c.buckets)
	if n == 0 || now.Sub(c.buckets[n-1].start) >= c.bucketLen {
		c.buckets = append(c.buckets, bucketMin{now, rtt})
		if len(c.buckets) > baseBuckets {
			c.buckets = c.buckets[1:]
		}
		return
	}
	if rtt < c.buckets[n-1].min {
		c.buckets[n-1].min = rtt
	}
}

// Base is the base delay: the smallest RTT seen over the last minutes.
func (c *delayController) Base() time.Duration {
	var m time.Duration
	for i, b := range c.buckets {
		if i == 0 || b.min < m {
			m = b.min
		}
	}
	return m
}

// Queueing is the current delay above the base, or -1 without fresh samples.
func (c *delayController) Queueing(now time.Time) time.Duration {
	var cur time.Duration = -1
	for _, s := range c.recent {
		if now.Sub(s.at) > staleAfter {
			continue
		}
		if cur < 0 || s.rtt < cur {
			cur = s.rtt
		}
	}
	if cur < 0 {
		return -1
	}
	return cur - c.Base()
}

// Update moves the limit given the measured transfer rate (bytes/s) and
// returns it (+Inf when the controller does not limit). Call it a few
// times a second, after Sample.
//
// Like TCP, it starts slowly and doubles quickly (slow start) until the
// delay rises, then increases additively and cuts multiplicatively when
// the queueing delay passes the target; an idle path (delay well under the
// target for a while) sends it back to slow start, so the link is taken back
// within seconds when other traffic stops.
func (c *delayController) Update(now time.Time, rate float64) float64 {
	dt := 0.25
	if !c.lastUpdate.IsZero() {
		dt = math.Min(math.Max(now.Sub(c.lastUpdate).Seconds(), 0.01), 2)
	}
	c.lastUpdate = now
	qd := c.Queueing(now)
	if qd < 0 {
		// No fresh measurement (hq unreachable, probing off): do not limit,
		// and start slowly once measurements return.
		c.limit = math.Inf(1)
		c.slowStart = true
		c.started = false
		return c.limit
	}
	if !c.started || math.IsInf(c.limit, 1) && qd > c.target {
		// First measurement, or an unlimited transfer that filled the queue:
		// begin from what flows (or the floor).
		c.started = true
		c.limit = math.Max(c.floor, rate)
		c.slowStart = qd <= c.target
		c.ssCeil = math.Inf(1)
	}
	if qd < c.target/4 {
		if c.calmSince.IsZero() {
			c.calmSince = now
		}
	} else {
		c.calmSince = time.Time{}
	}
	used := math.Max(rate, c.floor)
	// The smoothed rate lags; the highest of the last two seconds is a
	// better measure of what the path carried when the queue built up.
	if used > c.recentPeak || now.Sub(c.recentPeakAt) > 2*time.Second {
		c.recentPeak, c.recentPeakAt = used, now
	}
	// Hysteresis: once congested, the episode lasts until the queue is
	// well below target, so a delay hovering at the target keeps cutting.
	above := qd > c.target || c.congested && qd > c.target/2
	defer func() { c.lastQd = qd }()
	switch {
	case above && !c.congested:
		// The queue just passed the target: what flows now is about what
		// the path can take. Remember it and step a little below it so the
		// queue drains.
		c.congested = true
		c.congestedAt = now
		// Contention makes the flowing rate understate the path: only a
		// rate near the last estimate updates it, and then it may fall slowly.
		if c.recentPeak > 0.5*c.capacity {
			c.capacity = math.Max(c.recentPeak, 0.8*c.capacity)
		}
		c.limit = math.Max(c.floor, 0.9*math.Min(c.limit, used))
		c.slowStart = false
		c.lastDecrease = now
	case above:
		// Still above target after that, and the queue is not draining:
		// other traffic wants the path. Give way, harder the further above
		// target (down to x0.06/s). A queue that drains is our own, emptying.
		// Our own cut takes a moment to show (data in flight), so cut
		// again only when the queue has stayed up for a second and is not
		// draining. Several PCs of a site sharing the link all see the same
		// delay and all cut, like LEDBAT flows sharing a bottleneck.
		if now.Sub(c.congestedAt) >= time.Second && qd >= c.lastQd-c.target/10 {
			f := math.Min(0.9, math.Max(0.5, float64(c.target)/float64(qd)))
			c.limit = math.Max(c.floor, math.Min(c.limit, used)*math.Pow(f, dt/0.25))
			c.lastDecrease = now
		}
	case math.IsInf(c.limit, 1):
		c.congested = false
	case c.slowStart:
		c.congested = false
		c.limit = math.Min(c.limit*math.Pow(1.6, dt/0.25), c.headroom(used, 4))
		if qd > c.target/4 || c.limit >= c.ssCeil {
			c.slowStart = false
		}
	default:
		c.congested = false
		// Probe upwards gently, faster the emptier the queue.
		off := float64(c.target-qd) / float64(c.target)
		c.limit = math.Min(c.limit+math.Max(c.capacity, used)*0.12*off*dt, math.Max(c.limit, c.headroom(used, 2)))
		if !c.calmSince.IsZero() && now.Sub(c.calmSince) > time.Second && c.limit < 0.7*c.capacity {
			// Cut far below what the path carried, and the path is idle
			// again: take it back quickly.
			c.slowStart = true
			c.limit = math.Max(c.limit, 0.1*c.capacity)
			c.ssCeil = 0.9 * c.capacity
		}
	}
	return c.limit
}

// headroom is how far the limit may run ahead of what flows: the engine's
// rate lags its limit (requests in flight, 16 KiB chunks), so a cap close to
// the measured rate would hold the limit down; a loose one only keeps a
// transfer that is slow for other reasons from collecting a huge limit.
func (c *delayController) headroom(used, factor float64) float64 {
	return math.Max(used*factor, 16*c.floor)
}

// Yielding reports whether the controller cut the rate recently.
func (c *delayController) Yielding(now time.Time) bool {
	return !math.IsInf(c.limit, 1) && now.Sub(c.lastDecrease) < 5*time.Second
}
