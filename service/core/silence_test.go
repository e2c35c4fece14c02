package core_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// A WAN path to the origin (a server address) that goes dark for 10 s
// mid-download — its connections stop moving bytes, new ones are refused
// — and then comes back: the service notices the silent connection, dials
// the origin again, and the download moves again soon after the path's
// return (logged). Old connections stay dead here, so without the
// silence watch only the 30 s request timeout would bring it back.
func TestSilentWANConnectionIsRedialled(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	p := testbed.Published(t, key, tr, "PS100078", map[string]int{"setup.msi": 24 << 20}, 256<<10)

	// A plain engine seeds the package and announces nowhere.
	cl := plainSeeder(t, p)
	px := startDarkProxy(t, testbed.HQIP, fmt.Sprintf("127.0.0.1:%d", cl.LocalPort()))
	announceFrom(t, tr, p, testbed.HQIP, px.port())

	var logs syncBuffer
	cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
	cfg.LimitDown = 2 << 20 // 2 MiB/s: the outage lands mid-download
	in := testbed.StartService(t, cfg, svc.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.Bytes())
		}
	})
	c := in.Client(true)
	ctx := context.Background()
	if _, err := c.Add(ctx, api.AddRequest{PackageID: p.ID}); err != nil {
		t.Fatal(err)
	}
	testbed.WaitJob(t, c, p.ID, time.Minute, "4 MiB downloaded", func(j *api.Job) bool { return j.BytesDone >= 4<<20 })
	px.dark.Store(true)
	time.Sleep(10 * time.Second) // the outage itself
	j, err := c.Job(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := j.BytesDone
	px.dark.Store(false)
	back := time.Now()
	t.Logf("path back at %s", back.UTC().Format("15:04:05.000"))
	testbed.WaitJob(t, c, p.ID, time.Minute, "bytes moving again", func(j *api.Job) bool { return j.BytesDone > before+(256<<10) })
	t.Logf("the download moved again (256 KiB more) %v after the path came back", time.Since(back).Round(10*time.Millisecond))
	j = testbed.WaitJob(t, c, p.ID, 3*time.Minute, "the download", func(j *api.Job) bool { return j.State == api.StateTransferred })
	if err := testbed.SameTree(p.Dir, j.Path); err != nil {
		t.Fatal(err)
	}
	for _, l := range bytes.Split(logs.Bytes(), []byte("\n")) {
		if bytes.Contains(l, []byte("silent")) || bytes.Contains(l, []byte("reconnected")) {
			t.Logf("%s", l)
		}
	}
	if !bytes.Contains(logs.Bytes(), []byte("went silent")) {
		t.Errorf("no warning about the silent connection in the log")
	}
}

// darkProxy forwards connections to a peer until it goes dark: then its
// connections move nothing and new ones are closed at once.
type darkProxy struct {
	ln   net.Listener
	dark atomic.Bool
}

func startDarkProxy(t *testing.T, ip, to string) *darkProxy {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	px := &darkProxy{ln: ln}
	var wg sync.WaitGroup
	var conns sync.Map
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		buf := make([]byte, 16<<10)
		for {
			n, err := src.Read(buf)
			for px.dark.Load() {
				time.Sleep(10 * time.Millisecond) // held like a cut line; nothing moves
				n = 0
			}
			if n > 0 {
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Go(func() {
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			if px.dark.Load() {
				a.Close()
				continue
			}
			b, err := net.Dial("tcp", to)
			if err != nil {
				a.Close()
				continue
			}
			conns.Store(a, nil)
			conns.Store(b, nil)
			wg.Add(2)
			go pipe(b, a)
			go pipe(a, b)
		}
	})
	return px
}

func (px *darkProxy) port() int { return px.ln.Addr().(*net.TCPAddr).Port }

// announceFrom announces a seeder of p at ip:port to the tracker, from ip.
func announceFrom(t *testing.T, tr *testbed.Tracker, p *testbed.Package, ip string, port int) {
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	ih := p.Info.InfoHash
	q := url.Values{
		"info_hash": {string(ih[:])}, "peer_id": {"-XX0001-" + string(id)}, "port": {strconv.Itoa(port)},
		"uploaded": {"0"}, "downloaded": {"0"}, "left": {"0"}, "compact": {"1"}, "event": {"started"},
	}
	resp, err := testbed.BoundHTTPClient(ip).Get(tr.Announce + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || bytes.Contains(b, []byte("failure")) {
		t.Fatalf("announce: %s %q", resp.Status, b)
	}
}
