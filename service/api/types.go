// Package api is the contract of the SMSTorrent service's local API: wire
// types, the route table, typed errors, and a Go client.
//
// The tray, the window, the wrapper and the helpdesk command line import only
// this package, never the engine. The service implements the routes in
// service/localapi. docs/API.md describes the same contract for humans.
package api

import (
	"fmt"
	"strings"
	"time"
)

// APIVersion is the version of this contract. It changes when a route or a
// field changes meaning; adding fields does not change it.
const APIVersion = "1"

// Headers.
const (
	// HeaderToken carries the read or control token on every request.
	HeaderToken = "X-SMSTorrent-Token"
	// HeaderAPIVersion is set on every response to APIVersion.
	HeaderAPIVersion = "X-SMSTorrent-API"
	// HeaderServiceVersion is set on every response to the service's build version.
	HeaderServiceVersion = "X-SMSTorrent-Service"
)

// Priority is a job's BITS priority. Foreground competes for bandwidth like
// any application; High, Normal and Low are background priorities that use
// idle bandwidth only. Higher priorities run before lower; equal ones share.
type Priority string

// Priorities, highest first.
const (
	Foreground Priority = "foreground"
	High       Priority = "high"
	Normal     Priority = "normal"
	Low        Priority = "low"
)

// Priorities lists every priority, highest first.
var Priorities = []Priority{Foreground, High, Normal, Low}

// Rank orders priorities: higher runs first. Unknown priorities rank lowest.
func (p Priority) Rank() int {
	switch p {
	case Foreground:
		return 3
	case High:
		return 2
	case Normal:
		return 1
	case Low:
		return 0
	}
	return -1
}

// Background reports whether jobs of this priority use idle bandwidth only.
func (p Priority) Background() bool { return p != Foreground }

// ParsePriority accepts a priority name in any case; "" means Normal.
func ParsePriority(s string) (Priority, error) {
	if s == "" {
		return Normal, nil
	}
	p := Priority(strings.ToLower(strings.TrimSpace(s)))
	if p.Rank() < 0 {
		return "", fmt.Errorf("unknown priority %q (want foreground, high, normal or low)", s)
	}
	return p, nil
}

// State is a job's BITS state.
type State string

// Job states.
const (
	StateQueued         State = "queued"          // waiting for higher-priority jobs
	StateConnecting     State = "connecting"      // looking for peers
	StateTransferring   State = "transferring"    // moving data
	StateSuspended      State = "suspended"       // paused by a user
	StateTransientError State = "transient_error" // will be retried by itself
	StateError          State = "error"           // needs someone to act; see Job.Error
	StateTransferred    State = "transferred"     // complete and verified; seeding
	StateCancelled      State = "cancelled"       // cancelled; content removed
)

// Job error codes (Job.ErrorCode).
const (
	ErrorRepository = "repository" // the repository cannot deliver the torrent (retried)
	ErrorTracker    = "tracker"    // no tracker answers (retried)
	ErrorSignature  = "signature"  // the torrent is no longer accepted
	ErrorNotFound   = "not_found"  // the repository does not publish the package
	ErrorDisk       = "disk"       // the package cannot be written
	ErrorPackage    = "package"    // the engine refused the package (its layout, or its files on disk)
)

// Final reports whether the job will not transfer any more data by itself.
func (s State) Final() bool { return s == StateError || s == StateTransferred || s == StateCancelled }

// FileProgress is one file of a job.
type FileProgress struct {
	Path  string `json:"path"` // slash-separated, relative to the package folder
	Size  int64  `json:"size"`
	Done  int64  `json:"done"`
	Ready bool   `json:"ready"` // every byte verified
}

// Job is one package download and, once transferred, the seeding of it.
type Job struct {
	ID      string `json:"id"`             // package ID
	Name    string `json:"name,omitempty"` // display name, signed by the publisher
	Version string `json:"version,omitempty"`
	// Pinned is the version an SCCM program pinned (P2PWrapper --version):
	// background updates leave the job at it until a run asks for the current one.
	Pinned string `json:"pinned,omitempty"`
	// OtherVersions are further versions of the package in the cache,
	// kept seeding for the site until the seeding policy lets them go.
	OtherVersions []HeldVersion `json:"other_versions,omitempty"`
	// Check is set on the answer to Add: what the repository said about
	// the package's current version.
	Check    *VersionCheck `json:"check,omitempty"`
	InfoHash string        `json:"info_hash"`
	State    State         `json:"state"`
	Priority Priority      `json:"priority"`
	// Error says what went wrong and what to do, in StateTransientError and StateError.
	Error string `json:"error,omitempty"`
	// ErrorCode classifies Error: ErrorRepository, ErrorTracker,
	// ErrorSignature, ErrorNotFound, ErrorDisk; empty without an error.
	ErrorCode string    `json:"error_code,omitempty"`
	NextRetry time.Time `json:"next_retry,omitzero"`

	BytesTotal int64          `json:"bytes_total"`
	BytesDone  int64          `json:"bytes_done"`
	FilesTotal int            `json:"files_total"`
	FilesDone  int            `json:"files_done"`
	Files      []FileProgress `json:"files,omitempty"`

	DownRate   int64 `json:"down_rate"` // bytes per second
	UpRate     int64 `json:"up_rate"`
	Downloaded int64 `json:"downloaded"` // payload bytes received, over the job's life
	Uploaded   int64 `json:"uploaded"`   // payload bytes sent, over the job's life
	// Bytes received from peers of the same site and from servers (origin
	// seeders, web seeds, peers of other sites), over the job's life.
	DownloadedSite   int64 `json:"downloaded_site"`
	DownloadedServer int64 `json:"downloaded_server"`
	PeersSite        int   `json:"peers_site"`
	PeersServer      int   `json:"peers_server"`
	// Sources splits DownloadedServer further and names the peers the job
	// is using; nil on services older than this field.
	Sources *Sources `json:"sources,omitempty"`
	// Limit says in words what holds the job's rate back right now.
	Limit *JobLimit `json:"limit,omitempty"`
	// Checking is true while pieces are hashed against the disk: after a
	// restart or crash, or for a new version of a package already cached.
	Checking bool `json:"checking,omitempty"`
	// ETASeconds estimates the time to completion; -1 when unknown.
	ETASeconds int64 `json:"eta_seconds"`

	Path      string    `json:"path,omitempty"` // the package folder in the cache
	Added     time.Time `json:"added"`
	Completed time.Time `json:"completed,omitzero"`
	LastUsed  time.Time `json:"last_used,omitzero"`
	// Assigned packages are seeded regardless of age.
	Assigned bool `json:"assigned"`
	// SeedUntil is when an unassigned, transferred package leaves the cache.
	SeedUntil time.Time `json:"seed_until,omitzero"`
}

// Sources is where a job's bytes came from, over the job's life, and which
// peers it is using now. Site + Origin + OtherSites == Job.Downloaded (up
// to bytes in flight); Origin + OtherSites == Job.DownloadedServer.
type Sources struct {
	Site       int64 `json:"site"`        // from peers of this PC's site (colleagues)
	Origin     int64 `json:"origin"`      // from origin seeders and web seeds (the server)
	OtherSites int64 `json:"other_sites"` // from peers of other sites
	// Gateway is the address (host:port) of the site's gateway this job
	// takes the package from; "" when there is none or this PC is it.
	Gateway string `json:"gateway,omitempty"`
	// IsGateway is true when this PC is the site's gateway for the job: the
	// one PC that fetches from outside the site for its colleagues.
	IsGateway bool `json:"is_gateway,omitempty"`
	// Peers are the connected peers the job exchanges data with, busiest first
	// (at most MaxJobPeers).
	Peers []JobPeer `json:"peers,omitempty"`
}

// MaxJobPeers bounds Sources.Peers.
const MaxJobPeers = 16

// Peer kinds (JobPeer.Kind).
const (
	PeerSite      = "site"       // a colleague's PC in this site
	PeerGateway   = "gateway"    // the site's gateway
	PeerOrigin    = "origin"     // an origin seeder or web seed
	PeerOtherSite = "other_site" // a PC of another site
)

// JobPeer is one connected peer of a job.
type JobPeer struct {
	Address  string `json:"address"` // host:port
	Kind     string `json:"kind"`    // PeerSite, PeerGateway, PeerOrigin, PeerOtherSite
	Client   string `json:"client,omitempty"`
	DownRate int64  `json:"down_rate"` // bytes per second from this peer
	UpRate   int64  `json:"up_rate"`
	// Throttled is true when the peer said (in its role message, a
	// BitTorrent extension of ours) that a helpdesk throttle or schedule
	// limits its upload. A peer may lie: it only changes this label.
	Throttled bool `json:"throttled,omitempty"`
}

// Limit reasons (JobLimit.Reason), one code per cause a person can act on.
const (
	LimitNone             = "none"              // nothing holds the job back
	LimitYielding         = "yielding"          // giving way to the user's own traffic
	LimitSchedule         = "schedule"          // business-hours schedule
	LimitThrottle         = "throttle"          // helpdesk throttle on this PC
	LimitConfigured       = "limit"             // the configured download limit
	LimitWaitingPeers     = "waiting_for_peers" // no peer has the missing pieces yet
	LimitGatewayThrottled = "gateway_throttled" // the site's gateway is throttled
	LimitGatewaySlow      = "gateway_slow"      // the site's gateway is slow to pass pieces on
	LimitQueued           = "queued"            // higher-priority jobs run first
	LimitSuspended        = "suspended"         // paused by a user
	LimitError            = "error"             // see Job.Error
	LimitDone             = "done"              // transferred; seeding
)

// JobLimit is what holds a job's download rate back right now.
type JobLimit struct {
	Reason string `json:"reason"` // one of the Limit* codes
	// Detail says it in a sentence for people, e.g. "Giving way to your
	// own traffic on the line to hq: 0.8 MiB/s of 2.4 MiB/s".
	Detail string `json:"detail"`
	// Rate is the limit in force, bytes per second; 0 when not a rate.
	Rate int64 `json:"rate,omitempty"`
}

// HeldVersion is a version of a package kept in the cache beside the job's own.
type HeldVersion struct {
	Version  string `json:"version"`
	InfoHash string `json:"info_hash"`
	Size     int64  `json:"size"`
	// Complete versions seed; incomplete ones only lend their pieces to a
	// newer version and leave when it is complete.
	Complete  bool      `json:"complete"`
	Path      string    `json:"path,omitempty"`
	SeedUntil time.Time `json:"seed_until,omitzero"`
}

// VersionCheck is the outcome of asking the repository for a package's
// current version when a job is added (P2PWrapper does on every run).
type VersionCheck struct {
	// Checked is set when the repository answered.
	Checked bool `json:"checked"`
	// Current is the repository's current version (or the pinned one).
	Current string `json:"current,omitempty"`
	// Replaced is the version the job held before this request moved it to
	// Current; "" when it did not move.
	Replaced string `json:"replaced,omitempty"`
	// Error says why the repository could not tell; the job is unchanged.
	Error string `json:"error,omitempty"`
}

// Progress is BytesDone/BytesTotal in [0,1].
func (j *Job) Progress() float64 {
	if j.BytesTotal <= 0 {
		return 0
	}
	return float64(j.BytesDone) / float64(j.BytesTotal)
}

// Bandwidth is the service's current rate policy.
type Bandwidth struct {
	// Configured limits in bytes per second; 0 means unlimited.
	LimitDown int64 `json:"limit_down"`
	LimitUp   int64 `json:"limit_up"`
	// Effective limits applied to background jobs right now; 0 means unlimited.
	EffectiveDown int64 `json:"effective_down"`
	EffectiveUp   int64 `json:"effective_up"`
	// Reason for the effective limits: "limit", "schedule", "override",
	// "yielding" (giving way to other traffic) or "unlimited".
	Reason string `json:"reason"`
	// Detail explains Reason in a sentence for people.
	Detail string `json:"detail,omitempty"`
	// OverrideUntil is when a helpdesk throttle ends; zero if none or open-ended.
	OverrideUntil time.Time `json:"override_until,omitzero"`
	Override      bool      `json:"override"`
	// Yielding is true while background jobs are giving way to other traffic.
	Yielding bool `json:"yielding"`
	// QueueDelayMS and BaseDelayMS are the measured queueing delay on the
	// path to hq and its base round-trip time, when measured.
	QueueDelayMS int64 `json:"queue_delay_ms,omitempty"`
	BaseDelayMS  int64 `json:"base_delay_ms,omitempty"`
	// Schedule describes the configured schedule in words, if any.
	Schedule string `json:"schedule,omitempty"`
	// YieldOff is set when background jobs do not give way to other
	// traffic; YieldOffReason says why (configuration, no probe target,
	// no path measured), for people.
	YieldOff       bool   `json:"yield_off,omitempty"`
	YieldOffReason string `json:"yield_off_reason,omitempty"`
}

// Reachability of a server the service talks to.
type Reachability struct {
	URL       string    `json:"url"`
	Reachable bool      `json:"reachable"`
	Checked   time.Time `json:"checked,omitzero"`
	Error     string    `json:"error,omitempty"`
}

// LogEntry is a recent warning or error of the service.
type LogEntry struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
	Job     string    `json:"job,omitempty"`
}

// Access is what the caller's token allows.
type Access string

// Access levels.
const (
	AccessRead    Access = "read"
	AccessControl Access = "control"
)

// Status describes the service.
type Status struct {
	Version    string       `json:"version"`
	APIVersion string       `json:"api_version"`
	Started    time.Time    `json:"started"`
	Site       string       `json:"site,omitempty"`
	DataDir    string       `json:"data_dir"`
	CacheDir   string       `json:"cache_dir"`
	LogDir     string       `json:"log_dir"`
	Repository Reachability `json:"repository"`
	// Tracker is the last announce connection: host:port, whether it answered.
	Tracker   Reachability `json:"tracker"`
	Bandwidth Bandwidth    `json:"bandwidth"`
	DownRate  int64        `json:"down_rate"`
	UpRate    int64        `json:"up_rate"`
	// Jobs counts jobs per state.
	Jobs         map[State]int `json:"jobs"`
	CacheBytes   int64         `json:"cache_bytes"`
	CacheLimit   int64         `json:"cache_limit"` // 0: no cap
	RecentErrors []LogEntry    `json:"recent_errors,omitempty"`
	// Access is what the token used for this request allows.
	Access Access `json:"access"`
	// ListenPort is the BitTorrent port.
	ListenPort int `json:"listen_port"`
	// BannedPeers are the peers banned for sending data that failed the
	// piece hash check, oldest first (at most MaxBannedPeers).
	BannedPeers []BannedPeer `json:"banned_peers,omitempty"`
	// MemoryResident is the service process's resident memory in bytes
	// (Windows: its working set), shared pages included; 0: unknown.
	MemoryResident int64 `json:"memory_resident"`
	// MemoryPrivate is the part of it that is the process's alone and
	// backed by no file: heap and stacks (Windows: the private working
	// set, Task Manager's "Memory" column; Linux: RssAnon); 0: unknown. Package files are not memory-mapped, so neither figure
	// grows with the cache.
	MemoryPrivate int64 `json:"memory_private"`
}

// MaxBannedPeers bounds Status.BannedPeers.
const MaxBannedPeers = 64

// BannedPeer is a peer the engine banned for sending bad pieces.
type BannedPeer struct {
	Address string    `json:"address"` // IP address
	Time    time.Time `json:"time"`    // when the ban was noticed
}

// AddRequest starts (or continues) a job. Give either PackageID (the torrent
// is fetched from the repository) or Torrent (the .torrent file's bytes).
type AddRequest struct {
	PackageID string   `json:"package_id,omitempty"`
	Torrent   []byte   `json:"torrent,omitempty"`
	Priority  Priority `json:"priority,omitempty"`
	// Assign marks the package as assigned to this PC: seeded regardless of age.
	Assign bool `json:"assign,omitempty"`
	// Version pins a version (with PackageID): the job moves to exactly
	// that version and background updates leave it there. Empty: the
	// service asks the repository for the current version.
	Version string `json:"version,omitempty"`
	// Source seeds the package from this folder in place (with Torrent):
	// an origin on a distribution point. The folder must already hold the
	// complete package; the service only reads it and never deletes it.
	Source string `json:"source,omitempty"`
}

// PriorityRequest changes a job's priority.
type PriorityRequest struct {
	Priority Priority `json:"priority"`
}

// ThrottleRequest sets the helpdesk throttle: rates in bytes per second (0
// means unlimited), for a number of seconds (0: until changed). Clear removes
// the throttle and returns to the configuration and schedule.
type ThrottleRequest struct {
	Down       int64 `json:"down"`
	Up         int64 `json:"up"`
	ForSeconds int64 `json:"for_seconds,omitempty"`
	Clear      bool  `json:"clear,omitempty"`
}

// Event types on the event stream.
const (
	// EventSnapshot carries the whole state; it is sent first on every connection.
	EventSnapshot = "snapshot"
	// EventJob carries one job that changed (progress, state, priority).
	EventJob = "job"
	// EventJobRemoved carries the ID of a job that left the list.
	EventJobRemoved = "job_removed"
	// EventJobTransferred is sent once when a job completes.
	EventJobTransferred = "job_transferred"
	// EventJobError is sent when a job enters Error or TransientError.
	EventJobError = "job_error"
	// EventPeerBanned is sent when the engine bans a peer for sending data
	// that failed the piece hash check; Peer carries it.
	EventPeerBanned = "peer_banned"
	// EventStatus carries the service status (rates, bandwidth), about once a second.
	EventStatus = "status"
	// EventDisconnected is made by the client, never sent by the service:
	// the stream broke and the client is reconnecting.
	EventDisconnected = "disconnected"
)

// Event is one message of the event stream.
type Event struct {
	Type   string    `json:"type"`
	Time   time.Time `json:"time"`
	Job    *Job      `json:"job,omitempty"`
	JobID  string    `json:"job_id,omitempty"`
	Jobs   []Job     `json:"jobs,omitempty"`
	Status *Status   `json:"status,omitempty"`
	// Peer is set on EventPeerBanned.
	Peer *BannedPeer `json:"peer,omitempty"`
	// Error is set on EventDisconnected.
	Error string `json:"error,omitempty"`
}
