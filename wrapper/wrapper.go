// Package wrapper is P2PWrapper, the piece of SMSTorrent that SCCM runs.
//
// An SCCM program "msiexec.exe /i office.msi /qn" becomes
// "P2PWrapper.exe msiexec.exe /i office.msi /qn". The wrapper asks the local
// SMSTorrent service (through service/api only) whether the package is in
// its cache and complete. If not, it has the service fetch the package's
// torrent from the repository and start or continue the download, and exits
// with SCCM's retry code, so that SCCM runs the program again later (or, with
// --wait, waits). Once the package is complete it marks the package used,
// runs the command in the package's cache folder with the command line
// exactly as it was given, and exits with the command's exit code.
//
// Every step and failure goes to a CMTrace-format log (P2PWrapper.log in the
// service's log folder). docs/WRAPPER.md documents flags and exit codes.
package wrapper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/internal/secfs"
	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/internal/version"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/wrapper/cmtrace"
	"github.com/smstorrent/smstorrent/wrapper/winargs"
)

// Version is the wrapper's build version (internal/version, stamped by the
// Makefile from git describe).
var Version = version.Version

// LogName is the wrapper's log file name.
const LogName = "P2PWrapper.log"

// Component is the component name in log entries.
const Component = "P2PWrapper"

// Timeouts of calls to the service. Adding a package can take long: the
// service fetches and verifies the torrent from the repository first.
const (
	callTimeout = 30 * time.Second
	addTimeout  = 2 * time.Minute
)

// Invocation is how the wrapper was started. OSInvocation returns the real one.
type Invocation struct {
	// Args is the argument vector; Args[0] is the wrapper.
	Args []string
	// CommandLine is the raw command line (Windows). When set, the
	// arguments are split from it and the command receives its tail
	// unchanged; Args is ignored.
	CommandLine string
	// Dir is the current directory, which names the package.
	Dir string

	Stdin          io.Reader
	Stdout, Stderr io.Writer

	// Client talks to the service; nil means a client for Options.DataDir.
	Client *api.Client
}

type runner struct {
	inv    Invocation
	opts   Options
	client *api.Client
	log    *cmtrace.Logger
	id     string
	st     *api.Status // the service's status at start (nil if it did not answer)
}

// Run runs the wrapper and returns its exit code.
func Run(ctx context.Context, inv Invocation) int {
	if inv.Stdout == nil {
		inv.Stdout = io.Discard
	}
	if inv.Stderr == nil {
		inv.Stderr = io.Discard
	}
	r := &runner{inv: inv}
	defer func() {
		if r.log != nil {
			r.log.Close()
		}
	}()
	return r.run(ctx)
}

// parse fills r.opts from the invocation.
func (r *runner) parse() error {
	args := r.inv.Args
	var raw []winargs.Arg
	if r.inv.CommandLine != "" {
		raw = winargs.Split(r.inv.CommandLine)
		args = winargs.Values(raw)
	}
	opts, k, err := parseFlags(args)
	r.opts = opts
	if err != nil || opts.Help || opts.Version {
		return err
	}
	if k >= len(args) {
		return usageErr("no command given (P2PWrapper [flags] <command> [arguments...])")
	}
	r.opts.Command = args[k:]
	if r.inv.CommandLine != "" {
		// The command gets the rest of the line as typed; split it the way
		// the command's own runtime will (its first element by the
		// program-name rule).
		r.opts.RawCommand = winargs.Tail(r.inv.CommandLine, raw, k)
		r.opts.Command = winargs.Values(winargs.Split(r.opts.RawCommand))
	}
	return nil
}

func (r *runner) run(ctx context.Context) int {
	err := r.parse()
	if err == nil && r.opts.Help {
		fmt.Fprint(r.inv.Stdout, Usage)
		return 0
	}
	if err == nil && r.opts.Version {
		fmt.Fprintf(r.inv.Stdout, "P2PWrapper %s\n", Version)
		return 0
	}
	r.client = r.inv.Client
	if r.client == nil {
		r.client = &api.Client{DataDir: r.opts.DataDir}
	}
	if err == nil {
		r.id = r.opts.Package
		if r.id == "" {
			r.id, err = PackageIDFromDir(r.inv.Dir)
		}
	}
	if err != nil {
		r.openLog(nil)
		return r.fail(FailUsage, "%s; see P2PWrapper --help", strings.TrimPrefix(err.Error(), ErrUsage.Error()+": "))
	}

	sctx, cancel := context.WithTimeout(ctx, callTimeout)
	st, stErr := r.client.Status(sctx)
	cancel()
	if stErr != nil {
		st = nil
	}
	r.st = st
	r.openLog(st)
	r.log.Infof("version %s: package %s, command %s, directory %s", Version, r.id, r.commandText(), r.inv.Dir)
	if stErr != nil {
		return r.apiFail("asking the service for its status", stErr)
	}

	jctx, cancel := context.WithTimeout(ctx, callTimeout)
	job, err := r.client.Job(jctx, r.id)
	cancel()
	switch {
	case api.IsNotFound(err):
		job = nil
	case err != nil:
		return r.apiFail(fmt.Sprintf("asking the service about package %s", r.id), err)
	}
	job, code, done := r.startOrContinue(ctx, job)
	if done {
		return code
	}
	if code, done := r.decideVersion(job); done {
		return code
	}
	if job.State == api.StateTransferred {
		return r.runCommand(ctx, job)
	}
	if r.opts.Wait == 0 {
		r.log.Infof("package %s is not complete yet (%s): exiting with the retry code %d so that SCCM runs the program again later",
			r.id, describe(job), r.opts.RetryCode)
		return r.opts.RetryCode
	}
	job, code, done = r.wait(ctx, job)
	if done {
		return code
	}
	return r.runCommand(ctx, job)
}

// startOrContinue has the service start or continue the download: Add
// fetches the torrent if the service lacks it, resumes a paused job, retries
// one in error and raises the priority if asked. It returns the job, or an
// exit code with done set.
func (r *runner) startOrContinue(ctx context.Context, prev *api.Job) (_ *api.Job, code int, done bool) {
	switch {
	case prev != nil && prev.State == api.StateTransferred && r.opts.PinVersion != "":
		r.log.Infof("package %s%s version %s is in the cache; the program pins version %s", r.id, r.nameText(prev), dash(prev.Version), r.opts.PinVersion)
	case prev != nil && prev.State == api.StateTransferred:
		r.log.Infof("package %s%s version %s is in the cache; asking the service which version is current", r.id, r.nameText(prev), dash(prev.Version))
	case prev == nil || prev.State == api.StateCancelled:
		r.log.Infof("package %s is not in the cache: the service fetches its torrent from the repository and downloads it (priority %s)", r.id, r.opts.Priority)
	case prev.State == api.StateError:
		r.log.Warnf("the download of package %s is in error: %s; asking the service to retry", r.id, prev.Error)
	case prev.State == api.StateSuspended:
		r.log.Infof("the download of package %s is paused; asking the service to resume it", r.id)
	default:
		r.log.Infof("package %s is downloading: %s", r.id, describe(prev))
	}
	actx, cancel := context.WithTimeout(ctx, addTimeout)
	job, err := r.client.Add(actx, api.AddRequest{PackageID: r.id, Priority: r.opts.Priority, Version: r.opts.PinVersion})
	cancel()
	if err != nil {
		if !(api.IsRepository(err) && r.opts.Wait > 0) {
			return nil, r.apiFail(fmt.Sprintf("asking the service to download package %s", r.id), err), true
		}
		// Waiting: the service keeps the job and retries the repository.
		r.log.Warnf("the repository could not deliver package %s yet: %v", r.id, err)
		jctx, cancel := context.WithTimeout(ctx, callTimeout)
		job, err = r.client.Job(jctx, r.id)
		cancel()
		if err != nil {
			return nil, r.apiFail(fmt.Sprintf("asking the service about package %s", r.id), err), true
		}
	}
	if r.opts.Wait > 0 {
		return job, 0, false
	}
	switch {
	case prev != nil && prev.State == api.StateError:
		return nil, r.fail(FailDownload, "package %s could not be downloaded: %s (the service retries it)", r.id, prev.Error), true
	case job.State == api.StateError && job.ErrorCode == api.ErrorSignature:
		return nil, r.fail(FailSignature, "package %s was refused: %s", r.id, job.Error), true
	case job.State == api.StateError && job.ErrorCode == api.ErrorNotFound:
		return nil, r.fail(FailUnknownPackage, "package %s is not published: %s", r.id, job.Error), true
	case job.State == api.StateError:
		return nil, r.fail(FailDownload, "package %s could not be downloaded: %s", r.id, job.Error), true
	case job.State == api.StateTransientError && job.ErrorCode == api.ErrorRepository:
		// No torrent yet: the repository is what fails.
		return nil, r.fail(FailRepository, "the repository could not deliver the torrent of package %s yet: %s (the service keeps trying)", r.id, job.Error), true
	case job.State == api.StateTransientError:
		r.log.Warnf("package %s: %s (the service retries by itself)", r.id, job.Error)
	}
	return job, 0, false
}

// decideVersion logs which version runs and why, from what the service
// learnt from the repository (job.Check), and stops the run when the
// cached version may not run: the repository could not say which version
// is current and --if-repository-down is retry.
func (r *runner) decideVersion(job *api.Job) (code int, done bool) {
	c := job.Check
	name := r.nameText(job)
	switch {
	case c == nil:
		return 0, false
	case r.opts.PinVersion != "" && c.Replaced != "" && job.State == api.StateTransferred:
		r.log.Infof("version decision: package %s%s is pinned to version %s, which is in the cache (the service switched from %s)", r.id, name, r.opts.PinVersion, c.Replaced)
	case r.opts.PinVersion != "" && job.State == api.StateTransferred:
		r.log.Infof("version decision: package %s%s is pinned to version %s, which is in the cache", r.id, name, r.opts.PinVersion)
	case r.opts.PinVersion != "":
		r.log.Infof("version decision: package %s%s is pinned to version %s, which the service is fetching", r.id, name, r.opts.PinVersion)
	case c.Error != "" && job.State == api.StateTransferred && r.opts.IfRepositoryDown == Retry:
		r.log.Warnf("version decision: the repository could not say which version of %s is current (%s); the cached version %s does not run because --if-repository-down=retry: exiting with the retry code %d",
			r.id, c.Error, dash(job.Version), r.opts.RetryCode)
		return r.opts.RetryCode, true
	case c.Error != "" && job.State == api.StateTransferred:
		r.log.Warnf("version decision: the repository could not say which version of %s is current (%s); running the cached version %s (--if-repository-down=run-cached, the default)",
			r.id, c.Error, dash(job.Version))
	case c.Error != "":
		r.log.Warnf("version decision: the repository could not say which version of %s is current (%s); the cached version %s is not complete", r.id, c.Error, dash(job.Version))
	case c.Replaced != "":
		r.log.Infof("version decision: version %s of package %s%s is current in the repository and the cache held %s: the service fetches %s, the older version never runs",
			c.Current, r.id, name, c.Replaced, c.Current)
	default:
		r.log.Infof("version decision: version %s of package %s%s is the current version", dash(c.Current), r.id, name)
	}
	return 0, false
}

// nameText is " (display name)" or "".
func (r *runner) nameText(job *api.Job) string {
	if job == nil || job.Name == "" {
		return ""
	}
	return " (" + job.Name + ")"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// wait follows the job until it is complete, fails, or --wait runs out.
// Progress comes from the service's event stream, with a slow poll as a
// safety net for missed events.
func (r *runner) wait(ctx context.Context, job *api.Job) (_ *api.Job, code int, done bool) {
	r.log.Infof("waiting up to %s for package %s", r.opts.Wait, r.id)
	wctx, cancel := context.WithTimeout(ctx, r.opts.Wait)
	updates := make(chan api.Job, 64)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() { r.watchJob(wctx, updates) })
	poll := time.NewTicker(2 * time.Second)
	defer poll.Stop()
	p := &progress{w: r.inv.Stdout}
	p.show(job)
	warned := false
	for {
		var j *api.Job
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				r.log.Warnf("interrupted while waiting for package %s (%s): exiting with the retry code %d", r.id, describe(job), r.opts.RetryCode)
			} else {
				r.log.Warnf("package %s is still not complete after waiting %s (%s): exiting with the retry code %d so that SCCM runs the program again later",
					r.id, r.opts.Wait, describe(job), r.opts.RetryCode)
			}
			return nil, r.opts.RetryCode, true
		case u := <-updates:
			j = &u
		case <-poll.C:
			var code int
			if j, code = r.pollJob(wctx, &warned); code != 0 {
				return nil, code, true
			}
			if j == nil {
				continue
			}
		}
		job = j
		p.show(job)
		if full, code, done, settled := r.settled(ctx, job); settled {
			return full, code, done
		}
	}
}

// watchJob sends the job's updates from the service's event stream to
// updates until ctx ends; when updates is full, an update is dropped (the
// poll catches up).
func (r *runner) watchJob(ctx context.Context, updates chan<- api.Job) {
	r.client.Watch(ctx, func(ev api.Event) {
		var js []api.Job
		switch ev.Type {
		case api.EventSnapshot:
			js = ev.Jobs
		case api.EventJob, api.EventJobTransferred, api.EventJobError:
			if ev.Job != nil {
				js = []api.Job{*ev.Job}
			}
		}
		for _, j := range js {
			if j.ID == r.id {
				select {
				case updates <- j:
				default:
				}
			}
		}
	})
}

// pollJob asks the service for the job: the job, or nil to keep waiting
// (a failed call is logged once, in *warned), or a non-zero exit code when
// the job is gone.
func (r *runner) pollJob(ctx context.Context, warned *bool) (*api.Job, int) {
	pctx, cancel := context.WithTimeout(ctx, callTimeout)
	j, err := r.client.Job(pctx, r.id)
	cancel()
	switch {
	case err == nil:
		return j, 0
	case ctx.Err() != nil:
		return nil, 0
	case api.IsNotFound(err):
		return nil, r.fail(FailDownload, "the download of package %s was removed from the service while waiting", r.id)
	}
	if !*warned {
		r.log.Warnf("while waiting for package %s: %v (still waiting)", r.id, err)
		*warned = true
	}
	return nil, 0
}

// settled reports whether the wait ends with job's state, and how: the
// whole job when it is transferred, or the exit code (done) when it failed.
func (r *runner) settled(ctx context.Context, job *api.Job) (full *api.Job, code int, done, settled bool) {
	switch job.State {
	case api.StateTransferred:
		// Events may carry a trimmed job: fetch the whole one.
		fctx, cancel := context.WithTimeout(ctx, callTimeout)
		full, err := r.client.Job(fctx, r.id)
		cancel()
		if err != nil {
			return nil, r.apiFail(fmt.Sprintf("asking the service about package %s", r.id), err), true, true
		}
		return full, 0, false, true
	case api.StateError:
		return nil, r.fail(FailDownload, "the download of package %s failed: %s", r.id, job.Error), true, true
	case api.StateCancelled:
		return nil, r.fail(FailDownload, "the download of package %s was cancelled on this PC", r.id), true, true
	}
	return nil, 0, false, false
}

// runCommand checks the package folder, runs the command in it and
// returns its exit code.
func (r *runner) runCommand(ctx context.Context, job *api.Job) int {
	dir := job.Path
	if st, err := os.Stat(dir); dir == "" || err != nil || !st.IsDir() {
		return r.fail(FailServiceError, "the service says package %s is complete, but its folder %q is not there", r.id, dir)
	}
	if code, ok := r.checkFolder(ctx, job); !ok {
		return code
	}
	mctx, cancel := context.WithTimeout(ctx, callTimeout)
	_, err := r.client.MarkUsed(mctx, r.id)
	cancel()
	if err != nil {
		r.log.Warnf("could not mark package %s as used, so it may stop being seeded early: %v", r.id, err)
	}
	path, err := resolveCommand(r.opts.Command[0], dir)
	if err != nil {
		return r.fail(FailCommand, "cannot run %q for package %s: %v", r.opts.Command[0], r.id, err)
	}
	cmd := &exec.Cmd{
		Path:   path,
		Args:   r.opts.Command,
		Dir:    dir,
		Stdin:  r.inv.Stdin,
		Stdout: r.inv.Stdout,
		Stderr: r.inv.Stderr,
	}
	setRawCommandLine(cmd, r.opts.RawCommand)
	r.log.Infof("package %s%s version %s is complete in %s: running %s", r.id, r.nameText(job), dash(job.Version), dir, r.commandText())
	// Ctrl-C reaches the command too; the wrapper stays to report its exit code.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r.fail(FailCommand, "cannot start %s for package %s: %v", path, r.id, err)
	}
	err = cmd.Wait()
	code := exitCode(cmd.ProcessState)
	if cmd.ProcessState == nil {
		return r.fail(FailCommand, "running %s for package %s: %v", path, r.id, err)
	}
	took := time.Since(start).Round(time.Millisecond)
	if code == 0 {
		r.log.Infof("the command exited with code 0 after %s", took)
	} else {
		r.log.Warnf("the command exited with code %d after %s; P2PWrapper exits with the same code", code, took)
	}
	return code
}

// checkFolder makes sure that what is about to run as SYSTEM is what the
// publisher signed: the folder is the package's own folder in the
// service's cache, no ordinary user could have written in it, and the
// service confirms (re-hashing) that it holds exactly the torrent's files.
func (r *runner) checkFolder(ctx context.Context, job *api.Job) (code int, ok bool) {
	if r.st == nil || r.st.CacheDir == "" {
		return r.fail(FailServiceError, "the service did not say where its cache is, so the folder %q of package %s cannot be checked", job.Path, r.id), false
	}
	real, err := inCache(job.Path, r.st.CacheDir)
	if err != nil {
		return r.fail(FailModified, "the folder %q the service gave for package %s is not a package folder in the cache %q (%v); nothing was run", job.Path, r.id, r.st.CacheDir, err), false
	}
	if err := secfs.CheckTrusted(real); err != nil {
		return r.fail(FailModified, "the folder of package %s is not protected: %v; nothing was run", r.id, err), false
	}
	vctx, cancel := context.WithTimeout(ctx, verifyTimeout(job.BytesTotal))
	start := time.Now()
	_, err = r.client.Verify(vctx, r.id)
	cancel()
	switch {
	case api.IsIntegrity(err):
		return r.fail(FailModified, "package %s was changed in the cache since it was downloaded: %v; nothing was run", r.id, err), false
	case err != nil:
		return r.apiFail(fmt.Sprintf("having the service verify package %s", r.id), err), false
	}
	r.log.Infof("package %s verified: exactly its signed files (%s, checked in %s)", r.id, units.Bytes(job.BytesTotal), time.Since(start).Round(time.Millisecond))
	return 0, true
}

// inCache returns dir with symbolic links resolved if it is a package
// folder directly in the cache (the package ID, or the folder of one of its
// versions), and an error otherwise.
func inCache(dir, cache string) (string, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	c, err := filepath.EvalSymlinks(cache)
	if err != nil {
		return "", err
	}
	parent, name := filepath.Split(real)
	if !samePath(filepath.Clean(parent), c) || name == "" || strings.HasPrefix(name, ".") {
		return "", errors.New("not directly in the cache")
	}
	return real, nil
}

// verifyTimeout allows for reading the package from a slow disk (20 MB/s).
func verifyTimeout(size int64) time.Duration {
	return callTimeout + time.Duration(size/20e6)*time.Second
}

// resolveCommand finds the program to run, never in a place an ordinary
// user could write: a name with a folder part is a file of the package
// (it may not leave the package folder); an absolute path is taken as the
// SCCM program gives it; a bare name is a file of the package folder, else
// of the system folders (systemDirs). PATH is not searched: on many PCs it
// holds folders that users may write.
func resolveCommand(name, dir string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("empty command")
	case filepath.IsAbs(name):
		return exec.LookPath(name)
	case strings.ContainsAny(name, "/"+string(filepath.Separator)) || filepath.VolumeName(name) != "":
		if !filepath.IsLocal(name) {
			return "", fmt.Errorf("%q leaves the package folder", name)
		}
		return exec.LookPath(filepath.Join(dir, name))
	}
	if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
		return p, nil
	}
	for _, d := range systemDirs() {
		if p, err := exec.LookPath(filepath.Join(d, name)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found in the package folder or in the system folders %s (PATH is not searched: give the full path of other programs)%s",
		strings.Join(systemDirs(), string(filepath.ListSeparator)), notExecutableHint)
}

// apiFail turns an error from the service into a one-line message, a log
// entry and an exit code.
func (r *runner) apiFail(doing string, err error) int {
	var vm *api.VersionMismatchError
	switch {
	case api.IsNotService(err):
		return r.fail(FailServiceDown, "refusing to use the program that answers in the service's place (%s): %v", doing, err)
	case api.IsServiceDown(err) || errors.Is(err, context.DeadlineExceeded):
		return r.fail(FailServiceDown, "the SMSTorrent service is not running or not answering (%s: %v); start it (smstorrent-service start)", doing, err)
	case errors.Is(err, api.ErrNoToken) || api.IsUnauthorized(err) || api.IsForbidden(err):
		return r.fail(FailAccessDenied, "not allowed to control the SMSTorrent service (%s: %v); run P2PWrapper as SYSTEM or an administrator, as SCCM does", doing, err)
	case api.IsSignature(err):
		return r.fail(FailSignature, "the torrent of package %s was refused (%s: %v); publish it with a key in the service's trusted_keys", r.id, doing, err)
	case api.IsRepository(err):
		return r.fail(FailRepository, "the package repository could not deliver package %s (%s: %v); check the service's repository URL and the network", r.id, doing, err)
	case api.IsNotFound(err):
		return r.fail(FailUnknownPackage, "the repository has no package %s (%s: %v); check the package ID and that the package is published", r.id, doing, err)
	case errors.As(err, &vm):
		return r.fail(FailServiceError, "%s: %v", doing, err)
	case errors.Is(err, context.Canceled):
		return r.fail(FailServiceError, "%s: interrupted", doing)
	default:
		return r.fail(FailServiceError, "%s: %v", doing, err)
	}
}

// fail logs a failure as an error and returns its exit code, or the retry
// code if --map-errors-to-retry names it.
func (r *runner) fail(f Failure, format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	code := f.Code
	if r.opts.MapToRetry[f.Name] {
		code = r.opts.RetryCode
		msg += fmt.Sprintf(" [%s; exit code %d, the retry code, by --map-errors-to-retry]", f.Name, code)
	} else {
		msg += fmt.Sprintf(" [%s; exit code %d]", f.Name, code)
	}
	r.log.Errorf("%s", msg)
	return code
}

// openLog opens the CMTrace log: --log, else the service's log folder, else
// <data dir>/logs, else the temporary folder; if none can be written, the
// messages still go to stderr.
func (r *runner) openLog(st *api.Status) {
	lopts := cmtrace.Options{Component: Component, Mirror: &prefixWriter{w: r.inv.Stderr, prefix: "P2PWrapper: "}}
	var paths []string
	if l := r.opts.Log; l != "" {
		if fi, err := os.Stat(l); (err == nil && fi.IsDir()) || strings.HasSuffix(l, "/") || strings.HasSuffix(l, `\`) {
			l = filepath.Join(l, LogName)
		}
		paths = append(paths, l)
	} else {
		if st != nil && st.LogDir != "" {
			paths = append(paths, filepath.Join(st.LogDir, LogName))
		}
		dataDir := r.opts.DataDir
		if dataDir == "" {
			dataDir = api.DefaultDataDir()
		}
		paths = append(paths, filepath.Join(dataDir, "logs", LogName))
	}
	paths = append(paths, filepath.Join(os.TempDir(), LogName))
	var errs []error
	for _, p := range paths {
		l, err := cmtrace.Open(p, lopts)
		if err == nil {
			r.log = l
			if len(errs) > 0 {
				l.Warnf("logging to %s: %v", p, errors.Join(errs...))
			}
			return
		}
		errs = append(errs, err)
	}
	r.log = cmtrace.Discard(lopts)
	r.log.Warnf("no log file: %v", errors.Join(errs...))
}

// commandText is the command line for the log.
func (r *runner) commandText() string {
	if r.opts.RawCommand != "" {
		return r.opts.RawCommand
	}
	q := make([]string, len(r.opts.Command))
	for i, a := range r.opts.Command {
		q[i] = winargs.Quote(a)
	}
	return strings.Join(q, " ")
}

// prefixWriter prefixes every write (one log line) with a fixed string.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
