// Package addrlimit limits how often one client address may use the
// tracker: a token bucket per address (golang.org/x/time/rate), with IPv6
// addresses grouped by their /64 (one host can pick any address of its
// network), and a bounded table of addresses, so that a flood from many
// addresses cannot grow memory without bound either.
package addrlimit

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxAddrs is the default size of the address table.
const DefaultMaxAddrs = 1 << 16

// Limiter is a set of per-address token buckets. It is safe for
// concurrent use.
type Limiter struct {
	rate     rate.Limit
	burst    int
	maxAddrs int
	now      func() time.Time

	mu        sync.Mutex
	buckets   map[netip.Addr]*rate.Limiter
	overflow  *rate.Limiter // shared by addresses that find the table full
	lastSweep time.Time
}

// New makes a limiter that lets each address make perSecond requests per
// second on average and burst at once. maxAddrs bounds the table (0:
// DefaultMaxAddrs); when it is full of busy addresses, new addresses share
// one bucket. now is the clock (nil: time.Now).
func New(perSecond float64, burst, maxAddrs int, now func() time.Time) *Limiter {
	if maxAddrs <= 0 {
		maxAddrs = DefaultMaxAddrs
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{
		rate: rate.Limit(perSecond), burst: burst, maxAddrs: maxAddrs, now: now,
		buckets:  map[netip.Addr]*rate.Limiter{},
		overflow: rate.NewLimiter(rate.Limit(perSecond), burst),
	}
}

// Key is the address a bucket belongs to: IPv4 addresses as they are,
// IPv6 addresses by their /64.
func Key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// Allow takes one token from a's bucket. When there is none it reports
// false and how long until there is one.
func (l *Limiter) Allow(a netip.Addr) (bool, time.Duration) {
	now := l.now()
	k := Key(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[k]
	if b == nil {
		if len(l.buckets) >= l.maxAddrs {
			l.sweep(now)
		}
		if len(l.buckets) < l.maxAddrs {
			b = rate.NewLimiter(l.rate, l.burst)
			l.buckets[k] = b
		} else {
			b = l.overflow
		}
	}
	if b.AllowN(now, 1) {
		return true, 0
	}
	wait := time.Second
	if l.rate > 0 {
		wait = time.Duration((1 - b.TokensAt(now)) / float64(l.rate) * float64(time.Second))
	}
	return false, max(wait, time.Millisecond)
}

// sweep drops the buckets that are full again (their addresses have been
// idle long enough that forgetting them changes nothing), at most once a
// second. Called with l.mu.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Second {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}

// Len is the number of addresses in the table.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
