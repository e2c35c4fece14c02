package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Client talks to the local API. The zero value finds the service through
// the files in DefaultDataDir and uses the control token if the caller may
// read it, else the read token.
//
// A client sends a token only over a connection on which the server has
// proven that it is the service (proof.go): a program that took the
// service's port gets a NotServiceError and nothing else.
type Client struct {
	// BaseURL is like "http://127.0.0.1:7380"; empty: read from DataDir.
	// With BaseURL, ServiceKey must be set too.
	BaseURL string
	// ServiceKey is the public key the service proves it holds; empty:
	// read from AddressFile in DataDir.
	ServiceKey ed25519.PublicKey
	// Token is sent with every request; empty: read from DataDir.
	Token string
	// DataDir is where AddressFile and the token files are; empty: DefaultDataDir().
	DataDir string
	// Dial opens connections to the service; nil: a plain TCP dialer. The
	// proof runs over whatever it returns.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu            sync.Mutex
	serviceVer    string
	serviceAPIVer string
	tr            *http.Transport
	trFor         string // address and key tr proves
}

// ErrNoServiceKey is returned for a client with BaseURL but no ServiceKey.
var ErrNoServiceKey = errors.New("api.Client: BaseURL is set without ServiceKey")

// httpClient returns a client whose connections to addr prove key. A new
// service (new address or key) gets a new transport.
func (c *Client) httpClient(addr string, key ed25519.PublicKey) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := addr + "\x00" + string(key)
	if c.tr == nil || c.trFor != id {
		if c.tr != nil {
			c.tr.CloseIdleConnections()
		}
		dial := c.Dial
		if dial == nil {
			dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
		}
		c.tr = &http.Transport{
			Proxy: nil, // never send local API calls through a proxy
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				conn, err := dial(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				if err := proveService(ctx, conn, addr, key); err != nil {
					conn.Close()
					return nil, err
				}
				return conn, nil
			},
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		}
		c.trFor = id
	}
	return &http.Client{Transport: c.tr}
}

func (c *Client) dataDir() string {
	if c.DataDir != "" {
		return c.DataDir
	}
	return DefaultDataDir()
}

// target returns the service's base URL, its host:port and its key.
func (c *Client) target() (base, addr string, key ed25519.PublicKey, err error) {
	if c.BaseURL != "" {
		if len(c.ServiceKey) != ed25519.PublicKeySize {
			return "", "", nil, ErrNoServiceKey
		}
		u, err := url.Parse(c.BaseURL)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return "", "", nil, fmt.Errorf("api.Client: BaseURL %q is not http://host:port", c.BaseURL)
		}
		return strings.TrimRight(c.BaseURL, "/"), u.Host, c.ServiceKey, nil
	}
	addr, key, err = readAddressFile(c.dataDir())
	if err != nil {
		return "", "", nil, err
	}
	if c.ServiceKey != nil {
		key = c.ServiceKey
	}
	return "http://" + addr, addr, key, nil
}

func (c *Client) token() (string, error) {
	if c.Token != "" {
		return c.Token, nil
	}
	for _, f := range []string{ControlTokenFile, ReadTokenFile} {
		if b, err := os.ReadFile(filepath.Join(c.dataDir(), f)); err == nil {
			if t := strings.TrimSpace(string(b)); t != "" {
				return t, nil
			}
		}
	}
	return "", ErrNoToken
}

// CanControl reports whether the client holds a control token: either Token
// is set and the service says so, or the control token file is readable.
func (c *Client) CanControl(ctx context.Context) bool {
	st, err := c.Status(ctx)
	return err == nil && st.Access == AccessControl
}

// ServiceVersion is the service version seen in the last response.
func (c *Client) ServiceVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serviceVer
}

// request is a request to the service with the client that proves it.
type request struct {
	*http.Request
	hc *http.Client
}

func (c *Client) newRequest(ctx context.Context, method, path string, body any) (*request, error) {
	base, addr, key, err := c.target()
	if err != nil {
		return nil, err
	}
	tok, err := c.token()
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set(HeaderToken, tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return &request{Request: req, hc: c.httpClient(addr, key)}, nil
}

func (c *Client) do(req *request) (*http.Response, error) {
	resp, err := req.hc.Do(req.Request)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		var nse *NotServiceError
		if errors.As(err, &nse) {
			return nil, nse
		}
		var ne net.Error
		var oe *net.OpError
		if errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %v", ErrServiceDown, err)
		}
		return nil, err
	}
	c.mu.Lock()
	c.serviceVer = resp.Header.Get(HeaderServiceVersion)
	c.serviceAPIVer = resp.Header.Get(HeaderAPIVersion)
	c.mu.Unlock()
	if v := resp.Header.Get(HeaderAPIVersion); v != "" && v != APIVersion {
		resp.Body.Close()
		return nil, &VersionMismatchError{Service: v, Client: APIVersion}
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var eb ErrorBody
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(b))
			if eb.Error == "" {
				eb.Error = resp.Status
			}
		}
		return nil, &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Error}
	}
	return resp, nil
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	req, err := c.newRequest(ctx, method, path, in)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading %s response: %w", path, err)
	}
	return nil
}

func jobPath(pattern, id string) string {
	return strings.Replace(pattern, "{id}", url.PathEscape(id), 1)
}

// Status returns the service status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	return &s, c.call(ctx, http.MethodGet, PathStatus, nil, &s)
}

// Jobs lists all jobs.
func (c *Client) Jobs(ctx context.Context) ([]Job, error) {
	var js []Job
	return js, c.call(ctx, http.MethodGet, PathJobs, nil, &js)
}

// Job returns one job with per-file progress.
func (c *Client) Job(ctx context.Context, id string) (*Job, error) {
	var j Job
	return &j, c.call(ctx, http.MethodGet, jobPath(PathJob, id), nil, &j)
}

// Add starts or continues a job.
func (c *Client) Add(ctx context.Context, r AddRequest) (*Job, error) {
	var j Job
	return &j, c.call(ctx, http.MethodPost, PathJobs, r, &j)
}

// Pause suspends a job.
func (c *Client) Pause(ctx context.Context, id string) (*Job, error) {
	var j Job
	return &j, c.call(ctx, http.MethodPost, jobPath(PathPause, id), nil, &j)
}

// Resume resumes a suspended job or retries one in error.
func (c *Client) Resume(ctx context.Context, id string) (*Job, error) {
	var j Job
	return &j, c.call(ctx, http.MethodPost, jobPath(PathResume, id), nil, &j)
}

// Cancel cancels a job and removes its content.
func (c *Client) Cancel(ctx context.Context, id string) (*Job, error) {
	var j Job
	return &j, c.call(ctx, http.MethodPost, jobPath(PathCancel, id), nil, &j)
}

// SetPriority changes a job's priority.
func (c *Client) SetPriority(ctx context.Context, id string, p Priority) (*Job, error) {
	var j Job
	return &j, c.call(ctx, http.MethodPost, jobPath(PathPriority, id), PriorityRequest{Priority: p}, &j)
}

// MarkUsed records that the package was used now.
func (c *Client) MarkUsed(ctx context.Context, id string) (*Job, error) {
	var j Job
	return &j, c.call(ctx, http.MethodPost, jobPath(PathUsed, id), nil, &j)
}

// Verify has the service check that a complete package's folder holds
// exactly the signed files, re-hashing them; it takes about as long as
// reading the package from disk.
func (c *Client) Verify(ctx context.Context, id string) (*Job, error) {
	var j Job
	return &j, c.call(ctx, http.MethodPost, jobPath(PathVerify, id), nil, &j)
}

// PauseAll suspends every job that is not final.
func (c *Client) PauseAll(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, PathPauseAll, nil, nil)
}

// ResumeAll resumes every suspended job.
func (c *Client) ResumeAll(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, PathResumeAll, nil, nil)
}

// Throttle sets or clears the helpdesk throttle and returns the new policy.
func (c *Client) Throttle(ctx context.Context, r ThrottleRequest) (*Bandwidth, error) {
	var b Bandwidth
	return &b, c.call(ctx, http.MethodPost, PathThrottle, r, &b)
}

// Events opens the event stream once and calls fn for each event until the
// stream ends, ctx is done, or fn returns an error.
func (c *Client) Events(ctx context.Context, fn func(Event) error) error {
	req, err := c.newRequest(ctx, http.MethodGet, PathEvents, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			if data.Len() == 0 {
				continue
			}
			var ev Event
			if err := json.Unmarshal(data.Bytes(), &ev); err != nil {
				return fmt.Errorf("event stream: %w", err)
			}
			data.Reset()
			if err := fn(ev); err != nil {
				return err
			}
		case bytes.HasPrefix(line, []byte("data:")):
			data.Write(bytes.TrimPrefix(bytes.TrimPrefix(line, []byte("data:")), []byte(" ")))
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: event stream: %v", ErrServiceDown, err)
	}
	return fmt.Errorf("%w: event stream closed", ErrServiceDown)
}

// Watch follows the event stream until ctx is done, reconnecting after the
// service stops or restarts. When the stream breaks it delivers an
// EventDisconnected event; every reconnection starts with a fresh
// EventSnapshot. fn runs on Watch's goroutine.
func (c *Client) Watch(ctx context.Context, fn func(Event)) {
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		connected := false
		err := c.Events(ctx, func(ev Event) error {
			connected = true
			fn(ev)
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		if connected {
			backoff = 250 * time.Millisecond
		}
		fn(Event{Type: EventDisconnected, Time: time.Now(), Error: errString(err)})
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
