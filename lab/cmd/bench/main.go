// Command bench runs the network lab's distribution benchmark (make bench):
// HTTP, Transmission + opentracker and SMSTorrent each deliver one package to
// every client of a namespaced WAN, and the figures go to
// lab/results/latest.json and docs/BENCHMARKS.md (with a chart). Needs root.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/smstorrent/smstorrent/lab/bench"
	"github.com/smstorrent/smstorrent/lab/netlab"
)

type options struct {
	cfg      bench.Config
	out      string
	markdown string
	chart    string
	render   string
	// suite runs bench.SuiteShapes (those whose name contains suiteOnly)
	// within suiteTimeout.
	suite        bool
	suiteOnly    string
	suiteTimeout time.Duration
}

func main() {
	o := parseFlags(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A second Ctrl-C ends the process at once; what is left is swept by the next run.
	context.AfterFunc(ctx, stop)
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line (exiting on a mistake).
func parseFlags(args []string) options {
	var o options
	topo := netlab.DefaultTopology()
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.IntVar(&topo.Branches, "branches", topo.Branches, "number of branches")
	fs.IntVar(&topo.ClientsPerBranch, "clients", topo.ClientsPerBranch, "clients per branch")
	wanMbit := fs.Float64("wan-mbit", float64(topo.WANRateBits)/1e6, "WAN link rate, Mbit/s, each direction")
	fs.DurationVar(&topo.WANDelay, "wan-delay", topo.WANDelay, "one-way delay added per WAN link crossed (NFQUEUE in the core router), e.g. 20ms; 0: none")
	pkgMiB := fs.Int64("package-mib", 48, "package size, MiB")
	systems := fs.String("systems", strings.Join(bench.SystemNames, ","), "systems to run, comma-separated")
	fs.StringVar(&o.cfg.WorkDir, "workdir", filepath.Join("lab", "out"), "folder for logs and host folders")
	fs.StringVar(&o.cfg.BinDir, "bin", "bin", "folder with the built smstorrent-service and smstorrent-tracker")
	fs.DurationVar(&o.cfg.Timeout, "timeout", 0, "bound on each system's distribution (0: 8x the physical bound, at least 90s)")
	fs.IntVar(&o.cfg.Repeat, "repeat", 1, "runs per system (each on a fresh lab); the median run is reported")
	fs.BoolVar(&o.cfg.Keep, "keep", false, "keep the work folder (logs, package copies)")
	fs.BoolVar(&o.cfg.PollCtl, "poll-ctl", false, "follow SMSTorrent's clients with a ctl job per client per second instead of ctl watch (for comparison)")
	fs.StringVar(&o.out, "out", filepath.Join("lab", "results", "latest.json"), "JSON results file")
	fs.StringVar(&o.markdown, "markdown", filepath.Join("docs", "BENCHMARKS.md"), "Markdown file whose lab section is rewritten (empty: none)")
	fs.StringVar(&o.chart, "chart", filepath.Join("docs", "bench-distribution.png"), "chart PNG (empty: none)")
	serviceCfg := fs.String("service-config", "", `extra keys for every smstorrent-service configuration, as a JSON object (e.g. '{"yield":false}')`)
	fs.StringVar(&o.cfg.Priority, "priority", "", "SMSTorrent clients' job priority for ctl add (default: the service's default)")
	fs.StringVar(&o.render, "render", "", "only redraw the Markdown section and chart from this results file (with -suite: a suite.json; no lab)")
	var faults bench.Faults
	fs.DurationVar(&faults.WANDownAt, "fault-wan-at", 0, "fault: take branch b1's WAN link down this long after the start (with -fault-wan-for)")
	fs.DurationVar(&faults.WANDownFor, "fault-wan-for", 0, "fault: how long b1's WAN link stays down, e.g. 10s; 0: no link fault")
	fs.DurationVar(&faults.TrackerRestartAt, "fault-tracker-at", 0, "fault: restart the tracker this long after the start (SMSTorrent only); 0: none")
	fs.BoolVar(&o.cfg.Delta, "delta", false, "the delta scenario: clients hold version 1, version 2 (~10% changed) is distributed; "+
		"systems default to transmission,smstorrent-delta, results to lab/results/delta.json, no chart")
	fs.BoolVar(&o.suite, "suite", false, "run the suite of shapes (2x12, 5x4, 10x2, one 50 and one 100 Mbit/s branch, 5/20/50 Mbit/s) "+
		"with smstorrent,transmission; results to lab/results/suite.json and the suite's section of the Markdown file, no chart")
	fs.StringVar(&o.suiteOnly, "suite-only", "", "with -suite: only the shapes whose name contains this text (e.g. '12 PCs')")
	fs.DurationVar(&o.suiteTimeout, "suite-timeout", 40*time.Minute, "with -suite: bound on the whole suite")
	_ = fs.Parse(args)
	if o.suite {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["systems"] {
			*systems = "smstorrent,transmission"
		}
		if !set["out"] {
			o.out = filepath.Join("lab", "results", "suite.json")
		}
	}
	if o.cfg.Delta {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["systems"] {
			*systems = "transmission,smstorrent-delta"
		}
		if !set["out"] {
			o.out = filepath.Join("lab", "results", "delta.json")
		}
		if !set["chart"] {
			o.chart = ""
		}
	}
	if faults != (bench.Faults{}) {
		o.cfg.Faults = &faults
	}
	topo.WANRateBits = int64(*wanMbit * 1e6)
	o.cfg.Topo = topo
	o.cfg.PackageBytes = *pkgMiB << 20
	o.cfg.Systems = strings.Split(*systems, ",")
	o.cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *serviceCfg != "" {
		if err := json.Unmarshal([]byte(*serviceCfg), &o.cfg.ServiceConfig); err != nil {
			fmt.Fprintln(os.Stderr, "bench: -service-config:", err)
			os.Exit(2)
		}
	}
	return o
}

// runSuite runs the suite and writes its JSON and Markdown section.
func runSuite(ctx context.Context, o options) error {
	ctx, cancel := context.WithTimeout(ctx, o.suiteTimeout)
	defer cancel()
	var shapes []bench.Shape
	for _, sh := range bench.SuiteShapes {
		if strings.Contains(sh.Name, o.suiteOnly) {
			shapes = append(shapes, sh)
		}
	}
	if len(shapes) == 0 {
		return fmt.Errorf("no shape matches %q", o.suiteOnly)
	}
	var rep *bench.SuiteReport
	var err error
	if o.render != "" {
		rep, err = bench.ReadSuiteReport(o.render)
	} else {
		rep, err = bench.RunSuite(ctx, o.cfg, shapes)
	}
	if rep == nil || len(rep.Cases) == 0 {
		return err
	}
	if o.render == "" {
		if werr := rep.WriteJSON(o.out); werr != nil {
			return errors.Join(err, werr)
		}
	}
	section := rep.Markdown()
	if o.markdown != "" {
		if merr := netlab.UpdateMarkdownSection(o.markdown, bench.SuiteBeginMarker, bench.SuiteEndMarker, section); merr != nil {
			return errors.Join(err, merr)
		}
	}
	fmt.Print(section)
	return err
}

func run(ctx context.Context, o options) error {
	if o.suite {
		return runSuite(ctx, o)
	}
	start := time.Now()
	var rep *bench.Report
	var err error
	if o.render != "" {
		rep, err = bench.ReadReport(o.render)
	} else {
		rep, err = bench.Run(ctx, o.cfg)
	}
	if err != nil {
		return err
	}
	if o.render == "" {
		if err := rep.WriteJSON(o.out); err != nil {
			return err
		}
	}
	var section string
	if rep.Delta {
		section = rep.DeltaMarkdown()
		if o.markdown != "" {
			err = netlab.UpdateMarkdownSection(o.markdown, bench.DeltaBeginMarker, bench.DeltaEndMarker, section)
		}
	} else {
		section, err = netlab.Publish(rep, o.chart, o.markdown, bench.BeginMarker, bench.EndMarker)
	}
	if err != nil {
		return err
	}
	fmt.Print(section)
	var wrote []string
	for _, f := range []struct {
		path string
		ok   bool
	}{{o.out, o.render == ""}, {o.markdown, true}, {o.chart, true}} {
		if f.path != "" && f.ok {
			wrote = append(wrote, f.path)
		}
	}
	fmt.Printf("\nwrote %s in %s\n", strings.Join(wrote, ", "), time.Since(start).Round(time.Second))
	for _, s := range rep.Systems {
		if !s.OK {
			return fmt.Errorf("%s failed: %s", s.System, s.Error)
		}
	}
	return nil
}
