// Package testbed runs real SMSTorrent parts for the tests of every folder:
// signing keys, package folders with random content, signed torrents, the
// real tracker and repository (tracker/server), real services (service/svc),
// and real anacrolix clients and HTTP clients bound to chosen loopback
// addresses (Linux routes all of 127.0.0.0/8 to lo), all with temporary
// folders and free ports, stopped in t.Cleanup.
//
// It is the one place that knows both the service and the tracker: it sits
// above them, so that neither service/ nor tracker/ imports the other (the
// layering test in internal/layers checks direct imports, test files
// included). Only tests import it.
//
// Two loopback layouts:
//   - the service layout (StartTracker, StartOrigin): the tracker and the
//     origin services listen on HQIP, which the tracker treats as an origin
//     and the services count as a server; branch services listen on
//     127.0.0.1;
//   - the site layout (StartSiteTracker, TrackerConfig): sites A and B on
//     127.0.1.0/24 and 127.0.2.0/24, hq on 127.0.0.1, origins on
//     127.0.3.0/24.
package testbed

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
)

// Key is a publisher key pair.
type Key struct {
	Priv pkgsign.PrivateKey
	Pub  string // "ed25519:..."
}

// NewKey makes a publisher key.
func NewKey(tb testing.TB) Key {
	k, err := pkgsign.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return Key{Priv: k, Pub: k.Public().String()}
}

// WriteFiles fills dir with files of random content: name -> size.
func WriteFiles(tb testing.TB, dir string, files map[string]int) {
	tb.Helper()
	for name, size := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		b := make([]byte, size)
		if _, err := rand.Read(b); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// WaitFor polls cond until it is true or the deadline passes.
func WaitFor(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// testLog writes log lines into the test's log, until done.
type testLog struct {
	tb     testing.TB
	prefix string
	done   atomic.Bool
}

func (w *testLog) Write(p []byte) (int, error) {
	if w.done.Load() {
		return len(p), nil
	}
	w.tb.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
