package announce

import (
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"testing"
	"time"
)

// ListenUDP's sockets share one port, and ServeAll answers on each: many
// clients (the kernel spreads them over the sockets) all get answers, and
// ServeAll returns once its context ends.
func TestListenUDPServeAll(t *testing.T) {
	for name, address := range map[string]string{"ipv4": "127.0.0.1:0", "ipv6": "[::1]:0"} {
		t.Run(name, func(t *testing.T) {
			// No IPv6 loopback on some machines; and wine has no
			// SIO_UDP_CONNRESET, which Go's UDP sockets need on Windows,
			// so there no UDP socket opens at all.
			pc, err := net.ListenPacket("udp", address)
			if err != nil {
				t.Skipf("no UDP socket on %s here: %v", address, err)
			}
			_ = pc.Close()
			testListenUDP(t, address)
		})
	}
}

func testListenUDP(t *testing.T, address string) {
	pcs, err := ListenUDP(address, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := 4
	if runtime.GOOS != "linux" {
		want = 1
	}
	if len(pcs) != want {
		t.Fatalf("%d sockets, want %d", len(pcs), want)
	}
	for _, pc := range pcs[1:] {
		if pc.LocalAddr().String() != pcs[0].LocalAddr().String() {
			t.Fatalf("sockets on %v and %v", pcs[0].LocalAddr(), pc.LocalAddr())
		}
	}
	s := &UDPServer{Backend: &fakeBackend{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeAll(ctx, pcs) }()
	for i := range 16 {
		c, err := net.Dial("udp", pcs[0].LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		p := binary.BigEndian.AppendUint64(nil, udpProtocolID)
		p = binary.BigEndian.AppendUint32(p, actionConnect)
		p = binary.BigEndian.AppendUint32(p, uint32(i))
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil || n != 16 || binary.BigEndian.Uint32(buf[4:]) != uint32(i) {
			t.Fatalf("client %d: %x, %v", i, buf[:n], err)
		}
		_ = c.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ServeAll: %v", err)
	}
}
