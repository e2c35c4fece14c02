// Package netlab builds a small WAN out of Linux network namespaces — an hq
// site, a core router and branch routers whose links to the core are shaped
// with tc tbf in both directions, each with a bridged LAN of client
// namespaces — runs real executables inside it, reads its byte counters and
// tears all of it down again.
//
// Every namespace a Lab creates is named "sml<pid>n<seq>-<role>", where pid
// is the process that built it, so cleanup never touches anything else and a later
// run can sweep namespaces whose creator has died (see SweepStale). Addresses
// come from 198.18.0.0/15 only and exist only inside the lab's namespaces.
//
// The lab needs root, iproute2 (ip, tc) and iptables (for per-peer byte
// accounting in the core router). Check reports what is missing.
package netlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var labSeq atomic.Int64

// Prefix starts the name of every namespace the lab creates.
const Prefix = "sml"

// Topology describes the lab's shape.
type Topology struct {
	// Branches is the number of branch sites (at least 1).
	Branches int
	// ClientsPerBranch is the number of client namespaces behind each branch router.
	ClientsPerBranch int
	// WANRateBits is the rate of every WAN link in bits per second, each direction.
	WANRateBits int64
	// WANRates, when set, holds one rate per branch (bits per second, each
	// direction) in place of WANRateBits: unequal links.
	WANRates []int64
	// WANDelay is added to every packet per WAN link it crosses, each way
	// (held in an NFQUEUE by this process; no netem here). 0: none.
	WANDelay time.Duration
}

// DefaultTopology is the default — 2 branches x 4 clients, 20 Mbit/s
// WAN links — with 20 ms one way per WAN link (40 ms round trip between hq
// and a branch, 80 ms between branches).
func DefaultTopology() Topology {
	return Topology{Branches: 2, ClientsPerBranch: 4, WANRateBits: 20_000_000, WANDelay: 20 * time.Millisecond}
}

// Validate refuses a topology the address plan cannot hold.
func (t Topology) Validate() error {
	switch {
	case t.Branches < 1 || t.Branches > 100:
		return fmt.Errorf("topology: branches must be 1..100, got %d", t.Branches)
	case t.ClientsPerBranch < 1 || t.ClientsPerBranch > 200:
		return fmt.Errorf("topology: clients per branch must be 1..200, got %d", t.ClientsPerBranch)
	case len(t.WANRates) == 0 && t.WANRateBits < 100_000:
		return fmt.Errorf("topology: WAN rate must be at least 100 kbit/s, got %d bit/s", t.WANRateBits)
	case t.WANDelay < 0 || t.WANDelay > 500*time.Millisecond:
		return fmt.Errorf("topology: WAN delay must be 0..500ms, got %v", t.WANDelay)
	case len(t.WANRates) != 0 && len(t.WANRates) != t.Branches:
		return fmt.Errorf("topology: %d WAN rates for %d branches", len(t.WANRates), t.Branches)
	}
	for _, r := range t.WANRates {
		if r < 100_000 {
			return fmt.Errorf("topology: WAN rate must be at least 100 kbit/s, got %d bit/s", r)
		}
	}
	return nil
}

// Rate is branch n's (1-based) WAN rate in bits per second.
func (t Topology) Rate(n int) int64 {
	if n >= 1 && n <= len(t.WANRates) {
		return t.WANRates[n-1]
	}
	return t.WANRateBits
}

// SlowestRate is the lowest WAN rate of any branch.
func (t Topology) SlowestRate() int64 {
	r := t.Rate(1)
	for n := 2; n <= t.Branches; n++ {
		r = min(r, t.Rate(n))
	}
	return r
}

// Host is one end system in the lab: hq or a client.
type Host struct {
	// Name is the role, "hq" or "b<branch>c<client>" (for example "b1c3").
	Name string
	// NS is the network namespace's name.
	NS string
	// Addr is the host's only lab address.
	Addr netip.Addr
	// Branch is the branch number (1-based), 0 for hq.
	Branch int
}

// Branch is one branch site.
type Branch struct {
	// Name is "b<n>".
	Name string
	// N is the branch number, 1-based.
	N int
	// RouterNS is the branch router's namespace.
	RouterNS string
	// Net is the branch LAN (the client CIDR).
	Net netip.Prefix
	// Clients are the branch's client hosts.
	Clients []*Host
	// coreDev and routerDev are the two ends of the WAN veth.
	coreDev, routerDev string
}

// Lab is a built topology. Methods are safe for concurrent use.
type Lab struct {
	Topo Topology
	// ID identifies this lab: Prefix, the creator's pid, "n" and a sequence number.
	ID string
	// Dir holds logs and per-host working folders.
	Dir string
	// HQ is the hq host.
	HQ *Host
	// CoreNS is the core router's namespace.
	CoreNS string
	// Branches are the branch sites, in order.
	Branches []*Branch
	// HQNet is hq's LAN.
	HQNet netip.Prefix

	mu         sync.Mutex
	namespaces []string
	procs      map[int]*Proc
	started    []*Proc // every process ever started, for the CPU account
	delayers   []*delayer
	closed     bool
}

// Clients returns every client host, branch by branch.
func (l *Lab) Clients() []*Host {
	var hs []*Host
	for _, b := range l.Branches {
		hs = append(hs, b.Clients...)
	}
	return hs
}

// Host finds a host by name; nil when there is none.
func (l *Lab) Host(name string) *Host {
	if name == "hq" {
		return l.HQ
	}
	for _, h := range l.Clients() {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// HostDir is a per-host working folder under Dir, created on first use.
func (l *Lab) HostDir(h *Host, sub string) (string, error) {
	d := filepath.Join(l.Dir, h.Name, sub)
	return d, os.MkdirAll(d, 0o755)
}

// Check reports what the lab needs and does not have: root, ip, tc, iptables and
// a working `ip netns`.
func Check() error {
	if os.Geteuid() != 0 {
		return errors.New("netlab: needs root (network namespaces)")
	}
	for _, tool := range []string{"ip", "tc", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("netlab: %s not found (apt-get install iproute2 iptables)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", "netns", "list").CombinedOutput(); err != nil {
		return fmt.Errorf("netlab: ip netns unavailable: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// address plan, all inside 198.18.0.0/15:
//
//	hq LAN      198.18.0.0/24     core .1, hq .10
//	WAN n       198.18.(100+n).0/30  core .1, branch router .2
//	branch n    198.19.n.0/24     router .1, client c at .(10+c)
func hqNet() netip.Prefix  { return netip.MustParsePrefix("198.18.0.0/24") }
func hqAddr() netip.Addr   { return netip.MustParseAddr("198.18.0.10") }
func hqGW() netip.Addr     { return netip.MustParseAddr("198.18.0.1") }
func wanCore(n int) string { return fmt.Sprintf("198.18.%d.1", 100+n) }
func wanRtr(n int) string  { return fmt.Sprintf("198.18.%d.2", 100+n) }
func branchNet(n int) netip.Prefix {
	return netip.MustParsePrefix(fmt.Sprintf("198.19.%d.0/24", n))
}
func branchGW(n int) string { return fmt.Sprintf("198.19.%d.1", n) }
func clientAddr(n, c int) netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("198.19.%d.%d", n, 10+c))
}

// Build creates the topology under a fresh run name. dir is the folder for logs
// and host folders (created). On error everything already made is removed. The
// caller must Close the lab.
func Build(ctx context.Context, topo Topology, dir string) (*Lab, error) {
	if err := topo.Validate(); err != nil {
		return nil, err
	}
	if err := Check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("netlab: %w", err)
	}
	run := fmt.Sprintf("%s%dn%d", Prefix, os.Getpid(), labSeq.Add(1))
	l := &Lab{
		Topo:   topo,
		ID:     run,
		Dir:    dir,
		CoreNS: run + "-core",
		HQNet:  hqNet(),
		HQ:     &Host{Name: "hq", NS: run + "-hq", Addr: hqAddr()},
		procs:  map[int]*Proc{},
	}
	for n := 1; n <= topo.Branches; n++ {
		b := &Branch{
			Name:      fmt.Sprintf("b%d", n),
			N:         n,
			RouterNS:  fmt.Sprintf("%s-r%d", run, n),
			Net:       branchNet(n),
			coreDev:   fmt.Sprintf("wan%d", n),
			routerDev: "wan",
		}
		for c := 1; c <= topo.ClientsPerBranch; c++ {
			name := fmt.Sprintf("b%dc%d", n, c)
			b.Clients = append(b.Clients, &Host{Name: name, NS: run + "-" + name, Addr: clientAddr(n, c), Branch: n})
		}
		l.Branches = append(l.Branches, b)
	}
	if err := l.build(ctx); err != nil {
		cerr := l.Close()
		return nil, errors.Join(err, cerr)
	}
	return l, nil
}

func (l *Lab) addNS(ctx context.Context, name string) error {
	// A namespace of the same name is a leftover of an earlier run of this
	// very pid (pids are reused): it is ours to remove.
	if _, err := os.Stat(filepath.Join("/run/netns", name)); err == nil {
		if err := deleteNS(ctx, name); err != nil {
			return err
		}
	}
	if err := run(ctx, "ip", "netns", "add", name); err != nil {
		return err
	}
	l.mu.Lock()
	l.namespaces = append(l.namespaces, name)
	l.mu.Unlock()
	if err := run(ctx, "ip", "-n", name, "link", "set", "lo", "up"); err != nil {
		return err
	}
	// IPv6 stays off: the lab's address plan is IPv4 only, and link-local
	// IPv6 would give peers a second, unplanned path.
	for _, k := range []string{"all", "default"} {
		if err := sysctl(ctx, name, "net.ipv6.conf."+k+".disable_ipv6", "1"); err != nil {
			return err
		}
	}
	return nil
}

func sysctl(ctx context.Context, ns, key, val string) error {
	return run(ctx, "ip", "netns", "exec", ns, "sysctl", "-qw", key+"="+val)
}

// veth makes a pair with one end in each namespace, created there directly
// so no name ever appears in the root namespace.
func veth(ctx context.Context, ns1, dev1, ns2, dev2 string) error {
	return run(ctx, "ip", "link", "add", dev1, "netns", ns1, "type", "veth", "peer", "name", dev2, "netns", ns2)
}

func ipn(ctx context.Context, ns string, args ...string) error {
	return run(ctx, "ip", append([]string{"-n", ns}, args...)...)
}

func (l *Lab) build(ctx context.Context) error {
	// Namespaces.
	all := []string{l.HQ.NS, l.CoreNS}
	for _, b := range l.Branches {
		all = append(all, b.RouterNS)
		for _, c := range b.Clients {
			all = append(all, c.NS)
		}
	}
	for _, ns := range all {
		if err := l.addNS(ctx, ns); err != nil {
			return err
		}
	}
	if err := l.buildLinks(ctx); err != nil {
		return err
	}
	// Routing.
	for _, ns := range append([]string{l.CoreNS}, l.routerNamespaces()...) {
		if err := sysctl(ctx, ns, "net.ipv4.ip_forward", "1"); err != nil {
			return err
		}
	}
	// Shapers: egress on each end of every WAN veth, so both directions are
	// shaped; hq's egress gets a fast tbf only to count its bytes the same way.
	for _, b := range l.Branches {
		if err := l.shape(ctx, l.CoreNS, b.coreDev, l.Topo.Rate(b.N)); err != nil {
			return err
		}
		if err := l.shape(ctx, b.RouterNS, b.routerDev, l.Topo.Rate(b.N)); err != nil {
			return err
		}
	}
	if err := l.shape(ctx, l.HQ.NS, "eth0", 10_000_000_000); err != nil {
		return err
	}
	if err := l.setupAccounting(ctx); err != nil {
		return err
	}
	if l.Topo.WANDelay > 0 {
		return l.setupDelay(ctx)
	}
	return nil
}

// buildLinks makes the veth pairs (hq–core, core–router per branch,
// router–client) and gives them their addresses and routes.
func (l *Lab) buildLinks(ctx context.Context) error {
	steps := [][]string{}
	add := func(ns string, args ...string) { steps = append(steps, append([]string{ns}, args...)) }

	// hq <-> core, unshaped.
	if err := veth(ctx, l.HQ.NS, "eth0", l.CoreNS, "hq0"); err != nil {
		return err
	}
	add(l.HQ.NS, "addr", "add", l.HQ.Addr.String()+"/24", "dev", "eth0")
	add(l.HQ.NS, "link", "set", "eth0", "up")
	add(l.HQ.NS, "route", "add", "default", "via", hqGW().String())
	add(l.CoreNS, "addr", "add", hqGW().String()+"/24", "dev", "hq0")
	add(l.CoreNS, "link", "set", "hq0", "up")

	for _, b := range l.Branches {
		if err := veth(ctx, l.CoreNS, b.coreDev, b.RouterNS, b.routerDev); err != nil {
			return err
		}
		add(l.CoreNS, "addr", "add", wanCore(b.N)+"/30", "dev", b.coreDev)
		add(l.CoreNS, "link", "set", b.coreDev, "up")
		add(l.CoreNS, "route", "add", b.Net.String(), "via", wanRtr(b.N))
		add(b.RouterNS, "addr", "add", wanRtr(b.N)+"/30", "dev", b.routerDev)
		add(b.RouterNS, "link", "set", b.routerDev, "up")
		add(b.RouterNS, "route", "add", "default", "via", wanCore(b.N))
		add(b.RouterNS, "link", "add", "br0", "type", "bridge")
		add(b.RouterNS, "addr", "add", branchGW(b.N)+"/24", "dev", "br0")
		add(b.RouterNS, "link", "set", "br0", "up")
		for i, c := range b.Clients {
			port := fmt.Sprintf("c%d", i+1)
			if err := veth(ctx, c.NS, "eth0", b.RouterNS, port); err != nil {
				return err
			}
			add(b.RouterNS, "link", "set", port, "master", "br0")
			add(b.RouterNS, "link", "set", port, "up")
			add(c.NS, "addr", "add", c.Addr.String()+"/24", "dev", "eth0")
			add(c.NS, "link", "set", "eth0", "up")
			add(c.NS, "route", "add", "default", "via", branchGW(b.N))
		}
	}
	for _, s := range steps {
		if err := ipn(ctx, s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) routerNamespaces() []string {
	var r []string
	for _, b := range l.Branches {
		r = append(r, b.RouterNS)
	}
	return r
}

// shape puts a token bucket on dev's egress: the given rate, a burst of a few
// full-size packets (at least what the kernel timer needs at that rate) and a
// queue of about 50 ms.
func (l *Lab) shape(ctx context.Context, ns, dev string, rate int64) error {
	burst := max(rate/8/250, 32*1024) // rate/HZ with HZ=250, at least 32 KiB
	return run(ctx, "tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf",
		"rate", fmt.Sprintf("%dbit", rate), "burst", fmt.Sprint(burst), "latency", "50ms")
}

// Close stops every process the lab started (by PID), kills anything left in
// its namespaces (by PID, as `ip netns pids` lists them) and deletes the
// namespaces. It is safe to call more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	procs := make([]*Proc, 0, len(l.procs))
	for _, p := range l.procs {
		procs = append(procs, p)
	}
	nss := append([]string(nil), l.namespaces...)
	delayers := l.delayers
	l.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() { _ = p.Stop(5 * time.Second) })
	}
	wg.Wait()
	var errs []error
	for _, q := range delayers {
		if err := q.Close(); err != nil {
			errs = append(errs, fmt.Errorf("netlab: WAN delay queue: %w", err))
		}
	}
	for i := len(nss) - 1; i >= 0; i-- {
		if err := deleteNS(ctx, nss[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Namespaces lists the namespaces this lab created and has not deleted.
func (l *Lab) Namespaces() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.namespaces...)
}

// run runs a command and returns its output in the error when it fails.
func run(ctx context.Context, name string, args ...string) error {
	_, err := output(ctx, name, args...)
	return err
}

func output(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// SetWAN takes branch b's WAN link down (both ends of its veth) or brings
// it back up: a cut line, as when a branch's router or provider fails.
func (l *Lab) SetWAN(ctx context.Context, b *Branch, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	if err := ipn(ctx, l.CoreNS, "link", "set", b.coreDev, state); err != nil {
		return err
	}
	if err := ipn(ctx, b.RouterNS, "link", "set", b.routerDev, state); err != nil {
		return err
	}
	if up {
		// Bringing a link up drops its routes through it; put them back.
		if err := ipn(ctx, l.CoreNS, "route", "replace", b.Net.String(), "via", wanRtr(b.N)); err != nil {
			return err
		}
		if err := ipn(ctx, b.RouterNS, "route", "replace", "default", "via", wanCore(b.N)); err != nil {
			return err
		}
	}
	return nil
}
