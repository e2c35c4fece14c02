// Package config reads and validates the configuration of
// smstorrent-tracker: listeners, storage, the client allowlist, the site
// map, origin servers and announce timing. A configuration is validated as a
// whole before use; a bad value is refused with an error naming the field.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
)

// Defaults for keys that are absent from the configuration file.
const (
	DefaultListen           = ":6969"
	DefaultDataDir          = "/var/lib/smstorrent-tracker"
	DefaultAnnounceInterval = 10 * time.Minute
	DefaultMinInterval      = time.Minute
	DefaultMaxPeers         = 50
	DefaultOriginPeers      = 4
	DefaultMaxQueryBytes    = 4096
	DefaultMaxSwarmPeers    = 100000
	DefaultMaxPeersPerAddr  = 8
	DefaultAnnounceRate     = 10.0
	DefaultAnnounceBurst    = 200
	DefaultSiteName         = "default"
)

// Duration is a time.Duration written in JSON as a Go duration string
// ("90s", "10m", "1h30m").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// badDuration marks a value that did not parse; Validate reports it with
// the field's name (encoding/json cannot).
const badDuration = Duration(math.MinInt64)

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		*d = badDuration
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		*d = badDuration
		return nil
	}
	*d = Duration(v)
	return nil
}

// Site is a named group of client networks (a branch office, a boundary
// group). Peers get peers of their own site.
type Site struct {
	Name     string   `json:"name"`
	Networks []string `json:"networks"`
	// ShareWith lists other sites whose peers this site's peers may also
	// receive ("*" for all). Empty: none (the default).
	ShareWith []string `json:"share_with,omitempty"`
}

// Origins describes the publishing servers, which every site gets as peers.
type Origins struct {
	// Networks: a client announcing from one of these is an origin.
	Networks []string `json:"networks,omitempty"`
	// Keys: a client announcing with origin_key=<one of these> is an origin.
	Keys []string `json:"keys,omitempty"`
}

// Config is the content of the JSON configuration file.
type Config struct {
	Listen           string   `json:"listen,omitempty"`
	RepositoryListen string   `json:"repository_listen,omitempty"`
	UDPListen        string   `json:"udp_listen,omitempty"`
	DataDir          string   `json:"data_dir,omitempty"`
	PublicURL        string   `json:"public_url,omitempty"`
	AdminToken       string   `json:"admin_token,omitempty"`
	AdminTokenFile   string   `json:"admin_token_file,omitempty"`
	TrustedKeys      []string `json:"trusted_keys,omitempty"`
	AllowNetworks    []string `json:"allow_networks,omitempty"`
	Sites            []Site   `json:"sites,omitempty"`
	Origins          Origins  `json:"origins"`
	AnnounceInterval Duration `json:"announce_interval,omitempty"`
	MinInterval      Duration `json:"min_interval,omitempty"`
	PeerTTL          Duration `json:"peer_ttl,omitempty"`
	MaxPeers         int      `json:"max_peers,omitempty"`
	OriginPeers      int      `json:"origin_peers,omitempty"`
	MaxQueryBytes    int      `json:"max_query_bytes,omitempty"`
	MaxSwarmPeers    int      `json:"max_swarm_peers,omitempty"`
	// MaxPeersPerAddress bounds the peer IDs one address holds in one
	// swarm; a new ID beyond it replaces the address's least recently
	// seen one.
	MaxPeersPerAddress int `json:"max_peers_per_address,omitempty"`
	// AnnounceRate and AnnounceBurst limit the announces and scrapes of
	// one address (IPv6: one /64): AnnounceRate per second on average,
	// AnnounceBurst at once. Origins are not limited.
	AnnounceRate  float64 `json:"announce_rate,omitempty"`
	AnnounceBurst int     `json:"announce_burst,omitempty"`
	// SiteGateways sends each site's traffic with the origins through one
	// leecher of the site (default true; see docs/TRACKER.md).
	SiteGateways *bool `json:"site_gateways,omitempty"`
	// MetricsListen is the address of the Prometheus metrics listener
	// ("": none, the default); MetricsNetworks are the networks that may
	// read it (default: loopback). See docs/METRICS.md.
	MetricsListen   string   `json:"metrics_listen,omitempty"`
	MetricsNetworks []string `json:"metrics_networks,omitempty"`
}

// Gateways reports whether site gateways are on.
func (c *Config) Gateways() bool { return c.SiteGateways == nil || *c.SiteGateways }

// Load reads, defaults and validates a configuration file. An empty path
// gives the defaults.
func Load(file string) (*Config, error) {
	c := &Config{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading config: %w", err)
		}
		c, err = Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return c, nil
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse decodes, defaults and validates a configuration. Unknown keys are
// refused so that a misspelt key does not silently fall back to a default.
func Parse(b []byte) (*Config, error) {
	c := &Config{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("config: %s: wrong type (%s where %s is expected)", te.Field, te.Value, te.Type)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	if dec.More() {
		return nil, errors.New("config: trailing data after the JSON object")
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// SetDefaults fills absent keys with their defaults.
func (c *Config) SetDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.AllowNetworks == nil {
		c.AllowNetworks = []string{"127.0.0.0/8", "::1/128"}
	}
	if len(c.Sites) == 0 {
		c.Sites = []Site{{Name: DefaultSiteName, Networks: []string{"0.0.0.0/0", "::/0"}}}
	}
	if c.AnnounceInterval == 0 {
		c.AnnounceInterval = Duration(DefaultAnnounceInterval)
	}
	if c.MinInterval == 0 {
		c.MinInterval = Duration(min(DefaultMinInterval, time.Duration(c.AnnounceInterval)))
	}
	if c.PeerTTL == 0 {
		c.PeerTTL = Duration(2*time.Duration(c.AnnounceInterval) + time.Minute)
	}
	if c.MaxPeers == 0 {
		c.MaxPeers = DefaultMaxPeers
	}
	if c.OriginPeers == 0 {
		c.OriginPeers = DefaultOriginPeers
	}
	if c.MaxQueryBytes == 0 {
		c.MaxQueryBytes = DefaultMaxQueryBytes
	}
	if c.MaxSwarmPeers == 0 {
		c.MaxSwarmPeers = DefaultMaxSwarmPeers
	}
	if c.MaxPeersPerAddress == 0 {
		c.MaxPeersPerAddress = DefaultMaxPeersPerAddr
	}
	if c.AnnounceRate == 0 {
		c.AnnounceRate = DefaultAnnounceRate
	}
	if c.AnnounceBurst == 0 {
		c.AnnounceBurst = DefaultAnnounceBurst
	}
	if c.MetricsNetworks == nil {
		c.MetricsNetworks = []string{"127.0.0.0/8", "::1/128"}
	}
}

var siteNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks every value and reports the first bad one by its field
// name. It does not read files other than admin_token_file.
func (c *Config) Validate() error {
	for _, check := range []func() error{c.validateListeners, c.validateAccess, c.validateNetworks, c.validateTiming, c.validateBounds} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func bad(field, format string, args ...any) error {
	return fmt.Errorf("config: %s: %s", field, fmt.Sprintf(format, args...))
}

// validateListeners checks the listeners, data_dir and public_url.
func (c *Config) validateListeners() error {
	if err := checkHostPort(c.Listen); err != nil {
		return bad("listen", "%v", err)
	}
	for _, f := range []struct{ name, v string }{
		{"repository_listen", c.RepositoryListen}, {"udp_listen", c.UDPListen}, {"metrics_listen", c.MetricsListen},
	} {
		if f.v == "" {
			continue
		}
		if err := checkHostPort(f.v); err != nil {
			return bad(f.name, "%v", err)
		}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return bad("data_dir", "must not be empty")
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return bad("public_url", "%q must start with http:// or https://", c.PublicURL)
	}
	return nil
}

// validateAccess checks the admin token and the trusted keys.
func (c *Config) validateAccess() error {
	if c.AdminToken != "" && c.AdminTokenFile != "" {
		return bad("admin_token", "set admin_token or admin_token_file, not both")
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		return bad("admin_token", "must be at least 16 characters")
	}
	if c.AdminTokenFile != "" {
		tok, err := readToken(c.AdminTokenFile)
		if err != nil {
			return bad("admin_token_file", "%v", err)
		}
		if len(tok) < 16 {
			return bad("admin_token_file", "the token in %s must be at least 16 characters", c.AdminTokenFile)
		}
	}
	for i, k := range c.TrustedKeys {
		if _, err := pkgsign.ParsePublicKey(k); err != nil {
			return bad(fmt.Sprintf("trusted_keys[%d]", i), "%v", err)
		}
	}
	return nil
}

// validateNetworks checks allow_networks, the sites, the origins (networks
// and keys) and the metrics' networks.
func (c *Config) validateNetworks() error {
	if len(c.AllowNetworks) == 0 {
		return bad("allow_networks", "must list at least one network (nobody could use the tracker)")
	}
	if err := checkPrefixes("allow_networks", c.AllowNetworks); err != nil {
		return err
	}
	if err := c.validateSites(); err != nil {
		return err
	}
	if err := checkPrefixes("origins.networks", c.Origins.Networks); err != nil {
		return err
	}
	for i, k := range c.Origins.Keys {
		if len(k) < 16 {
			return bad(fmt.Sprintf("origins.keys[%d]", i), "must be at least 16 characters")
		}
	}
	return checkPrefixes("metrics_networks", c.MetricsNetworks)
}

func checkPrefixes(field string, ns []string) error {
	for i, n := range ns {
		if _, err := ParsePrefix(n); err != nil {
			return bad(fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
	}
	return nil
}

// validateSites checks the site names, their networks and share_with.
func (c *Config) validateSites() error {
	names := map[string]bool{}
	for i, s := range c.Sites {
		f := fmt.Sprintf("sites[%d]", i)
		if !siteNameRE.MatchString(s.Name) {
			return bad(f+".name", "%q must be 1-64 letters, digits, '.', '_' or '-'", s.Name)
		}
		if names[s.Name] {
			return bad(f+".name", "site %q is defined twice", s.Name)
		}
		names[s.Name] = true
		if len(s.Networks) == 0 {
			return bad(f+".networks", "site %q has no networks", s.Name)
		}
		if err := checkPrefixes(f+".networks", s.Networks); err != nil {
			return err
		}
	}
	for i, s := range c.Sites {
		for j, o := range s.ShareWith {
			if o != "*" && !names[o] {
				return bad(fmt.Sprintf("sites[%d].share_with[%d]", i, j), "unknown site %q", o)
			}
		}
	}
	return nil
}

// validateTiming checks the announce interval, min_interval and peer_ttl.
func (c *Config) validateTiming() error {
	for _, f := range []struct {
		name string
		d    Duration
	}{{"announce_interval", c.AnnounceInterval}, {"min_interval", c.MinInterval}, {"peer_ttl", c.PeerTTL}} {
		if f.d == badDuration {
			return bad(f.name, "must be a duration string such as \"90s\", \"10m\" or \"1h\"")
		}
	}
	iv, mi, ttl := time.Duration(c.AnnounceInterval), time.Duration(c.MinInterval), time.Duration(c.PeerTTL)
	if iv < 10*time.Second || iv > 24*time.Hour {
		return bad("announce_interval", "%v must be between 10s and 24h", iv)
	}
	if mi < time.Second || mi > iv {
		return bad("min_interval", "%v must be between 1s and announce_interval (%v)", mi, iv)
	}
	if ttl <= iv {
		return bad("peer_ttl", "%v must be longer than announce_interval (%v), or peers expire between announces", ttl, iv)
	}
	return nil
}

// validateBounds checks the numeric limits.
func (c *Config) validateBounds() error {
	if c.MaxPeers < 1 || c.MaxPeers > 1000 {
		return bad("max_peers", "%d must be between 1 and 1000", c.MaxPeers)
	}
	if c.OriginPeers < 0 || c.OriginPeers > c.MaxPeers {
		return bad("origin_peers", "%d must be between 0 and max_peers (%d)", c.OriginPeers, c.MaxPeers)
	}
	if c.MaxQueryBytes < 512 || c.MaxQueryBytes > 65536 {
		return bad("max_query_bytes", "%d must be between 512 and 65536", c.MaxQueryBytes)
	}
	if c.MaxSwarmPeers < 10 || c.MaxSwarmPeers > 10000000 {
		return bad("max_swarm_peers", "%d must be between 10 and 10000000", c.MaxSwarmPeers)
	}
	if c.MaxPeersPerAddress < 1 || c.MaxPeersPerAddress > c.MaxSwarmPeers {
		return bad("max_peers_per_address", "%d must be between 1 and max_swarm_peers (%d)", c.MaxPeersPerAddress, c.MaxSwarmPeers)
	}
	if !(c.AnnounceRate >= 0.01 && c.AnnounceRate <= 1e6) {
		return bad("announce_rate", "%v must be between 0.01 and 1000000 announces per second", c.AnnounceRate)
	}
	if c.AnnounceBurst < 1 || c.AnnounceBurst > 1000000 {
		return bad("announce_burst", "%d must be between 1 and 1000000", c.AnnounceBurst)
	}
	return nil
}

// Token returns the admin token ("" when publishing is disabled).
func (c *Config) Token() (string, error) {
	if c.AdminTokenFile != "" {
		return readToken(c.AdminTokenFile)
	}
	return c.AdminToken, nil
}

// Keys returns the trusted publisher keys.
func (c *Config) Keys() []pkgsign.PublicKey {
	var ks []pkgsign.PublicKey
	for _, k := range c.TrustedKeys {
		if pk, err := pkgsign.ParsePublicKey(k); err == nil {
			ks = append(ks, pk)
		}
	}
	return ks
}

func readToken(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading admin token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", s, err)
	}
	if port == "" {
		return fmt.Errorf("%q has no port", s)
	}
	return nil
}

// ParsePrefix parses a CIDR ("10.1.0.0/16") or a single address
// ("10.1.2.3", taken as /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR network: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR network: %w", s, err)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// NetMap answers, for a client address, whether it may use the tracker,
// which site it belongs to and whether it is an origin. Build it with
// NewNetMap from a validated Config; it is read-only and safe for
// concurrent use.
type NetMap struct {
	allow   []netip.Prefix
	sites   []sitePrefix // most specific first
	origins []netip.Prefix
	share   map[string]map[string]bool // site -> sites it may receive
	all     map[string]bool            // site -> may receive every site
	names   []string
}

type sitePrefix struct {
	p    netip.Prefix
	site string
}

// NewNetMap compiles the networks of a validated configuration.
func NewNetMap(c *Config) (*NetMap, error) {
	m := &NetMap{share: map[string]map[string]bool{}, all: map[string]bool{}}
	for _, s := range c.AllowNetworks {
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("allow_networks: %w", err)
		}
		m.allow = append(m.allow, p)
	}
	for _, s := range c.Sites {
		m.names = append(m.names, s.Name)
		for _, n := range s.Networks {
			p, err := ParsePrefix(n)
			if err != nil {
				return nil, fmt.Errorf("sites %s: %w", s.Name, err)
			}
			m.sites = append(m.sites, sitePrefix{p, s.Name})
		}
		m.share[s.Name] = map[string]bool{}
		for _, o := range s.ShareWith {
			if o == "*" {
				m.all[s.Name] = true
			} else if o != s.Name {
				m.share[s.Name][o] = true
			}
		}
	}
	sort.SliceStable(m.sites, func(i, j int) bool { return m.sites[i].p.Bits() > m.sites[j].p.Bits() })
	for _, s := range c.Origins.Networks {
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("origins.networks: %w", err)
		}
		m.origins = append(m.origins, p)
	}
	return m, nil
}

// Allowed reports whether a client address is in allow_networks.
func (m *NetMap) Allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range m.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Site returns the site of an address: the site with the most specific
// network containing it.
func (m *NetMap) Site(a netip.Addr) (string, bool) {
	a = a.Unmap()
	for _, sp := range m.sites {
		if sp.p.Contains(a) {
			return sp.site, true
		}
	}
	return "", false
}

// IsOrigin reports whether an address is in origins.networks.
func (m *NetMap) IsOrigin(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range m.origins {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// MayReceive reports whether peers of site to may be handed peers of site from.
func (m *NetMap) MayReceive(to, from string) bool {
	return to == from || m.all[to] || m.share[to][from]
}

// SiteNames lists the configured sites in configuration order.
func (m *NetMap) SiteNames() []string { return append([]string(nil), m.names...) }
