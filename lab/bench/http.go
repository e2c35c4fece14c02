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
// HTTP (a Go file server in its own process inside hq's namespace) and every
// client fetches it with curl, then checks its SHA-256.
type httpSystem struct {
	mu     sync.Mutex
	doneAt map[string]time.Time
	errs   map[string]error
}

const httpPort = 8080

func (s *httpSystem) setup(ctx context.Context, e *env) error {
	if _, err := lookPath("curl"); err != nil {
		return err
	}
	// The server is this executable started again (see init), so that its
	// CPU time is its own and not the lab's.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("%s:%d", e.lab.HQ.Addr, httpPort)
	srv, err := e.lab.Start(netlab.Cmd{NS: e.lab.HQ.NS, Label: "hq-http", Path: self,
		Env: []string{httpServeAddrEnv + "=" + addr, httpServeDirEnv + "=" + e.pkg.Dir}})
	if err != nil {
		return err
	}
	if err := netlab.Retry(ctx, 30*time.Second, func() error {
		if err := srv.Exited(); err != nil {
			return netlab.Permanent(err)
		}
		c, err := netlab.DialContext(ctx, e.lab.HQ.NS, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		return fmt.Errorf("http server: %w", err)
	}
	s.doneAt = map[string]time.Time{}
	s.errs = map[string]error{}
	return nil
}

// The HTTP baseline's file server: the bench's executable (or the test
// binary) started with these two variables set serves the folder on the
// address and nothing else, until it is stopped.
const (
	httpServeAddrEnv = "SMSLAB_HTTP_SERVE_ADDR"
	httpServeDirEnv  = "SMSLAB_HTTP_SERVE_DIR"
)

func init() {
	if addr := os.Getenv(httpServeAddrEnv); addr != "" {
		os.Exit(serveFiles(addr, os.Getenv(httpServeDirEnv)))
	}
}

// serveFiles serves dir on addr; it returns only on an error (exit code 1).
func serveFiles(addr, dir string) int {
	srv := &http.Server{Addr: addr, Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, "lab http server:", srv.ListenAndServe())
	return 1
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

func (s *httpSystem) close() {}
