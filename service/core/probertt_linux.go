package core

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// kernelRTT returns the round-trip time the kernel measured for c's
// handshake (TCP_INFO's tcpi_rtt: right after connect it is the SYN to
// SYN-ACK time, taken when the SYN-ACK arrived), or false. Unlike a clock
// read around the dial in Go, it does not include the time this process
// waited for a CPU before it saw the answer, so a busy PC does not mistake
// its own load for a queue on the WAN link.
func kernelRTT(c net.Conn) (time.Duration, bool) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0, false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info *unix.TCPInfo
	var ierr error
	if err := raw.Control(func(fd uintptr) {
		info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || ierr != nil || info == nil || info.Rtt == 0 {
		return 0, false
	}
	return time.Duration(info.Rtt) * time.Microsecond, true
}
