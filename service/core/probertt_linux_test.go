package core

import (
	"net"
	"testing"
	"time"
)

// The kernel's handshake RTT is read from a real connection and is never
// more than the time measured around the dial.
func TestKernelRTT(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	c, err := net.Dial("tcp", ln.Addr().String())
	wall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k, ok := kernelRTT(c)
	if !ok || k <= 0 {
		t.Fatalf("kernelRTT = %v, %v; want a positive RTT", k, ok)
	}
	if k > wall {
		t.Errorf("kernel RTT %v above the wall-clock dial time %v", k, wall)
	}
	if _, ok := kernelRTT(nil); ok {
		t.Error("kernelRTT(nil) reported an RTT")
	}
}
