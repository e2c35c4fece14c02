// Package repo serves the package repository over HTTP: the JSON API that
// lists packages, hands out their signed .torrent files and accepts new
// publications, and the server-rendered web page where an administrator
// sees packages, versions and per-site swarm health. The route table below
// is the whole surface; docs/TRACKER.md describes it.
package repo

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/tracker/store"
	"github.com/smstorrent/smstorrent/tracker/swarm"
)

// Paths of the web page; the API's paths are in repoapi.
const (
	PathPage    = "/{$}"
	PathPagePkg = "/packages/{id}"
	PathStyle   = "/assets/style.css"
)

// Route is one entry of the repository's HTTP surface.
type Route = repoapi.Route

// Routes is the repository's route table: the API (repoapi.Routes) and the
// web page.
var Routes = append(append([]Route(nil), repoapi.Routes...),
	Route{Method: "GET", Pattern: PathPage, Doc: "The web page: packages, versions, per-site swarm health and adoption."},
	Route{Method: "GET", Pattern: PathPagePkg, Doc: "The web page of one package."},
	Route{Method: "GET", Pattern: PathStyle, Doc: "The web page's style sheet."},
)

// Catalogue is the storage the repository needs.
type Catalogue interface {
	Packages() ([]store.Package, error)
	Package(id string) (*store.Package, error)
	Torrent(infoHash string) ([]byte, error)
	Publish(id string, v store.Version, torrent []byte) (*store.Package, error)
}

// Stats gives live swarm figures per site.
type Stats interface {
	Stats(ih swarm.Hash) map[string]swarm.Figures
}

// Reports takes the services' savings reports and sums them up. The
// tracker implements it: it alone can tell whether a report's peer ID
// announced the version from the report's address.
type Reports interface {
	// Admit is asked first, before the body is read: it refuses an
	// address that reports too often (a *StatusError).
	Admit(from netip.Addr) error
	// Report checks and records a report from address from on version v of
	// package id. Its errors are *StatusError.
	Report(from netip.Addr, id string, v store.Version, r repoapi.Report) (repoapi.ReportAnswer, error)
	// Savings sums the reports on one version; nil before the first.
	Savings(id string, v store.Version) *repoapi.PackageSavings
}

// StatusError is a refusal with its HTTP status and a message for the
// client.
type StatusError struct {
	Status int
	Msg    string
}

func (e *StatusError) Error() string { return e.Msg }

var (
	_ Catalogue = (*store.Store)(nil)
	_ Stats     = (*swarm.Registry)(nil)
)

// Handler serves the repository.
type Handler struct {
	Catalogue   Catalogue
	Stats       Stats
	TrustedKeys []pkgsign.PublicKey
	AdminToken  string   // "": publishing disabled
	Sites       []string // configured site names, for the page
	AnnounceURL string   // shown on the page
	Logger      *slog.Logger
	// OnPublish is called after a version is stored, with its info-hash,
	// so that the tracker starts serving it. It must not block.
	OnPublish func(ih swarm.Hash)
	// Reports takes savings reports; nil: the report route answers 404
	// and no savings are shown.
	Reports Reports
	Now     func() time.Time
}

// Routes registers the repository on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+repoapi.PathPackages, h.list)
	mux.HandleFunc("POST "+repoapi.PathPackages, h.publish)
	mux.HandleFunc("GET "+repoapi.PathPackage, h.details)
	mux.HandleFunc("GET "+repoapi.PathTorrent, h.torrent)
	mux.HandleFunc("POST "+repoapi.PathReport, h.report)
	mux.HandleFunc("GET "+repoapi.PathSavings, h.savings)
	mux.HandleFunc("GET "+PathPage, h.page)
	mux.HandleFunc("GET "+PathPagePkg, h.packagePage)
	mux.HandleFunc("GET "+PathStyle, h.style)
}

func (h *Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func entryOf(p store.Package) repoapi.Entry {
	e := repoapi.Entry{
		ID: p.ID, Name: p.Current.Name, Version: p.Current.Version, Size: p.Current.Size, Files: p.Current.Files,
		InfoHash: p.Current.InfoHash, Published: p.Current.Published, Signer: p.Current.Signer,
		Torrent: repoapi.TorrentPath(p.ID, ""),
	}
	for _, v := range p.Previous {
		e.Previous = append(e.Previous, v.Version)
	}
	return e
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	ps, err := h.Catalogue.Packages()
	if err != nil {
		h.internal(w, err)
		return
	}
	out := make([]repoapi.Entry, 0, len(ps))
	for _, p := range ps {
		out = append(out, entryOf(p))
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		h.internal(w, err)
		return
	}
	// PCs poll the catalogue; an unchanged one costs a 304 and no body.
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}

func (h *Handler) versionDetails(id string, v store.Version) repoapi.VersionDetails {
	d := repoapi.VersionDetails{Version: v, Torrent: repoapi.TorrentPath(id, v.Version), Sites: map[string]repoapi.Figures{}}
	var ih swarm.Hash
	if n, err := hex.Decode(ih[:], []byte(v.InfoHash)); err == nil && n == 20 && h.Stats != nil {
		for site, f := range h.Stats.Stats(ih) {
			d.Sites[site] = repoapi.Figures(f)
		}
	}
	if h.Reports != nil {
		d.Savings = h.Reports.Savings(id, v)
	}
	for _, f := range d.Sites {
		d.Total.Seeders += f.Seeders
		d.Total.Leechers += f.Leechers
		d.Total.Completed += f.Completed
		d.Total.Uploaded += f.Uploaded
		d.Total.Downloaded += f.Downloaded
	}
	return d
}

func (h *Handler) detailsOf(p *store.Package) repoapi.Details {
	d := repoapi.Details{ID: p.ID, Current: h.versionDetails(p.ID, p.Current)}
	d.Current.Torrent = repoapi.TorrentPath(p.ID, "")
	for _, v := range p.Previous {
		d.Previous = append(d.Previous, h.versionDetails(p.ID, v))
	}
	d.Adoption = adoption(d)
	d.NoSeeder = d.Current.Total.Seeders == 0
	return d
}

// adoption counts, per site, the PCs that hold and that download each
// version, from the live swarms of all versions.
func adoption(d repoapi.Details) []repoapi.Adoption {
	by := map[string]*repoapi.Adoption{}
	var order []string
	for _, v := range append([]repoapi.VersionDetails{d.Current}, d.Previous...) {
		for site, f := range v.Sites {
			if f.Seeders == 0 && f.Leechers == 0 {
				continue
			}
			a, ok := by[site]
			if !ok {
				a = &repoapi.Adoption{Site: site, Holding: map[string]int{}, Downloading: map[string]int{}}
				by[site] = a
				order = append(order, site)
			}
			if f.Seeders > 0 {
				a.Holding[v.Version.Version] += f.Seeders
			}
			if f.Leechers > 0 {
				a.Downloading[v.Version.Version] += f.Leechers
			}
		}
	}
	sort.Strings(order)
	out := make([]repoapi.Adoption, 0, len(order))
	for _, s := range order {
		out = append(out, *by[s])
	}
	return out
}

func (h *Handler) lookup(w http.ResponseWriter, r *http.Request) (*store.Package, bool) {
	id := r.PathValue("id")
	if err := pkgsign.ValidID(id); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("package ID %q is not valid", clip(id)))
		return nil, false
	}
	p, err := h.Catalogue.Package(id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("package %s is not published", id))
		return nil, false
	}
	if err != nil {
		h.internal(w, err)
		return nil, false
	}
	return p, true
}

func (h *Handler) details(w http.ResponseWriter, r *http.Request) {
	p, ok := h.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, h.detailsOf(p))
}

func (h *Handler) torrent(w http.ResponseWriter, r *http.Request) {
	p, ok := h.lookup(w, r)
	if !ok {
		return
	}
	v := p.Current
	if want := r.URL.Query().Get("version"); want != "" && want != v.Version {
		found := false
		for _, old := range p.Previous {
			if old.Version == want {
				v, found = old, true
				break
			}
		}
		if !found {
			writeError(w, http.StatusNotFound, fmt.Sprintf("package %s has no version %q", p.ID, clip(want)))
			return
		}
	}
	etag := repoapi.TorrentETag(v.InfoHash)
	w.Header().Set("ETag", etag)
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	b, err := h.Catalogue.Torrent(v.InfoHash)
	if err != nil {
		h.internal(w, err)
		return
	}
	name := p.ID + ".torrent"
	if v.Version != "" && v.InfoHash != p.Current.InfoHash {
		name = p.ID + "-" + v.Version + ".torrent"
	}
	w.Header().Set("Content-Type", repoapi.ContentTypeTorrent)
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.NewReplacer(`"`, "", `\`, "").Replace(name)+`"`)
	w.Header().Set(repoapi.HeaderInfoHash, v.InfoHash)
	w.Header().Set(repoapi.HeaderVersion, v.Version)
	_, _ = w.Write(b)
}

// checkToken compares the bearer token in constant time.
func (h *Handler) checkToken(w http.ResponseWriter, r *http.Request) bool {
	if h.AdminToken == "" {
		writeError(w, http.StatusForbidden, "publishing is disabled: the tracker has no admin_token configured")
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(h.AdminToken))
	if !ok || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="smstorrent-repository"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong admin token (Authorization: Bearer <token>)")
		return false
	}
	return true
}

func (h *Handler) publish(w http.ResponseWriter, r *http.Request) {
	if !h.checkToken(w, r) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, pkgsign.MaxTorrentSize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a .torrent may be at most %d bytes", pkgsign.MaxTorrentSize))
			return
		}
		writeError(w, http.StatusBadRequest, "reading the upload: "+err.Error())
		return
	}
	if len(h.TrustedKeys) == 0 {
		writeError(w, http.StatusForbidden, "publishing is disabled: the tracker has no trusted_keys configured")
		return
	}
	pkg, err := pkgsign.Verify(body, h.TrustedKeys)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, pkgsign.ErrUnknownSigner) || errors.Is(err, pkgsign.ErrBadSignature) {
			status = http.StatusForbidden
		}
		writeError(w, status, "invalid .torrent: "+err.Error())
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	v := store.Version{
		Version: pkg.Version, Name: pkg.Name, InfoHash: pkg.InfoHash.HexString(), Size: pkg.ContentSize(),
		PieceLength: pkg.Info.PieceLength, Published: now().UTC().Truncate(time.Second),
		Signer: pkg.Signer.String(), Delta: h.deltaOf(pkg.ID, pkg),
	}
	for _, f := range pkg.ContentFiles() {
		p, _ := pkgsign.SafeRelPath(f.BestPath())
		v.FileList = append(v.FileList, store.File{Path: p, Length: f.Length})
	}
	v.Files = len(v.FileList)
	res := repoapi.PublishResult{ID: pkg.ID, Version: pkg.Version, InfoHash: v.InfoHash, Status: repoapi.StatusPublished}
	stored, err := h.Catalogue.Publish(pkg.ID, v, body)
	switch {
	case errors.Is(err, store.ErrRepublished):
		res.Status = repoapi.StatusUnchanged
		writeJSON(w, http.StatusOK, res)
		return
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
		return
	case err != nil:
		h.internal(w, err)
		return
	}
	if len(stored.Previous) > 0 {
		res.Replaced = stored.Previous[0].Version
	}
	if h.OnPublish != nil {
		h.OnPublish(pkg.InfoHash)
	}
	h.log().Info("published", "package", pkg.ID, "version", pkg.Version, "info_hash", v.InfoHash, "signer", v.Signer)
	w.Header().Set("Location", repoapi.PackagePath(pkg.ID))
	writeJSON(w, http.StatusCreated, res)
}

func (h *Handler) internal(w http.ResponseWriter, err error) {
	h.log().Error("repository error", "err", err)
	writeError(w, http.StatusInternalServerError, "internal repository error")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the answer failed")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(repoapi.ErrorBody{Error: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// etagMatch reports whether an If-None-Match header names etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		if t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/")); t == etag || t == "*" {
			return true
		}
	}
	return false
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func sortedSites(configured []string, seen map[string]repoapi.Figures) []string {
	out := append([]string(nil), configured...)
	known := map[string]bool{}
	for _, s := range out {
		known[s] = true
	}
	var extra []string
	for s := range seen {
		if !known[s] {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}
