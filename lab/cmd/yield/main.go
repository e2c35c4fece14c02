// Command yield runs the network lab's yield scenario (make bench, after
// lab/cmd/bench): a background download on one branch client, SMSTorrent or
// Transmission over uTP, and a foreground bulk download on another that
// starts and stops mid-way, at several WAN queue depths and with CUBIC and
// BBR. The figures go to lab/results/yield.json and docs/BENCHMARKS.md,
// with a plot in docs/bench-yield.png. Needs root.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
	"github.com/smstorrent/smstorrent/lab/yield"
)

type options struct {
	cfg      yield.Config
	out      string
	markdown string
	chart    string
	render   string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == yield.HelperArg {
		if err := yield.HelperMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "yield helper:", err)
			os.Exit(1)
		}
		return
	}
	o, err := parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "yield:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A second Ctrl-C ends the process at once; what is left is swept by the next run.
	context.AfterFunc(ctx, stop)
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "yield:", err)
		os.Exit(1)
	}
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("yield", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "one case (110 ms queue, CUBIC), SMSTorrent only, short phases (about a minute)")
	queues := fs.String("queues", "", "WAN queue depths at line rate, comma-separated (default 40ms,110ms,300ms)")
	ccs := fs.String("cc", "", "foreground congestion controls, comma-separated (default cubic,bbr)")
	systems := fs.String("systems", "", "background systems, comma-separated (default smstorrent,transmission)")
	pkgMiB := fs.Int64("package-mib", 0, "background package size, MiB (default 192, quick 80)")
	wanDelay := fs.Duration("wan-delay", 20*time.Millisecond, "one-way WAN delay (netlab's NFQUEUE delayer); 0: none")
	keep := fs.Bool("keep", false, "keep the run's folder (logs, configurations)")
	fs.StringVar(&o.out, "out", filepath.Join("lab", "results", "yield.json"), "JSON results file")
	fs.StringVar(&o.markdown, "markdown", filepath.Join("docs", "BENCHMARKS.md"), "Markdown file whose yield section is rewritten (empty: none)")
	fs.StringVar(&o.chart, "chart", filepath.Join("docs", "bench-yield.png"), "plot PNG (empty: none)")
	fs.StringVar(&o.render, "render", "", "only redraw the Markdown section and plot from this results file (no lab)")
	workDir := fs.String("workdir", filepath.Join("lab", "out"), "folder for the run's logs and host folders")
	binDir := fs.String("bin", "bin", "folder with the built smstorrent-service and smstorrent-tracker")
	serviceCfg := fs.String("service-config", "", `extra keys for the background smstorrent-service's configuration, as JSON (e.g. '{"yield_target":"15ms"}')`)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.cfg = yield.DefaultConfig()
	if *quick {
		o.cfg = yield.QuickConfig()
	}
	if *queues != "" {
		o.cfg.QueueDepths = nil
		for _, q := range strings.Split(*queues, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(q))
			if err != nil || d <= 0 || d > 2*time.Second {
				return o, fmt.Errorf("-queues: bad depth %q", q)
			}
			o.cfg.QueueDepths = append(o.cfg.QueueDepths, d)
		}
	}
	if *ccs != "" {
		o.cfg.CCs = strings.Split(*ccs, ",")
	}
	if *systems != "" {
		o.cfg.Systems = strings.Split(*systems, ",")
	}
	if *pkgMiB > 0 {
		o.cfg.PackageBytes = *pkgMiB << 20
	}
	if *wanDelay < 0 || *wanDelay > 500*time.Millisecond {
		return o, fmt.Errorf("-wan-delay: must be 0..500ms")
	}
	o.cfg.WANDelay = *wanDelay
	o.cfg.Keep = *keep
	o.cfg.WorkDir, o.cfg.BinDir = *workDir, *binDir
	if *serviceCfg != "" {
		if err := json.Unmarshal([]byte(*serviceCfg), &o.cfg.ServiceConfig); err != nil {
			return o, fmt.Errorf("-service-config: %w", err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return o, err
	}
	o.cfg.Helper = []string{exe, yield.HelperArg}
	o.cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	return o, nil
}

func run(ctx context.Context, o options) error {
	start := time.Now()
	var rep *yield.Report
	var err error
	if o.render != "" {
		rep, err = yield.ReadReport(o.render)
	} else {
		rep, err = yield.Run(ctx, o.cfg)
		if rep != nil && len(rep.Cases) > 0 {
			// Whatever was measured is written, even when the run stopped early.
			if werr := rep.WriteJSON(o.out); werr != nil {
				return werr
			}
		}
	}
	if err != nil {
		return err
	}
	section, err := netlab.Publish(rep, o.chart, o.markdown, yield.BeginMarker, yield.EndMarker)
	if err != nil {
		return err
	}
	fmt.Print(section)
	fmt.Printf("\ndone in %s\n", time.Since(start).Round(time.Second))
	return nil
}
