package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
)

// httpSystem is the client–server baseline: hq serves the file over plain
// HTTP (a Go file server listening inside hq's namespace) and every client
// fetches it with curl, then checks its SHA-256.
type httpSystem struct {
	srv *http.Server

	mu     sync.Mutex
	doneAt map[string]time.Time
	errs   map[string]error
}

const httpPort = 8080

func (s *httpSystem) setup(ctx context.Context, e *env) error {
	if _, err := lookPath("curl"); err != nil {
		return err
	}
	ln, err := netlab.Listen(e.lab.HQ.NS, "tcp", fmt.Sprintf("%s:%d", e.lab.HQ.Addr, httpPort))
	if err != nil {
		return err
	}
	s.srv = &http.Server{
		Handler:           http.FileServer(http.Dir(e.pkg.Dir)),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = s.srv.Serve(ln) }()
	s.doneAt = map[string]time.Time{}
	s.errs = map[string]error{}
	return nil
}

func (s *httpSystem) file(e *env, h *netlab.Host) string {
	return filepath.Join(e.dir, h.Name, "http", e.pkg.Name)
}

func (s *httpSystem) start(ctx context.Context, e *env) error {
	url := fmt.Sprintf("http://%s:%d/%s", e.lab.HQ.Addr, httpPort, e.pkg.Name)
	for _, h := range e.lab.Clients() {
		dst := s.file(e, h)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		p, err := e.lab.Start(netlab.Cmd{
			NS: h.NS, Label: h.Name + "-curl", Path: "curl",
			Args: []string{"-sS", "--fail", "--max-time", fmt.Sprint(int(e.cfg.Timeout.Seconds())), "-o", dst, url},
		})
		if err != nil {
			return err
		}
		go func() {
			err := p.Wait(ctx)
			if err == nil {
				var sum string
				if sum, err = fileSHA256(dst); err == nil && sum != e.pkg.SHA256 {
					err = fmt.Errorf("sha256 mismatch")
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil {
				s.errs[h.Name] = err
			} else {
				s.doneAt[h.Name] = time.Now()
			}
		}()
	}
	return nil
}

func (s *httpSystem) done(ctx context.Context, e *env, h *netlab.Host) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.errs[h.Name]; err != nil {
		return time.Time{}, false, err
	}
	at, ok := s.doneAt[h.Name]
	return at, ok, nil
}

func (s *httpSystem) peers(ctx context.Context, e *env) map[string]map[string]int64 { return nil }

func (s *httpSystem) close() {
	if s.srv != nil {
		_ = s.srv.Close()
	}
}
