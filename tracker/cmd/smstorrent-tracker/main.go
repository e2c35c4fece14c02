// Command smstorrent-tracker is SMSTorrent's companion server: a private,
// site-aware BitTorrent tracker with the package repository and its web
// page (serve), and the tools to make signing keys (keygen), create signed
// package torrents (create) and publish them (publish).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/smstorrent/smstorrent/internal/version"
	"github.com/smstorrent/smstorrent/tracker/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "smstorrent-tracker:", err)
		if errors.Is(err, cli.ErrUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.String("smstorrent-tracker"))
		return nil
	}
	return cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}
