//go:build !windows

package secfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

func modeOf(access Access, dir bool) os.FileMode {
	switch {
	case dir && access == UsersRead:
		return 0o755
	case dir:
		return 0o700
	case access == UsersRead:
		return 0o644
	default:
		return 0o600
	}
}

func mkdirProtected(path string, access Access) error {
	mode := modeOf(access, true)
	if err := os.Mkdir(path, mode); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder (%s)", path, fi.Mode().Type())
	}
	if err := os.Lchown(path, os.Geteuid(), os.Getegid()); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

func createProtected(path string, access Access) (*os.File, error) {
	mode := modeOf(access, false)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, mode)
	if err != nil {
		return nil, err
	}
	// The umask may have taken bits away; set exactly what was asked.
	if err := f.Chmod(mode); err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	return f, nil
}

func replaceFile(from, to string) error { return os.Rename(from, to) }

// checkTrusted walks from path up to the root: each must be owned by root
// or the caller and not writable by group or others, except a folder with
// the sticky bit owned by root (others cannot replace what is in it).
func checkTrusted(path string) error {
	me := uint32(os.Geteuid())
	first := true
	for p := path; ; p = filepath.Dir(p) {
		var fi os.FileInfo
		var err error
		if first {
			fi, err = os.Lstat(p)
		} else {
			fi, err = os.Stat(p)
		}
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no owner information", p)
		}
		switch {
		case first && fi.Mode()&os.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link: %w", p, ErrUntrusted)
		case st.Uid != 0 && st.Uid != me:
			return fmt.Errorf("%s is owned by uid %d: %w", p, st.Uid, ErrUntrusted)
		case fi.Mode().Perm()&0o002 != 0 && !(fi.IsDir() && fi.Mode()&os.ModeSticky != 0 && st.Uid == 0):
			return fmt.Errorf("%s is writable by every user (mode %s): %w", p, fi.Mode(), ErrUntrusted)
		case fi.Mode().Perm()&0o020 != 0 && st.Gid != 0 && !(fi.IsDir() && fi.Mode()&os.ModeSticky != 0 && st.Uid == 0):
			return fmt.Errorf("%s is writable by group %d (mode %s): %w", p, st.Gid, fi.Mode(), ErrUntrusted)
		}
		first = false
		if parent := filepath.Dir(p); parent == p {
			return nil
		}
	}
}
