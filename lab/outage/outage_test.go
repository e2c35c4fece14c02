package outage

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	utp "github.com/anacrolix/go-utp"

	"github.com/smstorrent/smstorrent/lab/netlab"
)

var downFor = flag.Duration("outage.down", 10*time.Second, "how long the WAN link is down")

// stream is one transfer from hq to the branch PC: the receiver records
// when bytes arrive.
type stream struct {
	name string
	mu   sync.Mutex
	got  []time.Time // one stamp per read
	err  error
}

func (s *stream) read(c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			s.mu.Lock()
			s.got = append(s.got, time.Now())
			s.mu.Unlock()
		}
		if err != nil {
			s.mu.Lock()
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
				s.err = err
			}
			s.mu.Unlock()
			return
		}
	}
}

// resumed is the first read after t, or zero.
func (s *stream) resumed(t time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.got {
		if g.After(t) {
			return g
		}
	}
	return time.Time{}
}

func write(c net.Conn, stop <-chan struct{}) {
	buf := make([]byte, 16<<10)
	for {
		select {
		case <-stop:
			return
		default:
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

// TestTransportResumesAfterWANOutage: a uTP and a TCP stream from hq to a
// branch PC over a 20 Mbit/s, 40 ms RTT link; the link goes down for 10 s
// mid-transfer, then up; logged: how long after the link came back each
// stream's receiver got bytes again.
func TestTransportResumesAfterWANOutage(t *testing.T) {
	if err := netlab.Check(); err != nil {
		t.Skipf("network lab unavailable: %v", err)
	}
	if testing.Short() {
		t.Skip("builds a network lab and waits out an outage")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lab, err := netlab.Build(ctx, netlab.Topology{Branches: 1, ClientsPerBranch: 1, WANRateBits: 20_000_000, WANDelay: 20 * time.Millisecond}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := lab.Close(); err != nil {
			t.Errorf("closing the lab: %v", err)
		}
	}()
	pc := lab.Branches[0].Clients[0]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)

	// uTP: one socket each side, made inside its namespace.
	var hqU, pcU utp.Socket
	mk := func(ns, addr string, s *utp.Socket) error {
		return netlab.InNS(ns, func() error {
			var err error
			*s, err = utp.NewSocket("udp4", addr, utp.WithReceiveBuffer(256<<10), utp.WithTargetDelay(15*time.Millisecond))
			return err
		})
	}
	if err := mk(lab.HQ.NS, lab.HQ.Addr.String()+":0", &hqU); err != nil {
		t.Fatal(err)
	}
	defer hqU.Close()
	if err := mk(pc.NS, pc.Addr.String()+":0", &pcU); err != nil {
		t.Fatal(err)
	}
	defer pcU.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := hqU.Accept()
		if err == nil {
			acc <- c
		}
	}()
	uc, err := pcU.DialContext(ctx, "udp4", hqU.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	us := <-acc
	defer us.Close()

	// TCP.
	ln, err := netlab.Listen(lab.HQ.NS, "tcp4", lab.HQ.Addr.String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tacc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			tacc <- c
		}
	}()
	tc, err := netlab.DialContext(ctx, pc.NS, "tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ts := <-tacc
	defer ts.Close()

	streams := []*stream{{name: "uTP"}, {name: "TCP"}}
	for i, pair := range [][2]net.Conn{{us, uc}, {ts, tc}} {
		wg.Go(func() { write(pair[0], stop) })
		wg.Go(func() { streams[i].read(pair[1]) })
	}
	time.Sleep(5 * time.Second) // transfer under way: a lab timeline, not synchronisation
	b := lab.Branches[0]
	if err := lab.SetWAN(ctx, b, false); err != nil {
		t.Fatal(err)
	}
	downAt := time.Now()
	time.Sleep(*downFor) // the outage itself
	if err := lab.SetWAN(ctx, b, true); err != nil {
		t.Fatal(err)
	}
	upAt := time.Now()
	deadline := upAt.Add(40 * time.Second)
	for _, s := range streams {
		for s.resumed(upAt).IsZero() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // polling the receiver's stamps
		}
	}
	for _, s := range streams {
		r := s.resumed(upAt)
		last := s.resumed(downAt.Add(-time.Second))
		if r.IsZero() {
			t.Errorf("%s: no byte within 40 s of the link's return (err %v)", s.name, s.err)
			continue
		}
		t.Logf("%s: link down %v; first byte %v after the link came back (first byte after the cut: %v before it)",
			s.name, upAt.Sub(downAt).Round(time.Millisecond), r.Sub(upAt).Round(time.Millisecond), downAt.Sub(last).Round(time.Millisecond))
	}
}
