// Command P2PWrapper is the SCCM entry point of SMSTorrent: SCCM runs
// "P2PWrapper.exe <command> <arguments>" instead of the command, and the
// wrapper runs it from the SMSTorrent cache once the package is there.
// See the wrapper package and docs/WRAPPER.md.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/smstorrent/smstorrent/wrapper"
)

func main() {
	// Ctrl-C ends a --wait; a running command gets it itself.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := wrapper.Run(ctx, wrapper.OSInvocation())
	stop()
	os.Exit(code)
}
