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
	d    net.Dialer
	wrap func(net.Conn) net.Conn
}

func newTCPDialer(host string, wrap func(net.Conn) net.Conn) *tcpDialer {
	td := &tcpDialer{d: net.Dialer{Control: setRcvBuf}, wrap: wrap}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		td.d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return td
}

func (t *tcpDialer) Dial(ctx context.Context, addr string) (net.Conn, error) {
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

// wanConn limits a connection to a server or another site (traffic that
// crosses the branch's WAN link) by the yield limiters; connections inside
// the site are never held back by yielding.
type wanConn struct {
	net.Conn
	down, up *rate.Limiter
	read     *atomic.Int64
	written  *atomic.Int64
}

func (c *wanConn) Read(b []byte) (int, error) {
	limited := c.down.Limit() != rate.Inf
	if limited {
		if burst := c.down.Burst(); burst > 0 && len(b) > burst {
			b = b[:burst]
		}
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.read.Add(int64(n))
		if limited {
			if r := c.down.ReserveN(time.Now(), n); r.OK() {
				time.Sleep(r.Delay())
			}
		}
	}
	return n, err
}

func (c *wanConn) Write(b []byte) (int, error) {
	total := 0
	for len(b) > 0 {
		chunk := b
		if c.up.Limit() != rate.Inf {
			if burst := c.up.Burst(); burst > 0 && len(chunk) > burst {
				chunk = chunk[:burst]
			}
			if r := c.up.ReserveN(time.Now(), len(chunk)); r.OK() {
				time.Sleep(r.Delay())
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
