// Command smstorrent-service is SMSTorrent's background service and its
// helpdesk command line. See docs/CONFIG.md and docs/API.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/smstorrent/smstorrent/service/svc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := svc.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
