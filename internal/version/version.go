// Package version holds the build version that every SMSTorrent executable
// reports (its --version / version command, the local API's status, the
// Windows version resource). The Makefile stamps it at link time from
// "git describe":
//
//	go build -ldflags "-X github.com/smstorrent/smstorrent/internal/version.Version=$(git describe --tags --always --dirty)"
//
// An unstamped build (go build, go test) says "dev".
package version

import "strings"

// Version is the build version, set with -ldflags -X.
var Version = "dev"

// String is "<program> <version>", what --version prints.
func String(program string) string { return program + " " + Version }

// Requested reports whether a command line asks only for the version:
// a single "--version", "-version" or "version" argument. Mains check
// it before parsing anything else, so it works with every flag style.
func Requested(args []string) bool {
	if len(args) != 1 {
		return false
	}
	switch strings.TrimSpace(args[0]) {
	case "--version", "-version", "version":
		return true
	}
	return false
}
