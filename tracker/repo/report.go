package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/tracker/store"
)

// report takes a service's Report on one version of a package. The body
// is small JSON; the Reports implementation decides whether its sender
// may speak for the peer ID in it.
func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	if h.Reports == nil {
		writeError(w, http.StatusNotFound, "this repository takes no reports")
		return
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		writeError(w, http.StatusBadRequest, "cannot tell the client's address")
		return
	}
	from := ap.Addr().Unmap()
	if err := h.Reports.Admit(from); err != nil {
		writeStatusError(w, err)
		return
	}
	p, ok := h.lookup(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, repoapi.MaxReportBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a report may be at most %d bytes", repoapi.MaxReportBytes))
		return
	}
	var rep repoapi.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		writeError(w, http.StatusBadRequest, "the report is not valid JSON: "+clip(err.Error()))
		return
	}
	v, ok := versionByHash(p, rep.InfoHash)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("package %s has no version with info-hash %q", p.ID, clip(rep.InfoHash)))
		return
	}
	ans, err := h.Reports.Report(from, p.ID, v, rep)
	if err != nil {
		writeStatusError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// versionByHash finds the version of p with info-hash ih (hex, any case).
func versionByHash(p *store.Package, ih string) (store.Version, bool) {
	ih = strings.ToLower(ih)
	for _, v := range append([]store.Version{p.Current}, p.Previous...) {
		if v.InfoHash == ih {
			return v, true
		}
	}
	return store.Version{}, false
}

func writeStatusError(w http.ResponseWriter, err error) {
	var se *StatusError
	if errors.As(err, &se) {
		if se.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "60")
		}
		writeError(w, se.Status, se.Msg)
		return
	}
	writeError(w, http.StatusInternalServerError, "internal repository error")
}

// savings answers the savings of every package version that has reports.
func (h *Handler) savings(w http.ResponseWriter, r *http.Request) {
	out := []repoapi.PackageSavings{}
	if h.Reports == nil {
		writeJSON(w, http.StatusOK, out)
		return
	}
	ps, err := h.Catalogue.Packages()
	if err != nil {
		h.internal(w, err)
		return
	}
	for _, p := range ps {
		for _, v := range append([]store.Version{p.Current}, p.Previous...) {
			if s := h.Reports.Savings(p.ID, v); s != nil {
				out = append(out, *s)
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}
