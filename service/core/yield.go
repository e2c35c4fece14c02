package core

import (
	"math"
	"slices"
	"time"
)

// delayController is LEDBAT's idea applied to a whole transfer rate: it
// watches the round-trip time to hq, keeps the base (minimum) delay over the
// last minutes, and moves a rate limit so that the queueing delay the
// service adds stays under a target. When someone else's traffic fills the
// branch's link, the delay rises and every PC's background transfers back
// off; when the link is idle again, they take it back.
//
// It tells its own queue from other traffic by the rate: alone, the service
// fills the link, so a queue above target with the rate well below the
// link's capacity (the highest rate seen recently) means someone else is
// sending. Its own queue gets a gentle cut; other traffic a fast one, to
// the floor within about two seconds, and the limit stays there until the
// queue empties. Then it jumps back to half the capacity and grows.
//
// It is plain logic driven by Sample and Update, so tests feed it synthetic
// delay traces. It is not safe for concurrent use.
type delayController struct {
	target time.Duration
	floor  float64 // never limit below this, bytes/s

	// base delay: minimum per bucket, over the last len(buckets) buckets.
	bucketLen time.Duration
	buckets   []bucketMin
	// current delay: samples of the last filterWindow (see Queueing).
	recent []delaySample

	limit     float64 // current limit, bytes/s; +Inf when not limiting
	capacity  float64 // the highest rate seen while not yielding, decaying
	yielded   bool    // cut for other traffic; waiting for the queue to empty
	calmSince time.Time
	// calmNeeded is how long the queue must stay empty before a yielding
	// controller takes the path back. A loss-based flow's sawtooth empties
	// a shallow queue for moments, so it doubles (to calmMax) each time the
	// controller had to give way again soon after taking the path back.
	calmNeeded   time.Duration
	tookBackAt   time.Time
	interrupted  bool // the last take back met the other traffic again
	lastUpdate   time.Time
	lastDecrease time.Time
	lastOwnCut   time.Time
	lastQd       time.Duration
	highSince    time.Time // the queue is above target since
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
	baseBuckets  = 10
	filterWindow = 1100 * time.Millisecond // about four probes
	staleAfter   = 3 * time.Second
	// capacityHalfLife: how fast the capacity estimate forgets a higher rate.
	capacityHalfLife = 5 * time.Minute
	// othersCut is the factor per 250 ms while other traffic fills the path:
	// from 20 Mbit/s to the floor in about two seconds.
	othersCut = 0.5
	// othersHold is the factor per 250 ms while yielding with the queue
	// under the target but not empty.
	othersHold = 0.75
	// ownCut is the factor per ownCutEvery for a queue of our own.
	ownCut      = 0.85
	ownCutEvery = 500 * time.Millisecond
	// growth is the factor per 250 ms while the path is calm;
	// growthFromLow after a take back from a small rate.
	growth        = 1.3
	growthFromLow = 1.5
	// calmMin and calmMax bound calmNeeded.
	calmMin = time.Second
	calmMax = 3 * time.Second
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
	i := 0
	for i < len(c.recent)-1 && now.Sub(c.recent[i].at) > filterWindow {
		i++
	}
	c.recent = c.recent[i:]
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

// SampleLost records a probe lost in a full queue as a queue well above
// target (four times it): a congestion signal like any other.
func (c *delayController) SampleLost(now time.Time) {
	if b := c.Base(); b > 0 {
		c.Sample(now, b+4*c.target)
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

// Queueing is the current delay above the base, or -1 without fresh
// samples: the median of the last second's samples. A median sees the
// standing queue of a flow that fills the link and drains it in a
// sawtooth (a minimum sees only the troughs), and is not moved by one or
// two probes that met a passing burst (the sender releasing a window at
// once) or a busy CPU.
func (c *delayController) Queueing(now time.Time) time.Duration {
	var rtts []time.Duration
	for _, s := range c.recent {
		if now.Sub(s.at) > staleAfter || now.Sub(s.at) > filterWindow && len(rtts) > 0 {
			continue
		}
		rtts = append(rtts, s.rtt)
	}
	n := len(rtts)
	if n == 0 {
		return -1
	}
	slices.Sort(rtts)
	med := rtts[n/2]
	if n%2 == 0 {
		med = (rtts[n/2-1] + rtts[n/2]) / 2
	}
	return max(0, med-c.Base())
}

// Update moves the limit given the measured transfer rate (bytes/s) and
// returns it (+Inf when the controller does not limit). Call it a few
// times a second, after Sample.
//
// It is longer than our usual functions on purpose: it is one state machine
// (take back, yield to others, hold, cut for our own queue, grow), and its
// rules refer to each other's timestamps; read top to bottom it matches the
// description on delayController and the lab's traces (docs/LAB.md), split
// up it would scatter that order across helpers.
func (c *delayController) Update(now time.Time, rate float64) float64 {
	dt := 0.25
	if !c.lastUpdate.IsZero() {
		dt = math.Min(math.Max(now.Sub(c.lastUpdate).Seconds(), 0.01), 2)
	}
	c.lastUpdate = now
	steps := dt / 0.25
	qd := c.Queueing(now)
	if qd < 0 {
		// No fresh measurement (hq unreachable, probing off): do not limit.
		c.limit, c.yielded, c.calmSince = math.Inf(1), false, time.Time{}
		return c.limit
	}
	defer func() { c.lastQd = qd }()
	used := math.Max(rate, c.floor)
	if !c.yielded && qd <= c.target {
		// What the path carries to us alone.
		c.capacity = math.Max(c.capacity*math.Exp2(-dt/capacityHalfLife.Seconds()), rate)
	}
	if qd <= c.target {
		c.highSince = time.Time{}
	}
	calm := qd <= max(c.target/8, 2*time.Millisecond)
	// Under the target, but more than the sender's LEDBAT leaves (it aims
	// lower) and with our rate well under what the path carried: a flow
	// that fills a shallow queue shows only part of it.
	crowded := c.capacity > 0 && rate < 0.6*c.capacity && qd > 4*c.target/5
	if calm {
		if c.calmSince.IsZero() {
			c.calmSince = now
		}
	} else {
		c.calmSince = time.Time{}
	}
	switch {
	case qd > c.target || crowded:
		if c.highSince.IsZero() {
			c.highSince = now
		}
		// Someone else is sending if the queue is up while we get well
		// under what the path gave us alone, or while our own limit is
		// well under it (then the queue cannot be ours, once the queue our
		// last cut left has drained: a queue of our own empties at several
		// ms per probe once we cut). Several PCs of a site sharing the
		// link see the same delay and all cut, like LEDBAT flows sharing a
		// bottleneck.
		draining := qd < c.lastQd-c.target/4
		ownSettled := now.Sub(c.highSince) >= time.Second && !draining
		others := c.yielded || c.capacity > 0 &&
			(rate < 0.7*c.capacity || c.limit < 0.9*c.capacity && ownSettled)
		if others {
			if !c.yielded {
				switch {
				case c.calmNeeded == 0 || now.Sub(c.tookBackAt) > 30*time.Second:
					c.calmNeeded, c.interrupted = calmMin, false
				case now.Sub(c.tookBackAt) < 10*time.Second:
					c.calmNeeded = min(2*c.calmNeeded, calmMax)
					c.interrupted = true
				}
			}
			c.yielded = true
			c.limit = math.Max(c.floor, math.Min(c.limit, used)*math.Pow(othersCut, steps))
			c.lastDecrease = now
		} else if (!math.IsInf(c.limit, 1) || now.Sub(c.highSince) >= time.Second) &&
			now.Sub(c.lastOwnCut) >= ownCutEvery && !draining {
			// Our own queue (unlimited, only if it is not a passing
			// overshoot of the sender's LEDBAT): step a little below what
			// flows so it drains.
			c.limit = math.Max(c.floor, math.Min(c.limit, used)*ownCut)
			c.lastOwnCut, c.lastDecrease = now, now
		}
	case math.IsInf(c.limit, 1):
	case !calm:
		if c.yielded {
			// The other traffic is still there (a loss-based flow's queue
			// dips under the target between its losses): keep giving way.
			c.limit = math.Max(c.floor, math.Min(c.limit, used)*math.Pow(othersHold, steps))
			c.lastDecrease = now
		} else if c.limit < 1.2*used {
			// Alone under target: probe upwards gently.
			c.limit += 0.02 * math.Max(c.capacity, used) * dt
		}
	default:
		// The queue is (nearly) empty.
		if c.yielded {
			if now.Sub(c.calmSince) < c.calmNeeded {
				break
			}
			// The other traffic stopped: take the path back.
			c.yielded = false
			c.tookBackAt = now
			if c.interrupted {
				// The last time, the other traffic was still there (a
				// flow that keeps the queue empty, like BBR): come back
				// from a small rate, which costs it little if it is.
				c.limit = math.Max(c.limit, 0.15*c.capacity)
			} else {
				c.limit = math.Max(c.limit, 0.5*c.capacity)
			}
		}
		if c.limit < 0.95*c.capacity {
			// Quickly back towards what the path carried.
			g := growth
			if c.interrupted {
				g = growthFromLow
			}
			c.limit = math.Min(c.limit*math.Pow(g, steps), math.Min(0.95*c.capacity, math.Max(c.limit, c.headroom(used))))
		} else if c.limit < math.Min(1.2*used, 1.1*c.capacity) {
			// Then probe gently: the path may carry more (the capacity
			// follows what flows, and the cap with it).
			c.limit += 0.03 * math.Max(c.capacity, used) * dt
		}
	}
	return c.limit
}

// headroom is how far the limit may run ahead of what flows: the engine's
// rate lags its limit (requests in flight, 16 KiB chunks), so a cap close to
// the measured rate would hold the limit down; a loose one only keeps a
// transfer that is slow for other reasons from collecting a huge limit.
func (c *delayController) headroom(used float64) float64 {
	return math.Max(math.Max(used*2, 16*c.floor), 0.6*c.capacity)
}

// Yielding reports whether the controller is giving way or cut recently.
func (c *delayController) Yielding(now time.Time) bool {
	return !math.IsInf(c.limit, 1) && (c.yielded || now.Sub(c.lastDecrease) < 5*time.Second)
}
