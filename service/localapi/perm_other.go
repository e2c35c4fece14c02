//go:build !windows

package localapi

import "os"

// restrict makes the file readable by its owner only (root) when private.
func restrict(path string, private bool) error {
	if private {
		return os.Chmod(path, 0o600)
	}
	return os.Chmod(path, 0o644)
}
