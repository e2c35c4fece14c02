package netlab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Flow names traffic forwarded by the core router: from one host to one site
// ("hq" or a branch name).
type Flow struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Counters is a snapshot of the lab's byte counters. WAN and hq figures are
// the tbf shapers' own counters (Ethernet frames as queued, close to the wire);
// Flows come from iptables counters in the core router (IP packet bytes).
type Counters struct {
	At time.Time
	// WANIn and WANOut are bytes sent into and out of each branch over its WAN
	// link, keyed by branch name.
	WANIn, WANOut map[string]uint64
	// HQSent is what hq sent onto its link to the core.
	HQSent uint64
	// Flows is what the core forwarded, per source host and destination site.
	Flows map[Flow]uint64
}

// Sub returns c - before, counter by counter.
func (c Counters) Sub(before Counters) Counters {
	d := Counters{At: c.At, WANIn: map[string]uint64{}, WANOut: map[string]uint64{}, Flows: map[Flow]uint64{}}
	for k, v := range c.WANIn {
		d.WANIn[k] = v - before.WANIn[k]
	}
	for k, v := range c.WANOut {
		d.WANOut[k] = v - before.WANOut[k]
	}
	for k, v := range c.Flows {
		d.Flows[k] = v - before.Flows[k]
	}
	d.HQSent = c.HQSent - before.HQSent
	return d
}

const acctChain = "labacct"

// setupAccounting installs counting rules (no verdicts) in the core router's
// FORWARD chain: one per source host and destination site.
func (l *Lab) setupAccounting(ctx context.Context) error {
	ipt := func(args ...string) error {
		return run(ctx, "ip", append([]string{"netns", "exec", l.CoreNS, "iptables", "-w", "5"}, args...)...)
	}
	if err := ipt("-N", acctChain); err != nil {
		return err
	}
	if err := ipt("-A", "FORWARD", "-j", acctChain); err != nil {
		return err
	}
	sites := []struct {
		name string
		net  netip.Prefix
	}{{"hq", l.HQNet}}
	for _, b := range l.Branches {
		sites = append(sites, struct {
			name string
			net  netip.Prefix
		}{b.Name, b.Net})
	}
	for _, h := range append([]*Host{l.HQ}, l.Clients()...) {
		for _, s := range sites {
			if s.net.Contains(h.Addr) {
				continue
			}
			if err := ipt("-A", acctChain, "-s", h.Addr.String()+"/32", "-d", s.net.String(),
				"-m", "comment", "--comment", h.Name+">"+s.name); err != nil {
				return err
			}
		}
	}
	return nil
}

// Counters reads the lab's counters now.
func (l *Lab) Counters(ctx context.Context) (Counters, error) {
	c := Counters{At: time.Now(), WANIn: map[string]uint64{}, WANOut: map[string]uint64{}, Flows: map[Flow]uint64{}}
	var err error
	for _, b := range l.Branches {
		if c.WANIn[b.Name], err = qdiscBytes(ctx, l.CoreNS, b.coreDev); err != nil {
			return c, err
		}
		if c.WANOut[b.Name], err = qdiscBytes(ctx, b.RouterNS, b.routerDev); err != nil {
			return c, err
		}
	}
	if c.HQSent, err = qdiscBytes(ctx, l.HQ.NS, "eth0"); err != nil {
		return c, err
	}
	out, err := output(ctx, "ip", "netns", "exec", l.CoreNS, "iptables-save", "-c", "-t", "filter")
	if err != nil {
		return c, err
	}
	c.Flows, err = parseAcct(out)
	return c, err
}

// parseAcct reads lines such as
//
//	[12:3456] -A labacct -s 198.18.0.10/32 -d 198.19.1.0/24 -m comment --comment "hq>b1"
func parseAcct(out []byte) (map[Flow]uint64, error) {
	flows := map[Flow]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "[") || !strings.Contains(line, "-A "+acctChain+" ") {
			continue
		}
		end := strings.IndexByte(line, ']')
		if end < 0 {
			continue
		}
		_, bytesStr, ok := strings.Cut(line[1:end], ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(bytesStr, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("netlab: counter in %q: %w", line, err)
		}
		_, comment, ok := strings.Cut(line, "--comment ")
		if !ok {
			continue
		}
		comment = strings.Trim(comment, `"`)
		from, to, ok := strings.Cut(comment, ">")
		if !ok {
			continue
		}
		flows[Flow{From: from, To: to}] += n
	}
	return flows, sc.Err()
}

func qdiscBytes(ctx context.Context, ns, dev string) (uint64, error) {
	out, err := output(ctx, "tc", "-n", ns, "-s", "-j", "qdisc", "show", "dev", dev)
	if err != nil {
		return 0, err
	}
	var qs []struct {
		Kind  string `json:"kind"`
		Root  bool   `json:"root"`
		Bytes uint64 `json:"bytes"`
	}
	if err := json.Unmarshal(out, &qs); err != nil {
		return 0, fmt.Errorf("netlab: tc output for %s/%s: %w", ns, dev, err)
	}
	for _, q := range qs {
		if q.Root {
			return q.Bytes, nil
		}
	}
	return 0, fmt.Errorf("netlab: no root qdisc on %s/%s", ns, dev)
}
