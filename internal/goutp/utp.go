// Package utp adapts github.com/anacrolix/go-libutp v1.3.2 (the C++ libutp,
// with LEDBAT congestion control) to the small socket API that
// github.com/anacrolix/torrent v1.62.0 expects from github.com/anacrolix/go-utp.
//
// The go.mod of SMSTorrent replaces github.com/anacrolix/go-utp with this
// folder, because the pseudo-version of go-libutp that torrent v1.62.0 asks for
// is not served by the module proxy. See shared/DEPENDENCIES.md.
package utp

import (
	"context"
	"errors"
	"log/slog"
	"net"

	libutp "github.com/anacrolix/go-libutp"
)

// Default names the implementation in error messages.
const Default = "libutp"

// FirewallCallback decides whether an incoming connection from an address is
// accepted; returning true blocks it.
type FirewallCallback = func(net.Addr) bool

// Socket is a uTP socket: a packet conn that also accepts and dials streams.
type Socket interface {
	net.PacketConn
	Accept() (net.Conn, error)
	Addr() net.Addr
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	SetFirewallCallback(FirewallCallback)
}

type options struct {
	logger *slog.Logger
}

// Option configures a new socket.
type Option func(*options)

// WithLogger sets the logger. libutp v1.3.2 logs through anacrolix/log, so the
// logger is kept for the adapter's own messages only.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

type socket struct {
	*libutp.Socket
}

func (s socket) SetFirewallCallback(f FirewallCallback) {
	s.Socket.SetFirewallCallback(libutp.FirewallCallback(f))
}

var _ Socket = socket{}

// NewSocket listens for uTP on network ("udp", "udp4", "udp6") at addr.
func NewSocket(network, addr string, opts ...Option) (Socket, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s, err := libutp.NewSocket(network, addr)
	if err != nil {
		return nil, err
	}
	return socket{s}, nil
}

// NewSocketFromPacketConn is not supported by libutp v1.3.2.
func NewSocketFromPacketConn(pc net.PacketConn, opts ...Option) (Socket, error) {
	return nil, errors.New("utp: sockets from an existing packet conn are not supported by libutp v1.3.2")
}
