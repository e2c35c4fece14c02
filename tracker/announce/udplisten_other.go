//go:build !linux

package announce

import "syscall"

// reusePort does nothing where SO_REUSEPORT does not spread packets.
func reusePort(network, address string, c syscall.RawConn) error { return nil }

// udpSockets is how many sockets ListenUDP opens for n readers: one.
func udpSockets(int) int { return 1 }
