package svc

import (
	"strings"
)

// The setup step puts the program folder on the system PATH (wixl has no
// Environment element), so "P2PWrapper.exe" works in a new console without
// its full path; teardown takes exactly that entry out again. The editing
// is here as pure functions; the registry side is in syspath_windows.go.

// samePathEntry reports whether a PATH entry names dir: case-insensitively
// (as NTFS compares), ignoring surrounding spaces and quotes and trailing
// backslashes, and after expanding environment references with expand
// (nil: no expansion), so "%ProgramFiles%\SMSTorrent\" matches
// "C:\Program Files\SMSTorrent".
func samePathEntry(entry, dir string, expand func(string) string) bool {
	norm := func(s string) string {
		s = strings.Trim(strings.TrimSpace(s), `"`)
		if expand != nil && strings.Contains(s, "%") {
			s = expand(s)
		}
		return strings.ToLower(strings.TrimRight(s, `\/`))
	}
	n := norm(entry)
	return n != "" && n == norm(dir)
}

// withPathEntry returns path with dir appended as its last entry, unless an
// entry already names dir; changed says whether it added it. Other entries,
// empty ones included, are kept exactly as they were.
func withPathEntry(path, dir string, expand func(string) string) (out string, changed bool) {
	for _, e := range strings.Split(path, ";") {
		if samePathEntry(e, dir, expand) {
			return path, false
		}
	}
	switch {
	case path == "":
		return dir, true
	case strings.HasSuffix(path, ";"):
		return path + dir, true
	}
	return path + ";" + dir, true
}

// withoutPathEntry returns path without the entries that name dir; changed
// says whether there were any. Other entries stay exactly as they were.
func withoutPathEntry(path, dir string, expand func(string) string) (out string, changed bool) {
	entries := strings.Split(path, ";")
	kept := entries[:0]
	for _, e := range entries {
		if samePathEntry(e, dir, expand) {
			changed = true
			continue
		}
		kept = append(kept, e)
	}
	if !changed {
		return path, false
	}
	return strings.Join(kept, ";"), true
}
