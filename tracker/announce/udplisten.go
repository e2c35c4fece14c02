package announce

import (
	"context"
	"fmt"
	"net"
)

// ListenUDP opens the UDP tracker's sockets on address for n readers: on
// Linux n sockets bound to the same port with SO_REUSEPORT, each read by
// its own goroutine in ServeAll, so that readers do not queue on one
// socket's locks; elsewhere one socket. The first socket's address is the
// tracker's (a ":0" port is chosen once).
func ListenUDP(address string, n int) ([]net.PacketConn, error) {
	n = max(udpSockets(n), 1)
	lc := net.ListenConfig{}
	if n > 1 {
		lc.Control = reusePort
	}
	var pcs []net.PacketConn
	for i := range n {
		pc, err := lc.ListenPacket(context.Background(), "udp", address)
		if err != nil {
			for _, p := range pcs {
				_ = p.Close()
			}
			return nil, fmt.Errorf("udp socket %d of %d: %w", i+1, n, err)
		}
		if i == 0 {
			address = pc.LocalAddr().String()
		}
		pcs = append(pcs, pc)
	}
	return pcs, nil
}
