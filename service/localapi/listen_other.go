//go:build !windows

package localapi

import (
	"errors"
	"net"
	"syscall"
)

func addrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

func findPortHint(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return "ss -ltnp 'sport = :" + port + "'"
}
