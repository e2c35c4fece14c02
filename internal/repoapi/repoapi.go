// Package repoapi is the contract of the package repository's HTTP API:
// route paths, wire types, typed errors and a Go client. The tracker's
// repository (tracker/repo) serves it; the publisher (smstorrent-tracker
// publish) and the service's torrent fetch and update poll (service/core)
// call it through Client, so nobody rebuilds repository URLs by hand.
//
// It imports neither the tracker nor the service: both sides depend on it,
// as the tray and the wrapper depend on service/api for the local API.
// docs/TRACKER.md describes the same surface for humans.
package repoapi

import (
	"net/url"
	"time"
)

// Route paths. {id} is a package ID.
const (
	PathPackages = "/api/v1/packages"
	PathPackage  = "/api/v1/packages/{id}"
	PathTorrent  = "/api/v1/packages/{id}/torrent"
	// PathReport takes a service's Report on where its bytes of a package
	// came from; PathSavings answers the savings of every package.
	PathReport  = "/api/v1/packages/{id}/report"
	PathSavings = "/api/v1/savings"
)

// Headers.
const (
	// HeaderInfoHash and HeaderVersion describe the .torrent an answer
	// of PathTorrent carries.
	HeaderInfoHash = "X-SMSTorrent-Info-Hash"
	HeaderVersion  = "X-SMSTorrent-Version"
	// ContentTypeTorrent is the media type of a .torrent body.
	ContentTypeTorrent = "application/x-bittorrent"
)

// Route is one entry of the repository's API.
type Route struct {
	Method, Pattern string
	Admin           bool // needs the admin token
	Doc             string
}

// Routes is the repository's API. The tracker registers exactly these (and
// its web page beside them).
var Routes = []Route{
	{"GET", PathPackages, false, "The catalogue: current version of every package (JSON). Answers an ETag; If-None-Match gives 304 when nothing changed."},
	{"POST", PathPackages, true, "Publish a signed .torrent (body: the file). 201 new, 200 already current."},
	{"GET", PathPackage, false, "One package: versions, files, swarm figures and adoption per site (JSON)."},
	{"GET", PathTorrent, false, "The current .torrent of a package (?version=V for a previous one)."},
	{"POST", PathReport, false, "A service's Report on one version it downloads or holds (JSON). Accepted only from the address that announced the report's peer ID for its info-hash; answers a ReportAnswer."},
	{"GET", PathSavings, false, "What the swarms saved: per package version and site, WAN and server bytes avoided and the time until N PCs had it (JSON)."},
}

// ReportPath is the path a service posts its Report on package id to.
func ReportPath(id string) string { return PackagePath(id) + "/report" }

// PackagePath is the API path of one package.
func PackagePath(id string) string { return PathPackages + "/" + url.PathEscape(id) }

// TorrentPath is the path of a package's .torrent; version "" is the
// current one.
func TorrentPath(id, version string) string {
	p := PackagePath(id) + "/torrent"
	if version != "" {
		p += "?version=" + url.QueryEscape(version)
	}
	return p
}

// File is one file of a package.
type File struct {
	Path   string `json:"path"`
	Length int64  `json:"length"`
}

// Delta says how a version differs from the version it replaces, as the
// creator recorded it.
type Delta struct {
	// Previous is the version it was made against.
	Previous string `json:"previous"`
	// ChangedFiles counts files that are new or whose content changed;
	// ChangedBytes is the size of the pieces that changed.
	ChangedFiles int   `json:"changed_files"`
	ChangedBytes int64 `json:"changed_bytes"`
}

// Version is one published version of a package.
type Version struct {
	Version     string    `json:"version"`
	Name        string    `json:"name,omitempty"`      // display name, signed
	InfoHash    string    `json:"info_hash"`           // lower-case hex
	Size        int64     `json:"size"`                // bytes of content (padding excluded)
	Files       int       `json:"files"`               // files of content (padding excluded)
	PieceLength int64     `json:"piece_length"`        //
	Published   time.Time `json:"published"`           //
	Signer      string    `json:"signer"`              //
	Delta       *Delta    `json:"delta,omitempty"`     // against the previous version, when the creator knew it
	FileList    []File    `json:"file_list,omitempty"` //
}

// Entry is one package in the catalogue listing.
type Entry struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Version   string    `json:"version"`
	Size      int64     `json:"size"`
	Files     int       `json:"files"`
	InfoHash  string    `json:"info_hash"`
	Published time.Time `json:"published"`
	Signer    string    `json:"signer"`
	Torrent   string    `json:"torrent"` // path of the .torrent
	Previous  []string  `json:"previous_versions,omitempty"`
}

// Figures are live swarm figures of one version in one site.
type Figures struct {
	Seeders    int   `json:"seeders"`
	Leechers   int   `json:"leechers"`
	Completed  int64 `json:"completed"`
	Uploaded   int64 `json:"bytes_uploaded"`
	Downloaded int64 `json:"bytes_downloaded"`
	// Gateway is the address (host:port) of the site's gateway to the
	// origins for this version, "" when the site has none (it is seeded,
	// or gateways are off). GatewayLimited says its PC reported a helpdesk
	// throttle, a schedule or a small upload limit: a neighbour that is
	// slow can say "the site's gateway is throttled". The tracker hands
	// the role to an unlimited PC of the site as soon as there is one.
	Gateway        string `json:"gateway,omitempty"`
	GatewayLimited bool   `json:"gateway_limited,omitempty"`
}

// VersionDetails is one version with its swarm figures.
type VersionDetails struct {
	Version
	Torrent string             `json:"torrent"`
	Sites   map[string]Figures `json:"sites"`
	Total   Figures            `json:"total"`
	// Savings are what the version's swarm saved, from the services'
	// reports; nil before the first report.
	Savings *PackageSavings `json:"savings,omitempty"`
}

// Adoption is, for one site, how many PCs hold each version of a package
// (seeders) and how many are still downloading it (leechers), from the
// tracker's live swarms.
type Adoption struct {
	Site string `json:"site"`
	// Holding and Downloading map a version to a number of PCs.
	Holding     map[string]int `json:"holding"`
	Downloading map[string]int `json:"downloading"`
}

// Details is one package with swarm figures per site.
type Details struct {
	ID       string           `json:"id"`
	Current  VersionDetails   `json:"current"`
	Previous []VersionDetails `json:"previous,omitempty"`
	Adoption []Adoption       `json:"adoption,omitempty"`
	// NoSeeder is set when the current version has no seeder in any site:
	// nobody can send it.
	NoSeeder bool `json:"no_seeder,omitempty"`
}

// Publication statuses.
const (
	StatusPublished = "published"
	StatusUnchanged = "unchanged"
)

// PublishResult answers a publication.
type PublishResult struct {
	ID       string `json:"id"`
	Version  string `json:"version"`
	InfoHash string `json:"info_hash"`
	Replaced string `json:"replaced,omitempty"` // the version it replaced
	Status   string `json:"status"`             // StatusPublished or StatusUnchanged
}

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// Report is what one service tells the repository about one version of a
// package: where the bytes it received came from, over the job's life. A
// service sends it when the job completes and, while it runs, at most every
// few minutes; the repository keeps the latest report per PC and version.
type Report struct {
	InfoHash   string `json:"info_hash"` // hex, the version reported on
	PeerID     string `json:"peer_id"`   // hex, as announced to the tracker
	Site       int64  `json:"site"`      // bytes from peers of the PC's own site
	Origin     int64  `json:"origin"`    // bytes from origin seeders and web seeds
	OtherSites int64  `json:"other_sites"`
	// Complete is set once the PC holds the whole version. Seconds is the
	// time since the job was added; once Complete, how long it took. The
	// repository dates the PC's start and completion from it.
	Complete bool  `json:"complete,omitempty"`
	Seconds  int64 `json:"seconds,omitempty"`
	// UploadLimit is the upload limit in force on the PC right now (bytes
	// per second, 0: none) and Limited says a helpdesk throttle or the
	// schedule set it; the tracker hands the site's gateway role away from
	// a limited PC. A service reports at once when either changes.
	UploadLimit int64 `json:"upload_limit,omitempty"`
	Limited     bool  `json:"limited,omitempty"`
}

// ReportAnswer answers an accepted Report.
type ReportAnswer struct {
	// NextSeconds is the shortest time the repository wants between two
	// reports of a running job; 0: the service's own default.
	NextSeconds int64 `json:"next_seconds,omitempty"`
}

// MaxReportBytes bounds the body of a Report.
const MaxReportBytes = 4096

// SiteSavings is what one site saved on one version of a package.
type SiteSavings struct {
	Site     string `json:"site"`
	PCs      int    `json:"pcs"`      // PCs that reported
	Complete int    `json:"complete"` // of those, PCs holding the whole version
	// Bytes the site's PCs received, by source.
	FromSite   int64 `json:"bytes_site"`
	Origin     int64 `json:"bytes_origin"`
	OtherSites int64 `json:"bytes_other_sites"`
	// WANAvoided is what the site's WAN link did not carry compared with
	// every PC fetching from the server: bytes from inside the site.
	// ServerAvoided is what the origin servers did not send: bytes from
	// site peers and other sites.
	WANAvoided    int64 `json:"wan_bytes_avoided"`
	ServerAvoided int64 `json:"server_bytes_avoided"`
	// Milestones are the times from the first PC's job to the Nth PC's
	// completion, for N = 1, then every doubling, and the last.
	Milestones []Milestone `json:"milestones,omitempty"`
}

// Milestone is "N PCs of the site held the version after Seconds".
type Milestone struct {
	PCs     int   `json:"pcs"`
	Seconds int64 `json:"seconds"`
}

// PackageSavings is the savings of one version of a package, per site.
type PackageSavings struct {
	ID       string        `json:"id"`
	Version  string        `json:"version,omitempty"`
	InfoHash string        `json:"info_hash"`
	Size     int64         `json:"size"`
	Sites    []SiteSavings `json:"sites"`
	// Totals over all sites.
	WANAvoided    int64 `json:"wan_bytes_avoided"`
	ServerAvoided int64 `json:"server_bytes_avoided"`
}
