//go:build !linux

package announce

import (
	"net"
	"os"
)

// rawListener is Linux's raw accept path: none here.
func rawListener(net.Listener) *os.File { return nil }

// acceptLoop is Linux's raw accept path; elsewhere run accepts through
// net and serves each connection on a goroutine.
func (l *fastListener) acceptLoop() bool { return false }
