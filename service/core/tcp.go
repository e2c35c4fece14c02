package core

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/anacrolix/torrent"
	"golang.org/x/time/rate"
)

// peerRcvBuf caps the kernel receive buffer of peer TCP connections.
//
// The engine's download limiter slows reading from sockets; the sender is
// held back only once the receive buffer is full. Linux autotunes that
// buffer up to several MB — over a second of a 20 Mbit/s branch link — so
// a lowered limit (the bandwidth controller giving way, a helpdesk throttle)
// would show only after the data already admitted has crossed the WAN.
// 256 KiB covers the bandwidth-delay product of a 20 Mbit/s, 100 ms path.
const peerRcvBuf = 256 << 10

func setRcvBuf(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) { serr = setsockoptRcvBuf(fd, peerRcvBuf) })
	if err != nil {
		return err
	}
	return serr
}

// tcpDialer dials peers with a capped receive buffer (see peerRcvBuf).
type tcpDialer struct {
	d      net.Dialer
	wrap   func(net.Conn) net.Conn
	policy *pathPolicy
}

func newTCPDialer(host string, wrap func(net.Conn) net.Conn, policy *pathPolicy) *tcpDialer {
	td := &tcpDialer{d: net.Dialer{Control: setRcvBuf}, wrap: wrap, policy: policy}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		td.d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return td
}

func (t *tcpDialer) Dial(ctx context.Context, addr string) (net.Conn, error) {
	switch wait := t.policy.tcpWait(addr); {
	case wait < 0:
		return nil, errOtherTransport
	case wait > 0:
		// uTP goes first across the WAN; TCP only if it has not connected.
		start := t.policy.timeNow()
		tm := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			tm.Stop()
			return nil, ctx.Err()
		case <-tm.C:
		}
		if t.policy.utpReachedSince(addr, start) {
			return nil, errOtherTransport
		}
	}
	c, err := t.d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return t.wrap(c), nil
}

func (t *tcpDialer) DialerNetwork() string { return "tcp" }

var _ torrent.Dialer = (*tcpDialer)(nil)

// listenTCP opens the peer TCP listener; accepted connections inherit the
// capped receive buffer.
func listenTCP(host string, port int) (net.Listener, error) {
	lc := net.ListenConfig{Control: setRcvBuf}
	network := "tcp"
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		if ip.To4() != nil {
			network = "tcp4"
		} else {
			network = "tcp6"
		}
	}
	return lc.Listen(context.Background(), network, net.JoinHostPort(host, strconv.Itoa(port)))
}

// limitedConn limits a peer connection's reads by the policy's download
// limiter and, for a connection to a server or another site (traffic that
// crosses the branch's WAN link), by the yield limiters too, which also
// limit its writes and count its bytes; connections inside the site are
// never held back by yielding. A wait for a limiter ends early when any
// limit moves (wake), so a raised or cleared limit applies at once.
type limitedConn struct {
	net.Conn
	down    []*rate.Limiter // every one must grant a read
	up      *rate.Limiter   // nil: writes are not limited here
	read    *atomic.Int64   // nil: not counted
	written *atomic.Int64
	wake    func() <-chan struct{}
}

// limitedChunk is the most a limitedConn moves at once under a finite
// limit: about 50 ms at the limit (at least 1 KiB, at most the burst).
// Reading a large buffered block (a uTP connection hands over up to its
// window) at a low limit would otherwise sleep for seconds.
func limitedChunk(l *rate.Limiter, n int) int {
	c := int(min(float64(l.Limit())/20, 1<<30))
	c = max(c, 1<<10)
	if b := l.Burst(); b > 0 {
		c = min(c, b)
	}
	return min(c, n)
}

// sleep waits d, or until a limit moves.
func (c *limitedConn) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	wake := c.wake()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-wake:
	}
}

func (c *limitedConn) Read(b []byte) (int, error) {
	limited := false
	for _, l := range c.down {
		if l.Limit() != rate.Inf {
			limited = true
			b = b[:limitedChunk(l, len(b))]
		}
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		if c.read != nil {
			c.read.Add(int64(n))
		}
		if limited {
			now, wait := time.Now(), time.Duration(0)
			for _, l := range c.down {
				if l.Limit() == rate.Inf {
					continue
				}
				if r := l.ReserveN(now, n); r.OK() {
					wait = max(wait, r.DelayFrom(now))
				}
			}
			c.sleep(wait)
		}
	}
	return n, err
}

func (c *limitedConn) Write(b []byte) (int, error) {
	if c.up == nil {
		return c.Conn.Write(b)
	}
	total := 0
	for len(b) > 0 {
		chunk := b
		if c.up.Limit() != rate.Inf {
			chunk = chunk[:limitedChunk(c.up, len(chunk))]
			if r := c.up.ReserveN(time.Now(), len(chunk)); r.OK() {
				c.sleep(r.Delay())
			}
		}
		n, err := c.Conn.Write(chunk)
		total += n
		c.written.Add(int64(n))
		if err != nil {
			return total, err
		}
		b = b[n:]
	}
	return total, nil
}

// wanListener wraps accepted connections like the dialer does.
type wanListener struct {
	net.Listener
	wrap func(net.Conn) net.Conn
}

func (l wanListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.wrap(c), nil
}
