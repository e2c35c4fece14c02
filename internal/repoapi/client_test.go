package repoapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// fakeRepo answers like tracker/repo: an ETag on the catalogue and on
// torrents, 304 for a matching If-None-Match, JSON error bodies.
func fakeRepo(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathPackages, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"cat1"`)
		if r.Header.Get("If-None-Match") == `"cat1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_ = json.NewEncoder(w).Encode([]Entry{{ID: "PS1", Version: "2", InfoHash: "ab"}})
	})
	mux.HandleFunc("GET "+PathTorrent, func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "PS1" {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(ErrorBody{Error: "package is not published"})
			return
		}
		if r.Header.Get("If-None-Match") == TorrentETag("ab") {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte("d4:infod6:lengthi1eee"))
	})
	mux.HandleFunc("POST "+PathPackages, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(ErrorBody{Error: "missing or wrong admin token"})
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(PublishResult{ID: "PS1", Status: StatusPublished})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestClient(t *testing.T) {
	srv := fakeRepo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := &Client{BaseURL: srv.URL + "/"}

	es, etag, unchanged, err := c.Catalogue(ctx, "")
	if err != nil || unchanged || etag != `"cat1"` || len(es) != 1 || es[0].ID != "PS1" {
		t.Fatalf("catalogue: %v %q %v %v", es, etag, unchanged, err)
	}
	if es, _, unchanged, err = c.Catalogue(ctx, etag); err != nil || !unchanged || es != nil {
		t.Fatalf("conditional catalogue: %v %v %v", es, unchanged, err)
	}

	if b, err := c.Torrent(ctx, "PS1", ""); err != nil || len(b) == 0 {
		t.Fatalf("torrent: %q %v", b, err)
	}
	if _, unchanged, err := c.TorrentIfChanged(ctx, "PS1", "", "ab"); err != nil || !unchanged {
		t.Fatalf("torrent still current: %v %v", unchanged, err)
	}
	if b, unchanged, err := c.TorrentIfChanged(ctx, "PS1", "", "cd"); err != nil || unchanged || len(b) == 0 {
		t.Fatalf("torrent changed: %v %v", unchanged, err)
	}
	_, err = c.Torrent(ctx, "NOPE", "")
	if !IsNotFound(err) || IsTransient(err) {
		t.Fatalf("unknown package: %v", err)
	}
	if e := err.(*Error); e.Message != "package is not published" {
		t.Errorf("message %q", e.Message)
	}

	if _, err := c.Publish(ctx, []byte("x")); err == nil || IsTransient(err) {
		t.Fatalf("publish without token: %v", err)
	}
	c.Token = "tok"
	if res, err := c.Publish(ctx, []byte("x")); err != nil || res.Status != StatusPublished {
		t.Fatalf("publish: %v %v", res, err)
	}
}

func TestClientUnreachable(t *testing.T) {
	srv := fakeRepo(t)
	url := srv.URL
	srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := (&Client{BaseURL: url}).Torrent(ctx, "PS1", "")
	if !IsTransient(err) || !IsUnreachable(err) || IsNotFound(err) {
		t.Fatalf("closed server: %v", err)
	}
	if _, err := (&Client{}).Torrent(ctx, "PS1", ""); !IsUnreachable(err) {
		t.Fatalf("no URL: %v", err)
	}
}

func TestPaths(t *testing.T) {
	if got := TorrentPath("PS1", "1.0 beta"); got != "/api/v1/packages/PS1/torrent?version=1.0+beta" {
		t.Errorf("TorrentPath: %s", got)
	}
}
