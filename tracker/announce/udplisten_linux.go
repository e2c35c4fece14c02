package announce

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort is SO_REUSEPORT on Linux: the kernel spreads the packets of
// a port over the sockets bound to it by one user, one flow to one socket.
func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}

// udpSockets is how many sockets ListenUDP opens for n readers.
func udpSockets(n int) int { return n }
