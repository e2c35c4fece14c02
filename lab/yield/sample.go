package yield

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// openInNS opens path from a thread that has joined namespace ns, then
// returns the thread to its own namespace. Files under
// /proc/thread-self/net keep the namespace they were opened in, so
// re-reading the open file later shows that namespace's counters without
// starting a process. (netlab keeps its own helper unexported.)
//
// The thread must go back rather than exit: children started from a thread
// with Pdeathsig (as netlab starts them) are killed when that thread exits.
func openInNS(ns, path string) (*os.File, error) {
	type res struct {
		f   *os.File
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- res{nil, err}
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- res{nil, err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- res{nil, fmt.Errorf("entering %s: %w", ns, err)}
			return
		}
		f, ferr := os.Open(path)
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Stays locked: the tainted thread exits with this goroutine.
			if f != nil {
				f.Close()
			}
			ch <- res{nil, fmt.Errorf("leaving %s: %w", ns, err)}
			return
		}
		runtime.UnlockOSThread()
		ch <- res{f, ferr}
	}()
	r := <-ch
	return r.f, r.err
}

// devCounters is one reading of a namespace's /proc/net/dev: bytes received
// and sent per interface.
type devCounters struct {
	at     time.Time
	rx, tx map[string]uint64
}

func readNetDev(f *os.File, buf []byte) (devCounters, error) {
	n, err := f.ReadAt(buf, 0)
	if n == 0 && err != nil {
		return devCounters{}, err
	}
	c := devCounters{at: time.Now(), rx: map[string]uint64{}, tx: map[string]uint64{}}
	sc := bufio.NewScanner(bytes.NewReader(buf[:n]))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) < 9 {
			continue
		}
		rx, err1 := strconv.ParseUint(fs[0], 10, 64)
		tx, err2 := strconv.ParseUint(fs[8], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		name = strings.TrimSpace(name)
		c.rx[name], c.tx[name] = rx, tx
	}
	return c, sc.Err()
}

// sample is the cumulative bytes the branch router sent to each client
// port (c1 the background client, c2 the foreground, c3 the probe) at one
// moment.
type sample struct {
	At         time.Time
	C1, C2, C3 uint64
}

// sampler reads the branch router's interface counters every interval.
type sampler struct {
	f    *os.File
	mu   sync.Mutex
	s    []sample
	stop chan struct{}
	done chan struct{}
}

func startSampler(routerNS string, every time.Duration) (*sampler, error) {
	f, err := openInNS(routerNS, "/proc/thread-self/net/dev")
	if err != nil {
		return nil, fmt.Errorf("router counters: %w", err)
	}
	sp := &sampler{f: f, stop: make(chan struct{}), done: make(chan struct{})}
	buf := make([]byte, 64<<10)
	first, err := readNetDev(f, buf)
	if err != nil {
		f.Close()
		return nil, err
	}
	if _, ok := first.tx["c1"]; !ok {
		f.Close()
		return nil, fmt.Errorf("router counters: no port c1 in %v", first.tx)
	}
	go func() {
		defer close(sp.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-sp.stop:
				return
			case <-t.C:
			}
			c, err := readNetDev(f, buf)
			if err != nil {
				continue
			}
			sp.mu.Lock()
			sp.s = append(sp.s, sample{At: c.at, C1: c.tx["c1"], C2: c.tx["c2"], C3: c.tx["c3"]})
			sp.mu.Unlock()
		}
	}()
	return sp, nil
}

// between returns the samples taken in [from, to].
func (sp *sampler) between(from, to time.Time) []sample {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var r []sample
	for _, s := range sp.s {
		if !s.At.Before(from) && !s.At.After(to) {
			r = append(r, s)
		}
	}
	return r
}

func (sp *sampler) close() {
	close(sp.stop)
	<-sp.done
	sp.f.Close()
}
