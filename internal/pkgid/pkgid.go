// Package pkgid holds the rules for package IDs and file names inside a
// package, with no dependencies, so that small programs (the wrapper) can
// check them without linking the BitTorrent library.
package pkgid

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// ErrUnsafe is wrapped by every refusal of an ID or a file name.
var ErrUnsafe = errors.New("torrent is not a safe SMSTorrent package")

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidID checks a package ID: 1–64 letters, digits, '.', '_' or '-',
// starting with a letter or digit, and not a name Windows reserves.
func ValidID(id string) error {
	if !idRE.MatchString(id) || strings.HasSuffix(id, ".") || reservedWindowsName(id) {
		return fmt.Errorf("%w: package ID %q must be 1-64 letters, digits, '.', '_' or '-'", ErrUnsafe, id)
	}
	return nil
}

// SafeRelPath joins torrent path components into a slash-separated relative
// path, refusing anything that could leave the package folder or that
// Windows cannot store.
func SafeRelPath(comps []string) (string, error) {
	if len(comps) == 0 {
		return "", fmt.Errorf("%w: empty file path", ErrUnsafe)
	}
	for _, c := range comps {
		if c == "" || c == "." || c == ".." || strings.HasSuffix(c, ".") || strings.HasSuffix(c, " ") ||
			strings.ContainsAny(c, `/\:*?"<>|`) || reservedWindowsName(c) || len(c) > 255 {
			return "", fmt.Errorf("%w: file name %q is not allowed", ErrUnsafe, c)
		}
		for _, r := range c {
			if r < 0x20 || r == 0x7f {
				return "", fmt.Errorf("%w: file name %q has control characters", ErrUnsafe, c)
			}
		}
	}
	p := strings.Join(comps, "/")
	if path.Clean(p) != p || strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%w: file path %q is not clean", ErrUnsafe, p)
	}
	return p, nil
}

func reservedWindowsName(s string) bool {
	base := strings.ToUpper(s)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	// Windows ignores spaces before the extension: "nul .txt" is NUL too.
	switch strings.TrimRight(base, " ") {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
		"COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
		"COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³":
		return true
	}
	return false
}
