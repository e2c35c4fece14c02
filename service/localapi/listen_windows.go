//go:build windows

package localapi

import (
	"errors"
	"net"

	"golang.org/x/sys/windows"
)

func addrInUse(err error) bool { return errors.Is(err, windows.WSAEADDRINUSE) }

func findPortHint(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return "netstat -ano | findstr :" + port
}
