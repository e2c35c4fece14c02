//go:build !linux

package core

import (
	"net"
	"time"
)

// kernelRTT is not read on this system (Windows has SIO_TCP_INFO, not used
// yet): the probe keeps the time measured around the dial.
func kernelRTT(net.Conn) (time.Duration, bool) { return 0, false }
