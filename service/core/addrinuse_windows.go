//go:build windows

package core

import (
	"errors"

	"golang.org/x/sys/windows"
)

// addrInUse reports whether a bind failed because the port is taken.
func addrInUse(err error) bool { return errors.Is(err, windows.WSAEADDRINUSE) }
