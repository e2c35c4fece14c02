package core

import (
	"strings"
	"testing"
	"time"
)

// Across the WAN uTP dials first and TCP only after tcpFallback, and not
// at all once uTP connected; inside the site TCP dials alone; with one
// transport, it dials everything.
func TestPathPolicy(t *testing.T) {
	wan := func(addr string) bool { return strings.HasPrefix(addr, "198.18.0.") }
	const server, sitePeer = "198.18.0.10:6881", "198.18.1.5:6881"
	for _, tc := range []struct {
		tcp, utp bool
		addr     string
		utpDials bool
		tcpWait  time.Duration
	}{
		{true, true, server, true, tcpFallback},
		{true, true, sitePeer, false, 0},
		{true, false, server, false, 0},
		{true, false, sitePeer, false, 0},
		{false, true, server, true, -1},
		{false, true, sitePeer, true, -1},
	} {
		p := newPathPolicy(tc.tcp, tc.utp, wan)
		if got := p.utpDials(tc.addr); got != tc.utpDials {
			t.Errorf("tcp=%v utp=%v %s: uTP dials %v, want %v", tc.tcp, tc.utp, tc.addr, got, tc.utpDials)
		}
		if got := p.tcpWait(tc.addr); got != tc.tcpWait {
			t.Errorf("tcp=%v utp=%v %s: TCP waits %v, want %v", tc.tcp, tc.utp, tc.addr, got, tc.tcpWait)
		}
	}

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPathPolicy(true, true, wan)
	p.timeNow = func() time.Time { return now }
	start := now
	if p.utpReachedSince(server, start) {
		t.Fatal("uTP reached before dialling")
	}
	now = now.Add(time.Second)
	p.utpConnected(server)
	if !p.utpReachedSince(server, start) {
		t.Fatal("the TCP fallback does not see that uTP connected")
	}
	if p.utpReachedSince(server, now.Add(time.Second)) {
		t.Fatal("an old uTP connection stops a later TCP fallback")
	}
}
