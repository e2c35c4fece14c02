package announce

import "testing"

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
