// Package yield runs the network lab's yield scenario (issue 7): does a
// background download give the branch's WAN link back to the people using
// it? One branch behind a 20 Mbit/s link; on one client a background
// download of a large package (SMSTorrent at its default priority, or
// Transmission over uTP as the baseline), on another a foreground bulk HTTP
// download from hq (CUBIC or BBR at the sender) that starts mid-way and stops
// again, at several WAN queue depths. It measures the foreground's
// throughput next to the background against its throughput alone, the
// background's share of the idle link, the delay the background adds, and
// how fast the background gives way and takes the link back; and writes
// them as JSON, a Markdown section and a plot of the rates over time.
package yield

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
)

// Phases are the lengths of the scenario's phases.
type Phases struct {
	// Idle: nothing runs; the base RTT is measured (before each run).
	Idle time.Duration `json:"idle"`
	// FgAlone: the foreground download with nothing else (once per case).
	FgAlone time.Duration `json:"fg_alone"`
	// Alone: the background download alone, from the moment it is added.
	Alone time.Duration `json:"alone"`
	// Fg: the foreground download next to the background one.
	Fg time.Duration `json:"fg"`
	// After: the background alone again after the foreground stopped.
	After time.Duration `json:"after"`
	// FlowWait bounds the wait for the background's first MiB after the
	// add; the alone phase starts then.
	FlowWait time.Duration `json:"flow_wait"`
	// Settle is left out at the start of the alone and foreground phases
	// when averaging (the ramp and the give-way have their own figures).
	Settle time.Duration `json:"settle"`
}

// DefaultPhases keep six cases of two systems under about 13 minutes.
func DefaultPhases() Phases {
	return Phases{Idle: 3 * time.Second, FgAlone: 12 * time.Second, FlowWait: 20 * time.Second,
		Alone: 14 * time.Second, Fg: 18 * time.Second, After: 12 * time.Second, Settle: 4 * time.Second}
}

// QuickPhases are for the smoke run.
func QuickPhases() Phases {
	return Phases{Idle: 2 * time.Second, FgAlone: 6 * time.Second, FlowWait: 15 * time.Second,
		Alone: 8 * time.Second, Fg: 10 * time.Second, After: 8 * time.Second, Settle: 3 * time.Second}
}

// Config says what to run.
type Config struct {
	// QueueDepths are the WAN queue limits to run, as time at line rate.
	QueueDepths []time.Duration
	// CCs are the foreground's congestion controls (cubic, bbr, ...).
	CCs []string
	// Systems are the background systems: "smstorrent", "transmission".
	Systems []string
	Phases  Phases
	// WANRateBits is the WAN rate, each direction; WANDelay is added one
	// way on the WAN (netlab's NFQUEUE delayer in the core).
	WANRateBits int64
	WANDelay    time.Duration
	// PackageBytes is the background package's size: enough that no run
	// completes it.
	PackageBytes int64
	// ServiceConfig holds extra keys for the background client's
	// smstorrent-service configuration.
	ServiceConfig map[string]any
	// Helper is the command that runs HelperMain: an executable and its
	// first arguments (HelperArg); subcommands are appended.
	Helper []string
	// WorkDir holds the run's folder; BinDir the built executables.
	WorkDir, BinDir string
	// Keep leaves the run's folder in place (it is removed otherwise,
	// unless something failed: then its logs stay).
	Keep bool
	// Quick marks a smoke run in the report.
	Quick bool
	Log   *slog.Logger
}

// DefaultConfig is what `make bench` runs.
func DefaultConfig() Config {
	return Config{
		QueueDepths:  []time.Duration{40 * time.Millisecond, 110 * time.Millisecond, 300 * time.Millisecond},
		CCs:          []string{"cubic", "bbr"},
		Systems:      SystemNames,
		Phases:       DefaultPhases(),
		WANRateBits:  20_000_000,
		WANDelay:     20 * time.Millisecond,
		PackageBytes: 192 << 20,
		WorkDir:      filepath.Join("lab", "out"),
		BinDir:       "bin",
	}
}

// QuickConfig is one case (110 ms, CUBIC), SMSTorrent only, short phases.
func QuickConfig() Config {
	c := DefaultConfig()
	c.QueueDepths = []time.Duration{110 * time.Millisecond}
	c.CCs = []string{"cubic"}
	c.Systems = []string{"smstorrent"}
	c.Phases = QuickPhases()
	c.PackageBytes = 80 << 20
	c.Quick = true
	return c
}

// SystemNames are the background systems, in order.
var SystemNames = []string{"smstorrent", "transmission"}

// Labels are the systems' names for people.
var Labels = map[string]string{
	"smstorrent":   "SMSTorrent",
	"transmission": "Transmission (uTP)",
}

// bgSystem is one background downloader.
type bgSystem interface {
	name() string
	// setup starts what runs in hq for the whole lab (tracker, origin).
	setup(ctx context.Context, e *env) error
	// startClient starts a fresh client on the background host, ready but
	// not yet downloading.
	startClient(ctx context.Context, e *env, run string) error
	// add starts the background download.
	add(ctx context.Context, e *env) error
	// poll reads the client's own view (about once a second).
	poll(ctx context.Context, e *env) (StatusSample, error)
	// check says what went wrong with the download, "" if nothing.
	check(ctx context.Context, e *env) string
	// stopClient stops the client (by PID) and drops its data.
	stopClient(e *env) error
}

type env struct {
	cfg    Config
	lab    *netlab.Lab
	bg     *netlab.Host // b1c1: background client
	fg     *netlab.Host // b1c2: foreground client
	probe  *netlab.Host // b1c3: RTT probe
	pkg    pkgFile
	bins   binaries
	log    *slog.Logger
	rtt    *netlab.Proc
	sample *sampler
	runs   int
}

type binaries struct{ service, tracker string }

type pkgFile struct {
	dir, name string
	size      int64
	sha256    string
}

const (
	fgPort    = 8080
	probePort = 8081
)

// Run builds one lab, sets up every system's hq side, then runs every
// queue depth x congestion control: the foreground alone, then each system's
// timeline. A system that fails in a case is reported with its error; Run
// returns an error when nothing could run or ctx ended.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	systems, bins, err := prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	workDir, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	runDir := filepath.Join(workDir, "yield-"+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, err
	}
	failed := true
	defer func() { cleanRunDir(cfg, runDir, failed) }()
	// Run private copies: a rebuild of bin/ during the run must not mix
	// versions between cases.
	snap, err := snapshotBinaries(bins, filepath.Join(runDir, "bin"))
	if err != nil {
		return nil, fmt.Errorf("yield: copying the executables: %w", err)
	}
	pkg, err := makePackage(filepath.Join(runDir, "src", "package"), cfg.PackageBytes)
	if err != nil {
		return nil, fmt.Errorf("yield: making the package: %w", err)
	}
	topo := netlab.Topology{Branches: 1, ClientsPerBranch: 3, WANRateBits: cfg.WANRateBits, WANDelay: cfg.WANDelay}
	lab, err := netlab.Build(ctx, topo, filepath.Join(runDir, "lab"))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := lab.Close(); err != nil {
			cfg.Log.Warn("lab teardown", "err", err)
		}
	}()
	cs := lab.Branches[0].Clients
	e := &env{cfg: cfg, lab: lab, bg: cs[0], fg: cs[1], probe: cs[2], pkg: pkg, bins: snap.bins, log: cfg.Log}
	rep := &Report{
		Generated: time.Now().UTC(), Quick: cfg.Quick, WANRateBits: cfg.WANRateBits,
		WANDelayMS: ms(cfg.WANDelay), PackageBytes: cfg.PackageBytes, Phases: phaseSeconds(cfg.Phases),
		Targets: DefaultTargets(), LabID: lab.ID, ServiceBinary: snap.info,
	}
	if err := e.startCommon(ctx); err != nil {
		return rep, err
	}
	defer e.sample.close()
	for _, sys := range systems {
		sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		err := sys.setup(sctx, e)
		cancel()
		if err != nil {
			return rep, fmt.Errorf("%s setup: %w", sys.name(), err)
		}
	}
	anyFailed, err := e.runCases(ctx, rep, systems)
	failed = anyFailed
	return rep, err
}

// prepare checks the machine, sweeps what killed runs left and finds the
// systems and their executables.
func prepare(ctx context.Context, cfg Config) ([]bgSystem, binaries, error) {
	if len(cfg.Helper) == 0 {
		return nil, binaries{}, errors.New("yield: no helper command")
	}
	if err := netlab.Check(); err != nil {
		return nil, binaries{}, err
	}
	if removed, err := netlab.SweepStale(ctx); err != nil {
		cfg.Log.Warn("sweeping stale lab namespaces", "err", err)
	} else if len(removed) > 0 {
		cfg.Log.Info("removed stale lab namespaces", "names", removed)
	}
	var systems []bgSystem
	for _, n := range cfg.Systems {
		switch n {
		case "smstorrent":
			systems = append(systems, &smsSystem{})
		case "transmission":
			systems = append(systems, &trSystem{})
		default:
			return nil, binaries{}, fmt.Errorf("yield: unknown system %q (known: %v)", n, SystemNames)
		}
	}
	bins, err := findBinaries(cfg.BinDir, cfg.Systems)
	return systems, bins, err
}

// cleanRunDir removes the run's folder, or after a failure only the package
// copies (the logs stay for a look); -keep keeps all.
func cleanRunDir(cfg Config, runDir string, failed bool) {
	switch {
	case cfg.Keep:
	case failed:
		_ = filepath.WalkDir(runDir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == payloadName {
				os.Remove(p)
			}
			return nil
		})
		cfg.Log.Info("something failed: the run's logs are kept", "dir", runDir)
	default:
		os.RemoveAll(runDir)
	}
}

// runCases runs every queue depth × congestion control case into rep and
// reports whether any system's run failed.
func (e *env) runCases(ctx context.Context, rep *Report, systems []bgSystem) (bool, error) {
	anyFailed := false
	for _, depth := range e.cfg.QueueDepths {
		if err := e.setQueue(ctx, depth); err != nil {
			return true, err
		}
		for _, cc := range e.cfg.CCs {
			c, err := e.runCase(ctx, depth, cc, systems)
			rep.Cases = append(rep.Cases, c)
			if err != nil {
				return true, err
			}
			for _, r := range c.Runs {
				anyFailed = anyFailed || !r.OK
			}
		}
	}
	return anyFailed, nil
}

// startCommon starts the foreground server in hq, the RTT probe on the
// probe client and the counter sampler on the branch router.
func (e *env) startCommon(ctx context.Context) error {
	hq := e.lab.HQ
	srv, err := e.lab.Start(netlab.Cmd{NS: hq.NS, Label: "hq-fg-server", Path: e.cfg.Helper[0],
		Args: append(slices.Clone(e.cfg.Helper[1:]), "fg-server",
			"-listen", fmt.Sprintf("%s:%d", hq.Addr, fgPort), "-probe", fmt.Sprintf("%s:%d", hq.Addr, probePort))})
	if err != nil {
		return err
	}
	if err := netlab.Retry(ctx, 20*time.Second, func() error {
		if err := srv.Exited(); err != nil {
			return netlab.Permanent(err)
		}
		c, err := netlab.DialContext(ctx, e.probe.NS, "tcp", fmt.Sprintf("%s:%d", hq.Addr, probePort))
		if err != nil {
			return err
		}
		return c.Close()
	}); err != nil {
		return fmt.Errorf("foreground server: %w", err)
	}
	e.rtt, err = e.lab.Start(netlab.Cmd{NS: e.probe.NS, Label: e.probe.Name + "-rtt", Path: e.cfg.Helper[0],
		Args: append(slices.Clone(e.cfg.Helper[1:]), "rtt", "-addr", fmt.Sprintf("%s:%d", hq.Addr, probePort), "-every", "100ms")})
	if err != nil {
		return err
	}
	e.sample, err = startSampler(e.lab.Branches[0].RouterNS, 100*time.Millisecond)
	return err
}

// setQueue replaces the tbf shapers on both ends of the WAN link with ones
// whose queue holds depth at line rate (netlab builds them with 50 ms).
// netlab names the link's ends wan<n> in the core and wan in the router.
func (e *env) setQueue(ctx context.Context, depth time.Duration) error {
	limit := int64(float64(e.cfg.WANRateBits) / 8 * depth.Seconds())
	b := e.lab.Branches[0]
	for _, end := range [][2]string{{e.lab.CoreNS, fmt.Sprintf("wan%d", b.N)}, {b.RouterNS, "wan"}} {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		out, err := exec.CommandContext(cctx, "tc", "-n", end[0], "qdisc", "replace", "dev", end[1], "root", "tbf",
			"rate", fmt.Sprintf("%dbit", e.cfg.WANRateBits), "burst", "32768", "limit", fmt.Sprint(limit)).CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("tc on %s/%s: %w: %s", end[0], end[1], err, out)
		}
	}
	e.log.Info("WAN queue set", "depth", depth, "limit_bytes", limit)
	return nil
}

// fgRun starts the foreground client for d and waits for it; it returns
// the client's own start and stop stamps.
func (e *env) fgRun(ctx context.Context, label, cc string, d time.Duration) (start, stop time.Time, err error) {
	p, err := e.lab.Start(netlab.Cmd{NS: e.fg.NS, Label: label, Path: e.cfg.Helper[0],
		Args: append(slices.Clone(e.cfg.Helper[1:]), "fg-client", "-url",
			fmt.Sprintf("http://%s:%d/stream", e.lab.HQ.Addr, fgPort), "-cc", cc, "-for", d.String())})
	if err != nil {
		return start, stop, err
	}
	wctx, cancel := context.WithTimeout(ctx, d+20*time.Second)
	defer cancel()
	if err := p.Wait(wctx); err != nil {
		return start, stop, fmt.Errorf("foreground client: %w: %s", err, p.LogTail(3))
	}
	start, stop, _, ok := fgTimes(p.Log)
	if !ok {
		return start, stop, fmt.Errorf("foreground client: no start/stop in %s", p.Log)
	}
	return start, stop, nil
}

func (e *env) runCase(ctx context.Context, depth time.Duration, cc string, systems []bgSystem) (Case, error) {
	ph := e.cfg.Phases
	c := Case{QueueMS: ms(depth), CC: cc}
	tag := fmt.Sprintf("%dms-%s", depth.Milliseconds(), cc)
	e.log.Info("case: foreground alone", "case", tag)
	t0 := time.Now()
	before, err := e.lab.Counters(ctx)
	if err != nil {
		return c, err
	}
	if err := sleep(ctx, ph.Idle); err != nil {
		return c, err
	}
	fs, fe, err := e.fgRun(ctx, e.fg.Name+"-fg-alone-"+tag, cc, ph.FgAlone)
	if err != nil {
		c.Error = err.Error()
		return c, nil
	}
	after, err := e.lab.Counters(ctx)
	if err != nil {
		return c, err
	}
	// The same scale as the runs', so that the ratio compares like with like.
	k := e.counterScale(before, after)
	c.CounterScale = round(k, 4)
	samples := e.sample.between(t0, fe.Add(time.Second))
	fgPick := func(s sample) uint64 { return s.C2 }
	// The ratio and the give-way compare the foreground with itself on the
	// same port counter, unscaled: the scale depends on the traffic mix.
	c.fgAlonePort = meanRate(samples, fgPick, 1, fs.Add(ph.Settle), fe)
	c.FgAlonePortMbit = mbit(c.fgAlonePort)
	c.FgAloneMbit = mbit(k * c.fgAlonePort)
	fgSm := smooth(rates(samples, fgPick, 1), 250*time.Millisecond)
	c.FgAloneRampS = round(sustained(fgSm, fs, fe, 0.9*c.fgAlonePort, time.Second), 2)
	rtts, _ := readRTTLog(e.rtt.Log)
	idle, _, _ := rttStats(rtts, t0, fs)
	full, _, _ := rttStats(rtts, fs.Add(ph.Settle), fe)
	c.IdleRTTMS, c.FgAloneQueueMS = round(idle, 1), round(full-idle, 1)
	e.log.Info("foreground alone", "case", tag, "mbit", c.FgAloneMbit, "idle_rtt_ms", c.IdleRTTMS, "queue_ms", c.FgAloneQueueMS)
	if err := sleep(ctx, time.Second); err != nil {
		return c, err
	}
	for _, sys := range systems {
		if err := ctx.Err(); err != nil {
			return c, err
		}
		e.runs++
		r := e.runOne(ctx, sys, c, cc, fmt.Sprintf("%s-%s", tag, sys.name()))
		e.log.Info("run done", "case", tag, "system", sys.name(), "ok", r.OK, "err", r.Error,
			"fg_ratio", r.FgRatio, "idle_share", r.IdleShare, "added_delay_ms", r.AddedDelayMS,
			"give_way_s", r.GiveWayS, "take_back_s", r.TakeBackS)
		c.Runs = append(c.Runs, r)
	}
	return c, ctx.Err()
}

func (e *env) runOne(ctx context.Context, sys bgSystem, c Case, cc, run string) (r SystemRun) {
	ph := e.cfg.Phases
	r = SystemRun{System: sys.name(), Label: Labels[sys.name()]}
	fail := func(err error) SystemRun {
		r.OK = false
		r.Error = err.Error()
		return r
	}
	defer func() {
		if err := sys.stopClient(e); err != nil && r.Error == "" {
			r.Error = "stopping the client: " + err.Error()
		}
	}()
	before, err := e.lab.Counters(ctx)
	if err != nil {
		return fail(err)
	}
	tIdle := time.Now()
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	err = sys.startClient(sctx, e, run)
	cancel()
	if err != nil {
		return fail(fmt.Errorf("starting the client: %w", err))
	}
	// The client measures its base delay on the idle path first.
	if err := sleep(ctx, max(ph.Idle-time.Since(tIdle), 2*time.Second)); err != nil {
		return fail(err)
	}
	tAdd := time.Now()
	if err := sys.add(ctx, e); err != nil {
		return fail(fmt.Errorf("adding the download: %w", err))
	}
	// The phases start when data flows (announce, connect, unchoke — up to
	// 10 s for Transmission's rechoke), bounded by FlowWait.
	tFlow, flowing, err := e.waitFlow(ctx, tAdd, ph.FlowWait)
	if err != nil {
		return fail(err)
	}
	r.FlowWaitS = round(tFlow.Sub(tAdd).Seconds(), 2)
	if !flowing {
		r.Note = fmt.Sprintf("less than 1 MiB had arrived %s after the add; the phases started anyway", ph.FlowWait)
	}
	// The client's own view, once a second, until the end.
	stopPoll := e.pollStatus(ctx, sys, tAdd)
	if err := sleep(ctx, time.Until(tFlow.Add(ph.Alone))); err != nil {
		stopPoll()
		return fail(err)
	}
	fgStart, fgStop, err := e.fgRun(ctx, e.fg.Name+"-fg-"+run, cc, ph.Fg)
	if err != nil {
		stopPoll()
		return fail(err)
	}
	if err := sleep(ctx, time.Until(fgStop.Add(ph.After))); err != nil {
		stopPoll()
		return fail(err)
	}
	tEnd := time.Now()
	r.Status = stopPoll()
	after, err := e.lab.Counters(ctx)
	if err != nil {
		return fail(err)
	}
	if msg := sys.check(ctx, e); msg != "" {
		r.Error = msg
	}

	e.analyze(&r, c, runTimes{idle: tIdle, add: tAdd, flow: tFlow, fgStart: fgStart, fgStop: fgStop, end: tEnd}, before, after)
	r.summarize(ph, r.FlowWaitS, r.FgStartS, r.FgStopS)
	r.OK = r.Error == ""
	return r
}

// pollStatus asks the client for its own view once a second until the
// returned function is called, which returns the samples.
func (e *env) pollStatus(ctx context.Context, sys bgSystem, tAdd time.Time) func() []StatusSample {
	pctx, pcancel := context.WithCancel(ctx)
	polled := make(chan []StatusSample, 1)
	go func() {
		var ss []StatusSample
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				polled <- ss
				return
			case <-t.C:
			}
			qctx, qcancel := context.WithTimeout(pctx, 5*time.Second)
			st, err := sys.poll(qctx, e)
			qcancel()
			if err != nil {
				continue
			}
			st.T = round(time.Since(tAdd).Seconds(), 2)
			ss = append(ss, st)
		}
	}()
	return func() []StatusSample {
		pcancel()
		return <-polled
	}
}

// runTimes are the moments of one run: the client started on the idle
// path, the download added, data flowing, the foreground's start and stop,
// the end.
type runTimes struct{ idle, add, flow, fgStart, fgStop, end time.Time }

// analyze computes the run's figures from the samples between its moments.
func (e *env) analyze(r *SystemRun, c Case, t runTimes, before, after netlab.Counters) {
	ph := e.cfg.Phases
	tIdle, tAdd, tFlow, fgStart, fgStop, tEnd := t.idle, t.add, t.flow, t.fgStart, t.fgStop, t.end
	samples := e.sample.between(tIdle, tEnd)
	k := e.counterScale(before, after)
	r.CounterScale = round(k, 4)
	line := float64(e.cfg.WANRateBits) / 8
	bgPick := func(s sample) uint64 { return s.C1 }
	fgPick := func(s sample) uint64 { return s.C2 }
	bgSm := smooth(rates(samples, bgPick, k), 250*time.Millisecond)
	fgSm := smooth(rates(samples, fgPick, k), 250*time.Millisecond)
	// Alone: share of the idle link and the delay added.
	aloneFrom := tFlow.Add(ph.Settle)
	aloneRate := meanRate(samples, bgPick, k, aloneFrom, fgStart)
	r.AloneMbit = mbit(aloneRate)
	r.IdleShare = round(aloneRate/line, 3)
	r.RampS = round(sustained(bgSm, tFlow, fgStart, 0.9*line, time.Second), 2)
	rtts, _ := readRTTLog(e.rtt.Log)
	idle, _, _ := rttStats(rtts, tIdle, tAdd)
	med, p95, _ := rttStats(rtts, aloneFrom, fgStart)
	r.IdleRTTMS = round(idle, 1)
	r.AddedDelayMS, r.AddedDelayP95MS = round(med-idle, 1), round(p95-idle, 1)
	// Foreground next to the background.
	fgWith := meanRate(samples, fgPick, 1, fgStart.Add(ph.Settle), fgStop)
	r.FgWithMbit = mbit(k * fgWith)
	r.FgWithWholeMbit = mbit(meanRate(samples, fgPick, k, fgStart, fgStop))
	r.BgDuringFgMbit = mbit(meanRate(samples, bgPick, k, fgStart.Add(ph.Settle), fgStop))
	if c.fgAlonePort > 0 {
		fgPort := smooth(rates(samples, fgPick, 1), 250*time.Millisecond)
		r.FgRatio = round(fgWith/c.fgAlonePort, 3)
		r.GiveWayS = round(sustained(fgPort, fgStart, fgStop, 0.9*c.fgAlonePort, time.Second), 2)
	}
	fmed, fp95, _ := rttStats(rtts, fgStart.Add(ph.Settle), fgStop)
	r.FgRTTMS, r.FgRTTP95MS = round(fmed, 1), round(fp95, 1)
	// After: taking the link back.
	r.TakeBackS = round(sustained(bgSm, fgStop, tEnd, 0.9*line, time.Second), 2)
	r.AfterMbit = mbit(meanRate(samples, bgPick, k, fgStop.Add(ph.Settle), tEnd))
	// Rates over time for the plot, every other 100 ms sample, from the add.
	for i := 0; i < len(bgSm); i += 2 {
		p := SeriesPoint{T: round(bgSm[i].At.Sub(tAdd).Seconds(), 2), BgMbit: mbit(bgSm[i].V)}
		if i < len(fgSm) {
			p.FgMbit = mbit(fgSm[i].V)
		}
		r.Series = append(r.Series, p)
	}
	r.FgStartS = round(fgStart.Sub(tAdd).Seconds(), 2)
	r.FgStopS = round(fgStop.Sub(tAdd).Seconds(), 2)
}

// counterScale calibrates the router's port counters against the WAN
// shaper's own between two counter readings (frames as the shaper meters
// them): shaper bytes into the branch ÷ bytes the router sent to its
// clients' ports. 1 when there is too little to compare.
func (e *env) counterScale(before, after netlab.Counters) float64 {
	all := e.sample.between(before.At.Add(-200*time.Millisecond), after.At.Add(200*time.Millisecond))
	if len(all) < 2 {
		return 1
	}
	first, last := all[0], all[len(all)-1]
	port := float64((last.C1 + last.C2 + last.C3) - (first.C1 + first.C2 + first.C3))
	wan := float64(after.Sub(before).WANIn[e.lab.Branches[0].Name])
	if port < 1<<20 || wan <= 0 {
		return 1
	}
	return wan / port
}

// waitFlow waits until at least 1 MiB has reached the background client
// since from, at most limit; it returns when that happened (or the limit).
func (e *env) waitFlow(ctx context.Context, from time.Time, limit time.Duration) (time.Time, bool, error) {
	var base uint64
	have := false
	for {
		ss := e.sample.between(from.Add(-300*time.Millisecond), time.Now())
		if len(ss) > 0 {
			if !have {
				base, have = ss[0].C1, true
			}
			if last := ss[len(ss)-1]; last.C1-base >= 1<<20 {
				return last.At, true, nil
			}
		}
		if time.Since(from) >= limit {
			return time.Now(), false, nil
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return time.Time{}, false, err
		}
	}
}

func findBinaries(binDir string, systems []string) (binaries, error) {
	if !slices.Contains(systems, "smstorrent") {
		return binaries{}, nil
	}
	b := binaries{service: filepath.Join(binDir, "smstorrent-service"), tracker: filepath.Join(binDir, "smstorrent-tracker")}
	for _, p := range []*string{&b.service, &b.tracker} {
		if _, err := os.Stat(*p); err != nil {
			return b, fmt.Errorf("%s not built (make build): %w", *p, err)
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return b, err
		}
		*p = abs
	}
	return b, nil
}

// snapshot is the run's private copy of the executables.
type snapshot struct {
	bins binaries
	info *BinaryInfo
}

// snapshotBinaries copies the service and tracker into dir and describes
// the service's build; without SMSTorrent it returns bins unchanged.
func snapshotBinaries(bins binaries, dir string) (snapshot, error) {
	if bins.service == "" {
		return snapshot{bins: bins}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return snapshot{}, err
	}
	st, err := os.Stat(bins.service)
	if err != nil {
		return snapshot{}, err
	}
	info := &BinaryInfo{Path: bins.service, Modified: st.ModTime().UTC()}
	out := binaries{}
	for _, c := range []struct{ src, dst *string }{{&bins.service, &out.service}, {&bins.tracker, &out.tracker}} {
		*c.dst = filepath.Join(dir, filepath.Base(*c.src))
		sum, err := copyFile(*c.src, *c.dst)
		if err != nil {
			return snapshot{}, err
		}
		if c.src == &bins.service {
			info.SHA256 = sum
		}
	}
	return snapshot{bins: out, info: info}, nil
}

// copyFile copies an executable and returns its SHA-256.
func copyFile(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		out.Close()
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), out.Close()
}

const payloadName = "payload.bin"

// makePackage writes size pseudo-random bytes (fixed seed) into dir/payload.bin.
func makePackage(dir string, size int64) (pkgFile, error) {
	p := pkgFile{dir: dir, name: payloadName, size: size}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return p, err
	}
	f, err := os.Create(filepath.Join(dir, payloadName))
	if err != nil {
		return p, err
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{'y', 'i', 'e', 'l', 'd'})
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rng, size); err != nil {
		return p, err
	}
	p.sha256 = hex.EncodeToString(h.Sum(nil))
	return p, f.Close()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mbit(bytesPerSec float64) float64 { return round(bytesPerSec*8/1e6, 2) }

func phaseSeconds(p Phases) map[string]float64 {
	return map[string]float64{"idle": p.Idle.Seconds(), "fg_alone": p.FgAlone.Seconds(), "alone": p.Alone.Seconds(),
		"fg": p.Fg.Seconds(), "after": p.After.Seconds(), "settle": p.Settle.Seconds(), "flow_wait_max": p.FlowWait.Seconds()}
}
