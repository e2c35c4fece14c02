package core

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/anacrolix/torrent"
)

// transports are the service's own peer sockets, TCP (tcp.go) and uTP
// (utp.go), registered with the engine as its dialers and listeners (the
// engine's built-in ones stay off). They own their sockets; Close closes
// them.
type transports struct {
	tcpLn  net.Listener  // nil: TCP is off
	utp    *utpTransport // nil: uTP is off
	policy *pathPolicy
}

// transportOptions is what the peer sockets need from the rest of the service.
type transportOptions struct {
	host        string // listen address; "" or unspecified: all
	port        int
	tcp, utp    bool
	network     string        // "udp", "udp4" or "udp6" for uTP
	utpTarget   time.Duration // LEDBAT's target delay (utp_target)
	paths       *pathClassifier
	wrap        func(net.Conn) net.Conn       // puts WAN connections under the yield limiters
	downLimited func() bool                   // a download limit is in force
	trace       func(msg string, args ...any) // nil: no tracing
}

// openTransports opens the peer sockets and registers them with the engine.
// uTP and TCP share one port, so one announced port serves both. With port
// 0 the UDP socket picks a free port and TCP takes the same number; when
// that number is already in use for TCP (an outgoing connection's local
// port, say), both sockets try again on a new port.
func openTransports(cl *torrent.Client, o transportOptions) (*transports, error) {
	t, err := openSockets(o, func(int) int { return o.port })
	if err != nil {
		return nil, err
	}
	t.register(cl, o)
	return t, nil
}

// openSockets opens the sockets, the UDP one on port pick(attempt) (attempt
// counting from 1), and tries again while the configured port is 0 (the
// system's pick) and TCP found the UDP socket's number taken.
func openSockets(o transportOptions, pick func(attempt int) int) (*transports, error) {
	const attempts = 10
	for i := 1; ; i++ {
		t, err := tryTransports(o, pick(i))
		if err == nil {
			return t, nil
		}
		if o.port != 0 || !o.utp || !o.tcp || !addrInUse(err) || i == attempts {
			return nil, err
		}
	}
}

// tryTransports opens the sockets of openTransports once, on port.
func tryTransports(o transportOptions, port int) (*transports, error) {
	t := &transports{policy: newPathPolicy(o.tcp, o.utp, o.paths.crossesWANAddr)}
	if o.utp {
		u, err := newUTPTransport(o.network, net.JoinHostPort(o.host, strconv.Itoa(port)), o.utpTarget, o.wrap, t.policy, o.downLimited)
		if err != nil {
			return nil, fmt.Errorf("listening for peers on uTP (UDP) port %d: %w", port, err)
		}
		t.utp = u
		u.trace = o.trace
		port = u.Addr().(*net.UDPAddr).Port
	}
	if o.tcp {
		ln, err := listenTCP(o.host, port)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("listening for peers on TCP port %d: %w", port, err)
		}
		t.tcpLn = ln
	}
	return t, nil
}

// register hands the open sockets to the engine as its dialers and listeners.
func (t *transports) register(cl *torrent.Client, o transportOptions) {
	if t.utp != nil {
		cl.AddDialer(t.utp)
		cl.AddListener(t.utp)
	}
	if t.tcpLn != nil {
		cl.AddDialer(newTCPDialer(o.host, o.wrap, t.policy))
		cl.AddListener(wanListener{t.tcpLn, o.wrap})
	}
}

// Close closes the peer sockets.
func (t *transports) Close() {
	if t.tcpLn != nil {
		t.tcpLn.Close()
	}
	if t.utp != nil {
		t.utp.Close()
	}
}

// pathClassifier tells peers of this site from servers (origins, web seeds,
// other sites) and so which connections cross the WAN.
type pathClassifier struct {
	listenHost string
	servers    []netip.Prefix
	trackers   *trackerHealth
	// siteNets (site_networks) and siteName (site) tell this site's peers
	// from other sites' (explain.go); both may be empty.
	siteNets []netip.Prefix
	siteName string
}

// isServer reports whether a peer address is a server (origin, web seed,
// other site) rather than a peer of this site.
func (p *pathClassifier) isServer(addr any) bool {
	var a netip.Addr
	switch v := addr.(type) {
	case *net.TCPAddr:
		a, _ = netip.AddrFromSlice(v.IP)
	case *net.UDPAddr:
		a, _ = netip.AddrFromSlice(v.IP)
	case net.Addr:
		ap, err := netip.ParseAddrPort(v.String())
		if err != nil {
			return true // web seeds and the like
		}
		a = ap.Addr()
	default:
		return true
	}
	a = a.Unmap()
	for _, pf := range p.servers {
		if pf.Contains(a) {
			return true
		}
	}
	return p.trackers.isServer(a)
}

// selfIsServer reports whether this service runs on a server (an origin in
// hq): its address, bound or seen on its connections to the trackers, is a
// server address.
func (p *pathClassifier) selfIsServer() bool {
	if a, err := netip.ParseAddr(p.listenHost); err == nil && !a.IsUnspecified() {
		return p.isServer(&net.TCPAddr{IP: a.AsSlice()})
	}
	for _, a := range p.trackers.localAddrs() {
		if p.isServer(&net.TCPAddr{IP: a.AsSlice()}) {
			return true
		}
	}
	return false
}

// crossesWAN reports whether traffic with a peer crosses a WAN link: a PC
// with a server or (never in practice: the tracker keeps sites apart) a
// peer it cannot tell from one; a server with a PC.
func (p *pathClassifier) crossesWAN(remote net.Addr) bool {
	return p.isServer(remote) != p.selfIsServer()
}

// crossesWANAddr is crossesWAN for a host:port being dialled.
func (p *pathClassifier) crossesWANAddr(hostport string) bool {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return true
	}
	return p.crossesWAN(net.TCPAddrFromAddrPort(ap))
}
