// Package localapi serves the service's local API (the contract is in
// service/api) on a loopback address. One middleware defends it against
// browsers and other local users: loopback only, a Host allowlist against
// DNS rebinding, no Origin/Referer/cross-site fetches or WebSocket
// upgrades, a token on every request compared in constant time, and the
// control token plus a non-GET method for every state change.
package localapi

import (
	"context"
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
	"strings"
	"time"

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
	PauseAll()
	ResumeAll()
	Throttle(api.ThrottleRequest) (api.Bandwidth, error)
	Subscribe(api.Access) (<-chan api.Event, func())
}

// Server is the local API.
type Server struct {
	Backend      Backend
	ReadToken    string
	ControlToken string
	Version      string
	Logger       *slog.Logger
	// Heartbeat is the interval of keep-alive comments on the event stream; 0: 15s.
	Heartbeat time.Duration
}

// maxBody bounds request bodies: a 16 MiB torrent in base64 plus JSON.
const maxBody = 24 << 20

// Handler returns the API's handler with the security middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	handlers := map[string]http.HandlerFunc{
		api.PathStatus:    s.status,
		api.PathJobs:      nil, // GET and POST differ; see below
		api.PathJob:       s.job,
		api.PathPause:     s.jobAction(s.Backend.Pause),
		api.PathResume:    s.jobAction(s.Backend.Resume),
		api.PathCancel:    s.jobAction(s.Backend.Cancel),
		api.PathUsed:      s.jobAction(s.Backend.MarkUsed),
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
	}
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

// Publish writes the address and fresh tokens under dataDir: the read
// token readable by all local users, the control token by administrators
// only. It returns the tokens.
func Publish(dataDir, addr string) (read, control string, err error) {
	read, control = NewToken(), NewToken()
	dir := filepath.Join(dataDir, "api")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	// Remove first so a file left with loose permissions is recreated.
	for _, f := range []struct {
		name string
		data string
		mode os.FileMode
	}{
		{api.ControlTokenFile, control, 0o600},
		{api.ReadTokenFile, read, 0o644},
		{api.AddressFile, addr, 0o644},
	} {
		p := filepath.Join(dataDir, f.name)
		_ = os.Remove(p)
		if err := os.WriteFile(p, []byte(f.data+"\n"), f.mode); err != nil {
			return "", "", fmt.Errorf("writing %s: %w", p, err)
		}
		if err := restrict(p, f.mode == 0o600); err != nil {
			return "", "", fmt.Errorf("securing %s: %w", p, err)
		}
	}
	return read, control, nil
}

// Unpublish removes the address file so clients see the service as stopped.
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
	return net.Listen("tcp", addr)
}
