// Package trrpc is a small client of transmission-daemon's RPC, for the lab's
// Transmission baselines: add a torrent, read its status, call any method.
package trrpc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Client talks to one transmission-daemon.
type Client struct {
	http    *http.Client
	url     string
	mu      sync.Mutex
	session string
}

// New returns a client for the RPC at url (".../transmission/rpc") over hc.
func New(hc *http.Client, url string) *Client { return &Client{http: hc, url: url} }

// Status is what the lab reads of a torrent.
type Status struct {
	PercentDone   float64 `json:"percentDone"`
	LeftUntilDone int64   `json:"leftUntilDone"`
	Status        int     `json:"status"`
	Error         int     `json:"error"`
	ErrorString   string  `json:"errorString"`
	HaveValid     int64   `json:"haveValid"`
}

// Call runs an RPC method, renewing the session id when the daemon asks.
func (c *Client) Call(ctx context.Context, method string, args any, result any) error {
	body, err := json.Marshal(map[string]any{"method": method, "arguments": args})
	if err != nil {
		return err
	}
	for range 3 {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		c.mu.Lock()
		req.Header.Set("X-Transmission-Session-Id", c.session)
		c.mu.Unlock()
		resp, err := c.http.Do(req)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusConflict {
			c.mu.Lock()
			c.session = resp.Header.Get("X-Transmission-Session-Id")
			c.mu.Unlock()
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("rpc %s: %s: %s", method, resp.Status, data)
		}
		var env struct {
			Result    string          `json:"result"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal(data, &env); err != nil {
			return fmt.Errorf("rpc %s: %w", method, err)
		}
		if env.Result != "success" {
			return fmt.Errorf("rpc %s: %s", method, env.Result)
		}
		if result != nil {
			return json.Unmarshal(env.Arguments, result)
		}
		return nil
	}
	return fmt.Errorf("rpc %s: no session id", method)
}

// Add adds a torrent, started, downloading into downloadDir.
func (c *Client) Add(ctx context.Context, torrent []byte, downloadDir string) error {
	return c.Call(ctx, "torrent-add", map[string]any{
		"metainfo":     base64.StdEncoding.EncodeToString(torrent),
		"download-dir": downloadDir,
		"paused":       false,
	}, nil)
}

// Status returns the status of the daemon's (only) torrent.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var res struct {
		Torrents []Status `json:"torrents"`
	}
	if err := c.Call(ctx, "torrent-get", map[string]any{
		"fields": []string{"percentDone", "leftUntilDone", "status", "error", "errorString", "haveValid"},
	}, &res); err != nil {
		return Status{}, err
	}
	if len(res.Torrents) == 0 {
		return Status{}, errors.New("no torrent")
	}
	return res.Torrents[0], nil
}
