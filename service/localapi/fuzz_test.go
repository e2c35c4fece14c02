package localapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smstorrent/smstorrent/service/api"
)

// FuzzRequest sends arbitrary requests (method, path, body, token choice,
// one extra header) through the whole handler with a fake backend. It must
// never panic; every answer is JSON (or the event stream, or ServeMux's
// redirect to a cleaned path on the same host) below 500; a state change never reaches the backend without the control
// token and a POST.
func FuzzRequest(f *testing.F) {
	f.Add("GET", api.PathStatus, "", uint8(1), "", "")
	f.Add("POST", api.PathJobs, `{"package_id":"PS100012","priority":"high","assign":true}`, uint8(2), "", "")
	f.Add("POST", api.PathJobs, `{"torrent":"ZDQ6aW5mb2Rl"}`, uint8(2), "Content-Type", "application/json")
	f.Add("POST", "/api/v1/jobs/PS1/priority", `{"priority":"urgent"}`, uint8(2), "", "")
	f.Add("POST", api.PathThrottle, `{"down":-1,"for_seconds":1e300}`, uint8(2), "", "")
	f.Add("POST", "/api/v1/jobs/..%2f..%2fetc/cancel", "", uint8(2), "", "")
	f.Add("GET", api.PathEvents, "", uint8(1), "Origin", "http://evil")
	f.Add("POST", api.PathPauseAll, "", uint8(1), "Sec-Fetch-Site", "cross-site")
	f.Add("GET", api.PathProof+"?challenge=AAAA", "", uint8(0), "", "")
	f.Add("PUT", "/api/v1/nope", "{", uint8(0), "Upgrade", "websocket")
	f.Fuzz(func(t *testing.T, method, path, body string, tok uint8, hk, hv string) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") {
			return
		}
		req, err := http.NewRequest(method, "http://127.0.0.1:7380"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		switch tok % 3 {
		case 1:
			req.Header.Set(api.HeaderToken, readTok)
		case 2:
			req.Header.Set(api.HeaderToken, controlTok)
		}
		if hk != "" && validHeader(hk, hv) {
			req.Header.Set(hk, hv)
		}
		s, fb := newServer()
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		ct := rec.Header().Get("Content-Type")
		switch {
		case strings.HasPrefix(ct, "text/event-stream") && rec.Code == http.StatusOK:
		case strings.HasPrefix(ct, "application/json"):
			if rec.Code >= 300 {
				var eb api.ErrorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == "" || eb.Code == "" {
					t.Fatalf("%s %s: error body %q", method, path, rec.Body.String())
				}
			}
		case method == http.MethodHead:
		case rec.Code/100 == 3 && strings.HasPrefix(rec.Header().Get("Location"), "/"):
			// ServeMux's redirect to the cleaned path, on the same host.
		default:
			t.Fatalf("%s %s: %d with Content-Type %q: %q", method, path, rec.Code, ct, rec.Body.String())
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %q", method, path, rec.Code, rec.Body.String())
		}
		for _, c := range fb.calls {
			if tok%3 != 2 || method != http.MethodPost {
				t.Fatalf("%s %s with token %d reached the backend: %s", method, path, tok%3, c)
			}
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func validHeader(k, v string) bool {
	h := http.Header{}
	h.Set(k, v)
	var b bytes.Buffer
	return h.Write(&b) == nil && !strings.ContainsAny(k, " :\r\n") && !strings.ContainsAny(v, "\r\n\x00")
}
