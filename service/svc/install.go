package svc

// The install step: what the Windows installer (packaging/windows/smstorrent.wxs)
// runs as deferred custom actions, as SYSTEM, after the service is registered
// and before it starts ("setup"), and after it is stopped at uninstall
// ("teardown"). It does what wixl cannot: it writes the configuration from the
// MSI's public properties, validating them so that a bad value fails the
// install instead of leaving a broken service; it creates the data folders with
// protected ACLs; it sets the service's failure actions; and it adds (and at
// uninstall removes) the Windows Firewall rules for the peer port. The
// platform parts are in install_windows.go and firewall_windows.go.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/internal/atomicfile"
	"github.com/smstorrent/smstorrent/internal/pkgid"
	"github.com/smstorrent/smstorrent/internal/version"
	"github.com/smstorrent/smstorrent/service/config"
)

// SetupProps are the installer's public properties as the setup step gets
// them: "" means "not given" (keep what the configuration says, or the
// default). The flag names are the property names in lower case.
type SetupProps struct {
	Repository string // REPOSITORY_URL
	TrustedKey string // TRUSTED_KEY: one or more "ed25519:..." keys, comma-separated
	Site       string // SITE
	CacheDir   string // CACHE_DIR
	CacheMax   string // CACHE_MAX: a size ("50GB") or 0
	LimitDown  string // LIMIT_DOWN: a rate ("2MB/s", "20Mbit/s") or 0
	LimitUp    string // LIMIT_UP
	Schedule   string // SCHEDULE: see ParseSchedule
	ListenPort string // LISTEN_PORT
	Firewall   string // FIREWALL: 1 (default) adds the rules, 0 leaves the firewall to group policy
}

// propFlags maps each property to its flag (and its SetupProps field).
func (p *SetupProps) flags(fs *flag.FlagSet) {
	fs.StringVar(&p.Repository, "repository_url", "", "REPOSITORY_URL: the package repository (smstorrent-tracker), http(s)://host:port")
	fs.StringVar(&p.TrustedKey, "trusted_key", "", "TRUSTED_KEY: publisher keys ed25519:..., comma-separated")
	fs.StringVar(&p.Site, "site", "", "SITE: this PC's site name (display)")
	fs.StringVar(&p.CacheDir, "cache_dir", "", "CACHE_DIR: the package cache folder (absolute)")
	fs.StringVar(&p.CacheMax, "cache_max", "", "CACHE_MAX: cache cap, e.g. 50GB; 0 for none")
	fs.StringVar(&p.LimitDown, "limit_down", "", "LIMIT_DOWN: download limit, e.g. 2MB/s or 20Mbit/s; 0 for none")
	fs.StringVar(&p.LimitUp, "limit_up", "", "LIMIT_UP: upload limit")
	fs.StringVar(&p.Schedule, "schedule", "", `SCHEDULE: "DAYS HH:MM-HH:MM DOWN UP[; ...]", e.g. "mon-fri 08:00-18:00 1MB/s 256KB/s"; "none" clears it`)
	fs.StringVar(&p.ListenPort, "listen_port", "", "LISTEN_PORT: the peer port (TCP and UDP)")
	fs.StringVar(&p.Firewall, "firewall", "", "FIREWALL: 1 adds the inbound rules (default), 0 does not")
}

// PropError is a refused installer property; its message names the property.
type PropError struct {
	Prop, Value, Msg string
}

func (e *PropError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Prop, e.Msg)
	}
	return fmt.Sprintf("%s=%q: %s", e.Prop, e.Value, e.Msg)
}

// fieldProps maps configuration fields to the property that sets them, so a
// validation error names what the admin typed.
var fieldProps = map[string]string{
	"repository": "REPOSITORY_URL", "trusted_keys": "TRUSTED_KEY", "site": "SITE",
	"cache_dir": "CACHE_DIR", "cache_max": "CACHE_MAX", "limit_down": "LIMIT_DOWN",
	"limit_up": "LIMIT_UP", "schedule": "SCHEDULE", "listen_port": "LISTEN_PORT",
}

// MergeSetup applies the properties over base (the existing configuration on
// an upgrade or repair, the defaults on a first install) and validates the
// result. A first install needs REPOSITORY_URL and TRUSTED_KEY; an upgrade
// keeps what the configuration already says.
func MergeSetup(base config.Config, p SetupProps) (config.Config, error) {
	c := base
	if v := strings.TrimSpace(p.Repository); v != "" {
		c.Repository = strings.TrimRight(v, "/")
	}
	if v := strings.TrimSpace(p.TrustedKey); v != "" {
		c.TrustedKeys = nil
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				c.TrustedKeys = append(c.TrustedKeys, k)
			}
		}
	}
	if v := strings.TrimSpace(p.Site); v != "" {
		c.Site = v
	}
	if v := strings.TrimSpace(p.CacheDir); v != "" {
		if !filepath.IsAbs(v) || strings.HasPrefix(v, `\\`) {
			return c, &PropError{"CACHE_DIR", p.CacheDir, "must be an absolute path on a local disk"}
		}
		c.CacheDir = filepath.Clean(v)
	}
	if v := strings.TrimSpace(p.CacheMax); v != "" {
		z, err := config.ParseSize(v)
		if err != nil {
			return c, &PropError{"CACHE_MAX", p.CacheMax, err.Error()}
		}
		c.CacheMax = z
	}
	for _, r := range []struct {
		prop, v string
		dst     *config.Rate
	}{{"LIMIT_DOWN", p.LimitDown, &c.LimitDown}, {"LIMIT_UP", p.LimitUp, &c.LimitUp}} {
		if strings.TrimSpace(r.v) == "" {
			continue
		}
		rate, err := config.ParseRate(r.v)
		if err != nil {
			return c, &PropError{r.prop, r.v, err.Error()}
		}
		*r.dst = rate
	}
	if v := strings.TrimSpace(p.Schedule); v != "" {
		ws, err := ParseSchedule(v)
		if err != nil {
			return c, &PropError{"SCHEDULE", p.Schedule, err.Error()}
		}
		c.Schedule = ws
	}
	if v := strings.TrimSpace(p.ListenPort); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return c, &PropError{"LISTEN_PORT", p.ListenPort, "must be a port number 1-65535"}
		}
		c.ListenPort = n
	}
	if v := strings.TrimSpace(p.Firewall); v != "" && v != "0" && v != "1" {
		return c, &PropError{"FIREWALL", p.Firewall, "must be 1 or 0"}
	}
	if c.Repository == "" {
		return c, &PropError{Prop: "REPOSITORY_URL", Msg: "is required on a first install (for example REPOSITORY_URL=http://tracker.example:7390)"}
	}
	if len(c.TrustedKeys) == 0 {
		return c, &PropError{Prop: "TRUSTED_KEY", Msg: "is required on a first install (the publisher key, ed25519:...)"}
	}
	if err := c.Validate(); err != nil {
		var fe *config.FieldError
		if errors.As(err, &fe) {
			field, _, _ := strings.Cut(fe.Field, "[")
			if prop, ok := fieldProps[field]; ok {
				return c, &PropError{Prop: prop, Msg: fe.Msg}
			}
		}
		return c, err
	}
	return c, nil
}

// ParseSchedule parses the SCHEDULE property: windows separated by ";", each
// "DAYS HH:MM-HH:MM DOWN UP" with DAYS like "mon-fri", "sat,sun" or "*", and
// the rates as in LIMIT_DOWN ("0" is unlimited). "none" is an empty schedule.
func ParseSchedule(s string) ([]config.Window, error) {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return []config.Window{}, nil
	}
	var ws []config.Window
	for i, part := range strings.Split(s, ";") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("window %d %q: want DAYS HH:MM-HH:MM DOWN UP", i+1, strings.TrimSpace(part))
		}
		from, to, ok := strings.Cut(f[1], "-")
		if !ok {
			return nil, fmt.Errorf("window %d: %q is not HH:MM-HH:MM", i+1, f[1])
		}
		down, err := config.ParseRate(f[2])
		if err != nil {
			return nil, fmt.Errorf("window %d: %v", i+1, err)
		}
		up, err := config.ParseRate(f[3])
		if err != nil {
			return nil, fmt.Errorf("window %d: %v", i+1, err)
		}
		w := config.Window{Days: strings.Split(f[0], ","), From: from, To: to, LimitDown: down, LimitUp: up}
		probe := config.Default()
		probe.Schedule = []config.Window{w}
		if err := probe.Validate(); err != nil {
			var fe *config.FieldError
			if errors.As(err, &fe) {
				return nil, fmt.Errorf("window %d: %s", i+1, fe.Msg)
			}
			return nil, fmt.Errorf("window %d: %v", i+1, err)
		}
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		return nil, errors.New(`no window; use "none" for an empty schedule`)
	}
	return ws, nil
}

// setupMain is "smstorrent-service setup [--config PATH] --PROPERTY value ...":
// the installer's deferred custom action after InstallServices.
func setupMain(cfgPath string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var p SetupProps
	p.flags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		return setupFail(stderr, fmt.Errorf("unexpected argument %q (a property value with a quote in it?)", fs.Arg(0)))
	}
	if cfgPath == "" {
		cfgPath = config.DefaultPath()
	}
	base := config.Default()
	base.Path = cfgPath
	if _, err := os.Stat(cfgPath); err == nil {
		old, err := config.Load(cfgPath)
		if err != nil {
			return setupFail(stderr, fmt.Errorf("the existing configuration is refused (fix or delete it, then repair): %w", err))
		}
		base = old
	}
	cfg, err := MergeSetup(base, p)
	if err != nil {
		return setupFail(stderr, err)
	}
	if err := makeDataTree(cfg.DataDir, cfg.CacheDir, cfg.LogDir, filepath.Dir(cfgPath)); err != nil {
		return setupFail(stderr, err)
	}
	if err := writeConfig(cfgPath, cfg); err != nil {
		return setupFail(stderr, err)
	}
	setupLog(cfg.LogDir, "setup %s: wrote %s (repository %s, site %q, port %d)", version.Version, cfgPath, cfg.Repository, cfg.Site, cfg.ListenPort)
	if err := platformSetup(cfg, cfgPath, p.Firewall != "0"); err != nil {
		setupLog(cfg.LogDir, "setup failed: %v", err)
		return setupFail(stderr, err)
	}
	fmt.Fprintf(stdout, "setup: configuration written to %s\n", cfgPath)
	return 0
}

// setupFail reports a refused install on stderr and in the setup log of the
// default data folder, and returns the exit code that fails the MSI
// (ERROR_INSTALL_FAILURE).
func setupFail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "SMSTorrent setup failed:", err)
	setupLog(filepath.Join(config.Default().DataDir, "logs"), "setup failed: %v", err)
	return 1603
}

// setupLog appends a line to setup.log in dir (best effort: the step's
// messages must not depend on a folder that may be what failed).
func setupLog(dir, format string, args ...any) {
	if makeProtectedDir(dir) != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, "setup.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s\n", time.Now().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// writeConfig replaces the configuration file atomically.
func writeConfig(path string, c config.Config) error {
	b, err := c.JSON()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, b, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// teardownMain is "smstorrent-service teardown [--purge]": the installer's
// deferred custom action after StopServices at uninstall. It removes what
// setup added outside the MSI's own tables (firewall rules) and stops the
// tray and window processes of every session; with --purge (REMOVE_CACHE=1,
// never during an upgrade) it also deletes the cache, the job state and the
// configuration.
func teardownMain(cfgPath string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("teardown", flag.ContinueOnError)
	fs.SetOutput(stderr)
	purge := fs.Bool("purge", false, "also delete the cache, the job state and the configuration")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfgPath == "" {
		cfgPath = config.DefaultPath()
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		// An unreadable configuration must not block an uninstall.
		fmt.Fprintln(stderr, "teardown: configuration not readable, using defaults:", err)
		cfg = config.Default()
		_ = cfg.Validate()
	}
	setupLog(cfg.LogDir, "teardown %s (purge %v) with %s", version.Version, *purge, cfgPath)
	failed := false
	if err := platformTeardown(); err != nil {
		setupLog(cfg.LogDir, "teardown: %v", err)
		fmt.Fprintln(stderr, "teardown:", err)
		failed = true
	}
	if *purge {
		if err := purgeData(cfg, cfgPath); err != nil {
			setupLog(cfg.LogDir, "teardown: removing data: %v", err)
			fmt.Fprintln(stderr, "teardown: removing data:", err)
			failed = true
		}
	}
	if failed {
		// An uninstall that cannot finish every step still completes; the
		// messages are on stderr for the log.
		return 0
	}
	fmt.Fprintln(stdout, "teardown: done")
	return 0
}

// purgeData deletes the service's data. A cache folder outside the data
// folder (CACHE_DIR) may be shared with other things, so only its package
// folders (valid package IDs) are deleted, and the folder itself if it is
// then empty.
func purgeData(cfg config.Config, cfgPath string) error {
	var errs []error
	if !within(cfg.CacheDir, cfg.DataDir) {
		ents, err := os.ReadDir(cfg.CacheDir)
		if err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
		for _, e := range ents {
			if e.IsDir() && pkgid.ValidID(e.Name()) == nil {
				errs = append(errs, removeTree(filepath.Join(cfg.CacheDir, e.Name())))
			}
		}
		_ = os.Remove(cfg.CacheDir) // only if empty
	}
	errs = append(errs, removeTree(cfg.DataDir), platformForget())
	if !within(cfgPath, cfg.DataDir) {
		if err := os.Remove(cfgPath); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// removeTree is os.RemoveAll with a slower fallback that deletes one entry at
// a time, deepest first: on Windows, Go's RemoveAll needs
// FileDispositionInformationEx (Windows 10 1607 and later, NTFS), which
// older systems, some file systems and wine 8 refuse with a status Go does not
// fall back on.
func removeTree(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	var paths []string
	_ = filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	for i := len(paths) - 1; i >= 0; i-- {
		_ = os.Remove(paths[i])
	}
	if _, serr := os.Lstat(dir); os.IsNotExist(serr) {
		return nil
	}
	return err
}
