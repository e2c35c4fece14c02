package core

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// link is a fluid model of a branch's WAN bottleneck: a FIFO queue of
// bounded size in front of a link of fixed capacity. A background flow
// offers min(limit, capacity*2); a loss-based foreground flow either keeps
// the buffer full (greedy) or, like CUBIC, sends a window per round trip,
// cuts it to 0.7 on a loss and grows it again: a sawtooth queue.
type link struct {
	capacity float64 // bytes/s
	buffer   float64 // bytes
	base     time.Duration
	qbg, qfg float64 // bytes of each flow in the queue
	sawtooth bool
	fgWindow float64 // the sawtooth flow's window, bytes
	// ledbat makes the background's sender delay-based, as uTP's is (the
	// transport across the WAN): it aims at ledbatTarget of queue and
	// halves on a loss. Otherwise it sends whatever the limit lets through.
	ledbat   bool
	bgRate   float64 // the LEDBAT sender's rate
	bgLoss   bool    // the background lost data in the last step
	sinceCut float64 // seconds since its last cut
}

func (l *link) step(dt, bgOffered float64, fgOn bool) (bgGot, fgGot float64) {
	fgOffered := 0.0
	switch {
	case fgOn && l.sawtooth:
		// Window-based: it sends a window per round trip.
		bdp := l.capacity * l.base.Seconds()
		if l.fgWindow == 0 {
			l.fgWindow = bdp
		}
		l.fgWindow += bdp * dt // grows by a BDP per second
		fgOffered = l.fgWindow / l.rtt().Seconds()
	case fgOn:
		// A greedy loss-based sender offers a bit more than the link and
		// so keeps the buffer full.
		fgOffered = l.capacity * 1.05
	default:
		l.fgWindow = 0
	}
	l.sinceCut += dt
	l.bgLoss = false
	ab, af := bgOffered*dt, fgOffered*dt
	// Tail drop: arrivals beyond the buffer are lost, in proportion.
	total := l.qbg + l.qfg + ab + af
	room := l.buffer + l.capacity*dt
	if total > room && ab+af > 0 {
		keep := math.Max(0, (room-l.qbg-l.qfg)/(ab+af))
		ab, af = ab*keep, af*keep
		total = l.qbg + l.qfg + ab + af
		l.bgLoss = keep < 1 && ab > 0
		if l.sawtooth && fgOn && l.sinceCut > l.rtt().Seconds() {
			// A loss: at most one cut per round trip.
			l.fgWindow *= 0.7
			l.sinceCut = 0
		}
	}
	out := math.Min(l.capacity*dt, total)
	if total > 0 {
		bgOut := out * (l.qbg + ab) / total
		fgOut := out - bgOut
		l.qbg += ab - bgOut
		l.qfg += af - fgOut
		return bgOut / dt, fgOut / dt
	}
	return 0, 0
}

// ledbatTarget is the sender's LEDBAT target (utp_target's default).
const ledbatTarget = 15 * time.Millisecond

// bgSend is what the background's sender offers, given what the
// receiver's limit lets through.
func (l *link) bgSend(dt, allowed float64) float64 {
	if !l.ledbat {
		return allowed
	}
	q := l.rtt() - l.base
	off := float64(ledbatTarget-q) / float64(ledbatTarget)
	l.bgRate += l.capacity * math.Max(-1, math.Min(1, off)) * dt
	if l.bgLoss {
		l.bgRate /= 2
	}
	// Receive-window limited: it does not grow far past what it may send.
	l.bgRate = math.Max(l.capacity/100, math.Min(l.bgRate, 1.1*allowed))
	return math.Min(l.bgRate, allowed)
}

func (l *link) rtt() time.Duration {
	return l.base + time.Duration((l.qbg+l.qfg)/l.capacity*float64(time.Second))
}

type trace struct {
	t          []time.Duration
	bg, fg, qd []float64
	limit      []float64
}

// simulateLag runs the controller against the link with the foreground on
// between fgFrom and fgTo, with an engine whose sending rate follows the
// limit with a first-order lag (requests in flight) and whose bytes arrive
// in 16 KiB chunks, measured like the service does (EWMA of 250 ms windows).
func simulateLag(l *link, target time.Duration, total, fgFrom, fgTo, lag time.Duration) trace {
	c := newDelayController(target)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const dt = 10 * time.Millisecond
	c.Sample(start, l.rtt()) // the service probes before transfers start
	limit := c.Update(start, 0)
	var tr trace
	var bgBytes, chunkCarry float64
	var lastRate, offered float64
	lastUpdate := time.Duration(0)
	for el := time.Duration(0); el < total; el += dt {
		now := start.Add(el)
		fgOn := el >= fgFrom && el < fgTo
		want := math.Min(limit, l.capacity*2)
		if lag > 0 {
			offered += (want - offered) * dt.Seconds() / lag.Seconds()
		} else {
			offered = want
		}
		bg, fg := l.step(dt.Seconds(), l.bgSend(dt.Seconds(), offered), fgOn)
		if lag > 0 {
			// Count whole chunks only.
			chunkCarry += bg * dt.Seconds()
			n := math.Floor(chunkCarry / (16 << 10))
			bgBytes += n * (16 << 10)
			chunkCarry -= n * (16 << 10)
		} else {
			bgBytes += bg * dt.Seconds()
		}
		if el-lastUpdate >= 250*time.Millisecond {
			r := bgBytes / (el - lastUpdate).Seconds()
			if lag > 0 {
				lastRate = 0.3*r + 0.7*lastRate
			} else {
				lastRate = r
			}
			bgBytes = 0
			lastUpdate = el
			c.Sample(now, l.rtt())
			limit = c.Update(now, lastRate)
		}
		if el%(100*time.Millisecond) == 0 {
			tr.t = append(tr.t, el)
			tr.bg = append(tr.bg, bg)
			tr.fg = append(tr.fg, fg)
			tr.qd = append(tr.qd, float64(l.rtt()-l.base)/float64(time.Millisecond))
			tr.limit = append(tr.limit, limit)
		}
	}
	return tr
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// window returns the samples between two times.
func (tr trace) window(from, to time.Duration, xs []float64) []float64 {
	var out []float64
	for i, t := range tr.t {
		if t >= from && t < to {
			out = append(out, xs[i])
		}
	}
	return out
}

// firstTime returns the first time >= from at which cond holds for a whole second.
func (tr trace) firstTime(from time.Duration, cond func(i int) bool) time.Duration {
	run := 0
	for i, t := range tr.t {
		if t < from {
			continue
		}
		if cond(i) {
			run++
			if run >= 10 {
				return t - 900*time.Millisecond - from
			}
		} else {
			run = 0
		}
	}
	return -1
}

func TestControllerOnSyntheticLink(t *testing.T) {
	for _, tc := range []struct {
		queueMS  int
		lag      time.Duration
		sawtooth bool
		ledbat   bool
	}{
		{40, 0, false, true}, {110, 0, false, true}, {300, 0, false, true},
		{40, 300 * time.Millisecond, false, true}, {110, 300 * time.Millisecond, false, true}, {300, 300 * time.Millisecond, false, true},
		{40, 300 * time.Millisecond, true, true}, {110, 300 * time.Millisecond, true, true}, {300, 300 * time.Millisecond, true, true},
		// A sender that is not delay-based (TCP, when UDP is blocked).
		{40, 300 * time.Millisecond, true, false}, {110, 300 * time.Millisecond, false, false},
	} {
		queueMS, lag := tc.queueMS, tc.lag
		fg := "greedy"
		if tc.sawtooth {
			fg = "sawtooth"
		}
		bgSender := "ledbat"
		if !tc.ledbat {
			bgSender = "unresponsive"
		}
		t.Run(fmt.Sprintf("queue%dms/lag%v/%s/%s", queueMS, lag, fg, bgSender), func(t *testing.T) {
			capacity := 20e6 / 8 // 20 Mbit/s
			l := &link{capacity: capacity, buffer: capacity * float64(queueMS) / 1000, base: 40 * time.Millisecond,
				sawtooth: tc.sawtooth, ledbat: tc.ledbat}
			target := 25 * time.Millisecond
			tr := simulateLag(l, target, 60*time.Second, 20*time.Second, 40*time.Second, lag)

			idle := mean(tr.window(10*time.Second, 20*time.Second, tr.bg)) / capacity
			qdIdle := mean(tr.window(10*time.Second, 20*time.Second, tr.qd))
			fgShare := mean(tr.window(23*time.Second, 40*time.Second, tr.fg)) / capacity
			giveWay := tr.firstTime(20*time.Second, func(i int) bool { return tr.fg[i] >= 0.9*capacity })
			takeBack := tr.firstTime(40*time.Second, func(i int) bool { return tr.bg[i] >= 0.9*capacity })
			t.Logf("idle share %.2f, added delay %.1f ms, foreground share %.2f, give way %v, take back %v",
				idle, qdIdle, fgShare, giveWay, takeBack)
			if idle < 0.9 {
				t.Errorf("background uses %.2f of an idle link, want >= 0.90", idle)
			}
			if qdIdle > 30 {
				t.Errorf("background alone adds %.1f ms of queueing, want <= 30", qdIdle)
			}
			if fgShare < 0.9 {
				t.Errorf("foreground keeps %.2f of the link, want >= 0.90", fgShare)
			}
			if giveWay < 0 || giveWay > 3*time.Second {
				t.Errorf("gave way after %v, want <= 3s", giveWay)
			}
			if takeBack < 0 || takeBack > 5*time.Second {
				t.Errorf("took the link back after %v, want <= 5s", takeBack)
			}
		})
	}
}

// Without measurements (hq unreachable) the controller does not limit.
func TestControllerWithoutSamples(t *testing.T) {
	c := newDelayController(25 * time.Millisecond)
	now := time.Now()
	c.Sample(now, 40*time.Millisecond)
	for i := range 6 {
		c.Sample(now.Add(time.Duration(i+1)*250*time.Millisecond), 200*time.Millisecond)
	}
	c.Update(now.Add(time.Second), 1e6)
	if l := c.Update(now.Add(2500*time.Millisecond), 1e6); math.IsInf(l, 1) {
		t.Fatalf("fresh high delay: no limit")
	}
	if l := c.Update(now.Add(10*time.Second), 1e6); !math.IsInf(l, 1) {
		t.Fatalf("stale samples still limit to %v", l)
	}
}

// The base delay follows the minimum over the last buckets, so a route
// change to a longer path is learned within the history.
func TestControllerBaseDelay(t *testing.T) {
	c := newDelayController(25 * time.Millisecond)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Sample(now, 40*time.Millisecond)
	c.Sample(now.Add(time.Second), 90*time.Millisecond)
	if b := c.Base(); b != 40*time.Millisecond {
		t.Fatalf("base %v", b)
	}
	for i := range baseBuckets + 1 {
		c.Sample(now.Add(time.Duration(i+1)*time.Minute), 80*time.Millisecond)
	}
	if b := c.Base(); b != 80*time.Millisecond {
		t.Fatalf("base after the history rolled over: %v", b)
	}
}

// A probe lost in a full queue reads as a queue of four times the target;
// before any base is known it records nothing.
func TestControllerLostProbe(t *testing.T) {
	c := newDelayController(25 * time.Millisecond)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.SampleLost(now)
	if q := c.Queueing(now); q != -1 {
		t.Fatalf("a lost probe without a base gave queueing %v", q)
	}
	c.Sample(now, 40*time.Millisecond)
	for i := 1; i <= 3; i++ {
		c.SampleLost(now.Add(time.Duration(i) * 250 * time.Millisecond))
	}
	if q := c.Queueing(now.Add(750 * time.Millisecond)); q != 100*time.Millisecond {
		t.Fatalf("three lost probes: queueing %v, want 100ms", q)
	}
}
