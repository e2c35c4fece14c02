package announce

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Only a plain GET of /announce or /scrape in origin form takes the fast
// path; everything else goes to net/http.
func TestFastRequest(t *testing.T) {
	for _, c := range []struct {
		head        string
		path, query string
		ok          bool
	}{
		{"GET /announce?info_hash=%01&port=1 HTTP/1.1\r\nHost: x", "/announce", "info_hash=%01&port=1", true},
		{"GET /scrape?info_hash=a HTTP/1.0", "/scrape", "info_hash=a", true},
		{"GET /announce HTTP/1.1", "/announce", "", true},
		{"POST /announce?x HTTP/1.1", "", "", false},
		{"GET /announce/x?y HTTP/1.1", "", "", false},
		{"GET http://h/announce?x HTTP/1.1", "", "", false},
		{"GET /announce?x HTTP/2.0", "", "", false},
		{"GET /announce?a b HTTP/1.1", "", "", false},
		{"GET /api/v1/packages HTTP/1.1", "", "", false},
		{"", "", "", false},
	} {
		p, q, ok := fastRequest([]byte(c.head))
		if p != c.path || q != c.query || ok != c.ok {
			t.Errorf("%q: %q %q %v, want %q %q %v", c.head, p, q, ok, c.path, c.query, c.ok)
		}
	}
	for s, want := range map[string]bool{"GET /ann": true, "GET /announce?x": true, "GET /sc": true, "POST /": false, "GET /api": false, "G": true} {
		if plausible([]byte(s)) != want {
			t.Errorf("plausible(%q) != %v", s, want)
		}
	}
}

// Through a real listener: a plain announce (with a head longer than the
// pooled buffer) is answered by the fast path and the connection closed;
// any other request reaches net/http with its body intact.
func TestFastListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fb := &fakeBackend{resp: &Response{Interval: 60 * time.Second, Peers: peers()}}
	h := &Handler{Backend: fb}
	mux := http.NewServeMux()
	h.Routes(mux)
	mux.HandleFunc("POST /other", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(append([]byte("net/http got "), b...))
	})
	srv := &http.Server{Handler: mux}
	fl := h.FastListener(ln, "test")
	go func() { _ = srv.Serve(fl) }()
	t.Cleanup(func() { _ = srv.Close() })

	q := "info_hash=" + url.QueryEscape(ih20) + "&peer_id=" + url.QueryEscape(pid20) + "&port=6881&left=1&pad=" + strings.Repeat("x", 2500)
	resp, err := http.Get("http://" + ln.Addr().String() + "/announce?" + q)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !resp.Close || resp.Header.Get("Server") != "test" || !bytes.Contains(body, []byte("5:peers6:")) {
		t.Fatalf("fast answer: %v %q", resp.Header, body)
	}
	if fb.got == nil || fb.got.Port != 6881 || !fb.from.IsLoopback() {
		t.Fatalf("backend saw %+v from %v", fb.got, fb.from)
	}
	// A head in two writes (the second may come after the accept's first
	// read) is answered all the same.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	head := "GET /announce?" + q + " HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, part := range []string{head[:20], head[20:]} {
		if _, err := io.WriteString(c, part); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	raw, err := io.ReadAll(c)
	if err != nil || !bytes.HasPrefix(raw, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.Contains(raw, []byte("5:peers6:")) {
		t.Fatalf("answer to a head in two writes: %q, %v", raw, err)
	}
	resp, err = http.Post("http://"+ln.Addr().String()+"/other", "text/plain", strings.NewReader("the body"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "net/http got the body" || resp.Close {
		t.Fatalf("handed-on request: %v %q", resp.Header, body)
	}
}
