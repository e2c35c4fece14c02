//go:build !linux

package announce

import (
	"context"
	"net"
)

// readLoopRaw is Linux's raw read loop; elsewhere readLoopUDP.
func (s *UDPServer) readLoopRaw(ctx context.Context, uc *net.UDPConn) error {
	return s.readLoopUDP(ctx, uc)
}
