package svc_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

// The API over a real loopback listener: token files, negative cases, the
// event stream, and a client that notices the service going away and
// coming back.
func TestAPIOverLoopback(t *testing.T) {
	key := testbed.NewKey(t)
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	in := testbed.StartService(t, cfg, svc.Options{})
	ctx := context.Background()

	// Token files: control private, read public.
	for f, mode := range map[string]os.FileMode{api.ControlTokenFile: 0o600, api.ReadTokenFile: 0o644} {
		st, err := os.Stat(filepath.Join(cfg.DataDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", f, st.Mode().Perm(), mode)
		}
	}
	// A zero-value-like client finds the service through the data folder.
	zc := &api.Client{DataDir: cfg.DataDir}
	st, err := zc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Access != api.AccessControl { // root can read the control token
		t.Errorf("access %s", st.Access)
	}
	rc := in.Client(false)
	if _, err := rc.Pause(ctx, "X"); !api.IsForbidden(err) {
		t.Errorf("read token pausing: %v", err)
	}
	bad := &api.Client{BaseURL: "http://" + in.Addr, ServiceKey: in.ServiceKey, Token: "wrong"}
	if _, err := bad.Jobs(ctx); !api.IsUnauthorized(err) {
		t.Errorf("wrong token: %v", err)
	}
	// Raw requests with a foreign Host and an Origin.
	for name, mod := range map[string]func(*http.Request){
		"foreign host": func(r *http.Request) { r.Host = "attacker.example" },
		"origin":       func(r *http.Request) { r.Header.Set("Origin", "http://attacker.example") },
	} {
		req, _ := http.NewRequest("GET", "http://"+in.Addr+api.PathStatus, nil)
		req.Header.Set(api.HeaderToken, in.ReadToken)
		mod(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
	// Event stream: snapshot first, then a disconnected event when the
	// service stops.
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	evs := make(chan api.Event, 100)
	go zc.Watch(wctx, func(ev api.Event) { evs <- ev }) // reads new tokens after a restart
	if ev := next(t, evs); ev.Type != api.EventSnapshot {
		t.Fatalf("first event %s", ev.Type)
	}
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	for ev := next(t, evs); ev.Type != api.EventDisconnected; ev = next(t, evs) {
	}
	if _, err := zc.Status(ctx); !api.IsServiceDown(err) {
		t.Errorf("status of a stopped service: %v", err)
	}
	// Restart on the same API port: the watcher reconnects by itself.
	cfg.APIListen = in.Addr
	in2, err := svc.Start(ctx, cfg, svc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer in2.Stop()
	for ev := next(t, evs); ev.Type != api.EventSnapshot; ev = next(t, evs) {
	}
}

func next(t *testing.T, ch <-chan api.Event) api.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no event")
	}
	return api.Event{}
}

// A program that holds the API's port before the service starts: the
// service refuses to start with an error that says so, and the address
// file a crash left behind is gone, so clients say "not running".
func TestSquattedPort(t *testing.T) {
	key := testbed.NewKey(t)
	squat, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squat.Close()
	cfg := testbed.Config(t, key, "", "127.0.0.1")
	cfg.APIListen = squat.Addr().String()
	stale := filepath.Join(cfg.DataDir, api.AddressFile)
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte(squat.Addr().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := svc.Start(context.Background(), cfg, svc.Options{})
	if err == nil {
		in.Stop()
		t.Fatal("the service started on a port another program holds")
	}
	if !strings.Contains(err.Error(), "already in use by another program") {
		t.Errorf("error does not say the port is taken: %v", err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale address file is still there: %v", err)
	}
	_, err = (&api.Client{DataDir: cfg.DataDir}).Status(context.Background())
	if !api.IsServiceDown(err) {
		t.Errorf("client: %v", err)
	}
}
