package core

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"time"
)

// yieldState is the yield controller's view, kept under bandwidthPolicy.mu.
type yieldState struct {
	down, up  *delayController
	limDown   float64 // controller limits, bytes/s; +Inf: not limiting
	limUp     float64
	qd, base  time.Duration
	measuring bool
	probeErr  string
}

// traceYield logs every controller step (SMSTORRENT_TRACE_YIELD=1), for the lab.
var traceYield = os.Getenv("SMSTORRENT_TRACE_YIELD") == "1"

// probeInterval is how often the path to hq is measured and the limits moved.
const probeInterval = 250 * time.Millisecond

// idleProbeInterval is how often the path is measured while nothing
// crosses the WAN: enough to keep the base delay fresh, without thousands
// of idle PCs knocking on hq four times a second.
const idleProbeInterval = 10 * time.Second

// runYield measures the round-trip time to the probe address (a TCP
// handshake: SYN out, SYN-ACK back, through both directions' queues) four
// times a second while the service transfers across the WAN or has
// background work, and lets the delay controllers move the engine's limits.
func (b *bandwidthPolicy) runYield(ctx context.Context, addr string) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	var lastRead, lastWritten int64
	var down, up float64
	last := time.Now()
	var lastProbe, lastMoved, lastOK time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if b.wanRead.Load() != lastRead || b.wanWritten.Load() != lastWritten {
			lastMoved = time.Now()
		}
		b.mu.Lock()
		busy := time.Since(lastMoved) < idleProbeInterval || b.backgroundWork
		b.mu.Unlock()
		if !busy && time.Since(lastProbe) < idleProbeInterval {
			continue
		}
		lastProbe = time.Now()
		rtt, err := probe(ctx, addr)
		now := b.now()
		// Only traffic that crosses the WAN counts and is held back.
		read, written := b.wanRead.Load(), b.wanWritten.Load()
		el := time.Since(last).Seconds()
		last = time.Now()
		// Smooth over about a second: chunks arrive in 16 KiB steps.
		down = 0.3*float64(read-lastRead)/el + 0.7*down
		up = 0.3*float64(written-lastWritten)/el + 0.7*up
		lastRead, lastWritten = read, written
		// A probe that timed out while hq answered a moment ago was lost in
		// a full queue (its retry comes only after a second).
		lost := err != nil && isTimeout(err) && now.Sub(lastOK) < staleAfter
		if err == nil {
			lastOK = now
		}
		b.mu.Lock()
		y := &b.y
		switch {
		case err == nil:
			y.probeErr = ""
			y.down.Sample(now, rtt)
			y.up.Sample(now, rtt)
		case lost:
			y.probeErr = ""
			y.down.SampleLost(now)
			y.up.SampleLost(now)
		default:
			y.probeErr = err.Error()
		}
		y.limDown = y.down.Update(now, down)
		y.limUp = y.up.Update(now, up)
		y.qd, y.base = y.down.Queueing(now), y.down.Base()
		y.measuring = y.qd >= 0
		if traceYield {
			b.log.Info("yield", "rtt", rtt, "qd", y.qd, "base", y.base, "down", int64(down), "limit", y.limDown,
				"yielded", y.down.yielded, "cap", int64(y.down.capacity), "err", err)
		}
		b.applyLocked(now)
		b.mu.Unlock()
	}
}

// probeTimeout bounds one probe: a SYN lost in a full queue is retried
// only after a second, and the controller should not wait that long.
const probeTimeout = 500 * time.Millisecond

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func probe(ctx context.Context, addr string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", addr)
	rtt := time.Since(start)
	if err != nil {
		return 0, err
	}
	if k, ok := kernelRTT(c); ok && k <= rtt {
		rtt = k
	}
	c.Close()
	return rtt, nil
}

func finite(x float64) (int64, bool) {
	if math.IsInf(x, 1) || math.IsNaN(x) {
		return 0, false
	}
	return int64(x), true
}
