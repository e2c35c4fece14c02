// Package utp adapts github.com/anacrolix/go-libutp v1.3.2 (the C++ libutp,
// with LEDBAT congestion control) to the small socket API that
// github.com/anacrolix/torrent v1.62.0 expects from github.com/anacrolix/go-utp.
//
// The go.mod of SMSTorrent replaces github.com/anacrolix/go-utp with this
// folder, because the pseudo-version of go-libutp that torrent v1.62.0 asks for
// is not served by the module proxy. See docs/DEPENDENCIES.md.
package utp

/*
#include <stdlib.h>
*/
import "C"

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"time"
	"unsafe"

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
	logger      *slog.Logger
	targetDelay time.Duration
	recvBuffer  int
}

// Option configures a new socket.
type Option func(*options)

// WithLogger sets the logger. libutp v1.3.2 logs through anacrolix/log, so the
// logger is kept for the adapter's own messages only.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithTargetDelay sets the queueing delay that LEDBAT, the congestion
// control of the socket's connections, aims for: a sender backs off when the
// one-way delay rises this far above its base. libutp's default, 100 ms,
// takes most of a link from a TCP download; 25 ms gives it back.
func WithTargetDelay(d time.Duration) Option {
	return func(o *options) { o.targetDelay = d }
}

// WithReceiveBuffer sets the receive window of the socket's connections
// (libutp's default is 1 MiB): data a slow reader has not taken yet counts
// against it, so a reader's rate limit reaches the sender within the window.
func WithReceiveBuffer(n int) Option {
	return func(o *options) { o.recvBuffer = n }
}

type socket struct {
	*libutp.Socket
}

func (s socket) SetFirewallCallback(f FirewallCallback) {
	s.Socket.SetFirewallCallback(libutp.FirewallCallback(f))
}

var _ Socket = socket{}

var seedOnce sync.Once

// seedLibutp seeds the C library's rand(), which libutp v1.3.2 uses for
// connection IDs and sequence numbers and go-libutp never seeds. Unseeded,
// every new process makes its first connection with the same ID, and a PC
// whose service restarts on the same address and port (a reboot) sends a
// SYN that the origin, still holding the old connection, drops as a
// duplicate. (Windows' C library keeps rand()'s state per thread, so
// there this only helps the thread that seeds; the TCP fallback covers the
// rest.)
func seedLibutp() {
	var b [4]byte
	if _, err := crand.Read(b[:]); err != nil {
		return
	}
	C.srand(C.uint(binary.LittleEndian.Uint32(b[:])))
}

// NewSocket listens for uTP on network ("udp", "udp4", "udp6") at addr.
func NewSocket(network, addr string, opts ...Option) (Socket, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	seedOnce.Do(seedLibutp)
	s, err := libutp.NewSocket(network, addr)
	if err != nil {
		return nil, err
	}
	if o.targetDelay > 0 {
		s.SetOption(libutp.TargetDelay, int(o.targetDelay.Microseconds()))
	}
	if o.recvBuffer > 0 {
		s.SetOption(libutp.RecvBuffer, o.recvBuffer)
	}
	if err := setUDPBuffers(s, udpBuffer); err != nil {
		s.Close()
		return nil, err
	}
	return socket{s}, nil
}

// udpBuffer is the kernel buffer, each way, of a socket's UDP port.
//
// A uTP sender sends what the receive window allows back to back; with the
// kernel's default UDP receive buffer (Linux: 208 KiB of packet memory,
// about 90 full packets; Windows: 64 KiB) a burst overflows it whenever the
// reading goroutine is a moment late, and libutp recovers lost packets
// slowly (it checks its timeouts every 500 ms): over loopback one
// connection moved 4-16 MB/s and ten connections over one socket 3.2 MB/s,
// with 4 MiB 90-130 MB/s (service/core BenchmarkSocketLoopback*). Linux
// caps the size at net.core.rmem_max / wmem_max.
const udpBuffer = 4 << 20

// setUDPBuffers sets the kernel buffers of the UDP socket under s.
// go-libutp v1.3.2 opens that socket itself and keeps it in an unexported
// field, pc; it is reached through reflection (the version is pinned in
// go.mod, and a missing field is an error, not a silent default).
func setUDPBuffers(s *libutp.Socket, n int) error {
	if n == 0 {
		return nil
	}
	f := reflect.ValueOf(s).Elem().FieldByName("pc")
	if !f.IsValid() {
		return errors.New("utp: go-libutp's Socket has no packet conn field (pc) to size")
	}
	pc, ok := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*net.UDPConn)
	if !ok {
		return errors.New("utp: go-libutp's packet conn is not a UDP socket")
	}
	if err := pc.SetReadBuffer(n); err != nil {
		return err
	}
	return pc.SetWriteBuffer(n)
}

// NewSocketFromPacketConn is not supported by libutp v1.3.2.
func NewSocketFromPacketConn(pc net.PacketConn, opts ...Option) (Socket, error) {
	return nil, errors.New("utp: sockets from an existing packet conn are not supported by libutp v1.3.2")
}
