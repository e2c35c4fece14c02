package repo

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/repoapi"
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
	"since": seconds,
}

// seconds writes a duration in whole seconds for people: "45 s", "3 min
// 20 s", "2 h 5 min".
func seconds(n int64) string {
	d := time.Duration(n) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", n)
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", n/60, n%60)
	}
	return fmt.Sprintf("%d h %d min", n/3600, n%3600/60)
}

var tmpl = template.Must(template.New("page").Funcs(pageFuncs).Parse(pageHTML))

// siteCell is the health of one version in one site.
type siteCell struct {
	Site string
	repoapi.Figures
	Class string // ok, warn, idle
}

type pageVersion struct {
	store.Version
	Name    string // the version string
	Display string // the publisher's display name
	Changed string // "changed: 12 files, 310 MiB of 4.1 GiB", if the creator named the previous version
	Torrent string
	Cells   []siteCell
	Total   repoapi.Figures
	Health  string
	Class   string
	Savings *repoapi.PackageSavings
}

type pagePackage struct {
	ID       string
	Current  pageVersion
	Previous []pageVersion
	Versions []string // current first, for the adoption table
	Adoption []adoptionRow
}

// adoptionRow is one site of the adoption table: per version (in the order
// of pagePackage.Versions), how many PCs hold it and download it.
type adoptionRow struct {
	Site  string
	Cells []adoptionCell
}

type adoptionCell struct{ Holding, Downloading int }

func pagePackageOf(h *Handler, d repoapi.Details, sites []string) pagePackage {
	pp := pagePackage{ID: d.ID, Current: h.pageVersion(d.ID, d.Current, sites)}
	pp.Versions = append(pp.Versions, d.Current.Version.Version)
	for _, pv := range d.Previous {
		pp.Previous = append(pp.Previous, h.pageVersion(d.ID, pv, sites))
		pp.Versions = append(pp.Versions, pv.Version.Version)
	}
	for _, a := range d.Adoption {
		row := adoptionRow{Site: a.Site}
		for _, v := range pp.Versions {
			row.Cells = append(row.Cells, adoptionCell{a.Holding[v], a.Downloading[v]})
		}
		pp.Adoption = append(pp.Adoption, row)
	}
	if d.NoSeeder && len(d.Previous) > 0 && pp.Current.Class != "bad" { // "Stalled: no seeder" says it already
		pp.Current.Health, pp.Current.Class = "New version has no seeder", "bad"
	}
	return pp
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
	// WANAvoided and ServerAvoided sum the current versions' savings.
	WANAvoided, ServerAvoided int64
}

func (h *Handler) pageVersion(id string, d repoapi.VersionDetails, sites []string) pageVersion {
	pv := pageVersion{Version: d.Version, Name: d.Version.Version, Display: d.Version.Name, Torrent: d.Torrent, Total: d.Total,
		Savings: d.Savings}
	if dl := d.Version.Delta; dl != nil {
		pv.Changed = fmt.Sprintf("changed since %s: %d files, %s of %s", dl.Previous, dl.ChangedFiles, units.Bytes(dl.ChangedBytes), units.Bytes(d.Version.Size))
	}
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

func (h *Handler) pageSites(ds []repoapi.Details) []string {
	seen := map[string]repoapi.Figures{}
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
	ds := make([]repoapi.Details, 0, len(ps))
	for i := range ps {
		ds = append(ds, h.detailsOf(&ps[i]))
	}
	data := pageData{Title: "SMSTorrent repository", AnnounceURL: h.AnnounceURL, Generated: time.Now().UTC()}
	data.Sites, data.Configured = h.pageSites(ds), h.Sites
	for _, d := range ds {
		data.Packages = append(data.Packages, pagePackageOf(h, d, data.Sites))
		data.Seeders += d.Current.Total.Seeders
		data.Leechers += d.Current.Total.Leechers
		data.Completed += d.Current.Total.Completed
		data.TotalSize += d.Current.Size
		if sv := d.Current.Savings; sv != nil {
			data.WANAvoided += sv.WANAvoided
			data.ServerAvoided += sv.ServerAvoided
		}
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
	data.Sites, data.Configured = h.pageSites([]repoapi.Details{d}), h.Sites
	pp := pagePackageOf(h, d, data.Sites)
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
