package repo

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/internal/units/unitstest"
	"github.com/smstorrent/smstorrent/tracker/store"
	"github.com/smstorrent/smstorrent/tracker/swarm"
)

// fakeCatalogue is an in-memory Catalogue.
type fakeCatalogue struct{ pkgs map[string]store.Package }

var _ Catalogue = (*fakeCatalogue)(nil)

func (f *fakeCatalogue) Packages() ([]store.Package, error) {
	var out []store.Package
	for _, p := range f.pkgs {
		out = append(out, p)
	}
	return out, nil
}

func (f *fakeCatalogue) Package(id string) (*store.Package, error) {
	p, ok := f.pkgs[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &p, nil
}

func (f *fakeCatalogue) Torrent(string) ([]byte, error) { return []byte("d4:infod4:name1:xee"), nil }

func (f *fakeCatalogue) Publish(string, store.Version, []byte) (*store.Package, error) {
	return nil, store.ErrConflict
}

type fakeStats map[string]swarm.Figures

func (f fakeStats) Stats(swarm.Hash) map[string]swarm.Figures { return f }

func newHandler() (*Handler, *http.ServeMux) {
	h := &Handler{
		Catalogue: &fakeCatalogue{pkgs: map[string]store.Package{"PS1": {ID: "PS1",
			Current:  store.Version{Version: "2<b>", InfoHash: strings.Repeat("ab", 20), Size: 3 << 20, Files: 1, Published: time.Unix(0, 0)},
			Previous: []store.Version{{Version: "1", InfoHash: strings.Repeat("cd", 20)}}}}},
		Stats:      fakeStats{"berlin": {Seeders: 0, Leechers: 2}},
		Sites:      []string{"berlin", "paris"},
		AdminToken: "0123456789abcdef0123",
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	return h, mux
}

func TestPageEscapesAndShowsHealth(t *testing.T) {
	_, mux := newHandler()
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "2&lt;b&gt;") || strings.Contains(body, "2<b>") {
		t.Errorf("version not escaped or page missing: %d", rec.Code)
	}
	for _, want := range []string{"Stalled: no seeder", "site berlin", "site paris", "3 MiB", `href="/api/v1/packages/PS1/torrent"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if rec.Header().Get("Content-Security-Policy") == "" {
		t.Error("no CSP")
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/packages/PS1", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Previous versions") {
		t.Errorf("package page: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/packages/NOPE", nil))
	if rec.Code != 404 {
		t.Errorf("missing package page: %d", rec.Code)
	}
}

func TestTokenCheck(t *testing.T) {
	_, mux := newHandler()
	for tok, want := range map[string]int{"": 401, "Bearer nope": 401, "0123456789abcdef0123": 401, "Bearer 0123456789abcdef0123": 400} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", repoapi.PathPackages, strings.NewReader("garbage"))
		if tok != "" {
			req.Header.Set("Authorization", tok)
		}
		mux.ServeHTTP(rec, req)
		if rec.Code != want && !(want == 400 && rec.Code == 403) {
			t.Errorf("Authorization %q: %d %s, want %d", tok, rec.Code, rec.Body, want)
		}
	}
}

// The page prints sizes like every other program (package units).
func TestPageBytes(t *testing.T) {
	for _, c := range unitstest.Formats {
		var b strings.Builder
		x := template.Must(template.New("x").Funcs(pageFuncs).Parse(`{{bytes .}}`))
		if err := x.Execute(&b, c.N); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.Bytes {
			t.Errorf("bytes %d = %q, want %q", c.N, b.String(), c.Bytes)
		}
	}
}

func TestPageShowsAdoptionAndDelta(t *testing.T) {
	h, mux := newHandler()
	cat := h.Catalogue.(*fakeCatalogue)
	p := cat.pkgs["PS1"]
	p.Current.Name = "Office <2024>"
	p.Current.Delta = &repoapi.Delta{Previous: "1", ChangedFiles: 12, ChangedBytes: 310 << 20}
	p.Current.Size = 4 << 30
	cat.pkgs["PS1"] = p
	h.Stats = fakeStats{"berlin": {Seeders: 3, Leechers: 1}}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/packages/PS1", nil))
	body := rec.Body.String()
	for _, want := range []string{"Office &lt;2024&gt;", "changed since 1: 12 files, 310 MiB of 4 GiB", "Adoption per site", "3 hold · 1 downloading"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/packages/PS1", nil))
	var d repoapi.Details
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.NoSeeder || len(d.Adoption) != 1 || d.Adoption[0].Holding["2<b>"] != 3 || d.Adoption[0].Downloading["1"] != 1 {
		t.Errorf("adoption %+v no_seeder %v", d.Adoption, d.NoSeeder)
	}
}

func TestCatalogueETag(t *testing.T) {
	_, mux := newHandler()
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/packages", nil))
	etag := rec.Header().Get("ETag")
	if rec.Code != 200 || etag == "" {
		t.Fatalf("catalogue %d, etag %q", rec.Code, etag)
	}
	req := httptest.NewRequest("GET", "/api/v1/packages", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("conditional catalogue: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}
