package core

import (
	"context"
	"net"
	"strconv"
	"syscall"

	"github.com/anacrolix/torrent"
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
	d net.Dialer
}

func newTCPDialer(host string) *tcpDialer {
	td := &tcpDialer{d: net.Dialer{Control: setRcvBuf}}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		td.d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return td
}

func (t *tcpDialer) Dial(ctx context.Context, addr string) (net.Conn, error) {
	return t.d.DialContext(ctx, "tcp", addr)
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
