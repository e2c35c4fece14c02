// Package atomicfile replaces a file's content so that a crash or power loss
// leaves either the old or the new content, never a mix: it writes a
// temporary file in the same folder, syncs it, and renames it over the
// target. It imports nothing of this repository.
//
// Hand-rolled on purpose: the well-known library for this,
// github.com/google/renameio, does not support Windows, where the service
// runs.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path's content with b and gives it mode (on Windows only
// the read-only bit of mode has an effect). The folder is created if needed.
func Write(path string, b []byte, mode os.FileMode) error {
	if err := write(path, b, mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func write(path string, b []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
