package netlab

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// inNS runs fn on an OS thread that has joined namespace ns, then returns the
// thread to its own namespace. A socket keeps the namespace it was created in,
// so listeners and connections made by fn work from any goroutine afterwards.
// If the thread cannot be returned it stays locked and dies with the goroutine.
func inNS(ns string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: own namespace: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join("/run/netns", ns))
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: namespace %s: %w", ns, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: enter %s: %w", ns, err)
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it is tainted and exits with this goroutine.
		return fmt.Errorf("netlab: leave %s: %w", ns, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// inNSGoroutine runs inNS on a fresh goroutine, so a tainted thread never
// belongs to the caller.
func inNSGoroutine(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- inNS(ns, fn) }()
	return <-errc
}

// Listen opens a listener inside namespace ns.
func Listen(ns, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := inNSGoroutine(ns, func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// DialContext dials from inside namespace ns.
func DialContext(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNSGoroutine(ns, func() error {
		var err error
		d := net.Dialer{Timeout: 10 * time.Second}
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// HTTPClient returns a client whose connections are made inside namespace ns
// (for example to reach a daemon's API on that namespace's own loopback).
func HTTPClient(ns string, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return DialContext(ctx, ns, network, addr)
			},
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// InNS runs fn on a thread inside namespace ns, for sockets that Listen
// and DialContext do not make (a uTP socket): a socket keeps the namespace
// it was created in.
func InNS(ns string, fn func() error) error { return inNSGoroutine(ns, fn) }
