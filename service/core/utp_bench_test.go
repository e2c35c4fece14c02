package core

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	utp "github.com/anacrolix/go-utp"
)

// benchStream moves b.N MiB from a dialled connection to an accepted one
// and reports MB/s: one uTP socket per side against TCP, both over
// loopback, so that the socket's own ceiling shows.
func benchStream(b *testing.B, dial func() (net.Conn, net.Conn)) {
	src, dst := dial()
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 64<<10)
	done := make(chan error, 1)
	total := int64(b.N) << 20
	go func() {
		_, err := io.CopyN(io.Discard, dst, total)
		done <- err
	}()
	b.SetBytes(1 << 20)
	b.ResetTimer()
	start := time.Now()
	for sent := int64(0); sent < total; {
		n := min(int64(len(buf)), total-sent)
		w, err := src.Write(buf[:n])
		if err != nil {
			b.Fatal(err)
		}
		sent += int64(w)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds()/1e6, "MB/s")
}

func utpPair(b *testing.B, opts ...utp.Option) (net.Conn, net.Conn) {
	sa, err := utp.NewSocket("udp4", "127.0.0.1:0", opts...)
	if err != nil {
		b.Fatal(err)
	}
	sb, err := utp.NewSocket("udp4", "127.0.0.1:0", opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sa.Close(); sb.Close() })
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := sb.Accept()
		if err != nil {
			b.Error(err)
		}
		acc <- c
	}()
	c, err := sa.DialContext(context.Background(), "udp4", sb.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	return c, <-acc
}

// BenchmarkSocketLoopbackUTPTenConns: one socket sends ten streams at once
// (an origin feeding ten branches) to another. The connections close with
// their sockets.
func BenchmarkSocketLoopbackUTPTenConns(b *testing.B) {
	opts := []utp.Option{utp.WithReceiveBuffer(256 << 10), utp.WithTargetDelay(15 * time.Millisecond)}
	sa, err := utp.NewSocket("udp4", "127.0.0.1:0", opts...)
	if err != nil {
		b.Fatal(err)
	}
	sb, err := utp.NewSocket("udp4", "127.0.0.1:0", opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer sa.Close()
	defer sb.Close()
	const conns = 10
	per := int64(b.N) << 20 / conns
	errs := make(chan error, 2*conns)
	go func() {
		for range conns {
			c, err := sb.Accept()
			if err != nil {
				errs <- err
				return
			}
			go func() {
				_, err := io.CopyN(io.Discard, c, per)
				errs <- err
			}()
		}
	}()
	b.SetBytes(1 << 20)
	b.ResetTimer()
	start := time.Now()
	for range conns {
		// One at a time: go-libutp v1.3.2 resets connections that arrive
		// while five are waiting to be accepted.
		c, err := sa.DialContext(context.Background(), "udp4", sb.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			_, err := io.CopyN(c, zeros{}, per)
			errs <- err
		}()
	}
	for range 2 * conns {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(per*conns)/time.Since(start).Seconds()/1e6, "MB/s")
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func BenchmarkSocketLoopbackUTP(b *testing.B) {
	benchStream(b, func() (net.Conn, net.Conn) { return utpPair(b) })
}

// With the service's settings: a 256 KiB receive window, 15 ms target.
func BenchmarkSocketLoopbackUTPService(b *testing.B) {
	benchStream(b, func() (net.Conn, net.Conn) {
		return utpPair(b, utp.WithReceiveBuffer(256<<10), utp.WithTargetDelay(15*time.Millisecond))
	})
}

func BenchmarkSocketLoopbackTCP(b *testing.B) {
	benchStream(b, func() (net.Conn, net.Conn) {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		acc := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				b.Error(err)
			}
			acc <- c
		}()
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		return c, <-acc
	})
}
