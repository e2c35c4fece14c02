// Command demo shows SMSTorrent end to end on one machine (make demo): it
// starts a tracker with its repository, creates and publishes a signed
// sample package, starts an origin seeder and two branch-office services
// (separate data folders and ports, loopback only), runs P2PWrapper on both
// branches the way SCCM does (the first run returns the retry code, a later
// run installs), and prints how many bytes each branch got from the origin
// and from its branch peer, and how long it took.
//
// It uses the executables in ./bin (make build), building any that are
// missing into its temporary folder. With a display and
// bin/smstorrent-window it opens the window for the second branch and waits
// for it to be closed; headless it exits 0 when the demo succeeded. Ctrl-C
// stops everything it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o := options{}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.binDir, "bin", "bin", "folder with smstorrent-tracker, smstorrent-service, P2PWrapper (missing ones are built)")
	fs.IntVar(&o.sizeMiB, "size", 24, "size of the sample package in MiB")
	fs.StringVar(&o.originUp, "origin-up", "2MB/s", "upload limit of the origin server (its WAN link)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary folder (configurations, logs, caches)")
	fs.BoolVar(&o.noWindow, "no-window", false, "do not open the window even if a display is present")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := newDemo(o, out)
	if err != nil {
		return err
	}
	defer d.close()
	return d.run(ctx)
}
