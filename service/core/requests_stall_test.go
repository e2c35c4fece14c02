package core_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

// A seeder behind a path that stops forwarding its data after the first
// MiB (the connection stays open, our requests go unanswered): the request
// watch warns, closes the connection and dials the peer again, and the
// download completes.
func TestUnansweredRequestsAreReassigned(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	p := testbed.Published(t, key, tr, "PS100077", map[string]int{"setup.msi": 8 << 20}, 256<<10)

	// A plain engine seeds the package and announces nowhere.
	cl := plainSeeder(t, p)
	seederAddr := fmt.Sprintf("127.0.0.1:%d", cl.LocalPort())

	px := startStallingProxy(t, seederAddr, 1<<20)
	// The tracker learns the proxy as a seeder of the site.
	announceAs(t, tr, p, px.port())

	var logs syncBuffer
	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	in := testbed.StartService(t, cfg, svc.Options{
		RequestTimeout: 3 * time.Second,
		Logger:         slog.New(slog.NewTextHandler(&logs, nil)),
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.Bytes())
		}
	})
	c := in.Client(true)
	if _, err := c.Add(context.Background(), api.AddRequest{PackageID: p.ID}); err != nil {
		t.Fatal(err)
	}
	j := testbed.WaitJob(t, c, p.ID, 3*time.Minute, "the download past the stalled path",
		func(j *api.Job) bool { return j.State == api.StateTransferred })
	if err := testbed.SameTree(p.Dir, j.Path); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logs.Bytes(), []byte("a peer stopped answering our requests")) {
		t.Errorf("no warning about the peer that stopped answering in the log:\n%s", logs.Bytes())
	}
	if px.stalled.Load() == 0 {
		t.Error("the proxy never stalled a connection: the test proves nothing")
	}
}

// stallingProxy forwards connections to a peer; the first one stops
// forwarding the peer's bytes after limit, keeping the connection open.
type stallingProxy struct {
	ln      net.Listener
	stalled atomic.Int32
}

func startStallingProxy(t *testing.T, to string, limit int64) *stallingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &stallingProxy{ln: ln}
	var wg sync.WaitGroup
	var conns sync.Map
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	first := true
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", to)
			if err != nil {
				a.Close()
				continue
			}
			conns.Store(a, nil)
			conns.Store(b, nil)
			stall := first
			first = false
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(b, a) }()
			go func() {
				defer wg.Done()
				if !stall {
					_, _ = io.Copy(a, b)
					return
				}
				_, _ = io.CopyN(a, b, limit)
				px.stalled.Add(1)
				_, _ = io.Copy(io.Discard, b) // the path drops the rest
			}()
		}
	}()
	return px
}

func (px *stallingProxy) port() int { return px.ln.Addr().(*net.TCPAddr).Port }

// announceAs announces a seeder of p at 127.0.0.1:port to the tracker.
func announceAs(t *testing.T, tr *testbed.Tracker, p *testbed.Package, port int) {
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	ih := p.Info.InfoHash
	q := url.Values{
		"info_hash": {string(ih[:])}, "peer_id": {"-XX0001-" + string(id)}, "port": {strconv.Itoa(port)},
		"uploaded": {"0"}, "downloaded": {"0"}, "left": {"0"}, "compact": {"1"}, "event": {"started"},
	}
	resp, err := http.Get(tr.Announce + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || bytes.Contains(b, []byte("failure")) {
		t.Fatalf("announce: %s %q", resp.Status, b)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}
