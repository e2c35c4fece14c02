package api

import (
	"os"
	"path/filepath"
	"runtime"
)

// EnvDataDir overrides the default data folder for every SMSTorrent program.
const EnvDataDir = "SMSTORRENT_DATA_DIR"

// DefaultDataDir is the service's data folder: %ProgramData%\SMSTorrent on
// Windows, /var/lib/smstorrent elsewhere, unless $SMSTORRENT_DATA_DIR is set.
func DefaultDataDir() string {
	if d := os.Getenv(EnvDataDir); d != "" {
		return d
	}
	if runtime.GOOS == "windows" {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return filepath.Join(pd, "SMSTorrent")
	}
	return "/var/lib/smstorrent"
}

// Files under the data folder through which clients find the API.
const (
	// AddressFile holds the API's host:port.
	AddressFile = "api/address"
	// ReadTokenFile is readable by every local user.
	ReadTokenFile = "api/read.token"
	// ControlTokenFile is readable by administrators (root) only.
	ControlTokenFile = "api/control.token"
)
