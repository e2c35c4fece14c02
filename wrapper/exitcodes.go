package wrapper

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultRetryCode is the exit code that tells SCCM to run the program again
// later: 1618, ERROR_INSTALL_ALREADY_RUNNING ("another installation is
// already in progress"), which SCCM retries by default.
const DefaultRetryCode = 1618

// Failure is a kind of failure with its own exit code. Each code is a
// Windows system error code whose standard message fits, so that SCCM's
// console and `net helpmsg N` say something sensible. On Linux and macOS
// only the low 8 bits of an exit code reach the parent (1618 becomes 82).
type Failure struct {
	// Name is used by --map-errors-to-retry and in docs/WRAPPER.md.
	Name string
	// Code is the exit code.
	Code int
	// Meaning is one line for people.
	Meaning string
}

// The failures, in the order docs/WRAPPER.md lists them.
var (
	FailUsage          = Failure{"usage", 1639, "bad command line, or no package ID (ERROR_INVALID_COMMAND_LINE)"}
	FailServiceDown    = Failure{"service-down", 1062, "the SMSTorrent service is not running or not answering (ERROR_SERVICE_NOT_ACTIVE)"}
	FailAccessDenied   = Failure{"access-denied", 5, "the wrapper may not control the service: not run as SYSTEM/administrator (ERROR_ACCESS_DENIED)"}
	FailRepository     = Failure{"repository", 1231, "the package repository could not be reached (ERROR_NETWORK_UNREACHABLE)"}
	FailUnknownPackage = Failure{"unknown-package", 1168, "the repository does not know the package (ERROR_NOT_FOUND)"}
	FailSignature      = Failure{"signature", 577, "the package's torrent is unsigned or signed by an untrusted key (ERROR_INVALID_IMAGE_HASH)"}
	FailDownload       = Failure{"download-failed", 1619, "the download is in error, e.g. disk full; the service was asked to retry (ERROR_INSTALL_PACKAGE_OPEN_FAILED)"}
	FailServiceError   = Failure{"service-error", 1064, "the service gave an unexpected answer, or speaks another API version (ERROR_EXCEPTION_IN_SERVICE)"}
	FailCommand        = Failure{"command-not-started", 2, "the command could not be started, e.g. not found in the package or the system folders (ERROR_FILE_NOT_FOUND)"}
	FailModified       = Failure{"package-modified", 1392, "the package folder differs from what was signed (a file added or changed), or is not the cache's own folder; nothing was run (ERROR_FILE_CORRUPT)"}
)

// Failures lists every failure kind.
var Failures = []Failure{
	FailUsage, FailServiceDown, FailAccessDenied, FailRepository, FailUnknownPackage,
	FailSignature, FailDownload, FailServiceError, FailCommand, FailModified,
}

// mappable are the failures --map-errors-to-retry accepts; a bad command
// line is never retried, since a retry cannot fix it.
func mappable() []string {
	var names []string
	for _, f := range Failures {
		if f != FailUsage {
			names = append(names, f.Name)
		}
	}
	return names
}

// parseRetryMap parses a comma-separated list of failure names, or "all".
func parseRetryMap(s string) (map[string]bool, error) {
	m := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "":
		case name == "all":
			for _, n := range mappable() {
				m[n] = true
			}
		case slices.Contains(mappable(), name):
			m[name] = true
		default:
			return nil, fmt.Errorf("--map-errors-to-retry: unknown failure %q (want all or some of %s)", name, strings.Join(mappable(), ","))
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("--map-errors-to-retry: empty list")
	}
	return m, nil
}
