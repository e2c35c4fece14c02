// Package config holds the service's configuration: the file format, the
// documented defaults, and validation that names the offending field.
//
// The file is JSON. Every key is optional; docs/CONFIG.md lists them with
// their defaults. Load validates before anything uses the values, so a wrong
// value is refused and the running setting stays.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/secfs"
	"github.com/smstorrent/smstorrent/service/api"
)

// Config is the service configuration.
type Config struct {
	// DataDir holds the job database, tokens, torrents and (by default) the cache and logs.
	DataDir string `json:"data_dir"`
	// CacheDir holds package content as <CacheDir>/<packageID>/... Default <DataDir>/cache.
	CacheDir string `json:"cache_dir,omitempty"`
	// LogDir holds the rotating log files. Default <DataDir>/logs.
	LogDir string `json:"log_dir,omitempty"`
	// APIListen is the local API's address; it must be a loopback address.
	APIListen string `json:"api_listen"`
	// ListenHost is the address peers connect to; "" listens on all addresses.
	ListenHost string `json:"listen_host,omitempty"`
	// ListenPort is the BitTorrent port (TCP and uTP); 0 picks a free one.
	ListenPort int `json:"listen_port"`
	// Transports lists "tcp" and/or "utp".
	Transports []string `json:"transports"`
	// Repository is the base URL of the package repository (smstorrent-tracker).
	Repository string `json:"repository,omitempty"`
	// Site is this PC's site name, for display.
	Site string `json:"site,omitempty"`
	// TrustedKeys lists the publisher keys ("ed25519:<base64>") whose torrents are accepted.
	TrustedKeys []string `json:"trusted_keys"`
	// ServerNetworks lists CIDRs whose peers count as servers (origin seeders), not site peers.
	ServerNetworks []string `json:"server_networks,omitempty"`
	// SiteNetworks lists the CIDRs of this PC's own site; a peer outside
	// them (and not a server) counts as a PC of another site. Empty: every
	// peer that is not a server counts as this site's (the tracker keeps
	// sites apart unless share_with lets them mix).
	SiteNetworks []string `json:"site_networks,omitempty"`
	// LimitDown and LimitUp cap the whole service; 0 is unlimited.
	LimitDown Rate `json:"limit_down"`
	LimitUp   Rate `json:"limit_up"`
	// Schedule replaces the limits during time windows (business hours).
	Schedule []Window `json:"schedule,omitempty"`
	// Yield makes background jobs give way to other traffic on the path to
	// the repository, keeping the added queueing delay under YieldTarget.
	Yield       bool     `json:"yield"`
	YieldTarget Duration `json:"yield_target"`
	// UTPTarget is the queueing delay that the LEDBAT congestion control
	// of uTP connections aims for (per connection, sender side).
	UTPTarget Duration `json:"utp_target"`
	// YieldProbe is the host:port whose TCP handshake time is measured;
	// default: the repository's host and port.
	YieldProbe string `json:"yield_probe,omitempty"`
	// SeedDays: an unassigned package is seeded this many days after its last use, then removed.
	SeedDays float64 `json:"seed_days"`
	// CacheMax caps the cache; the oldest unused packages are evicted first. 0: no cap.
	CacheMax Size `json:"cache_max"`
	// RetryMin and RetryMax bound the backoff of transient errors.
	RetryMin Duration `json:"retry_min"`
	RetryMax Duration `json:"retry_max"`
	// UpdatePoll is how often (±25 %, jittered) the service asks the
	// repository whether the packages it holds have new versions; one
	// conditional request (ETag) for all of them.
	UpdatePoll Duration `json:"update_poll"`
	// LogMaxSize and LogFiles control log rotation.
	LogMaxSize Size `json:"log_max_size"`
	LogFiles   int  `json:"log_files"`

	// Path is where the configuration was loaded from (not in the file).
	Path string `json:"-"`
}

// DefaultPath is the configuration file's usual place.
func DefaultPath() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(api.DefaultDataDir(), "config.json")
	}
	if d := os.Getenv(api.EnvDataDir); d != "" {
		return filepath.Join(d, "config.json")
	}
	return "/etc/smstorrent/config.json"
}

// Default returns the documented defaults.
func Default() Config {
	return Config{
		DataDir:     api.DefaultDataDir(),
		APIListen:   "127.0.0.1:7380",
		ListenPort:  6881,
		Transports:  []string{"tcp", "utp"},
		SeedDays:    3,
		Yield:       true,
		YieldTarget: Duration(25e6),
		UTPTarget:   Duration(15e6),
		RetryMin:    Duration(5e9),
		RetryMax:    Duration(300e9),
		UpdatePoll:  Duration(120e9),
		LogMaxSize:  10 << 20,
		LogFiles:    5,
	}
}

// Load reads the file at path over the defaults and validates the result.
// A missing file at the default path gives the defaults. A file that an
// ordinary user could have written (secfs.CheckTrusted) is refused.
func Load(path string) (Config, error) {
	c := Default()
	explicit := path != ""
	if path == "" {
		path = DefaultPath()
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		// The service runs as SYSTEM/root and takes trusted_keys from here:
		// a file an ordinary user could have written is refused, not used.
		if err := secfs.CheckTrusted(path); err != nil {
			return Config{}, fmt.Errorf("refusing the configuration %s: %w; only SYSTEM/Administrators (root) may be able to write it and its folder", path, err)
		}
		if err := Parse(b, &c); err != nil {
			return Config{}, fmt.Errorf("%s: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist) && !explicit:
	default:
		return Config{}, fmt.Errorf("reading configuration: %w", err)
	}
	c.Path = path
	c.fill()
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes JSON over c. Every key is decoded on its own, so that every
// bad value and every unknown key is reported (each a *FieldError naming
// the key, joined with errors.Join), not only the first.
func Parse(b []byte, c *Config) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, err)
		}
		return fmt.Errorf("the configuration must be a JSON object: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var errs []error
	for _, k := range names {
		one, _ := json.Marshal(map[string]json.RawMessage{k: keys[k]})
		d := json.NewDecoder(bytes.NewReader(one))
		d.DisallowUnknownFields()
		if err := d.Decode(c); err != nil {
			msg := strings.TrimPrefix(err.Error(), "json: ")
			if strings.HasPrefix(msg, "unknown field") {
				msg = "unknown field: not a key of the configuration (see docs/CONFIG.md)"
			}
			errs = append(errs, ferr(k, "%s", msg))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) fill() {
	if c.CacheDir == "" && c.DataDir != "" {
		c.CacheDir = filepath.Join(c.DataDir, "cache")
	}
	if c.LogDir == "" && c.DataDir != "" {
		c.LogDir = filepath.Join(c.DataDir, "logs")
	}
}

// FieldError names the field that is wrong.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Msg) }

func ferr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks every field and returns every problem, each a
// *FieldError naming its key (joined with errors.Join; errors.As finds the
// first).
func (c *Config) Validate() error {
	c.fill()
	var errs []error
	add := func(field, format string, args ...any) { errs = append(errs, ferr(field, format, args...)) }
	for _, d := range []struct{ name, v string }{{"data_dir", c.DataDir}, {"cache_dir", c.CacheDir}, {"log_dir", c.LogDir}} {
		switch {
		case d.v == "":
			add(d.name, "must be set")
		case !filepath.IsAbs(d.v):
			add(d.name, "%q must be an absolute path", d.v)
		}
	}
	if err := validAPIListen(c.APIListen); err != nil {
		errs = append(errs, err)
	}
	if c.ListenHost != "" {
		if _, err := netip.ParseAddr(c.ListenHost); err != nil {
			add("listen_host", "%q is not an IP address", c.ListenHost)
		}
	}
	if c.ListenPort < 0 || c.ListenPort > 65535 {
		add("listen_port", "%d is not a port 0-65535", c.ListenPort)
	}
	if len(c.Transports) == 0 {
		add("transports", "list at least one of \"tcp\", \"utp\"")
	}
	for _, t := range c.Transports {
		if t != "tcp" && t != "utp" {
			add("transports", "%q is not \"tcp\" or \"utp\"", t)
		}
	}
	if c.Repository != "" {
		u, err := url.Parse(c.Repository)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("repository", "%q is not an http(s) URL", c.Repository)
		}
	}
	if _, err := c.Keys(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.Servers(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.SiteNets(); err != nil {
		errs = append(errs, err)
	}
	for i, w := range c.Schedule {
		if err := w.validate(); err != nil {
			add(fmt.Sprintf("schedule[%d]", i), "%v", err)
		}
	}
	errs = append(errs, c.validateTuning()...)
	return errors.Join(errs...)
}

// validAPIListen checks that the local API listens on loopback only.
func validAPIListen(listen string) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ferr("api_listen", "%q is not host:port", listen)
	}
	if host != "localhost" {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.IsLoopback() {
			return ferr("api_listen", "%q must be a loopback address (127.0.0.1, [::1] or localhost): the local API is never exposed to the network", listen)
		}
	}
	if _, err := netip.ParseAddrPort("127.0.0.1:" + port); err != nil {
		return ferr("api_listen", "port %q is not a number 0-65535", port)
	}
	return nil
}

// validateTuning checks the timing, retention and log settings.
func (c *Config) validateTuning() []error {
	var errs []error
	add := func(field, format string, args ...any) { errs = append(errs, ferr(field, format, args...)) }
	if c.YieldTarget.D() < 5e6 || c.YieldTarget.D() > 1e9 {
		add("yield_target", "%v must be between 5ms and 1s", c.YieldTarget.D())
	}
	if c.UTPTarget.D() < 5e6 || c.UTPTarget.D() > 1e9 {
		add("utp_target", "%v must be between 5ms and 1s", c.UTPTarget.D())
	}
	if c.YieldProbe != "" {
		if _, _, err := net.SplitHostPort(c.YieldProbe); err != nil {
			add("yield_probe", "%q is not host:port", c.YieldProbe)
		}
	}
	if c.SeedDays < 0 || c.SeedDays > 3650 {
		add("seed_days", "%v must be between 0 and 3650", c.SeedDays)
	}
	if c.RetryMin.D() <= 0 {
		add("retry_min", "must be positive")
	}
	if c.UpdatePoll.D() < 100e6 || c.UpdatePoll.D() > 24*3600e9 {
		add("update_poll", "%v must be between 100ms and 24h", c.UpdatePoll.D())
	}
	if c.RetryMax.D() < c.RetryMin.D() {
		add("retry_max", "must not be less than retry_min")
	}
	if c.LogMaxSize < 64<<10 {
		add("log_max_size", "must be at least 64KiB")
	}
	if c.LogFiles < 1 || c.LogFiles > 100 {
		add("log_files", "%d must be between 1 and 100", c.LogFiles)
	}
	return errs
}

// ProbeAddr is the address the bandwidth controller measures: YieldProbe,
// or the repository's host and port. Empty if neither is set.
func (c *Config) ProbeAddr() string {
	if c.YieldProbe != "" {
		return c.YieldProbe
	}
	u, err := url.Parse(c.Repository)
	if err != nil || u.Host == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Keys parses TrustedKeys.
func (c *Config) Keys() ([]pkgsign.PublicKey, error) {
	var ks []pkgsign.PublicKey
	for i, s := range c.TrustedKeys {
		k, err := pkgsign.ParsePublicKey(s)
		if err != nil {
			return nil, ferr(fmt.Sprintf("trusted_keys[%d]", i), "%v", err)
		}
		ks = append(ks, k)
	}
	return ks, nil
}

// Servers parses ServerNetworks.
func (c *Config) Servers() ([]netip.Prefix, error) {
	return parseNetworks("server_networks", c.ServerNetworks)
}

// SiteNets parses SiteNetworks.
func (c *Config) SiteNets() ([]netip.Prefix, error) {
	return parseNetworks("site_networks", c.SiteNetworks)
}

// parseNetworks parses CIDRs (or single addresses) of the list named key.
func parseNetworks(key string, list []string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for i, s := range list {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			if a, err2 := netip.ParseAddr(strings.TrimSpace(s)); err2 == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, ferr(fmt.Sprintf("%s[%d]", key, i), "%q is not a CIDR like 10.0.0.0/24", s)
			}
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

// JSON is c as indented JSON.
func (c *Config) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	return append(b, '\n'), err
}

// Write saves c as indented JSON at path.
func (c *Config) Write(path string) error {
	b, err := c.JSON()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return secfs.WriteFileProtected(path, b, secfs.UsersRead)
}
