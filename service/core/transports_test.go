package core

import (
	"net"
	"strings"
	"testing"
)

// When the port is the system's pick and the UDP socket's number is already
// taken for TCP (CI saw "bind: address already in use" once), the sockets
// are opened again on another port; a configured port in use is an error
// that names it.
func TestTransportsRetryATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().(*net.TCPAddr).Port
	// A configured port in use (TCP only: wine opens no UDP socket) is an
	// error that names it, recognised as address-in-use on this system.
	o := transportOptions{host: "127.0.0.1", tcp: true, port: busy}
	if _, err := openSockets(o, func(int) int { return busy }); err == nil || !strings.Contains(err.Error(), "TCP port") || !addrInUse(err) {
		t.Errorf("configured port in use: err %v, want a TCP address-in-use error", err)
	}

	if c, err := net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
		t.Skipf("no UDP socket opens here (wine lacks SIO_UDP_CONNRESET): %v", err)
	} else {
		c.Close()
	}
	o = transportOptions{host: "127.0.0.1", tcp: true, utp: true, network: "udp4"}

	var picks []int
	tr, err := openSockets(o, func(attempt int) int {
		picks = append(picks, attempt)
		if attempt == 1 {
			return busy // as if the system had picked a number TCP holds
		}
		return 0
	})
	if err != nil {
		t.Fatalf("system-picked port: %v", err)
	}
	defer tr.Close()
	got := tr.tcpLn.Addr().(*net.TCPAddr).Port
	if len(picks) != 2 || got == busy || got != tr.utp.Addr().(*net.UDPAddr).Port {
		t.Errorf("attempts %v, TCP port %d, UDP %v; want two attempts and one new port for both", picks, got, tr.utp.Addr())
	}
}
