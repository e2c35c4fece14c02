package svc

import (
	"os"
	"path/filepath"

	"github.com/smstorrent/smstorrent/internal/secfs"
)

// makeProtectedDir creates (or re-protects) one private folder of the
// service, such as the folder of setup.log, through internal/secfs: on
// Windows a protected DACL (SYSTEM and Administrators full control, no
// inheritance from %ProgramData%), on Linux mode 0700 owned by root. Its
// parents are created with ordinary permissions if missing.
func makeProtectedDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	return secfs.MkdirProtected(dir, secfs.Private)
}

// makeDataTree creates the service's whole data tree with the protection
// secfs defines for each folder, and the configuration's folder (users may
// read it, never write it).
func makeDataTree(dataDir, cacheDir, logDir, cfgDir string) error {
	if err := secfs.CreateDataTree(secfs.Layout{DataDir: dataDir, CacheDir: cacheDir, LogDir: logDir}); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfgDir), 0o755); err != nil {
		return err
	}
	return secfs.MkdirProtected(cfgDir, secfs.UsersRead)
}
