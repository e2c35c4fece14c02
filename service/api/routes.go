package api

// Route is one entry of the local API.
type Route struct {
	Method  string
	Pattern string // net/http ServeMux pattern path
	Control bool   // needs the control token
	Doc     string
}

// Route paths. {id} is a package ID.
const (
	PathStatus    = "/api/v1/status"
	PathJobs      = "/api/v1/jobs"
	PathJob       = "/api/v1/jobs/{id}"
	PathPause     = "/api/v1/jobs/{id}/pause"
	PathResume    = "/api/v1/jobs/{id}/resume"
	PathCancel    = "/api/v1/jobs/{id}/cancel"
	PathPriority  = "/api/v1/jobs/{id}/priority"
	PathUsed      = "/api/v1/jobs/{id}/used"
	PathVerify    = "/api/v1/jobs/{id}/verify"
	PathPauseAll  = "/api/v1/pause-all"
	PathResumeAll = "/api/v1/resume-all"
	PathThrottle  = "/api/v1/throttle"
	PathEvents    = "/api/v1/events"
)

// Routes is the whole local API. The service registers exactly these;
// docs/API.md is written from the same list.
var Routes = []Route{
	{"GET", PathStatus, false, "Service status: version, site, rates, bandwidth policy, reachability, recent errors."},
	{"GET", PathJobs, false, "All jobs, highest priority first."},
	{"GET", PathJob, false, "One job with per-file progress."},
	{"POST", PathJobs, true, "Add a job (AddRequest): by package ID from the repository, or by .torrent bytes."},
	{"POST", PathPause, true, "Suspend a job."},
	{"POST", PathResume, true, "Resume a suspended job, or retry a job in error."},
	{"POST", PathCancel, true, "Cancel a job and remove its content from the cache."},
	{"POST", PathPriority, true, "Change a job's priority (PriorityRequest)."},
	{"POST", PathUsed, true, "Mark a package used now (the wrapper ran it): it keeps being seeded."},
	{"POST", PathVerify, true, "Check that a complete package's folder holds exactly its signed files (re-hashing them); the wrapper calls it before it runs a command."},
	{"POST", PathPauseAll, true, "Suspend every job that is not final."},
	{"POST", PathResumeAll, true, "Resume every suspended job."},
	{"POST", PathThrottle, true, "Set or clear the helpdesk throttle (ThrottleRequest)."},
	{"GET", PathEvents, false, "Server-sent events: a snapshot, then job and status events as they happen."},
}
