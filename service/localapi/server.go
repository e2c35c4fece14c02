// Package localapi serves the service's local API (the contract is in
// service/api) on a loopback address. One middleware defends it against
// browsers and other local users: loopback only, a Host allowlist against
// DNS rebinding, no Origin/Referer/cross-site fetches or WebSocket
// upgrades, a token on every request compared in constant time, and the
// control token plus a non-GET method for every state change.
//
// Before a client sends a token, the server proves on the same connection
// that it is the service (api.PathProof): it signs the client's challenge
// and the connection's two ends with a key made at start that never leaves
// the process. Publish writes the matching public key next to the address.
package localapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smstorrent/smstorrent/internal/secfs"
	"github.com/smstorrent/smstorrent/service/api"
)

// Backend is what the handlers need from the service (core.Service).
type Backend interface {
	Status(api.Access) api.Status
	Jobs() []api.Job
	Job(id string) (api.Job, error)
	Add(ctx context.Context, r api.AddRequest) (api.Job, error)
	Pause(id string) (api.Job, error)
	Resume(id string) (api.Job, error)
	Cancel(id string) (api.Job, error)
	SetPriority(id string, p api.Priority) (api.Job, error)
	MarkUsed(id string) (api.Job, error)
	Verify(ctx context.Context, id string) (api.Job, error)
	PauseAll()
	ResumeAll()
	Throttle(api.ThrottleRequest) (api.Bandwidth, error)
	Subscribe(api.Access) (<-chan api.Event, func())
}

// Server is the local API.
type Server struct {
	Backend Backend
	// Key is the service's proof key (see Publish); nil: a new one.
	Key          ed25519.PrivateKey
	ReadToken    string
	ControlToken string
	Version      string
	Logger       *slog.Logger
	// Heartbeat is the interval of keep-alive comments on the event stream; 0: 15s.
	Heartbeat time.Duration
	// MaxStreams caps the event streams open at once; 0: DefaultMaxStreams.
	MaxStreams int
	// Metrics serves GET /metrics (Prometheus) to the read token
	// (metrics.go); false: it answers 404.
	Metrics bool

	streams atomic.Int64
}

// DefaultMaxStreams is the default cap on open event streams: a tray and a
// window for each of many logged-on users, and then some.
const DefaultMaxStreams = 64

// maxBody bounds request bodies: a 16 MiB torrent in base64 plus JSON.
const maxBody = 24 << 20

// Handler returns the API's handler with the security middleware.
func (s *Server) Handler() http.Handler {
	if s.Key == nil {
		_, s.Key, _ = ed25519.GenerateKey(nil) // crypto/rand never fails
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+api.PathProof, api.ProofHandler(s.Key))
	mux.Handle("GET "+PathMetrics, s.metricsHandler())
	methods := map[string][]string{api.PathProof: {http.MethodGet}, PathMetrics: {http.MethodGet}}
	handlers := map[string]http.HandlerFunc{
		api.PathStatus:    s.status,
		api.PathJobs:      nil, // GET and POST differ; see below
		api.PathJob:       s.job,
		api.PathPause:     s.jobAction(s.Backend.Pause),
		api.PathResume:    s.jobAction(s.Backend.Resume),
		api.PathCancel:    s.jobAction(s.Backend.Cancel),
		api.PathUsed:      s.jobAction(s.Backend.MarkUsed),
		api.PathVerify:    s.verify,
		api.PathPriority:  s.priority,
		api.PathPauseAll:  s.pauseAll,
		api.PathResumeAll: s.resumeAll,
		api.PathThrottle:  s.throttle,
		api.PathEvents:    s.events,
	}
	for _, r := range api.Routes {
		h := handlers[r.Pattern]
		if r.Pattern == api.PathJobs {
			h = s.jobs
			if r.Method == http.MethodPost {
				h = s.add
			}
		}
		if h == nil {
			panic("localapi: no handler for " + r.Method + " " + r.Pattern)
		}
		mux.Handle(r.Method+" "+r.Pattern, s.guard(r, h))
		methods[r.Pattern] = append(methods[r.Pattern], r.Method)
	}
	// Answers for what the table does not have, as JSON like every error.
	for pattern, ms := range methods {
		allow := strings.Join(ms, ", ")
		if slices.Contains(ms, http.MethodGet) {
			allow += ", HEAD"
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, api.Errorf(http.StatusMethodNotAllowed, api.CodeNoRoute, "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, api.Errorf(http.StatusNotFound, api.CodeNoRoute, "no route %s (the routes are in docs/API.md)", r.URL.Path))
	})
	return s.headers(mux)
}

type ctxKey struct{}

func accessOf(r *http.Request) api.Access {
	a, _ := r.Context().Value(ctxKey{}).(api.Access)
	return a
}

// headers sets the version and security headers on every response and
// refuses browser-originated requests before routing.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set(api.HeaderAPIVersion, api.APIVersion)
		h.Set(api.HeaderServiceVersion, s.Version)
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if !allowedHost(r.Host) {
			writeError(w, api.Errorf(http.StatusForbidden, api.CodeForbidden, "Host %q is not allowed: the local API answers only to localhost", r.Host))
			return
		}
		if r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "" {
			writeError(w, api.Errorf(http.StatusForbidden, api.CodeForbidden, "requests from web pages are refused"))
			return
		}
		if m := r.Header.Get("Sec-Fetch-Mode"); m == "no-cors" || m == "navigate" || m == "cors" {
			writeError(w, api.Errorf(http.StatusForbidden, api.CodeForbidden, "requests from browsers are refused"))
			return
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "none" {
			writeError(w, api.Errorf(http.StatusForbidden, api.CodeForbidden, "cross-site requests are refused"))
			return
		}
		if r.Header.Get("Upgrade") != "" || strings.EqualFold(r.Header.Get("Connection"), "upgrade") {
			writeError(w, api.Errorf(http.StatusForbidden, api.CodeForbidden, "protocol upgrades are refused"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allowedHost accepts localhost names and loopback IPs, with any port.
func allowedHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// guard checks the token against the route.
func (s *Server) guard(rt api.Route, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get(api.HeaderToken)
		var access api.Access
		switch {
		case tok == "":
			writeError(w, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "missing %s header", api.HeaderToken))
			return
		case s.ControlToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.ControlToken)) == 1:
			access = api.AccessControl
		case s.ReadToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.ReadToken)) == 1:
			access = api.AccessRead
		default:
			writeError(w, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "wrong token"))
			return
		}
		if rt.Control && access != api.AccessControl {
			writeError(w, api.Errorf(http.StatusForbidden, api.CodeForbidden, "this needs the control token (administrators only)"))
			return
		}
		if rt.Control && r.Method == http.MethodGet {
			writeError(w, api.Errorf(http.StatusMethodNotAllowed, api.CodeBadRequest, "state changes need POST"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, access)))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// codedError is an error from the engine that carries a contract code
// (core.Error); the engine knows nothing of HTTP statuses.
type codedError interface {
	error
	ErrorCode() string
}

// writeError maps any error to its status and a JSON {"error", "code"} body:
// the one place where the engine's error codes become HTTP statuses.
func writeError(w http.ResponseWriter, err error) {
	var e *api.Error
	var ce codedError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &ce):
		e = &api.Error{Code: ce.ErrorCode(), Message: err.Error()}
	default:
		e = &api.Error{Status: http.StatusInternalServerError, Code: api.CodeInternal, Message: err.Error()}
	}
	if e.Status == 0 {
		e.Status = api.StatusFor(e.Code)
	}
	writeJSON(w, e.Status, api.ErrorBody{Error: e.Message, Code: e.Code})
}

func decode(r *http.Request, v any) error {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return api.Errorf(http.StatusRequestEntityTooLarge, api.CodeBadRequest, "request body is larger than %d bytes", maxBody)
		}
		return api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "bad JSON body: %v", err)
	}
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Backend.Status(accessOf(r)))
}

func (s *Server) jobs(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Backend.Jobs())
}

func (s *Server) job(w http.ResponseWriter, r *http.Request) {
	j, err := s.Backend.Job(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	var req api.AddRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.PackageID == "" && len(req.Torrent) == 0 {
		writeError(w, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "give package_id or torrent"))
		return
	}
	j, err := s.Backend.Add(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) jobAction(fn func(string) (api.Job, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		j, err := fn(r.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, j)
	}
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	j, err := s.Backend.Verify(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) priority(w http.ResponseWriter, r *http.Request) {
	var req api.PriorityRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	p, err := api.ParsePriority(string(req.Priority))
	if err != nil || req.Priority == "" {
		writeError(w, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "priority: want foreground, high, normal or low"))
		return
	}
	j, err := s.Backend.SetPriority(r.PathValue("id"), p)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) pauseAll(w http.ResponseWriter, r *http.Request) {
	s.Backend.PauseAll()
	writeJSON(w, http.StatusOK, s.Backend.Jobs())
}

func (s *Server) resumeAll(w http.ResponseWriter, r *http.Request) {
	s.Backend.ResumeAll()
	writeJSON(w, http.StatusOK, s.Backend.Jobs())
}

func (s *Server) throttle(w http.ResponseWriter, r *http.Request) {
	var req api.ThrottleRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	b, err := s.Backend.Throttle(req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// events streams server-sent events: "data: <json api.Event>\n\n".
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, errors.New("streaming unsupported"))
		return
	}
	limit := s.MaxStreams
	if limit <= 0 {
		limit = DefaultMaxStreams
	}
	if n := s.streams.Add(1); n > int64(limit) {
		s.streams.Add(-1)
		writeError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeBusy,
			"too many event streams open (the limit is %d): close some SMSTorrent windows, or try again later", limit))
		return
	}
	defer s.streams.Add(-1)
	access := accessOf(r)
	ch, cancel := s.Backend.Subscribe(access)
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	hb := s.Heartbeat
	if hb <= 0 {
		hb = 15 * time.Second
	}
	t := time.NewTicker(hb)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
		case ev, ok := <-ch:
			if !ok {
				return // service closing, or we fell behind: the client reconnects
			}
			if ev.Status != nil {
				st := *ev.Status
				st.Access = access
				ev.Status = &st
			}
			b, err := json.Marshal(ev)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

// NewToken returns 32 random bytes in hex.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return hex.EncodeToString(b)
}

// Publish writes the address, the public half of the proof key and fresh
// tokens under dataDir, each file created with its protection (secfs): the
// read token and the address readable by all local users, the control token
// by SYSTEM/Administrators (root) only. It returns the tokens.
func Publish(dataDir, addr string, key ed25519.PublicKey) (read, control string, err error) {
	read, control = NewToken(), NewToken()
	if err := secfs.MkdirProtected(filepath.Join(dataDir, "api"), secfs.UsersRead); err != nil {
		return "", "", err
	}
	for _, f := range []struct {
		name   string
		data   []byte
		access secfs.Access
	}{
		{api.ControlTokenFile, []byte(control + "\n"), secfs.Private},
		{api.ReadTokenFile, []byte(read + "\n"), secfs.UsersRead},
		{api.AddressFile, api.FormatAddressFile(addr, key), secfs.UsersRead},
	} {
		if err := secfs.WriteFileProtected(filepath.Join(dataDir, f.name), f.data, f.access); err != nil {
			return "", "", err
		}
	}
	return read, control, nil
}

// Unpublish removes the address file so clients see the service as stopped.
// A file left by a crash does not help anyone who takes the port: its key
// died with the process that held it.
func Unpublish(dataDir string) {
	_ = os.Remove(filepath.Join(dataDir, api.AddressFile))
}

// Serve answers on ln until ctx is done, then shuts down within 5 seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

// Listen opens the API's listener, refusing non-loopback addresses.
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("api_listen %q: %w", addr, err)
	}
	if !allowedHost(host) {
		return nil, fmt.Errorf("api_listen %q: the local API listens on loopback only", addr)
	}
	if strings.EqualFold(host, "localhost") {
		addr = net.JoinHostPort("127.0.0.1", addr[strings.LastIndex(addr, ":")+1:])
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && addrInUse(err) {
		return nil, fmt.Errorf("api_listen %s is already in use by another program (an old service still running, "+
			"or a program of another user squatting the port): the service does not start; find the program with %s: %w",
			addr, findPortHint(addr), err)
	}
	return ln, err
}
