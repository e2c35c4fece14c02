package announce

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readLoopRaw is readLoopUDP with recvfrom and sendto as raw system
// calls on the socket's descriptor, waiting on Go's poller only when no
// packet is there. Both return at once on a non-blocking socket, so they
// need none of the runtime's bookkeeping around a blocking system call,
// which woke the runtime's monitor thread whenever the tracker became busy
// after being idle (a futex wake and a context switch per burst). The
// reply goes to the sockaddr recvfrom filled in, unconverted.
func (s *UDPServer) readLoopRaw(ctx context.Context, uc *net.UDPConn) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return s.readLoopUDP(ctx, uc)
	}
	buf := make([]byte, maxUDPPacket)
	out := make([]byte, 0, maxUDPPacket)
	var sa unix.RawSockaddrAny
	for {
		var n int
		var alen uint32
		var errno syscall.Errno
		err := rc.Read(func(fd uintptr) bool {
			alen = unix.SizeofSockaddrAny
			r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0,
				uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&alen)))
			n, errno = int(r), e
			return e != unix.EAGAIN && e != unix.EINTR
		})
		if err == nil && errno != 0 {
			err = errno
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("udp tracker: reading: %w", err)
		}
		from, ok := rawAddrPort(&sa, alen)
		if !ok {
			continue
		}
		if out = s.handle(ctx, from, buf[:n], out); len(out) == 0 {
			continue
		}
		werr := rc.Write(func(fd uintptr) bool {
			_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&out[0])), uintptr(len(out)), 0,
				uintptr(unsafe.Pointer(&sa)), uintptr(alen))
			errno = e
			return e != unix.EAGAIN && e != unix.EINTR
		})
		if werr == nil && errno != 0 {
			werr = errno
		}
		if werr != nil && ctx.Err() == nil {
			s.Logger.Debug("udp tracker: writing reply", "to", from, "err", werr)
		}
	}
}

// rawAddrPort is the address and port of a sockaddr from recvfrom.
func rawAddrPort(sa *unix.RawSockaddrAny, alen uint32) (netip.AddrPort, bool) {
	switch sa.Addr.Family {
	case unix.AF_INET:
		if alen < unix.SizeofSockaddrInet4 {
			return netip.AddrPort{}, false
		}
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&a.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), port), true
	case unix.AF_INET6:
		if alen < unix.SizeofSockaddrInet6 {
			return netip.AddrPort{}, false
		}
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&a.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), port), true
	}
	return netip.AddrPort{}, false
}
