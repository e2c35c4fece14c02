package addrlimit

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestBurstThenRate(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	l := New(2, 5, 0, c.Now)
	a, b := netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.1.0.2")
	for i := range 5 {
		if ok, _ := l.Allow(a); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow(a)
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("6th request: ok=%v wait=%v, want refused with a wait of at most 0.5 s", ok, wait)
	}
	if ok, _ := l.Allow(b); !ok {
		t.Fatal("another address was limited too")
	}
	c.now = c.now.Add(time.Second) // two more tokens
	for i := range 2 {
		if ok, _ := l.Allow(a); !ok {
			t.Fatalf("request %d after a second refused", i)
		}
	}
	if ok, _ := l.Allow(a); ok {
		t.Fatal("the rate was exceeded")
	}
}

// One IPv6 host can use any address of its /64: they share one bucket.
func TestIPv6GroupedBy64(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	l := New(1, 3, 0, c.Now)
	for i := range 3 {
		if ok, _ := l.Allow(netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1))); !ok {
			t.Fatal("refused within the burst")
		}
	}
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:1:2:ffff::9")); ok {
		t.Fatal("another address of the same /64 got a fresh bucket")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:1:3::1")); !ok {
		t.Fatal("another /64 was limited")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("::ffff:10.0.0.1")); !ok {
		t.Fatal("a mapped IPv4 address was limited")
	}
}

// The table is bounded: beyond maxAddrs, new addresses share one bucket,
// and addresses that went idle are forgotten to make room.
func TestTableBounded(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	l := New(1, 2, 4, c.Now)
	for i := range 4 {
		l.Allow(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}))
	}
	for i := range 100 {
		l.Allow(netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}))
	}
	if n := l.Len(); n != 4 {
		t.Fatalf("table holds %d addresses, want the bound of 4", n)
	}
	if ok, _ := l.Allow(netip.MustParseAddr("10.0.2.1")); ok {
		t.Fatal("the shared bucket of the overflow did not limit")
	}
	c.now = c.now.Add(time.Minute) // everyone idle: the sweep makes room
	if ok, _ := l.Allow(netip.MustParseAddr("10.0.2.1")); !ok {
		t.Fatal("an idle table did not make room")
	}
	if n := l.Len(); n != 1 {
		t.Errorf("after the sweep the table holds %d addresses, want 1", n)
	}
}
