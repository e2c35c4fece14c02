package repoapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// MaxTorrentSize bounds a .torrent the client reads; it matches the
// signature package's limit.
const MaxTorrentSize = 16 << 20

// maxJSON bounds a JSON answer the client reads.
const maxJSON = 32 << 20

// Error is a failed call to the repository. Test with errors.As or the
// IsX helpers.
type Error struct {
	Op      string // what was asked, e.g. "fetching the torrent of PS100012"
	URL     string // the repository's base URL
	Status  int    // the HTTP status; 0 when no answer came
	Message string // the repository's own message, if it sent one
	Err     error  // the transport error when no answer came
}

func (e *Error) Error() string {
	switch {
	case e.Status == 0:
		return fmt.Sprintf("%s: repository %s unreachable: %v", e.Op, e.URL, e.Err)
	case e.Message != "":
		return fmt.Sprintf("%s: repository %s answered %d: %s", e.Op, e.URL, e.Status, e.Message)
	}
	return fmt.Sprintf("%s: repository %s answered %d %s", e.Op, e.URL, e.Status, http.StatusText(e.Status))
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether trying again later may succeed: no answer,
// a server error or "too many requests".
func (e *Error) Transient() bool {
	return e.Status == 0 || e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// IsNotFound reports whether the repository does not publish what was asked.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsTransient reports whether err is a repository error worth retrying.
func IsTransient(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Transient()
}

// IsUnreachable reports whether no answer came from the repository at all.
func IsUnreachable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == 0
}

// Client calls a repository. Only BaseURL is required.
type Client struct {
	// BaseURL is like "http://tracker:6969".
	BaseURL string
	// HTTPClient makes the requests; nil: http.DefaultClient. Give one with
	// timeouts for long-running programs.
	HTTPClient *http.Client
	// Token is the admin token, needed only to publish.
	Token string
}

func (c *Client) hc() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

func (c *Client) base() string { return strings.TrimRight(c.BaseURL, "/") }

// do sends a request and returns the answer's body (at most limit bytes)
// for 200 and 201, nil for 304, or an *Error.
func (c *Client) do(req *http.Request, op string, limit int64) (*http.Response, []byte, error) {
	fail := func(status int, msg string, err error) error {
		return &Error{Op: op, URL: c.BaseURL, Status: status, Message: msg, Err: err}
	}
	if c.BaseURL == "" {
		return nil, nil, fail(0, "", errors.New("no repository URL is configured"))
	}
	resp, err := c.hc().Do(req)
	if err != nil {
		return nil, nil, fail(0, "", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return resp, nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, fail(0, "", fmt.Errorf("reading the answer: %w", err))
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		var eb ErrorBody
		if json.Unmarshal(body, &eb) != nil {
			eb.Error = ""
		}
		return nil, nil, fail(resp.StatusCode, eb.Error, nil)
	}
	if int64(len(body)) > limit {
		return nil, nil, fail(resp.StatusCode, fmt.Sprintf("the answer is larger than %d bytes", limit), nil)
	}
	return resp, body, nil
}

// Catalogue lists the current version of every package. With etag from a
// previous answer, an unchanged catalogue answers notModified and no
// entries, which costs the repository almost nothing.
func (c *Client) Catalogue(ctx context.Context, etag string) (entries []Entry, newETag string, notModified bool, err error) {
	const op = "listing the packages"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base()+PathPackages, nil)
	if err != nil {
		return nil, "", false, &Error{Op: op, URL: c.BaseURL, Err: err}
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, body, err := c.do(req, op, maxJSON)
	if err != nil {
		return nil, "", false, err
	}
	if resp.StatusCode == http.StatusNotModified {
		return nil, etag, true, nil
	}
	if err := json.Unmarshal(body, &entries); err != nil {
		return nil, "", false, &Error{Op: op, URL: c.BaseURL, Status: resp.StatusCode, Message: "unexpected answer: " + err.Error()}
	}
	return entries, resp.Header.Get("ETag"), false, nil
}

// Details returns one package with its versions, swarm figures and adoption.
func (c *Client) Details(ctx context.Context, id string) (*Details, error) {
	op := "asking about package " + id
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base()+PackagePath(id), nil)
	if err != nil {
		return nil, &Error{Op: op, URL: c.BaseURL, Err: err}
	}
	resp, body, err := c.do(req, op, maxJSON)
	if err != nil {
		return nil, err
	}
	var d Details
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, &Error{Op: op, URL: c.BaseURL, Status: resp.StatusCode, Message: "unexpected answer: " + err.Error()}
	}
	return &d, nil
}

// Torrent downloads the .torrent of a package: the current version, or the
// named one. The bytes are untrusted until the signature is verified.
func (c *Client) Torrent(ctx context.Context, id, version string) ([]byte, error) {
	op := "fetching the torrent of " + id
	if version != "" {
		op += " version " + version
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base()+TorrentPath(id, version), nil)
	if err != nil {
		return nil, &Error{Op: op, URL: c.BaseURL, Err: err}
	}
	_, body, err := c.do(req, op, MaxTorrentSize)
	return body, err
}

// Publish uploads a signed .torrent; it needs Token.
func (c *Client) Publish(ctx context.Context, torrent []byte) (*PublishResult, error) {
	const op = "publishing"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base()+PathPackages, bytes.NewReader(torrent))
	if err != nil {
		return nil, &Error{Op: op, URL: c.BaseURL, Err: err}
	}
	req.Header.Set("Content-Type", ContentTypeTorrent)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, body, err := c.do(req, op, 1<<20)
	if err != nil {
		return nil, err
	}
	var res PublishResult
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, &Error{Op: op, URL: c.BaseURL, Status: resp.StatusCode, Message: "unexpected answer: " + err.Error()}
	}
	return &res, nil
}

// TorrentIfChanged is Torrent for a caller that holds the version with
// info-hash have: if that is still the asked version, the repository
// answers 304 and unchanged is true, without sending the torrent.
func (c *Client) TorrentIfChanged(ctx context.Context, id, version, have string) (b []byte, unchanged bool, err error) {
	op := "asking for the current version of " + id
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base()+TorrentPath(id, version), nil)
	if err != nil {
		return nil, false, &Error{Op: op, URL: c.BaseURL, Err: err}
	}
	if have != "" {
		req.Header.Set("If-None-Match", TorrentETag(have))
	}
	resp, body, err := c.do(req, op, MaxTorrentSize)
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode == http.StatusNotModified {
		return nil, true, nil
	}
	return body, false, nil
}

// TorrentETag is the entity tag of a .torrent answer: its info-hash.
func TorrentETag(infoHash string) string { return `"` + infoHash + `"` }

// Report sends a service's Report on one version of package id. The
// repository accepts it only from the address that announced
// r.PeerID for r.InfoHash to its tracker.
func (c *Client) Report(ctx context.Context, id string, r Report) (*ReportAnswer, error) {
	op := "reporting on " + id
	b, err := json.Marshal(r)
	if err != nil {
		return nil, &Error{Op: op, URL: c.BaseURL, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base()+ReportPath(id), bytes.NewReader(b))
	if err != nil {
		return nil, &Error{Op: op, URL: c.BaseURL, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, body, err := c.do(req, op, 1<<16)
	if err != nil {
		return nil, err
	}
	var a ReportAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, &Error{Op: op, URL: c.BaseURL, Status: resp.StatusCode, Message: "unexpected answer: " + err.Error()}
	}
	return &a, nil
}

// Savings returns what the swarms saved, per package version and site.
func (c *Client) Savings(ctx context.Context) ([]PackageSavings, error) {
	const op = "asking for the savings"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base()+PathSavings, nil)
	if err != nil {
		return nil, &Error{Op: op, URL: c.BaseURL, Err: err}
	}
	resp, body, err := c.do(req, op, maxJSON)
	if err != nil {
		return nil, err
	}
	var out []PackageSavings
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, &Error{Op: op, URL: c.BaseURL, Status: resp.StatusCode, Message: "unexpected answer: " + err.Error()}
	}
	return out, nil
}
