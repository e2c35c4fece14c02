// Package ctl is the helpdesk command line, `smstorrent-service ctl ...`: it
// talks to a running service through the local API client only, prints
// human tables by default and JSON with --json.
package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
)

// Usage describes the ctl subcommands.
const Usage = `ctl subcommands (add --json for machine-readable output):
  status                               service version, site, rates, limits, reachability
  jobs                                 one line per job
  job ID                               one job with its files
  add FILE.torrent|PACKAGEID [--priority P] [--assign] [--version V]
                                       start (or continue) a job; by ID it moves to the
                                       current version (or exactly V)
  add FILE.torrent --source DIR        seed a package from DIR in place (an origin on a
                                       distribution point); DIR is only read, never deleted
  pause ID | resume ID | cancel ID     act on one job
  priority ID foreground|high|normal|low
  pause-all | resume-all
  throttle --down RATE --up RATE [--for DURATION] | --clear
                                       helpdesk throttle, e.g. --down 2MB/s --up 512KiB/s --for 2h
  watch                                follow the event stream (Ctrl-C to stop)
`

// Env is what a ctl command needs from outside.
type Env struct {
	Client *api.Client
	Stdout io.Writer
	Stderr io.Writer
}

// Main runs one ctl command and returns the process exit code: 0 ok, 1 the
// service refused or failed, 2 bad usage, 3 the service is not running.
func Main(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) int {
	env := Env{Client: &api.Client{DataDir: cfg.DataDir}, Stdout: stdout, Stderr: stderr}
	err := Run(ctx, env, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "%v\n\n%s", err, Usage)
		return 2
	case api.IsServiceDown(err):
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 3
	default:
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
}

var errUsage = errors.New("usage")

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// Run executes a ctl command.
func Run(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return usagef("ctl needs a subcommand")
	}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet("ctl "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print JSON")
	prio := fs.String("priority", "normal", "job priority")
	assign := fs.Bool("assign", false, "seed the package regardless of age")
	down := fs.String("down", "", "download limit, e.g. 2MB/s, 20Mbit/s, unlimited")
	up := fs.String("up", "", "upload limit")
	dur := fs.Duration("for", 0, "how long the throttle lasts (0: until cleared)")
	clear := fs.Bool("clear", false, "remove the helpdesk throttle")
	version := fs.String("version", "", "add: pin exactly this version")
	source := fs.String("source", "", "add: seed from this folder in place")
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		return usagef("%v", err)
	}
	c := env.Client
	out := func(v any, human func(w io.Writer)) error {
		if *asJSON {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		human(tw)
		return tw.Flush()
	}
	needID := func() (string, error) {
		if len(pos) != 1 {
			return "", usagef("ctl %s needs exactly one package ID", cmd)
		}
		return pos[0], nil
	}
	switch cmd {
	case "status":
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		return out(st, func(w io.Writer) { printStatus(w, st) })
	case "jobs":
		js, err := c.Jobs(ctx)
		if err != nil {
			return err
		}
		return out(js, func(w io.Writer) { printJobs(w, js) })
	case "job":
		id, err := needID()
		if err != nil {
			return err
		}
		j, err := c.Job(ctx, id)
		if err != nil {
			return err
		}
		return out(j, func(w io.Writer) { printJob(w, j) })
	case "add":
		if len(pos) != 1 {
			return usagef("ctl add needs a .torrent file or a package ID")
		}
		p, err := api.ParsePriority(*prio)
		if err != nil {
			return usagef("%v", err)
		}
		req := api.AddRequest{Priority: p, Assign: *assign, Version: *version}
		if b, ferr := readTorrentArg(pos[0]); ferr != nil {
			return ferr
		} else if b != nil {
			req.Torrent = b
		} else {
			req.PackageID = pos[0]
		}
		if *source != "" {
			if req.Torrent == nil {
				return usagef("ctl add --source needs the package's .torrent file")
			}
			abs, err := filepath.Abs(*source)
			if err != nil {
				return usagef("--source: %v", err)
			}
			req.Source = abs
		}
		if req.Version != "" && req.Torrent != nil {
			return usagef("--version goes with a package ID; a .torrent file names its own version")
		}
		j, err := c.Add(ctx, req)
		if err != nil {
			return err
		}
		return out(j, func(w io.Writer) { printJobs(w, []api.Job{*j}) })
	case "pause", "resume", "cancel":
		id, err := needID()
		if err != nil {
			return err
		}
		fn := map[string]func(context.Context, string) (*api.Job, error){"pause": c.Pause, "resume": c.Resume, "cancel": c.Cancel}[cmd]
		j, err := fn(ctx, id)
		if err != nil {
			return err
		}
		return out(j, func(w io.Writer) { printJobs(w, []api.Job{*j}) })
	case "priority":
		if len(pos) != 2 {
			return usagef("ctl priority needs a package ID and a priority")
		}
		p, err := api.ParsePriority(pos[1])
		if err != nil {
			return usagef("%v", err)
		}
		j, err := c.SetPriority(ctx, pos[0], p)
		if err != nil {
			return err
		}
		return out(j, func(w io.Writer) { printJobs(w, []api.Job{*j}) })
	case "pause-all", "resume-all":
		var err error
		if cmd == "pause-all" {
			err = c.PauseAll(ctx)
		} else {
			err = c.ResumeAll(ctx)
		}
		if err != nil {
			return err
		}
		js, err := c.Jobs(ctx)
		if err != nil {
			return err
		}
		return out(js, func(w io.Writer) { printJobs(w, js) })
	case "throttle":
		req := api.ThrottleRequest{Clear: *clear, ForSeconds: int64(dur.Seconds())}
		if !*clear {
			if *down == "" && *up == "" {
				return usagef("ctl throttle needs --down and/or --up, or --clear")
			}
			d, err := config.ParseRate(*down)
			if err != nil {
				return usagef("--down: %v", err)
			}
			u, err := config.ParseRate(*up)
			if err != nil {
				return usagef("--up: %v", err)
			}
			req.Down, req.Up = int64(d), int64(u)
		}
		b, err := c.Throttle(ctx, req)
		if err != nil {
			return err
		}
		return out(b, func(w io.Writer) { printBandwidth(w, *b) })
	case "watch":
		err := c.Events(ctx, func(ev api.Event) error {
			if *asJSON {
				return json.NewEncoder(env.Stdout).Encode(ev)
			}
			printEvent(env.Stdout, ev)
			return nil
		})
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	return usagef("unknown ctl subcommand %q", cmd)
}

// readTorrentArg returns the file's bytes if arg names a .torrent file, nil
// if arg is a package ID.
func readTorrentArg(arg string) ([]byte, error) {
	st, err := os.Stat(arg)
	if err != nil || st.IsDir() {
		if strings.HasSuffix(strings.ToLower(arg), ".torrent") {
			return nil, fmt.Errorf("reading %s: %w", arg, err)
		}
		return nil, nil
	}
	if st.Size() > pkgsign.MaxTorrentSize {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a package torrent", arg, pkgsign.MaxTorrentSize)
	}
	return os.ReadFile(arg)
}

// parseInterspersed parses flags that may appear before or after positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func rate(n int64) string {
	if n <= 0 {
		return "-"
	}
	return config.FormatBytes(n) + "/s"
}

func limit(n int64) string {
	if n <= 0 {
		return "unlimited"
	}
	return config.FormatBytes(n) + "/s"
}

func eta(s int64) string {
	if s < 0 {
		return "-"
	}
	return (time.Duration(s) * time.Second).String()
}

func printJobs(w io.Writer, js []api.Job) {
	fmt.Fprintln(w, "PACKAGE\tVERSION\tSTATE\tPRIORITY\tPROGRESS\tDOWN\tUP\tPEERS site/server\tETA")
	for _, j := range js {
		id := j.ID
		if j.Name != "" {
			id += " (" + j.Name + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%5.1f%% of %s\t%s\t%s\t%d/%d\t%s\n", id, dash(j.Version), j.State, j.Priority,
			100*j.Progress(), config.FormatBytes(j.BytesTotal), rate(j.DownRate), rate(j.UpRate), j.PeersSite, j.PeersServer, eta(j.ETASeconds))
		if j.Error != "" {
			fmt.Fprintf(w, "  ! %s\t\t\t\t\t\t\t\t\n", j.Error)
		}
	}
	if len(js) == 0 {
		fmt.Fprintln(w, "(no jobs)")
	}
}

func printJob(w io.Writer, j *api.Job) {
	printJobs(w, []api.Job{*j})
	fmt.Fprintf(w, "\nfolder\t%s\n", j.Path)
	if j.Pinned != "" {
		fmt.Fprintf(w, "pinned\tversion %s (background updates wait)\n", j.Pinned)
	}
	for _, o := range j.OtherVersions {
		state := "incomplete, lends its pieces"
		if o.Complete {
			state = "seeding until " + o.SeedUntil.Local().Format(time.DateTime)
		}
		fmt.Fprintf(w, "also cached\tversion %s, %s, %s\n", dash(o.Version), config.FormatBytes(o.Size), state)
	}
	fmt.Fprintf(w, "downloaded\t%s (site peers %s, servers %s)\n", config.FormatBytes(j.Downloaded), config.FormatBytes(j.DownloadedSite), config.FormatBytes(j.DownloadedServer))
	fmt.Fprintf(w, "uploaded\t%s\n", config.FormatBytes(j.Uploaded))
	if !j.LastUsed.IsZero() {
		fmt.Fprintf(w, "last used\t%s\n", j.LastUsed.Local().Format(time.DateTime))
	}
	if !j.SeedUntil.IsZero() {
		fmt.Fprintf(w, "seeded until\t%s\n", j.SeedUntil.Local().Format(time.DateTime))
	}
	fmt.Fprintf(w, "\nFILE\tSIZE\tDONE\n")
	for _, f := range j.Files {
		mark := ""
		if f.Ready {
			mark = " ✓"
		}
		fmt.Fprintf(w, "%s\t%s\t%s%s\n", f.Path, config.FormatBytes(f.Size), config.FormatBytes(f.Done), mark)
	}
}

func printStatus(w io.Writer, st *api.Status) {
	fmt.Fprintf(w, "version\t%s (API %s)\n", st.Version, st.APIVersion)
	fmt.Fprintf(w, "up since\t%s\n", st.Started.Local().Format(time.DateTime))
	fmt.Fprintf(w, "site\t%s\n", dash(st.Site))
	fmt.Fprintf(w, "access\t%s\n", st.Access)
	repo := "not configured"
	if st.Repository.URL != "" {
		repo = st.Repository.URL
		if !st.Repository.Checked.IsZero() {
			if st.Repository.Reachable {
				repo += " (reachable)"
			} else {
				repo += " (UNREACHABLE: " + st.Repository.Error + ")"
			}
		}
	}
	fmt.Fprintf(w, "repository\t%s\n", repo)
	if t := st.Tracker; t.URL != "" {
		state := "reachable"
		if !t.Reachable {
			state = "UNREACHABLE: " + t.Error
		}
		fmt.Fprintf(w, "tracker\t%s (%s)\n", t.URL, state)
	}
	fmt.Fprintf(w, "rates\tdown %s, up %s\n", rate(st.DownRate), rate(st.UpRate))
	printBandwidth(w, st.Bandwidth)
	cacheCap := "no cap"
	if st.CacheLimit > 0 {
		cacheCap = "cap " + config.FormatBytes(st.CacheLimit)
	}
	fmt.Fprintf(w, "cache\t%s in %s (%s)\n", config.FormatBytes(st.CacheBytes), st.CacheDir, cacheCap)
	fmt.Fprintf(w, "logs\t%s\n", st.LogDir)
	var parts []string
	for _, s := range []api.State{api.StateTransferring, api.StateConnecting, api.StateQueued, api.StateSuspended, api.StateTransientError, api.StateError, api.StateTransferred} {
		if n := st.Jobs[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(w, "jobs\t%s\n", strings.Join(parts, ", "))
	for _, e := range st.RecentErrors {
		fmt.Fprintf(w, "recent\t%s %s %s\n", e.Time.Local().Format(time.TimeOnly), e.Level, e.Message)
	}
}

func printBandwidth(w io.Writer, b api.Bandwidth) {
	fmt.Fprintf(w, "limits\tdown %s, up %s (%s)\n", limit(b.EffectiveDown), limit(b.EffectiveUp), b.Detail)
}

func printEvent(w io.Writer, ev api.Event) {
	ts := ev.Time.Local().Format(time.TimeOnly)
	switch {
	case ev.Job != nil:
		j := ev.Job
		fmt.Fprintf(w, "%s %s %s %s %.1f%% down %s up %s peers %d/%d\n", ts, ev.Type, j.ID, j.State, 100*j.Progress(), rate(j.DownRate), rate(j.UpRate), j.PeersSite, j.PeersServer)
	case ev.Type == api.EventSnapshot:
		fmt.Fprintf(w, "%s snapshot: %d jobs\n", ts, len(ev.Jobs))
	case ev.Type == api.EventStatus && ev.Status != nil:
		// Status arrives every second; print it only when something moves.
		if ev.Status.DownRate > 0 || ev.Status.UpRate > 0 {
			fmt.Fprintf(w, "%s rates: down %s up %s\n", ts, rate(ev.Status.DownRate), rate(ev.Status.UpRate))
		}
	case ev.JobID != "":
		fmt.Fprintf(w, "%s %s %s\n", ts, ev.Type, ev.JobID)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
