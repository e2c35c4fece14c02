// Package bench runs the distribution scenario of the network lab: one
// package goes from hq to every client of every branch at once, by plain HTTP,
// by Transmission with opentracker, and by SMSTorrent's real executables. For
// each system it measures the time until the last client has the verified
// package and the bytes that crossed each WAN link, hq's link and the core
// between branches, and writes them as JSON, a Markdown table and a chart.
package bench

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
)

// Config says what to run.
type Config struct {
	Topo netlab.Topology
	// PackageBytes is the size of the package's single file.
	PackageBytes int64
	// Systems names the systems to run, in order (see SystemNames).
	Systems []string
	// WorkDir holds each run's logs and host folders (lab/out).
	WorkDir string
	// BinDir holds the built smstorrent-service and smstorrent-tracker.
	BinDir string
	// Timeout bounds each system's distribution; 0 means a default derived
	// from the physical bound (8x, at least 90 s).
	Timeout time.Duration
	// ServiceConfig holds extra keys for every smstorrent-service
	// configuration the lab writes (over the lab's own), e.g. {"yield": false}.
	ServiceConfig map[string]any
	// Priority, when set, is passed to the clients' `ctl add --priority`
	// (the service's default otherwise).
	Priority string
	// Repeat runs each system this many times (a fresh lab each time) and
	// reports the run with the median time; 0 or 1: once.
	Repeat int
	// Faults, if set, are injected during each run (see Faults).
	Faults *Faults
	// Keep leaves the work folder (with the package copies) in place.
	Keep bool
	// PollCtl follows SMSTorrent's clients with a `ctl job` per client per
	// second, as the lab did before it used `ctl watch` (for comparison).
	PollCtl bool
	// Delta runs the delta scenario (see delta.go): every client holds
	// version 1 of a package of many files, then version 2 with about 10 %
	// of its bytes changed is distributed; Transmission gets version 2 as a
	// fresh download.
	Delta bool
	// prev is version 1 in the delta scenario.
	prev *pkgFile
	Log  *slog.Logger
}

// SystemNames lists the systems the bench knows, in the default order.
var SystemNames = []string{"http", "transmission", "smstorrent"}

// Labels are human names of the systems.
var Labels = map[string]string{
	"http":         "HTTP from hq",
	"transmission": "Transmission + opentracker",
	"smstorrent":   "SMSTorrent",
	// The delta scenario (-delta).
	"smstorrent-delta": "SMSTorrent, from version 1 in the cache",
}

// system is one way of distributing the package.
type system interface {
	// setup starts whatever must run before the clock starts (servers,
	// trackers, seeders, client daemons) and returns when it is ready.
	setup(ctx context.Context, e *env) error
	// start tells every client to fetch the package, all at once.
	start(ctx context.Context, e *env) error
	// done reports whether client h has the verified package, and since when.
	done(ctx context.Context, e *env, h *netlab.Host) (time.Time, bool, error)
	// file is where the package's file ends up on client h.
	file(e *env, h *netlab.Host) string
	// peers describes, after the run, where the clients' bytes came from
	// (optional, for the notes); it may return nil.
	peers(ctx context.Context, e *env) map[string]map[string]int64
	// close stops what the system runs in this process (lab processes are
	// stopped by the lab).
	close()
}

// firstByter is a system that can tell when each client's first payload
// arrived (optional).
type firstByter interface {
	firstBytes(t0 time.Time) map[string]float64
}

// diagnoser is a system that can describe a client that is not done
// (optional, for the error of a run that ran out of time).
type diagnoser interface {
	diagnose(h *netlab.Host) string
}

// env is what a system gets to work with.
type env struct {
	cfg  Config
	lab  *netlab.Lab
	pkg  *pkgFile
	dir  string // the system's own folder in the run
	log  *slog.Logger
	bins binaries
}

type binaries struct{ service, tracker string }

// pkgFile is the package to distribute: one folder with one file.
type pkgFile struct {
	ID     string // package ID, also the folder name
	Dir    string // the folder
	Name   string // the file's name within Dir
	Size   int64
	SHA256 string
	// Tree is set for a package of many files (the delta scenario): the
	// package is the folder Path() (Name is the package ID) and Files holds
	// each file's SHA-256 by slash-separated path.
	Tree  bool
	Files map[string]string
}

// content is the folder that holds the package's files.
func (p *pkgFile) content() string {
	if p.Tree {
		return p.Path()
	}
	return p.Dir
}

// inContent is the path, within a copy of content(), that verify checks.
func (p *pkgFile) inContent() string {
	if p.Tree {
		return ""
	}
	return p.Name
}

// verify checks a copy of the package: the file, or every file of the tree.
func (p *pkgFile) verify(path string) error {
	if !p.Tree {
		sum, err := fileSHA256(path)
		if err != nil {
			return err
		}
		if sum != p.SHA256 {
			return fmt.Errorf("sha256 %s, want %s", sum, p.SHA256)
		}
		return nil
	}
	for _, rel := range sortedKeys(p.Files) {
		sum, err := fileSHA256(filepath.Join(path, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		if sum != p.Files[rel] {
			return fmt.Errorf("%s: sha256 %s, want %s", rel, sum, p.Files[rel])
		}
	}
	return nil
}

func (p *pkgFile) Path() string { return filepath.Join(p.Dir, p.Name) }

// payloadName is the name of the package's one file.
const payloadName = "payload.bin"

// makePackage writes size pseudo-random (fixed seed) bytes into dir/id/name.
func makePackage(dir, id string, size int64) (*pkgFile, error) {
	p := &pkgFile{ID: id, Dir: filepath.Join(dir, id), Name: payloadName, Size: size}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(p.Path())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{'s', 'm', 's', 't', 'o', 'r', 'r', 'e', 'n', 't'})
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rng, size); err != nil {
		return nil, err
	}
	p.SHA256 = hex.EncodeToString(h.Sum(nil))
	return p, f.Close()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// BoundSeconds is the physical bound: every byte must cross each branch's WAN
// link at least once.
func BoundSeconds(pkgBytes, wanRateBits int64) float64 {
	return float64(pkgBytes) * 8 / float64(wanRateBits)
}

// Run runs every configured system on a fresh lab of the same topology and
// returns the report. A system that fails is reported with its error; Run
// returns an error only if nothing could run (or ctx ended).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// Programs get absolute paths: they run in other working directories.
	workDir, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	runDir := filepath.Join(workDir, time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, err
	}
	failed := false
	defer func() { cleanRunDir(cfg, runDir, failed) }()
	var pkg *pkgFile
	if cfg.Delta {
		cfg.prev, pkg, err = makeVersions(filepath.Join(runDir, "src"), "LAB00001", cfg.PackageBytes)
	} else {
		pkg, err = makePackage(filepath.Join(runDir, "src"), "LAB00001", cfg.PackageBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: making the package: %w", err)
	}
	rep := newReport(cfg, pkg)
	for _, name := range cfg.Systems {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		res := runRepeated(ctx, cfg, name, pkg, runDir)
		failed = failed || !res.OK
		rep.Systems = append(rep.Systems, res)
	}
	return rep, ctx.Err()
}

// prepare checks the configuration and the machine, sweeps what killed runs
// left and fills in defaults.
func prepare(ctx context.Context, cfg Config) (Config, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := cfg.Topo.Validate(); err != nil {
		return cfg, err
	}
	if cfg.PackageBytes <= 0 {
		return cfg, errors.New("bench: package size must be positive")
	}
	if err := netlab.Check(); err != nil {
		return cfg, err
	}
	if removed, err := netlab.SweepStale(ctx); err != nil {
		cfg.Log.Warn("sweeping stale lab namespaces", "err", err)
	} else if len(removed) > 0 {
		cfg.Log.Info("removed stale lab namespaces", "names", removed)
	}
	if cfg.Timeout == 0 {
		bound := BoundSeconds(cfg.PackageBytes, cfg.Topo.SlowestRate())
		cfg.Timeout = max(time.Duration(8*bound*float64(time.Second)), 90*time.Second)
	}
	return cfg, nil
}

// cleanRunDir removes the run's folder, or after a failure only the package
// copies (the logs and configurations stay for a look); -keep keeps all.
func cleanRunDir(cfg Config, runDir string, failed bool) {
	switch {
	case failed && !cfg.Keep:
		_ = filepath.WalkDir(runDir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == payloadName {
				os.Remove(p)
			}
			return nil
		})
		cfg.Log.Info("a system failed: its logs are kept", "dir", runDir)
	case !cfg.Keep:
		os.RemoveAll(runDir)
	}
}

func newReport(cfg Config, pkg *pkgFile) *Report {
	return &Report{
		Generated:        time.Now().UTC(),
		Branches:         cfg.Topo.Branches,
		ClientsPerBranch: cfg.Topo.ClientsPerBranch,
		WANRateBits:      cfg.Topo.WANRateBits,
		WANRatesBits:     cfg.Topo.WANRates,
		WANDelay:         delayText(cfg.Topo.WANDelay),
		WANDelayMS:       float64(cfg.Topo.WANDelay) / float64(time.Millisecond),
		PackageBytes:     pkg.Size,
		Delta:            cfg.Delta,
		ServiceConfig:    cfg.ServiceConfig,
		Priority:         cfg.Priority,
		BoundSeconds:     BoundSeconds(pkg.Size, cfg.Topo.SlowestRate()),
	}
}

// runRepeated runs one system cfg.Repeat times and returns the median run.
func runRepeated(ctx context.Context, cfg Config, name string, pkg *pkgFile, runDir string) SystemResult {
	var runs []SystemResult
	for i := range max(cfg.Repeat, 1) {
		cfg.Log.Info("system: start", "system", name, "run", i+1)
		runs = append(runs, runSystem(ctx, cfg, name, pkg, filepath.Join(runDir, fmt.Sprintf("%s-%d", name, i+1))))
		if ctx.Err() != nil {
			break
		}
	}
	res := medianRun(runs)
	if res.Error != "" {
		cfg.Log.Error("system: failed", "system", name, "err", res.Error)
	} else {
		cfg.Log.Info("system: done", "system", name, "seconds", fmt.Sprintf("%.1f", res.TimeToAllS),
			"ratio", fmt.Sprintf("%.2f", res.RatioToBound))
	}
	return res
}

// medianRun picks the successful run with the median time (the first
// failure if none succeeded) and records every run's time in it.
func medianRun(runs []SystemResult) SystemResult {
	var ok []SystemResult
	for _, r := range runs {
		if r.OK {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return runs[0]
	}
	slices.SortFunc(ok, func(a, b SystemResult) int { return cmp.Compare(a.TimeToAllS, b.TimeToAllS) })
	m := ok[(len(ok)-1)/2]
	if len(runs) > 1 {
		for _, r := range runs {
			t := r.TimeToAllS
			if !r.OK {
				t = -1
			}
			m.RunsTimeToAllS = append(m.RunsTimeToAllS, t)
		}
	}
	return m
}

func delayText(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return fmt.Sprintf("%v one way per WAN link crossed (held in an NFQUEUE; no netem here)", d)
}

func newSystem(name string) (system, error) {
	switch name {
	case "http":
		return &httpSystem{}, nil
	case "transmission":
		return &transmissionSystem{}, nil
	case "smstorrent":
		return &smstorrentSystem{}, nil
	case "smstorrent-delta":
		return &deltaSystem{smstorrentSystem: &smstorrentSystem{}}, nil
	}
	return nil, fmt.Errorf("bench: unknown system %q (known: %v)", name, SystemNames)
}

// runSystem builds a fresh lab, runs one system on it and tears it down.
func runSystem(ctx context.Context, cfg Config, name string, pkg *pkgFile, dir string) (res SystemResult) {
	res = SystemResult{System: name, Label: Labels[name]}
	fail := func(err error) SystemResult {
		res.OK = false
		res.Error = err.Error()
		return res
	}
	sys, err := newSystem(name)
	if err != nil {
		return fail(err)
	}
	bins, err := findBinaries(cfg.BinDir, name)
	if err != nil {
		return fail(err)
	}
	lab, err := netlab.Build(ctx, cfg.Topo, dir)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err := lab.Close(); err != nil {
			cfg.Log.Warn("lab teardown", "err", err)
			if res.Error == "" {
				res.Error = "teardown: " + err.Error()
			}
		}
	}()
	defer sys.close()
	e := &env{cfg: cfg, lab: lab, pkg: pkg, dir: dir, log: cfg.Log.With("system", name), bins: bins}
	if err := setupSystem(ctx, e, sys); err != nil {
		return fail(err)
	}
	if err := measure(ctx, e, sys, &res); err != nil {
		return fail(err)
	}
	res.OK = true
	return res
}

// measure starts the distribution, injects the faults, waits for every
// client, fills res with the figures (also when the time limit ends the
// run) and checks every client's copy.
func measure(ctx context.Context, e *env, sys system, res *SystemResult) (err error) {
	lab, cfg, pkg := e.lab, e.cfg, e.pkg
	before, err := lab.Counters(ctx)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cpu0 := lab.CPU()
	t0 := time.Now()
	if err := sys.start(runCtx, e); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if cfg.Faults != nil {
		faultsDone := injectFaults(runCtx, e, sys, cfg.Faults, t0)
		defer func() {
			notes, ferr := faultsDone()
			res.Faults = notes
			if ferr != nil && err == nil {
				err = ferr
			}
		}()
	}
	doneAt, werr := waitAll(ctx, runCtx, e, sys, t0)
	cpu := lab.CPU().Sub(cpu0)
	after, err := lab.Counters(ctx)
	if err != nil {
		return errors.Join(werr, err)
	}
	last := t0
	for _, at := range doneAt {
		if at.After(last) {
			last = at
		}
	}
	if werr != nil {
		// Keep what was measured up to the time limit, for the notes.
		last = time.Now()
	}
	res.fill(cfg, pkg.Size, last.Sub(t0), secondsSince(t0, doneAt), after.Sub(before), lab)
	res.CPU = cpuFigures(cpu, pkg.Size*int64(len(lab.Clients())))
	res.SourcesByClient = sys.peers(ctx, e)
	if fb, ok := sys.(firstByter); ok {
		res.setFirstBytes(fb.firstBytes(t0), lab)
	}
	if werr != nil {
		return werr
	}
	// Correctness: every client's file is the package, byte for byte.
	for _, h := range lab.Clients() {
		if err := pkg.verify(sys.file(e, h)); err != nil {
			return fmt.Errorf("%s: verifying: %w", h.Name, err)
		}
	}
	return nil
}

// setupSystem runs the system's setup under its own time limit.
func setupSystem(ctx context.Context, e *env, sys system) error {
	setupTime := 3 * time.Minute
	if e.cfg.Delta {
		setupTime = 8 * time.Minute // the first version goes everywhere first
	}
	setupCtx, cancel := context.WithTimeout(ctx, setupTime)
	defer cancel()
	if err := sys.setup(setupCtx, e); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	return nil
}

// waitAll polls every client until each has the package, and returns when
// each was done. It fails when runCtx ends first (the time limit: with the
// clients still missing) or a client's poll keeps failing for 30 s.
func waitAll(ctx, runCtx context.Context, e *env, sys system, t0 time.Time) (map[string]time.Time, error) {
	doneAt := map[string]time.Time{}
	errSince := map[string]time.Time{}
	clients := e.lab.Clients()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for len(doneAt) < len(clients) {
		select {
		case <-runCtx.Done():
			if ctx.Err() != nil {
				return doneAt, fmt.Errorf("interrupted: %w", ctx.Err())
			}
			var missing, why []string
			for _, h := range clients {
				if _, ok := doneAt[h.Name]; !ok {
					missing = append(missing, h.Name)
					if d, ok := sys.(diagnoser); ok {
						why = append(why, d.diagnose(h))
					}
				}
			}
			if len(why) > 0 {
				return doneAt, fmt.Errorf("not complete after %s: %v (%s)", e.cfg.Timeout, missing, strings.Join(why, "; "))
			}
			return doneAt, fmt.Errorf("not complete after %s: %v", e.cfg.Timeout, missing)
		case <-tick.C:
		}
		for _, h := range clients {
			if _, ok := doneAt[h.Name]; ok {
				continue
			}
			at, ok, err := sys.done(runCtx, e, h)
			if err != nil && ctx.Err() != nil {
				return doneAt, fmt.Errorf("interrupted: %w", ctx.Err())
			}
			if err != nil {
				// A poll can fail on a busy machine; only a lasting failure counts.
				if _, seen := errSince[h.Name]; !seen {
					errSince[h.Name] = time.Now()
					e.log.Warn("poll failed", "client", h.Name, "err", err)
				}
				if time.Since(errSince[h.Name]) < 30*time.Second {
					continue
				}
				return doneAt, fmt.Errorf("%s: %w", h.Name, err)
			}
			delete(errSince, h.Name)
			if ok {
				doneAt[h.Name] = at
				e.log.Info("client complete", "client", h.Name, "seconds", fmt.Sprintf("%.1f", at.Sub(t0).Seconds()))
			}
		}
	}
	return doneAt, nil
}

func secondsSince(t0 time.Time, m map[string]time.Time) map[string]float64 {
	r := map[string]float64{}
	for k, v := range m {
		r[k] = round(v.Sub(t0).Seconds(), 2)
	}
	return r
}

func findBinaries(binDir, system string) (binaries, error) {
	if system != "smstorrent" && system != "smstorrent-delta" {
		return binaries{}, nil
	}
	b := binaries{
		service: filepath.Join(binDir, "smstorrent-service"),
		tracker: filepath.Join(binDir, "smstorrent-tracker"),
	}
	for _, p := range []string{b.service, b.tracker} {
		if _, err := os.Stat(p); err != nil {
			return b, fmt.Errorf("%s not built (make build): %w", p, err)
		}
	}
	var err error
	if b.service, err = filepath.Abs(b.service); err != nil {
		return b, err
	}
	b.tracker, err = filepath.Abs(b.tracker)
	return b, err
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
