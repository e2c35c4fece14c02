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

	"github.com/smstorrent/smstorrent/internal/cmdline"
	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
)

// Usage describes the ctl subcommands.
const Usage = `ctl subcommands (--json anywhere for machine-readable output):
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
                                       helpdesk throttle, e.g. --down 2MiB/s --up 512KiB/s --for 2h
                                       (KiB, MiB count 1024s; kB, MB 1000s; Mbit/s bits)
  watch                                follow the event stream (Ctrl-C to stop)
`

// Env is what a ctl command needs from outside.
type Env struct {
	Client *api.Client
	Stdout io.Writer
	Stderr io.Writer
}

// serviceDownHint tells the helpdesk what to do when the service is not there.
const serviceDownHint = `the SMSTorrent service is not running (or this account cannot read its API token).
  - Is it installed and running?  smstorrent-service status
  - Start it:                     smstorrent-service start   (Windows: sc start SMSTorrent, as administrator)
  - Its log says why it stopped:  the "logs" folder beside its data (default C:\ProgramData\SMSTorrent\logs)`

// Main runs one ctl command and returns the process exit code: 0 ok, 1 the
// service refused or failed, 2 bad usage, 3 the service is not running.
func Main(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) int {
	env := Env{Client: &api.Client{DataDir: cfg.DataDir}, Stdout: stdout, Stderr: stderr}
	err := Run(ctx, env, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, Usage)
		return 0
	case cmdline.IsUsage(err):
		cmdline.Print(stderr, err, `"smstorrent-service ctl help"`)
		return 2
	case api.IsServiceDown(err):
		fmt.Fprintf(stderr, "error: %v\n%s\n", err, serviceDownHint)
		return 3
	default:
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
}

// command is one ctl subcommand.
type command struct {
	usage    string // one line: "ctl job ID"
	min, max int    // positional arguments (max < 0: any)
	flags    func(fs *flag.FlagSet) func(*run) error
	do       func(ctx context.Context, r *run) error
}

// run is one ctl invocation: the parsed command line and where it goes.
type run struct {
	env    Env
	name   string
	usage  string
	pos    []string
	asJSON bool
	check  func(*run) error // validates the subcommand's flags; may be nil
	opts   any              // the subcommand's parsed flags
}

var commands = map[string]command{
	"status":     {usage: "ctl status", do: doStatus},
	"jobs":       {usage: "ctl jobs", do: doJobs},
	"job":        {usage: "ctl job ID", min: 1, max: 1, do: doJob},
	"add":        {usage: "ctl add FILE.torrent|PACKAGEID [--priority P] [--assign] [--version V] [--source DIR]", min: 1, max: 1, flags: addFlags, do: doAdd},
	"pause":      {usage: "ctl pause ID", min: 1, max: 1, do: doJobAction},
	"resume":     {usage: "ctl resume ID", min: 1, max: 1, do: doJobAction},
	"cancel":     {usage: "ctl cancel ID", min: 1, max: 1, do: doJobAction},
	"priority":   {usage: "ctl priority ID foreground|high|normal|low", min: 2, max: 2, do: doPriority},
	"pause-all":  {usage: "ctl pause-all", do: doAll},
	"resume-all": {usage: "ctl resume-all", do: doAll},
	"throttle":   {usage: "ctl throttle --down RATE --up RATE [--for DURATION] | --clear", flags: throttleFlags, do: doThrottle},
	"watch":      {usage: "ctl watch", do: doWatch},
}

// Run executes a ctl command. The subcommand is the first word that is not
// a flag; --json may stand anywhere.
func Run(ctx context.Context, env Env, args []string) error {
	name, rest := "", []string(nil)
	for i, a := range args {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			name, rest = a, append(append(rest, args[:i]...), args[i+1:]...)
			break
		}
	}
	if name == "" {
		for _, a := range args {
			if a == "-h" || a == "--help" || a == "-help" {
				return flag.ErrHelp
			}
		}
		return cmdline.Usagef("smstorrent-service ctl SUBCOMMAND [flags]", "ctl needs a subcommand")
	}
	if name == "help" {
		return flag.ErrHelp
	}
	cmd, ok := commands[name]
	if !ok {
		return cmdline.Usagef("smstorrent-service ctl SUBCOMMAND [flags]", "unknown ctl subcommand %q", name)
	}
	r := &run{env: env, name: name, usage: cmd.usage}
	fs := cmdline.NewFlagSet("ctl " + name)
	fs.BoolVar(&r.asJSON, "json", false, "print JSON")
	if cmd.flags != nil {
		r.check = cmd.flags(fs)
	}
	pos, err := cmdline.Parse(fs, rest, cmd.usage)
	if err != nil {
		return err
	}
	if err := cmdline.Args(pos, cmd.min, cmd.max, cmd.usage); err != nil {
		return err
	}
	r.pos = pos
	if r.check != nil {
		if err := r.check(r); err != nil {
			return cmdline.Usagef(cmd.usage, "%v", err)
		}
	}
	return cmd.do(ctx, r)
}

// out prints v as JSON with --json, else as a table written by human.
func (r *run) out(v any, human func(w io.Writer)) error {
	if r.asJSON {
		enc := json.NewEncoder(r.env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(r.env.Stdout, 0, 4, 2, ' ', 0)
	human(tw)
	return tw.Flush()
}

func (r *run) jobs(ctx context.Context) error {
	js, err := r.env.Client.Jobs(ctx)
	if err != nil {
		return err
	}
	return r.out(js, func(w io.Writer) { printJobs(w, js) })
}

func (r *run) oneJob(j *api.Job, err error) error {
	if err != nil {
		return err
	}
	return r.out(j, func(w io.Writer) { printJobs(w, []api.Job{*j}) })
}

func doStatus(ctx context.Context, r *run) error {
	st, err := r.env.Client.Status(ctx)
	if err != nil {
		return err
	}
	return r.out(st, func(w io.Writer) { printStatus(w, st) })
}

func doJobs(ctx context.Context, r *run) error { return r.jobs(ctx) }

func doJob(ctx context.Context, r *run) error {
	j, err := r.env.Client.Job(ctx, r.pos[0])
	if err != nil {
		return err
	}
	return r.out(j, func(w io.Writer) { printJob(w, j) })
}

type addOpts struct {
	prio    api.Priority
	assign  bool
	version string // pin exactly this version (with a package ID)
	source  string // seed from this folder in place (with a .torrent)
}

func addFlags(fs *flag.FlagSet) func(*run) error {
	prio := fs.String("priority", "normal", "job priority: foreground, high, normal or low")
	o := &addOpts{}
	fs.BoolVar(&o.assign, "assign", false, "seed the package regardless of age")
	fs.StringVar(&o.version, "version", "", "pin exactly this version")
	fs.StringVar(&o.source, "source", "", "seed from this folder in place")
	return func(r *run) error {
		p, err := api.ParsePriority(*prio)
		if err != nil {
			return fmt.Errorf("--priority: %v", err)
		}
		o.prio = p
		r.opts = o
		return nil
	}
}

func doAdd(ctx context.Context, r *run) error {
	o := r.opts.(*addOpts)
	req := api.AddRequest{Priority: o.prio, Assign: o.assign, Version: o.version}
	b, err := readTorrentArg(r.pos[0])
	if err != nil {
		return err
	}
	if b != nil {
		req.Torrent = b
	} else {
		req.PackageID = r.pos[0]
	}
	if o.source != "" {
		if req.Torrent == nil {
			return cmdline.Usagef(r.usage, "--source needs the package's .torrent file")
		}
		if req.Source, err = filepath.Abs(o.source); err != nil {
			return cmdline.Usagef(r.usage, "--source: %v", err)
		}
	}
	if req.Version != "" && req.Torrent != nil {
		return cmdline.Usagef(r.usage, "--version goes with a package ID; a .torrent file names its own version")
	}
	return r.oneJob(r.env.Client.Add(ctx, req))
}

func doJobAction(ctx context.Context, r *run) error {
	c := r.env.Client
	fn := map[string]func(context.Context, string) (*api.Job, error){"pause": c.Pause, "resume": c.Resume, "cancel": c.Cancel}[r.name]
	return r.oneJob(fn(ctx, r.pos[0]))
}

func doPriority(ctx context.Context, r *run) error {
	p, err := api.ParsePriority(r.pos[1])
	if err != nil {
		return cmdline.Usagef(r.usage, "%v", err)
	}
	return r.oneJob(r.env.Client.SetPriority(ctx, r.pos[0], p))
}

func doAll(ctx context.Context, r *run) error {
	var err error
	if r.name == "pause-all" {
		err = r.env.Client.PauseAll(ctx)
	} else {
		err = r.env.Client.ResumeAll(ctx)
	}
	if err != nil {
		return err
	}
	return r.jobs(ctx)
}

func throttleFlags(fs *flag.FlagSet) func(*run) error {
	down, downSet := cmdline.Rate(fs, "down", "download limit, e.g. 2MiB/s, 20Mbit/s, unlimited")
	up, upSet := cmdline.Rate(fs, "up", "upload limit")
	dur := cmdline.Duration(fs, "for", 0, "how long the throttle lasts, e.g. 2h (0: until cleared)")
	clear := fs.Bool("clear", false, "remove the helpdesk throttle")
	return func(r *run) error {
		req := api.ThrottleRequest{Clear: *clear, ForSeconds: int64(dur.Seconds())}
		switch {
		case *clear && (*downSet || *upSet):
			return errors.New("--clear takes no --down or --up")
		case !*clear && !*downSet && !*upSet:
			return errors.New("ctl throttle needs --down and/or --up, or --clear")
		}
		req.Down, req.Up = *down, *up
		r.opts = req
		return nil
	}
}

func doThrottle(ctx context.Context, r *run) error {
	b, err := r.env.Client.Throttle(ctx, r.opts.(api.ThrottleRequest))
	if err != nil {
		return err
	}
	return r.out(b, func(w io.Writer) { printBandwidth(w, *b) })
}

func doWatch(ctx context.Context, r *run) error {
	err := r.env.Client.Events(ctx, func(ev api.Event) error {
		if r.asJSON {
			return json.NewEncoder(r.env.Stdout).Encode(ev)
		}
		printEvent(r.env.Stdout, ev)
		return nil
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
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

func rate(n int64) string {
	if n <= 0 {
		return "-"
	}
	return units.Rate(n)
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
			100*j.Progress(), units.Bytes(j.BytesTotal), rate(j.DownRate), rate(j.UpRate), j.PeersSite, j.PeersServer, eta(j.ETASeconds))
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
		fmt.Fprintf(w, "also cached\tversion %s, %s, %s\n", dash(o.Version), units.Bytes(o.Size), state)
	}
	fmt.Fprintf(w, "downloaded\t%s (site peers %s, servers %s)\n", units.Bytes(j.Downloaded), units.Bytes(j.DownloadedSite), units.Bytes(j.DownloadedServer))
	fmt.Fprintf(w, "uploaded\t%s\n", units.Bytes(j.Uploaded))
	if !j.LastUsed.IsZero() {
		fmt.Fprintf(w, "last used\t%s\n", j.LastUsed.Local().Format(time.DateTime))
	}
	if !j.SeedUntil.IsZero() {
		fmt.Fprintf(w, "seeded until\t%s\n", j.SeedUntil.Local().Format(time.DateTime))
	}
	printSources(w, j)
	fmt.Fprintf(w, "\nFILE\tSIZE\tDONE\n")
	for _, f := range j.Files {
		mark := ""
		if f.Ready {
			mark = " ✓"
		}
		fmt.Fprintf(w, "%s\t%s\t%s%s\n", f.Path, units.Bytes(f.Size), units.Bytes(f.Done), mark)
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
	printYield(w, st.Bandwidth)
	cacheCap := "no cap"
	if st.CacheLimit > 0 {
		cacheCap = "cap " + units.Bytes(st.CacheLimit)
	}
	fmt.Fprintf(w, "cache\t%s in %s (%s)\n", units.Bytes(st.CacheBytes), st.CacheDir, cacheCap)
	fmt.Fprintf(w, "logs\t%s\n", st.LogDir)
	if st.MemoryResident > 0 {
		fmt.Fprintf(w, "memory\t%s resident, %s private\n", units.Bytes(st.MemoryResident), units.Bytes(st.MemoryPrivate))
	}
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
	fmt.Fprintf(w, "limits\tdown %s, up %s (%s)\n", units.Limit(b.EffectiveDown), units.Limit(b.EffectiveUp), b.Detail)
}

func printEvent(w io.Writer, ev api.Event) {
	ts := ev.Time.Local().Format(time.TimeOnly)
	switch {
	case ev.Job != nil:
		j := ev.Job
		fmt.Fprintf(w, "%s %s %s %s %.1f%% down %s up %s peers %d/%d%s\n", ts, ev.Type, j.ID, j.State, 100*j.Progress(), rate(j.DownRate), rate(j.UpRate), j.PeersSite, j.PeersServer, limitNote(j))
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
