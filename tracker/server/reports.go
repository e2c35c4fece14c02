package server

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/tracker/addrlimit"
	"github.com/smstorrent/smstorrent/tracker/repo"
	"github.com/smstorrent/smstorrent/tracker/savings"
	"github.com/smstorrent/smstorrent/tracker/store"
	"github.com/smstorrent/smstorrent/tracker/swarm"
)

// Report bounds and pace.
const (
	// GatewayMinUpload is the upload limit below which a PC counts as
	// limited for the gateway role, whatever set the limit: a gateway
	// passes the whole package on to its site.
	GatewayMinUpload = 1 << 20
	// ReportRate and ReportBurst limit the reports of one address: a PC
	// with many jobs sends a report per job when each completes.
	ReportRate  = 0.2
	ReportBurst = 30
	// ReportEvery is the pace the repository asks of running jobs.
	ReportEvery = 5 * time.Minute
	// reportByteFactor bounds a report's bytes by the version's size: a
	// PC may fetch a piece again after a hash failure, not many times.
	reportByteFactor = 2
	maxReportSeconds = 366 * 24 * 3600
)

// Report results, for metrics.
const (
	reportAccepted    = "accepted"
	reportOrigin      = "origin"       // accepted from an origin, not counted
	reportUnknownPeer = "unknown_peer" // the peer ID did not announce from this address
	reportBad         = "bad_request"
	reportLimited     = "rate_limited"
)

var reportResults = []string{reportAccepted, reportOrigin, reportUnknownPeer, reportBad, reportLimited}

// reportDesk authenticates the services' savings reports against the
// swarms, bounds them and keeps them in the savings book. A report is
// taken only for a peer ID that announced its info-hash from the same
// address: a PC can speak for itself, not for its neighbours.
type reportDesk struct {
	reg     *swarm.Registry
	book    *savings.Book
	limiter *addrlimit.Limiter
	now     func() time.Time
	observe func(result string) // may be nil
}

var _ repo.Reports = (*reportDesk)(nil)

func (d *reportDesk) count(result string) {
	if d.observe != nil {
		d.observe(result)
	}
}

func refuse(status int, format string, args ...any) error {
	return &repo.StatusError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// Admit implements repo.Reports.
func (d *reportDesk) Admit(from netip.Addr) error {
	if ok, wait := d.limiter.Allow(from); !ok {
		d.count(reportLimited)
		return refuse(http.StatusTooManyRequests, "too many reports from %s; try again in %s",
			addrlimit.Key(from), (wait + time.Second - 1).Truncate(time.Second))
	}
	return nil
}

// Report implements repo.Reports.
func (d *reportDesk) Report(from netip.Addr, id string, v store.Version, r repoapi.Report) (repoapi.ReportAnswer, error) {
	var ih, pid swarm.Hash
	if n, err := hex.Decode(ih[:], []byte(v.InfoHash)); err != nil || n != 20 {
		return repoapi.ReportAnswer{}, refuse(http.StatusInternalServerError, "version %s of %s has no valid info-hash", v.Version, id)
	}
	if n, err := hex.Decode(pid[:], []byte(r.PeerID)); err != nil || n != 20 || len(r.PeerID) != 40 {
		d.count(reportBad)
		return repoapi.ReportAnswer{}, refuse(http.StatusBadRequest, "peer_id must be 40 hex digits")
	}
	if err := checkReport(v, r); err != nil {
		d.count(reportBad)
		return repoapi.ReportAnswer{}, err
	}
	limited := r.Limited || (r.UploadLimit > 0 && r.UploadLimit < GatewayMinUpload)
	info, ok := d.reg.SetLimited(ih, pid, from, limited)
	if !ok {
		d.count(reportUnknownPeer)
		return repoapi.ReportAnswer{}, refuse(http.StatusForbidden,
			"peer %s has not announced version %s of %s from %s: announce first, from this address", r.PeerID, v.Version, id, from)
	}
	ans := repoapi.ReportAnswer{NextSeconds: int64(ReportEvery / time.Second)}
	if info.Origin {
		d.count(reportOrigin)
		return ans, nil
	}
	d.book.Put(ih, pid, info.Site, r, v.Published, d.now())
	d.count(reportAccepted)
	return ans, nil
}

// checkReport bounds a report's figures by the version's size.
func checkReport(v store.Version, r repoapi.Report) error {
	bound := reportByteFactor * (v.Size + v.PieceLength)
	for _, f := range []struct {
		name string
		n    int64
	}{{"site", r.Site}, {"origin", r.Origin}, {"other_sites", r.OtherSites}} {
		if f.n < 0 || f.n > bound {
			return refuse(http.StatusBadRequest, "%s: %d bytes is not between 0 and %d (twice the version's size)", f.name, f.n, bound)
		}
	}
	if r.Site+r.Origin+r.OtherSites > bound {
		return refuse(http.StatusBadRequest, "the report's bytes add up to more than twice the version's size (%d)", bound)
	}
	if r.Seconds < 0 || r.Seconds > maxReportSeconds {
		return refuse(http.StatusBadRequest, "seconds: %d is not between 0 and %d", r.Seconds, maxReportSeconds)
	}
	if r.UploadLimit < 0 {
		return refuse(http.StatusBadRequest, "upload_limit must not be negative")
	}
	return nil
}

// Savings implements repo.Reports.
func (d *reportDesk) Savings(id string, v store.Version) *repoapi.PackageSavings {
	var ih swarm.Hash
	if n, err := hex.Decode(ih[:], []byte(v.InfoHash)); err != nil || n != 20 {
		return nil
	}
	return d.book.Version(id, v.Version, ih, v.Size)
}
