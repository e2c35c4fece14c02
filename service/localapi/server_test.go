package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
)

// fake is a Backend that records calls.
type fake struct {
	calls []string
	jobs  []api.Job
}

var _ Backend = (*fake)(nil)

func (f *fake) Status(a api.Access) api.Status { return api.Status{Version: "t", Access: a} }
func (f *fake) Jobs() []api.Job                { return f.jobs }
func (f *fake) Job(id string) (api.Job, error) {
	for _, j := range f.jobs {
		if j.ID == id {
			return j, nil
		}
	}
	return api.Job{}, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no job %s", id)
}
func (f *fake) Add(_ context.Context, r api.AddRequest) (api.Job, error) {
	f.calls = append(f.calls, "add "+r.PackageID)
	return api.Job{ID: r.PackageID}, nil
}
func (f *fake) act(name, id string) (api.Job, error) {
	f.calls = append(f.calls, name+" "+id)
	return f.Job(id)
}
func (f *fake) Pause(id string) (api.Job, error)    { return f.act("pause", id) }
func (f *fake) Resume(id string) (api.Job, error)   { return f.act("resume", id) }
func (f *fake) Cancel(id string) (api.Job, error)   { return f.act("cancel", id) }
func (f *fake) MarkUsed(id string) (api.Job, error) { return f.act("used", id) }
func (f *fake) Verify(_ context.Context, id string) (api.Job, error) {
	return f.act("verify", id)
}
func (f *fake) SetPriority(id string, p api.Priority) (api.Job, error) {
	return f.act("priority "+string(p), id)
}
func (f *fake) PauseAll()  { f.calls = append(f.calls, "pause-all") }
func (f *fake) ResumeAll() { f.calls = append(f.calls, "resume-all") }
func (f *fake) Throttle(r api.ThrottleRequest) (api.Bandwidth, error) {
	f.calls = append(f.calls, "throttle")
	return api.Bandwidth{EffectiveDown: r.Down}, nil
}
func (f *fake) Subscribe(api.Access) (<-chan api.Event, func()) {
	ch := make(chan api.Event, 1)
	ch <- api.Event{Type: api.EventSnapshot}
	close(ch)
	return ch, func() {}
}

const (
	readTok    = "read-token-0123456789"
	controlTok = "control-token-0123456789"
)

func newServer() (*Server, *fake) {
	f := &fake{jobs: []api.Job{{ID: "PS1", State: api.StateTransferring}}}
	return &Server{Backend: f, ReadToken: readTok, ControlToken: controlTok, Version: "test"}, f
}

func TestGuards(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		path    string
		token   string
		headers map[string]string
		host    string
		body    string
		want    int
		code    string
	}{
		{"read ok", "GET", api.PathJobs, readTok, nil, "", "", 200, ""},
		{"control reads too", "GET", api.PathStatus, controlTok, nil, "", "", 200, ""},
		{"no token", "GET", api.PathJobs, "", nil, "", "", 401, api.CodeUnauthorized},
		{"wrong token", "GET", api.PathJobs, "nope", nil, "", "", 401, api.CodeUnauthorized},
		{"token prefix", "GET", api.PathJobs, readTok[:10], nil, "", "", 401, api.CodeUnauthorized},
		{"read token on control call", "POST", "/api/v1/jobs/PS1/pause", readTok, nil, "", "", 403, api.CodeForbidden},
		{"read token adds", "POST", api.PathJobs, readTok, nil, "", `{"package_id":"X"}`, 403, api.CodeForbidden},
		{"control pauses", "POST", "/api/v1/jobs/PS1/pause", controlTok, nil, "", "", 200, ""},
		{"GET on control route", "GET", "/api/v1/jobs/PS1/pause", controlTok, nil, "", "", 405, ""},
		{"foreign Host", "GET", api.PathJobs, readTok, nil, "evil.example:7380", "", 403, api.CodeForbidden},
		{"rebinding Host", "GET", api.PathJobs, readTok, nil, "127.0.0.1.nip.io", "", 403, api.CodeForbidden},
		{"localhost Host", "GET", api.PathJobs, readTok, nil, "localhost:7380", "", 200, ""},
		{"ipv6 loopback Host", "GET", api.PathJobs, readTok, nil, "[::1]:7380", "", 200, ""},
		{"Origin header", "GET", api.PathJobs, readTok, map[string]string{"Origin": "http://127.0.0.1:7380"}, "", "", 403, api.CodeForbidden},
		{"Origin on control", "POST", api.PathPauseAll, controlTok, map[string]string{"Origin": "null"}, "", "", 403, api.CodeForbidden},
		{"Referer header", "GET", api.PathJobs, readTok, map[string]string{"Referer": "http://x/"}, "", "", 403, api.CodeForbidden},
		{"no-cors fetch", "GET", api.PathJobs, readTok, map[string]string{"Sec-Fetch-Mode": "no-cors"}, "", "", 403, api.CodeForbidden},
		{"cross-site fetch", "GET", api.PathJobs, readTok, map[string]string{"Sec-Fetch-Site": "cross-site"}, "", "", 403, api.CodeForbidden},
		{"websocket upgrade", "GET", api.PathEvents, readTok, map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, "", "", 403, api.CodeForbidden},
		{"unknown job", "GET", "/api/v1/jobs/NOPE", readTok, nil, "", "", 404, api.CodeNotFound},
		{"bad JSON", "POST", api.PathJobs, controlTok, nil, "", `{"package_id":`, 400, api.CodeBadRequest},
		{"unknown field", "POST", api.PathJobs, controlTok, nil, "", `{"pkg":"X"}`, 400, api.CodeBadRequest},
		{"empty add", "POST", api.PathJobs, controlTok, nil, "", `{}`, 400, api.CodeBadRequest},
		{"bad priority", "POST", "/api/v1/jobs/PS1/priority", controlTok, nil, "", `{"priority":"urgent"}`, 400, api.CodeBadRequest},
		{"unknown route", "GET", "/api/v1/nothing", readTok, nil, "", "", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newServer()
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Host = "127.0.0.1:7380"
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.token != "" {
				req.Header.Set(api.HeaderToken, tc.token)
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.want, rec.Body)
			}
			if rec.Header().Get(api.HeaderAPIVersion) != api.APIVersion {
				t.Errorf("missing API version header")
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("X-Frame-Options") != "DENY" ||
				!strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
				t.Errorf("security headers missing: %v", rec.Header())
			}
			if tc.code != "" {
				var eb api.ErrorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Code != tc.code || eb.Error == "" {
					t.Errorf("error body %s, want code %s", rec.Body, tc.code)
				}
			}
		})
	}
}

func TestControlCallsReachBackend(t *testing.T) {
	s, f := newServer()
	h := s.Handler()
	for _, c := range []struct{ path, body string }{
		{"/api/v1/jobs/PS1/pause", ""},
		{"/api/v1/jobs/PS1/resume", ""},
		{"/api/v1/jobs/PS1/priority", `{"priority":"high"}`},
		{"/api/v1/jobs/PS1/used", ""},
		{api.PathPauseAll, ""},
		{api.PathThrottle, `{"down":1000}`},
	} {
		req := httptest.NewRequest("POST", c.path, strings.NewReader(c.body))
		req.Host = "localhost"
		req.Header.Set(api.HeaderToken, controlTok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("%s: %d %s", c.path, rec.Code, rec.Body)
		}
	}
	want := "pause PS1,resume PS1,priority high PS1,used PS1,pause-all,throttle"
	if got := strings.Join(f.calls, ","); got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	for _, a := range []string{"0.0.0.0:0", "198.18.0.1:0", ":0"} {
		if ln, err := Listen(a); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) succeeded", a)
		}
	}
}

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	s, _ := newServer()
	h := s.Handler()
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/api/v1/nope", http.StatusNotFound, ""},
		{"GET", "/", http.StatusNotFound, ""},
		{"DELETE", api.PathJobs, http.StatusMethodNotAllowed, "GET, POST, HEAD"},
		{"PUT", api.PathStatus, http.StatusMethodNotAllowed, "GET, HEAD"},
		{"GET", "/api/v1/jobs/PS1/pause", http.StatusMethodNotAllowed, "POST"},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(tc.method, "http://127.0.0.1"+tc.path, nil)
		req.Header.Set(api.HeaderToken, readTok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var eb api.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Code != api.CodeNoRoute || eb.Error == "" {
			t.Errorf("%s %s: body %q is not a JSON error (%v)", tc.method, tc.path, rec.Body.String(), err)
		}
		if rec.Code != tc.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if tc.allow != "" {
			got := strings.Split(rec.Header().Get("Allow"), ", ")
			want := strings.Split(tc.allow, ", ")
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, want)
			}
		}
	}
}

// blockingFake keeps every event stream open until the test ends.
type blockingFake struct{ *fake }

func (b blockingFake) Subscribe(api.Access) (<-chan api.Event, func()) {
	ch := make(chan api.Event, 1)
	ch <- api.Event{Type: api.EventSnapshot}
	return ch, func() {}
}

func TestEventStreamCap(t *testing.T) {
	s, f := newServer()
	s.Backend = blockingFake{fake: f}
	s.MaxStreams = 2
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	open := func() (*http.Response, error) {
		req, _ := http.NewRequest("GET", srv.URL+api.PathEvents, nil)
		req.Header.Set(api.HeaderToken, readTok)
		return http.DefaultClient.Do(req)
	}
	var streams []*http.Response
	for range 2 {
		resp, err := open()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("stream within the cap: %v %v", resp, err)
		}
		streams = append(streams, resp)
	}
	resp, err := open()
	if err != nil {
		t.Fatal(err)
	}
	var eb api.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || eb.Code != api.CodeBusy || !strings.Contains(eb.Error, "limit is 2") {
		t.Fatalf("third stream: %d %+v", resp.StatusCode, eb)
	}
	// Closing one frees its place (the server notices the close when its
	// handler returns, so poll).
	streams[0].Body.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := open()
		if err == nil && resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream's place was not freed: %v %v", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	streams[1].Body.Close()
}

// codedErr stands for the engine's typed errors (core.Error): a code, no
// HTTP status.
type codedErr struct{ code string }

func (e codedErr) Error() string     { return "engine says " + e.code }
func (e codedErr) ErrorCode() string { return e.code }

func TestEngineErrorCodesBecomeStatuses(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{codedErr{api.CodeNotFound}, http.StatusNotFound, api.CodeNotFound},
		{codedErr{api.CodeBadRequest}, http.StatusBadRequest, api.CodeBadRequest},
		{codedErr{api.CodeSignature}, http.StatusBadRequest, api.CodeSignature},
		{codedErr{api.CodeConflict}, http.StatusConflict, api.CodeConflict},
		{codedErr{api.CodeRepository}, http.StatusBadGateway, api.CodeRepository},
		{fmt.Errorf("wrapped: %w", codedErr{api.CodeNotFound}), http.StatusNotFound, api.CodeNotFound},
		{errors.New("plain"), http.StatusInternalServerError, api.CodeInternal},
	} {
		rec := httptest.NewRecorder()
		writeError(rec, c.err)
		var body api.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%v: body %q: %v", c.err, rec.Body, err)
		}
		if rec.Code != c.status || body.Code != c.code || body.Error != c.err.Error() {
			t.Errorf("%v: %d %+v, want %d %s", c.err, rec.Code, body, c.status, c.code)
		}
	}
}
