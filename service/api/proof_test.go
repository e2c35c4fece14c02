package api

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// tokenCatcher is a server that records every token it is sent.
type tokenCatcher struct {
	mu     sync.Mutex
	tokens []string
}

func (tc *tokenCatcher) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.Header.Get(HeaderToken); tok != "" {
			tc.mu.Lock()
			tc.tokens = append(tc.tokens, tok)
			tc.mu.Unlock()
		}
		if r.URL.Path == PathProof && h != nil {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set(HeaderAPIVersion, APIVersion)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"version":"fake","access":"control"}`)
	})
}

func (tc *tokenCatcher) got() []string {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return append([]string(nil), tc.tokens...)
}

// writeAddress publishes addr and key as the service does.
func writeAddress(t *testing.T, dir, addr string, key ed25519.PublicKey) {
	t.Helper()
	p := filepath.Join(dir, AddressFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, FormatAddressFile(addr, key), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// genuineService serves the proof with a fresh key and publishes its
// address and key in a new data folder.
func genuineService(t *testing.T) (*tokenCatcher, string) {
	t.Helper()
	pub, priv := newKey(t)
	tc := &tokenCatcher{}
	srv := httptest.NewServer(tc.wrap(ProofHandler(priv)))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	writeAddress(t, dir, strings.TrimPrefix(srv.URL, "http://"), pub)
	return tc, dir
}

func TestClientProvesService(t *testing.T) {
	tc, dir := genuineService(t)
	c := &Client{DataDir: dir, Token: "secret"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 3 { // the second and third reuse the proven connection
		if _, err := c.Status(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := tc.got(); len(got) != 3 || got[0] != "secret" {
		t.Errorf("tokens received by the service: %q", got)
	}
}

func TestClientRefusesImpostors(t *testing.T) {
	pub, priv := newKey(t)
	_, otherPriv := newKey(t)
	// The real service, on another port than the address file names.
	real := httptest.NewServer(ProofHandler(priv))
	defer real.Close()
	relay := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Passes the client's challenge to the real service and its answer back.
		resp, err := http.Get(real.URL + r.URL.RequestURI())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	tests := []struct {
		name  string
		proof http.Handler
	}{
		{"no proof (an old fake)", nil},
		{"signed with another key", ProofHandler(otherPriv)},
		{"relays the real service's proof", relay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tc tokenCatcher
			srv := httptest.NewServer(tc.wrap(tt.proof))
			defer srv.Close()
			dir := t.TempDir()
			writeAddress(t, dir, strings.TrimPrefix(srv.URL, "http://"), pub)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, c := range []*Client{
				{DataDir: dir, Token: "secret"},
				{BaseURL: srv.URL, ServiceKey: pub, Token: "secret"},
			} {
				_, err := c.Status(ctx)
				if !IsNotService(err) {
					t.Errorf("Status against an impostor: %v", err)
				}
				err = c.Events(ctx, func(Event) error { return nil })
				if !IsNotService(err) {
					t.Errorf("Events against an impostor: %v", err)
				}
			}
			if got := tc.got(); len(got) != 0 {
				t.Errorf("the impostor received tokens %q", got)
			}
		})
	}
}

func TestClientRefusesUntrustedAddressFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes; the DACL check is tested in internal/secfs")
	}
	tc, dir := genuineService(t)
	if err := os.Chmod(filepath.Join(dir, "api"), 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := (&Client{DataDir: dir, Token: "secret"}).Status(context.Background())
	if !IsNotService(err) || !strings.Contains(err.Error(), "writable by every user") {
		t.Errorf("address file in a world-writable folder: %v", err)
	}
	if len(tc.got()) != 0 {
		t.Error("a token was sent")
	}
}

func TestClientNeedsServiceKeyWithBaseURL(t *testing.T) {
	_, err := (&Client{BaseURL: "http://127.0.0.1:1", Token: "x"}).Status(context.Background())
	if !errors.Is(err, ErrNoServiceKey) {
		t.Errorf("got %v", err)
	}
}

func TestParseAddressFile(t *testing.T) {
	pub, _ := newKey(t)
	addr, key, err := ParseAddressFile(FormatAddressFile("127.0.0.1:7380", pub))
	if err != nil || addr != "127.0.0.1:7380" || !key.Equal(pub) {
		t.Fatalf("round trip: %q %v %v", addr, key, err)
	}
	for _, bad := range []string{"", "127.0.0.1:7380\n", "127.0.0.1:7380\ned25519:AAAA\n", "nohost\ned25519:" + strings.Repeat("A", 43) + "=\n", "a\nb\nc"} {
		if _, _, err := ParseAddressFile([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// The proof must not eat or leave bytes on the connection: a raw exchange
// followed by a request on the same connection works.
func TestProofKeepsConnection(t *testing.T) {
	pub, priv := newKey(t)
	srv := httptest.NewServer(ProofHandler(priv))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 2 {
		if err := proveService(context.Background(), conn, u.Host, pub); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := io.WriteString(conn, "GET "+PathProof+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("request after the proof: %v %v", resp, err)
	}
}

// FuzzAddressFile: the address file is read by users' trays and SYSTEM's
// wrapper; whatever it holds, parsing never panics, and what it accepts is
// a host:port and a key of the right size that format back the same.
func FuzzAddressFile(f *testing.F) {
	pub := make([]byte, ed25519.PublicKeySize)
	f.Add(FormatAddressFile("127.0.0.1:7380", pub))
	f.Add([]byte("127.0.0.1:7380\n"))
	f.Add([]byte("[::1]:0\r\ned25519:" + strings.Repeat("/", 44) + "\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		addr, key, err := ParseAddressFile(b)
		if err != nil {
			return
		}
		if len(key) != ed25519.PublicKeySize {
			t.Fatalf("key of %d bytes", len(key))
		}
		a2, k2, err := ParseAddressFile(FormatAddressFile(addr, key))
		if err != nil || a2 != addr || !k2.Equal(key) {
			t.Fatalf("round trip: %q %v", a2, err)
		}
	})
}
