package repo

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/tracker/store"
	"github.com/smstorrent/smstorrent/tracker/swarm"
)

//go:embed assets/style.css
var styleCSS []byte

//go:embed assets/page.html
var pageHTML string

// pageFuncs are the page template's functions.
var pageFuncs = template.FuncMap{
	"bytes": units.Bytes,
	"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"short": shortKey,
}

var tmpl = template.Must(template.New("page").Funcs(pageFuncs).Parse(pageHTML))

// siteCell is the health of one version in one site.
type siteCell struct {
	Site string
	swarm.Figures
	Class string // ok, warn, idle
}

type pageVersion struct {
	store.Version
	Name    string // the version string
	Torrent string
	Cells   []siteCell
	Total   swarm.Figures
	Health  string
	Class   string
}

type pagePackage struct {
	ID       string
	Current  pageVersion
	Previous []pageVersion
}

type pageData struct {
	Title       string
	AnnounceURL string
	Generated   time.Time
	Sites       []string // columns: configured sites, then others seen (origin)
	Configured  []string
	Packages    []pagePackage
	Package     *pagePackage // the detail page
	Seeders     int
	Leechers    int
	Completed   int64
	TotalSize   int64
}

func (h *Handler) pageVersion(id string, d VersionDetails, sites []string) pageVersion {
	pv := pageVersion{Version: d.Version, Name: d.Version.Version, Torrent: d.Torrent, Total: d.Total}
	originSeeds := d.Sites[swarm.OriginSite].Seeders
	for _, s := range sites {
		f := d.Sites[s]
		c := siteCell{Site: s, Figures: f, Class: "idle"}
		switch {
		case f.Leechers > 0 && f.Seeders == 0 && originSeeds == 0:
			c.Class = "warn"
		case f.Seeders > 0 || f.Leechers > 0:
			c.Class = "ok"
		}
		pv.Cells = append(pv.Cells, c)
	}
	switch {
	case d.Total.Seeders > 0:
		pv.Health, pv.Class = "Seeded", "ok"
	case d.Total.Leechers > 0:
		pv.Health, pv.Class = "Stalled: no seeder", "bad"
	default:
		pv.Health, pv.Class = "No peers", "warn"
	}
	return pv
}

func (h *Handler) pageSites(ds []Details) []string {
	seen := map[string]swarm.Figures{}
	for _, d := range ds {
		for s, f := range d.Current.Sites {
			seen[s] = f
		}
	}
	return sortedSites(h.Sites, seen)
}

func (h *Handler) render(w http.ResponseWriter, data pageData) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		h.internal(w, fmt.Errorf("rendering page: %w", err))
		return
	}
	setPageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func setPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	ps, err := h.Catalogue.Packages()
	if err != nil {
		h.internal(w, err)
		return
	}
	ds := make([]Details, 0, len(ps))
	for i := range ps {
		ds = append(ds, h.detailsOf(&ps[i]))
	}
	data := pageData{Title: "SMSTorrent repository", AnnounceURL: h.AnnounceURL, Generated: time.Now().UTC()}
	data.Sites, data.Configured = h.pageSites(ds), h.Sites
	for _, d := range ds {
		pp := pagePackage{ID: d.ID, Current: h.pageVersion(d.ID, d.Current, data.Sites)}
		for _, pv := range d.Previous {
			pp.Previous = append(pp.Previous, h.pageVersion(d.ID, pv, data.Sites))
		}
		data.Packages = append(data.Packages, pp)
		data.Seeders += d.Current.Total.Seeders
		data.Leechers += d.Current.Total.Leechers
		data.Completed += d.Current.Total.Completed
		data.TotalSize += d.Current.Size
	}
	h.render(w, data)
}

func (h *Handler) packagePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if pkgsign.ValidID(id) != nil {
		http.Error(w, "not a package ID", http.StatusBadRequest)
		return
	}
	p, err := h.Catalogue.Package(id)
	if err != nil {
		http.Error(w, "package "+id+" is not published", http.StatusNotFound)
		return
	}
	d := h.detailsOf(p)
	data := pageData{Title: p.ID + " - SMSTorrent repository", AnnounceURL: h.AnnounceURL, Generated: time.Now().UTC()}
	data.Sites, data.Configured = h.pageSites([]Details{d}), h.Sites
	pp := pagePackage{ID: d.ID, Current: h.pageVersion(d.ID, d.Current, data.Sites)}
	for _, pv := range d.Previous {
		pp.Previous = append(pp.Previous, h.pageVersion(d.ID, pv, data.Sites))
	}
	data.Package = &pp
	h.render(w, data)
}

func (h *Handler) style(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(styleCSS)
}

func shortKey(k string) string {
	if len(k) > 20 {
		return k[:20] + "…"
	}
	return k
}
