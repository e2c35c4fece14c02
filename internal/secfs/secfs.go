// Package secfs creates and checks the folders and files that SMSTorrent's
// programs running as SYSTEM (root) rely on, so that nothing a normal local
// user writes can change what they run.
//
// Every folder and file is created with its protection in the same call:
//
//   - Windows: a protected DACL (inheritance from ProgramData cut) built
//     from the SDDL strings FolderSDDL and FileSDDL: SYSTEM and
//     Administrators full control; with UsersRead, Users read and execute.
//   - Linux and other Unix systems: owned by the running user (root for the
//     service), mode 0700/0600 for Private and 0755/0644 for UsersRead.
//
// The API:
//
//   - MkdirProtected(path, access) creates one folder (its parent must exist)
//     or re-protects an existing one; it refuses a symbolic link.
//   - WriteFileProtected(path, data, access) writes a file atomically: a
//     temporary file is created with its protection, written, synced and
//     renamed over path.
//   - CreateDataTree(layout) creates the service's whole data tree
//     (%ProgramData%\SMSTorrent or /var/lib/smstorrent and every folder
//     under it, plus the cache and log folders wherever they are). The
//     installer calls it, and the service again at every start.
//   - CheckTrusted(path) reports whether a file the caller is about to
//     believe (the configuration, the API's address file) could have been
//     written by an ordinary user: on Unix, the file and every folder above
//     it must be owned by root or the caller and not writable by group or
//     others (a sticky root-owned folder such as /tmp is accepted); on
//     Windows, the owner of the file and of its folder must be SYSTEM,
//     Administrators, TrustedInstaller or the caller, and no allow entry may
//     give anyone else a right to change or replace it.
//
// docs/SECURITY.md lists which folder gets which access and how to check
// the result with icacls or ls.
package secfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Access says who besides SYSTEM/Administrators (root) may read.
type Access int

const (
	// Private: SYSTEM and Administrators only (root only on Unix).
	Private Access = iota
	// UsersRead: every local user may also read (and list, for folders).
	UsersRead
)

func (a Access) String() string {
	if a == UsersRead {
		return "users-read"
	}
	return "private"
}

// ErrUntrusted is wrapped by CheckTrusted's errors.
var ErrUntrusted = errors.New("could have been written by an ordinary user")

// Layout names the folders of the service's data tree.
type Layout struct {
	// DataDir holds api/ (tokens and address), state/ and torrents/.
	DataDir string
	// CacheDir holds package content; empty: <DataDir>/cache.
	CacheDir string
	// LogDir holds the service's and the wrapper's logs; empty: <DataDir>/logs.
	LogDir string
}

// Folder is one folder of the data tree with its access.
type Folder struct {
	Path   string
	Access Access
}

// Folders lists the data tree, parents first. Users may read only the data
// folder itself and api/, where the tray and the window find the address
// and the read token; the job state, torrents, cache and logs are private.
func (l Layout) Folders() []Folder {
	cache, logs := l.CacheDir, l.LogDir
	if cache == "" {
		cache = filepath.Join(l.DataDir, "cache")
	}
	if logs == "" {
		logs = filepath.Join(l.DataDir, "logs")
	}
	return []Folder{
		{l.DataDir, UsersRead},
		{filepath.Join(l.DataDir, "api"), UsersRead},
		{filepath.Join(l.DataDir, "state"), Private},
		{filepath.Join(l.DataDir, "torrents"), Private},
		{cache, Private},
		{logs, Private},
	}
}

// CreateDataTree creates (or re-protects) every folder of the layout. The
// parents of the data, cache and log folders are created with ordinary
// permissions if missing (on Windows they are ProgramData or a drive).
func CreateDataTree(l Layout) error {
	if l.DataDir == "" {
		return errors.New("secfs: no data folder")
	}
	for _, f := range l.Folders() {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", filepath.Dir(f.Path), err)
		}
		if err := MkdirProtected(f.Path, f.Access); err != nil {
			return err
		}
	}
	return nil
}

// MkdirProtected creates the folder path with the protection of access, or
// sets that protection on an existing folder. The parent must exist.
func MkdirProtected(path string, access Access) error {
	if err := mkdirProtected(path, access); err != nil {
		return fmt.Errorf("creating protected folder %s: %w", path, err)
	}
	return nil
}

// WriteFileProtected writes data to path atomically. The file is created
// with the protection of access before a byte is written, and replaces any
// earlier file (so a file left with loose permissions is not reused).
func WriteFileProtected(path string, data []byte, access Access) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp := filepath.Join(dir, "."+base+".tmp"+randomSuffix())
	f, err := createProtected(tmp, access)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = replaceFile(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, werr)
	}
	return nil
}

// CheckTrusted returns nil if path is a file or folder that only
// SYSTEM/Administrators (root) or the caller could have written, and an
// error wrapping ErrUntrusted that names the culprit otherwise.
func CheckTrusted(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	return checkTrusted(abs)
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b)
}
