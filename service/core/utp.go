package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	utp "github.com/anacrolix/go-utp"
	"github.com/anacrolix/torrent"
)

// Transports: the service owns both peer sockets (the engine's built-in
// ones stay off) so that it can choose the transport per path:
//
//   - across the WAN (with servers, or with other sites), uTP: its LEDBAT
//     congestion control, with a small target (utp_target), backs the
//     sender off within a round trip when other traffic queues on the
//     branch's link — on the hq side too, which the receiver's own limiter
//     (the delay controller) reaches only through the receive window;
//   - inside the site, TCP: the LAN has no slow link to give way on, and
//     uTP costs several times TCP's CPU per byte.
//
// A peer reachable by only one of them (UDP blocked by a firewall, a
// third-party client) is still reached: TCP to a WAN peer follows uTP after
// tcpFallback unless uTP connected first.

// tcpFallback is how long a TCP dial to a WAN peer waits for uTP.
const tcpFallback = 3 * time.Second

// utpRcvBuf is the uTP receive window; see peerRcvBuf.
const utpRcvBuf = peerRcvBuf

// errOtherTransport ends a dial that the other transport makes instead.
var errOtherTransport = errors.New("this peer is dialled over the other transport")

// pathPolicy decides the transport for a peer address.
type pathPolicy struct {
	tcp, utp bool
	// crossesWAN reports whether host:port is across the WAN from us.
	crossesWAN func(addr string) bool

	mu      sync.Mutex
	utpUp   map[string]time.Time // addresses uTP reached lately
	outage  map[string]int       // addresses being redialled after a silence (silence.go)
	lastGC  time.Time
	timeNow func() time.Time
}

// setOutage marks addr as redialled after a silent connection: its dials
// are bounded to outageDialTimeout, TCP beside uTP at once.
func (p *pathPolicy) setOutage(addr string, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.outage[addr]++
	} else if p.outage[addr]--; p.outage[addr] <= 0 {
		delete(p.outage, addr)
	}
}

func (p *pathPolicy) inOutage(addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.outage[addr] > 0
}

func newPathPolicy(tcp, utp bool, crossesWAN func(string) bool) *pathPolicy {
	return &pathPolicy{tcp: tcp, utp: utp, crossesWAN: crossesWAN, utpUp: map[string]time.Time{}, outage: map[string]int{}, timeNow: time.Now}
}

// utpDials reports whether uTP should dial addr.
func (p *pathPolicy) utpDials(addr string) bool {
	return p.utp && (!p.tcp || p.crossesWAN(addr))
}

// tcpWait is how long TCP waits before dialling addr (0: at once), or -1
// when it does not dial it at all.
func (p *pathPolicy) tcpWait(addr string) time.Duration {
	if !p.tcp {
		return -1
	}
	if p.utpDials(addr) {
		return tcpFallback
	}
	return 0
}

func (p *pathPolicy) utpConnected(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.timeNow()
	p.utpUp[addr] = now
	if now.Sub(p.lastGC) > time.Minute {
		for a, t := range p.utpUp {
			if now.Sub(t) > time.Minute {
				delete(p.utpUp, a)
			}
		}
		p.lastGC = now
	}
}

// utpReachedSince reports whether uTP connected to addr after t.
func (p *pathPolicy) utpReachedSince(addr string, t time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.utpUp[addr]
	return ok && !at.Before(t)
}

// utpTransport is the service's uTP socket, as the engine's dialer and
// listener; connections are wrapped like TCP's (WAN limiters).
type utpTransport struct {
	utp.Socket
	network string
	wrap    func(net.Conn) net.Conn
	policy  *pathPolicy
	poker   net.PacketConn
	trace   func(msg string, args ...any) // nil: no tracing
	done    chan struct{}
	closed  sync.Once
}

// pokeInterval: how often a rate-limited reader's window updates are
// flushed (see poke).
const pokeInterval = 200 * time.Millisecond

func newUTPTransport(network, addr string, target time.Duration, wrap func(net.Conn) net.Conn, policy *pathPolicy, limited func() bool) (*utpTransport, error) {
	s, err := utp.NewSocket(network, addr, utp.WithTargetDelay(target), utp.WithReceiveBuffer(utpRcvBuf))
	if err != nil {
		return nil, err
	}
	u := &utpTransport{Socket: s, network: network, wrap: wrap, policy: policy, done: make(chan struct{})}
	la := s.Addr().(*net.UDPAddr)
	pokeTo := &net.UDPAddr{IP: la.IP, Port: la.Port}
	if la.IP.IsUnspecified() {
		pokeTo.IP = net.IPv4(127, 0, 0, 1)
		if la.IP.To4() == nil && network == "udp6" {
			pokeTo.IP = net.IPv6loopback
		}
	}
	if u.poker, err = net.ListenUDP(network, &net.UDPAddr{IP: pokeTo.IP}); err != nil {
		s.Close()
		return nil, fmt.Errorf("uTP window updates: %w", err)
	}
	go u.pokeLoop(pokeTo, limited)
	return u, nil
}

// utpPoke is a uTP reset for a connection that does not exist: libutp
// ignores it, but having processed a uTP packet it sends the acknowledgements
// it deferred.
var utpPoke = [20]byte{0x31} // type ST_RESET (3), version 1; connection id 0

// pokeLoop works around a stall in go-libutp v1.3.2. When a reader drains
// its buffer, libutp defers the window update unless the window was zero,
// and go-libutp sends deferred acknowledgements only after receiving a
// packet. A rate-limited reader leaves the sender a window smaller than a
// packet; the sender then sends nothing and the connection stalls until a
// keepalive, 29 s later. While the service limits downloads, a packet from
// this socket to our own port every pokeInterval flushes the updates.
func (u *utpTransport) pokeLoop(to net.Addr, limited func() bool) {
	t := time.NewTicker(pokeInterval)
	defer t.Stop()
	for {
		select {
		case <-u.done:
			return
		case <-t.C:
		}
		if limited() {
			u.poker.WriteTo(utpPoke[:], to)
		}
	}
}

// Close closes the socket and stops the poker.
func (u *utpTransport) Close() error {
	u.closed.Do(func() {
		close(u.done)
		u.poker.Close()
	})
	return u.Socket.Close()
}

func (u *utpTransport) Dial(ctx context.Context, addr string) (net.Conn, error) {
	if !u.policy.utpDials(addr) {
		return nil, errOtherTransport
	}
	if u.policy.inOutage(addr) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, outageDialTimeout)
		defer cancel()
	}
	c, err := u.Socket.DialContext(ctx, u.network, addr)
	if err != nil {
		if u.trace != nil {
			u.trace("uTP dial failed", "addr", addr, "err", err)
		}
		return nil, err
	}
	u.policy.utpConnected(addr)
	return u.wrap(c), nil
}

func (u *utpTransport) DialerNetwork() string { return u.network }

func (u *utpTransport) Accept() (net.Conn, error) {
	c, err := u.Socket.Accept()
	if err != nil {
		return nil, err
	}
	return u.wrap(c), nil
}

var (
	_ torrent.Dialer   = (*utpTransport)(nil)
	_ torrent.Listener = (*utpTransport)(nil)
)
