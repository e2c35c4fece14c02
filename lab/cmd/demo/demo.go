package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/lab/netlab"
	"github.com/smstorrent/smstorrent/service/api"
)

const (
	pkgID      = "PS100012"
	originIP   = "127.0.0.2" // the data centre: tracker, repository and origin server
	adminToken = "demo-admin-token"
	// sccmRetryEvery stands for SCCM's retry interval (10 minutes by default).
	sccmRetryEvery = 4 * time.Second
	// retryCodeWindows is SCCM's retry code, P2PWrapper's default.
	retryCodeWindows = 1618
)

// retryCode is the retry code as the demo sees it: outside Windows only the
// low 8 bits of an exit code reach the parent (1618 becomes 82).
func retryCode() int {
	if runtime.GOOS == "windows" {
		return retryCodeWindows
	}
	return retryCodeWindows & 0xff
}

type options struct {
	binDir   string
	sizeMiB  int
	originUp string
	keep     bool
	noWindow bool
}

// node is one SMSTorrent service: the origin or a branch PC.
type node struct {
	name       string
	dataDir    string
	cfgPath    string
	proc       *proc
	client     *api.Client
	installDir string
	runs       []int // the wrapper's exit codes, in order
	firstRun   time.Time
	installed  time.Time
}

type demo struct {
	o       options
	root    string
	logDir  string
	bins    map[string]string
	ps      procs
	started time.Time
	out     io.Writer

	trackerURL string
	keyFile    string
	pubKey     string
	torrent    string
	dpDir      string
	pkgSize    int64
	tracker    *proc
	origin     *node
	branches   []*node
	window     *proc
}

func newDemo(o options, out io.Writer) (*demo, error) {
	root, err := os.MkdirTemp("", "smstorrent-demo-")
	if err != nil {
		return nil, err
	}
	d := &demo{o: o, root: root, logDir: filepath.Join(root, "logs"), out: out, started: time.Now()}
	if err := os.MkdirAll(d.logDir, 0o755); err != nil {
		return nil, err
	}
	return d, nil
}

// close stops every process the demo started and removes its folder.
func (d *demo) close() {
	d.ps.stopAll()
	if d.o.keep {
		fmt.Fprintf(d.out, "\nThe demo's folder is kept: %s\n", d.root)
		return
	}
	if err := os.RemoveAll(d.root); err != nil {
		fmt.Fprintf(d.out, "\nCould not remove the demo's folder %s: %v\n", d.root, err)
		return
	}
	fmt.Fprintf(d.out, "\nRemoved the demo's folder %s (with the logs and configurations above); run with --keep to keep it.\n", d.root)
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "%7s  %s\n", fmt.Sprintf("+%.1fs", time.Since(d.started).Seconds()), fmt.Sprintf(format, args...))
}

func (d *demo) step(n int, format string, args ...any) {
	fmt.Fprintf(d.out, "\n[%d/8] %s\n", n, fmt.Sprintf(format, args...))
}

func (d *demo) run(ctx context.Context) error {
	fmt.Fprintf(d.out, "SMSTorrent demo: a tracker with its repository, an origin server and two branch-office PCs\n")
	fmt.Fprintf(d.out, "on this machine (loopback only), and SCCM running P2PWrapper on both branches.\n")
	fmt.Fprintf(d.out, "Working folder: %s (logs in %s)\n", d.root, d.logDir)
	if !d.o.keep {
		fmt.Fprintf(d.out, "The folder is removed at the end; --keep keeps it.\n")
	}

	steps := []func(context.Context) error{
		d.findBinaries, d.startTracker, d.publishPackage, d.startOrigin, d.startBranches,
		d.firstBranch, d.secondBranch, d.summary,
	}
	for _, s := range steps {
		if err := s(ctx); err != nil {
			if ctx.Err() != nil {
				fmt.Fprintf(d.out, "\nInterrupted: stopping everything the demo started.\n")
				return errors.New("interrupted")
			}
			return err
		}
	}
	return d.waitForWindow(ctx)
}

// findBinaries uses ./bin, building what is missing.
func (d *demo) findBinaries(ctx context.Context) error {
	d.step(1, "Programs")
	d.bins = map[string]string{}
	pkgs := map[string]string{
		"smstorrent-tracker": "github.com/smstorrent/smstorrent/tracker/cmd/smstorrent-tracker",
		"smstorrent-service": "github.com/smstorrent/smstorrent/service/cmd/smstorrent-service",
		"P2PWrapper":         "github.com/smstorrent/smstorrent/wrapper/cmd/P2PWrapper",
	}
	for _, name := range []string{"smstorrent-tracker", "smstorrent-service", "P2PWrapper"} {
		exe := name
		if runtime.GOOS == "windows" {
			exe += ".exe"
		}
		p, err := filepath.Abs(filepath.Join(d.o.binDir, exe))
		if err != nil {
			return err
		}
		if _, err := os.Stat(p); err != nil {
			p = filepath.Join(d.root, "bin", exe)
			d.say("building %s (not in %s)", name, d.o.binDir)
			cmd := exec.CommandContext(ctx, "go", "build", "-o", p, pkgs[name])
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("building %s: %v\n%s", name, err, out)
			}
		}
		d.bins[name] = p
		d.say("%-20s %s", name, p)
	}
	if w, err := filepath.Abs(filepath.Join(d.o.binDir, "smstorrent-window")); err == nil {
		if _, err := os.Stat(w); err == nil {
			d.bins["smstorrent-window"] = w
		}
	}
	return nil
}

// tool runs a short command and returns its output.
func (d *demo) tool(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.bins[name], args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// poll calls fn until it reports done, the process dies, or the timeout.
func poll(ctx context.Context, timeout time.Duration, p *proc, what string, fn func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := fn()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%s: %s stopped (%v); its log ends with:\n%s", what, p.name, p.err, p.tail(15))
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("%s: gave up after %s (last error: %v)", what, timeout, last)
			if p != nil {
				msg += "; " + p.name + "'s log ends with:\n" + p.tail(15)
			}
			return errors.New(msg)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond): // polling interval
		}
	}
}

func (d *demo) startTracker(ctx context.Context) error {
	d.step(2, "Tracker and package repository")
	base := filepath.Join(d.root, "keys", "publisher")
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return err
	}
	if _, err := d.tool(ctx, "smstorrent-tracker", "keygen", "--out", base); err != nil {
		return err
	}
	d.keyFile = base + ".key"
	pub, err := os.ReadFile(base + ".pub")
	if err != nil {
		return fmt.Errorf("publisher key: %w", err)
	}
	d.pubKey = strings.TrimSpace(string(pub))
	d.say("publisher key pair %s.{key,pub}: %s", base, d.pubKey)

	// The tracker runs beside the origin server, as in a data centre; the
	// services count peers at the tracker's address as servers.
	port, err := freePort(originIP)
	if err != nil {
		return err
	}
	d.trackerURL = fmt.Sprintf("http://%s:%d", originIP, port)
	cfg := map[string]any{
		"listen":            fmt.Sprintf("%s:%d", originIP, port),
		"data_dir":          filepath.Join(d.root, "tracker"),
		"admin_token":       adminToken,
		"trusted_keys":      []string{d.pubKey},
		"allow_networks":    []string{"127.0.0.0/8"},
		"sites":             []map[string]any{{"name": "branch-office", "networks": []string{"127.0.0.1/32"}}},
		"origins":           map[string]any{"networks": []string{originIP + "/32"}},
		"announce_interval": "10s",
		"min_interval":      "1s",
	}
	cfgPath := filepath.Join(d.root, "tracker", "tracker.json")
	if err := netlab.WriteJSON(cfgPath, cfg); err != nil {
		return err
	}
	d.tracker, err = d.ps.start(d.logDir, "tracker", nil, d.bins["smstorrent-tracker"], "serve", "--config", cfgPath)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	err = poll(ctx, 30*time.Second, d.tracker, "starting the tracker", func() (bool, error) {
		resp, err := hc.Get(d.trackerURL + "/")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return true, nil
	})
	if err != nil {
		return err
	}
	d.say("tracker and repository on %s (pid %d); site \"branch-office\" = 127.0.0.1, origin server = %s", d.trackerURL, d.tracker.cmd.Process.Pid, originIP)
	return nil
}

// installScript is the sample package's installer: it shows where it runs
// and with which arguments, and "installs" by copying the MSI.
const installScript = `#!/bin/sh
# Sample installer of the SMSTorrent demo package.
dir=
for a in "$@"; do case "$a" in INSTALLDIR=*) dir="${a#INSTALLDIR=}";; esac; done
echo "install.sh: running in $(pwd)"
for a in "$@"; do echo "install.sh: argument [$a]"; done
[ -n "$dir" ] || { echo "install.sh: no INSTALLDIR=" >&2; exit 1603; }
mkdir -p "$dir" && cp office.msi "$dir/" || exit 1603
echo "install.sh: installed office.msi ($(wc -c < office.msi) bytes) into $dir"
`

const installCmd = "@echo off\r\nrem Sample installer of the SMSTorrent demo package (Windows).\r\nmsiexec.exe /i \"%~dp0office.msi\" /qn %*\r\n"

func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (d *demo) publishPackage(ctx context.Context) error {
	d.step(3, "Sample package %s: create, sign, publish", pkgID)
	src := filepath.Join(d.root, "source", pkgID)
	if err := os.MkdirAll(filepath.Join(src, "data"), 0o755); err != nil {
		return err
	}
	msi := int64(d.o.sizeMiB) << 20
	cab := int64(1 << 20)
	if msi > cab {
		msi -= cab
	}
	if err := writeRandom(filepath.Join(src, "office.msi"), msi); err != nil {
		return err
	}
	if err := writeRandom(filepath.Join(src, "data", "office1.cab"), cab); err != nil {
		return err
	}
	for name, body := range map[string]string{"install.sh": installScript, "install.cmd": installCmd} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	d.pkgSize = msi + cab + int64(len(installScript)+len(installCmd))
	d.say("package folder %s: office.msi, data/office1.cab, install.sh, install.cmd (%s)", src, units.Bytes(d.pkgSize))

	d.torrent = filepath.Join(d.root, pkgID+".torrent")
	if _, err := d.tool(ctx, "smstorrent-tracker", "create", "--id", pkgID, "--version", "1.0", "--source", src,
		"--key", d.keyFile, "--announce", d.trackerURL+"/announce", "-o", d.torrent); err != nil {
		return err
	}
	d.say("signed private torrent %s", d.torrent)
	if _, err := d.tool(ctx, "smstorrent-tracker", "publish", d.torrent, "--repository", d.trackerURL, "--token", adminToken); err != nil {
		return err
	}
	d.say("published: %s/api/v1/packages/%s/torrent", d.trackerURL, pkgID)

	// The SCCM distribution point share that programs are run from.
	d.dpDir = filepath.Join(d.root, "dp01", "SMSPKGD$", pkgID)
	if err := netlab.CopyTree(src, d.dpDir, false); err != nil {
		return err
	}
	d.say("SCCM distribution point share: %s", d.dpDir)
	return nil
}

// startService writes a node's configuration and starts its service.
func (d *demo) startService(ctx context.Context, name, listenHost, site string, extra map[string]any) (*node, error) {
	n := &node{name: name, dataDir: filepath.Join(d.root, name)}
	n.cfgPath = filepath.Join(n.dataDir, "config.json")
	n.installDir = filepath.Join(d.root, name+"-ProgramFiles", "Office")
	cfg := map[string]any{
		"data_dir":        n.dataDir,
		"api_listen":      "127.0.0.1:0",
		"listen_host":     listenHost,
		"listen_port":     0,
		"transports":      []string{"tcp"},
		"repository":      d.trackerURL,
		"site":            site,
		"trusted_keys":    []string{d.pubKey},
		"server_networks": []string{originIP + "/32"},
		"retry_min":       "1s",
		"retry_max":       "5s",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	if err := netlab.WriteJSON(n.cfgPath, cfg); err != nil {
		return nil, err
	}
	var err error
	n.proc, err = d.ps.start(d.logDir, name, nil, d.bins["smstorrent-service"], "run", "--config", n.cfgPath)
	if err != nil {
		return nil, err
	}
	n.client = &api.Client{DataDir: n.dataDir}
	err = poll(ctx, 60*time.Second, n.proc, "starting the "+name+" service", func() (bool, error) {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := n.client.Status(sctx)
		return err == nil, err
	})
	return n, err
}

func (d *demo) startOrigin(ctx context.Context) error {
	d.step(4, "Origin server (seeds the package; its WAN link is limited to %s)", d.o.originUp)
	// The origin already holds the package, as the server it was published from.
	if err := netlab.CopyTree(filepath.Join(d.root, "source", pkgID), filepath.Join(d.root, "origin", "cache", pkgID), false); err != nil {
		return err
	}
	n, err := d.startService(ctx, "origin", originIP, "datacenter", map[string]any{"limit_up": d.o.originUp})
	if err != nil {
		return err
	}
	d.origin = n
	tb, err := os.ReadFile(d.torrent)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = n.client.Add(actx, api.AddRequest{Torrent: tb, Priority: api.High, Assign: true})
	cancel()
	if err != nil {
		return fmt.Errorf("origin: adding the package: %w", err)
	}
	err = poll(ctx, 2*time.Minute, n.proc, "origin verifying the package", func() (bool, error) {
		j, err := n.client.Job(ctx, pkgID)
		return err == nil && j.State == api.StateTransferred, err
	})
	if err != nil {
		return err
	}
	d.say("origin service on %s (pid %d, data %s): package verified, seeding", originIP, n.proc.cmd.Process.Pid, n.dataDir)
	return nil
}

func (d *demo) startBranches(ctx context.Context) error {
	d.step(5, "Two branch-office PCs (services with their own data folders and ports)")
	for _, name := range []string{"branch-a", "branch-b"} {
		n, err := d.startService(ctx, name, "127.0.0.1", "branch-office", nil)
		if err != nil {
			return err
		}
		st, err := n.client.Status(ctx)
		if err != nil {
			return err
		}
		d.branches = append(d.branches, n)
		d.say("%s service (pid %d): API %s, BitTorrent port %d, data %s", name, n.proc.cmd.Process.Pid, readAddr(n.dataDir), st.ListenPort, n.dataDir)
	}
	d.openWindow(d.branches[1])
	return nil
}

func readAddr(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, api.AddressFile))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	addr, _, err := api.ParseAddressFile(b)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return addr
}

// sccmRun runs the SCCM program on a branch as SCCM does: P2PWrapper before
// the install command, from the distribution point share. The wrapper's
// output is shown indented.
func (d *demo) sccmRun(ctx context.Context, n *node, flags ...string) (int, error) {
	argv := append(append([]string{}, flags...), "sh", "install.sh", "INSTALLDIR="+n.installDir, "PROPERTY=a b")
	shown := append([]string{"P2PWrapper"}, argv...)
	for i, a := range shown {
		if strings.ContainsAny(a, " \"") {
			shown[i] = fmt.Sprintf("%q", a)
		}
	}
	d.say("%s: SCCM runs `%s` in %s", n.name, strings.Join(shown, " "), d.dpDir)
	cmd := exec.CommandContext(ctx, d.bins["P2PWrapper"], argv...)
	cmd.Dir = d.dpDir
	cmd.Env = append(os.Environ(), api.EnvDataDir+"="+n.dataDir)
	w := &indent{w: d.out, prefix: "           | "}
	cmd.Stdout, cmd.Stderr = w, w
	if n.firstRun.IsZero() {
		n.firstRun = time.Now()
	}
	err := cmd.Run()
	w.flush()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ctx.Err() != nil {
			return 0, fmt.Errorf("running P2PWrapper: %w", err)
		}
	}
	code := cmd.ProcessState.ExitCode()
	n.runs = append(n.runs, code)
	switch code {
	case retryCode():
		d.say("%s: exit code %d = the retry code (1618 on Windows): the download runs in the background, SCCM will run the program again", n.name, code)
	case 0:
		n.installed = time.Now()
		d.say("%s: exit code 0: installed", n.name)
	default:
		d.say("%s: exit code %d", n.name, code)
	}
	return code, nil
}

// progress prints a branch's job progress once.
func (d *demo) progress(ctx context.Context, n *node) (*api.Job, error) {
	j, err := n.client.Job(ctx, pkgID)
	if err != nil {
		return nil, err
	}
	d.say("%s: %-12s %5.1f%%  %s of %s  %s/s  from origin %s, from branch peers %s",
		n.name, j.State, 100*j.Progress(), units.Bytes(j.BytesDone), units.Bytes(j.BytesTotal), units.Bytes(j.DownRate),
		units.Bytes(j.DownloadedServer), units.Bytes(j.DownloadedSite))
	return j, nil
}

func (d *demo) firstBranch(ctx context.Context) error {
	n := d.branches[0]
	d.step(6, "%s: SCCM runs the program; the package is not there yet", n.name)
	code, err := d.sccmRun(ctx, n)
	if err != nil {
		return err
	}
	if code != retryCode() {
		return fmt.Errorf("%s: the first run should return the retry code %d, got %d", n.name, retryCode(), code)
	}
	d.say("SCCM retries every 10 minutes by default; the demo retries every %s and shows the download meanwhile", sccmRetryEvery)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		next := time.Now().Add(sccmRetryEvery)
		for time.Now().Before(next) {
			if _, err := d.progress(ctx, n); err != nil {
				d.say("%s: %v", n.name, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
		code, err := d.sccmRun(ctx, n)
		if err != nil {
			return err
		}
		switch {
		case code == 0:
			return d.checkInstalled(n)
		case code != retryCode():
			return fmt.Errorf("%s: P2PWrapper exited with %d; see %s", n.name, code, filepath.Join(n.dataDir, "logs", "P2PWrapper.log"))
		case time.Now().After(deadline):
			return fmt.Errorf("%s: the package did not arrive in 5 minutes; logs in %s", n.name, d.logDir)
		}
	}
}

func (d *demo) secondBranch(ctx context.Context) error {
	n := d.branches[1]
	d.step(7, "%s: SCCM runs the program; %s now seeds the package inside the branch", n.name, d.branches[0].name)
	code, err := d.sccmRun(ctx, n)
	if err != nil {
		return err
	}
	if code != retryCode() {
		return fmt.Errorf("%s: the first run should return the retry code %d, got %d", n.name, retryCode(), code)
	}
	d.say("the next SCCM run uses --wait: the wrapper waits for the download, showing progress, then installs")
	code, err = d.sccmRun(ctx, n, "--wait", "5m")
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("%s: P2PWrapper --wait exited with %d; see %s", n.name, code, filepath.Join(n.dataDir, "logs", "P2PWrapper.log"))
	}
	return d.checkInstalled(n)
}

// checkInstalled verifies what the install script did.
func (d *demo) checkInstalled(n *node) error {
	st, err := os.Stat(filepath.Join(n.installDir, "office.msi"))
	if err != nil {
		return fmt.Errorf("%s: the installer left no office.msi: %w", n.name, err)
	}
	d.say("%s: %s holds office.msi (%s); wrapper log: %s", n.name, n.installDir, units.Bytes(st.Size()), filepath.Join(n.dataDir, "logs", "P2PWrapper.log"))
	return nil
}

func (d *demo) openWindow(n *node) {
	w, ok := d.bins["smstorrent-window"]
	switch {
	case d.o.noWindow:
		return
	case os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" && runtime.GOOS == "linux":
		d.say("no display: not opening the window (headless)")
		return
	case !ok:
		d.say("no %s: not opening the window (make build builds it)", filepath.Join(d.o.binDir, "smstorrent-window"))
		return
	}
	p, err := d.ps.start(d.logDir, "window", nil, w, "--data-dir", n.dataDir)
	if err != nil {
		d.say("could not open the window: %v", err)
		return
	}
	d.window = p
	d.say("opened the SMSTorrent window for %s (pid %d)", n.name, p.cmd.Process.Pid)
}

func (d *demo) waitForWindow(ctx context.Context) error {
	if d.window == nil || d.window.exited() {
		return nil
	}
	fmt.Fprintf(d.out, "\nThe window stays open with the services running: close it or press Ctrl-C to end the demo.\n")
	select {
	case <-ctx.Done():
	case <-d.window.done:
	}
	return nil
}

// indent prefixes every line written to it.
type indent struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (i *indent) Write(p []byte) (int, error) {
	i.buf = append(i.buf, p...)
	for {
		k := strings.IndexByte(string(i.buf), '\n')
		if k < 0 {
			return len(p), nil
		}
		fmt.Fprintf(i.w, "%s%s\n", i.prefix, i.buf[:k])
		i.buf = i.buf[k+1:]
	}
}

func (i *indent) flush() {
	if len(i.buf) > 0 {
		fmt.Fprintf(i.w, "%s%s\n", i.prefix, i.buf)
		i.buf = nil
	}
}
