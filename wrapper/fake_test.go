package wrapper

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
)

// fakeService speaks the local API contract over a real loopback listener,
// with behaviour the tests set. The real service is exercised by the
// integration tests; this fake reaches the failure paths the real one
// cannot be pushed into on demand.
type fakeService struct {
	t      *testing.T
	srv    *httptest.Server
	token  string
	pub    ed25519.PublicKey
	key    ed25519.PrivateKey
	logDir string
	cache  string

	mu      sync.Mutex
	jobs    map[string]*api.Job
	addErr  *api.Error // answered to Add
	access  api.Access
	used    []string
	added   []api.AddRequest
	resumed []string
	// verifyErr is answered to Verify; verified lists the packages verified.
	verifyErr *api.Error
	verified  []string
	// completeOnAdd makes an added job complete after this delay (0: never).
	completeOnAdd time.Duration
	subs          map[chan api.Event]bool
}

func newFakeService(t *testing.T) *fakeService {
	f := &fakeService{
		t:      t,
		token:  "control-token",
		logDir: filepath.Join(t.TempDir(), "logs"),
		cache:  t.TempDir(),
		jobs:   map[string]*api.Job{},
		access: api.AccessControl,
		subs:   map[chan api.Event]bool{},
	}
	if err := os.MkdirAll(f.logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.pub, f.key, err = ed25519.GenerateKey(nil); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathStatus, f.status)
	mux.HandleFunc("GET "+api.PathJob, f.job)
	mux.HandleFunc("POST "+api.PathJobs, f.add)
	mux.HandleFunc("POST "+api.PathUsed, f.jobAction(func(j *api.Job) { f.used = append(f.used, j.ID); j.LastUsed = time.Now() }))
	mux.HandleFunc("GET "+api.PathEvents, f.events)
	mux.HandleFunc("POST "+api.PathVerify, f.verify)
	f.srv = httptest.NewServer(f.auth(mux))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns an API client for the fake.
func (f *fakeService) client() *api.Client {
	return &api.Client{BaseURL: f.srv.URL, ServiceKey: f.pub, Token: f.token}
}

func (f *fakeService) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(api.HeaderAPIVersion, api.APIVersion)
		if r.URL.Path == api.PathProof {
			api.ProofHandler(f.key).ServeHTTP(w, r)
			return
		}
		if r.Header.Get(api.HeaderToken) != f.token {
			writeErr(w, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "bad token"))
			return
		}
		f.mu.Lock()
		readOnly := f.access == api.AccessRead
		f.mu.Unlock()
		if readOnly && r.Method == http.MethodPost {
			writeErr(w, api.Errorf(http.StatusForbidden, api.CodeForbidden, "this token may only read"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeErr(w http.ResponseWriter, e *api.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(api.ErrorBody{Error: e.Message, Code: e.Code})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeService) status(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	writeJSON(w, api.Status{Version: "fake", APIVersion: api.APIVersion, LogDir: f.logDir, CacheDir: f.cache, Access: f.access})
}

func (f *fakeService) job(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[r.PathValue("id")]
	if !ok {
		writeErr(w, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no job %s", r.PathValue("id")))
		return
	}
	writeJSON(w, j)
}

func (f *fakeService) add(w http.ResponseWriter, r *http.Request) {
	var req api.AddRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "%v", err))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, req)
	if f.addErr != nil {
		writeErr(w, f.addErr)
		return
	}
	// Like the service: an existing job is continued, resumed or retried,
	// and its priority raised.
	if j, ok := f.jobs[req.PackageID]; ok && j.State != api.StateCancelled {
		switch j.State {
		case api.StateError, api.StateSuspended:
			f.resumed = append(f.resumed, j.ID)
			j.State, j.Error = api.StateQueued, ""
		}
		if req.Priority.Rank() > j.Priority.Rank() {
			j.Priority = req.Priority
		}
		writeJSON(w, j)
		return
	}
	j := &api.Job{ID: req.PackageID, InfoHash: "00", State: api.StateQueued, Priority: req.Priority, BytesTotal: 1 << 20, FilesTotal: 2, ETASeconds: -1, Added: time.Now()}
	f.jobs[j.ID] = j
	if d := f.completeOnAdd; d > 0 {
		time.AfterFunc(d, func() { f.complete(j.ID) })
	}
	writeJSON(w, j)
}

// verify answers like the service: an integrity error if verifyErr is
// set, else the job (the fake's folders hold whatever the test put there).
func (f *fakeService) verify(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verified = append(f.verified, r.PathValue("id"))
	if f.verifyErr != nil {
		writeErr(w, f.verifyErr)
		return
	}
	j, ok := f.jobs[r.PathValue("id")]
	if !ok {
		writeErr(w, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no job"))
		return
	}
	writeJSON(w, j)
}

func (f *fakeService) jobAction(fn func(*api.Job)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		j, ok := f.jobs[r.PathValue("id")]
		if !ok {
			writeErr(w, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no job"))
			return
		}
		fn(j)
		writeJSON(w, j)
	}
}

func (f *fakeService) events(w http.ResponseWriter, r *http.Request) {
	ch := make(chan api.Event, 16)
	f.mu.Lock()
	snap := api.Event{Type: api.EventSnapshot, Time: time.Now()}
	for _, j := range f.jobs {
		snap.Jobs = append(snap.Jobs, *j)
	}
	f.subs[ch] = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(ev api.Event) {
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "data: %s\n\n", b)
		w.(http.Flusher).Flush()
	}
	send(snap)
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-ch:
			send(ev)
		}
	}
}

// setJob puts a job into the fake; a transferred job gets a folder.
func (f *fakeService) setJob(j api.Job) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j.State == api.StateTransferred && j.Path == "" {
		j.Path = filepath.Join(f.cache, j.ID)
		if err := os.MkdirAll(j.Path, 0o755); err != nil {
			f.t.Error(err)
		}
		j.BytesTotal, j.BytesDone = 1<<20, 1<<20
	}
	f.jobs[j.ID] = &j
}

// complete makes a job transferred and tells the event subscribers.
func (f *fakeService) complete(id string) {
	f.mu.Lock()
	j := f.jobs[id]
	f.mu.Unlock()
	if j == nil {
		return
	}
	c := *j
	c.State = api.StateTransferred
	f.setJob(c)
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- api.Event{Type: api.EventJobTransferred, Time: time.Now(), Job: f.jobs[id]}:
		default:
		}
	}
}

func (f *fakeService) snapshot() (used, resumed []string, added []api.AddRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.used...), append([]string(nil), f.resumed...), append([]api.AddRequest(nil), f.added...)
}
