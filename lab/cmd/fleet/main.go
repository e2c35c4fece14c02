// Command fleet projects a distribution to a whole fleet on paper (lab/fleet):
// it calibrates the per-site behaviour from a lab run (lab/results/latest.json),
// checks the model against the lab's measured cases (lab/results/suite.json)
// and projects the seed's case — 6,500 PCs in 25 sites, 3.5 GB — writing
// lab/results/fleet.json and the fleet's section of docs/BENCHMARKS.md. It
// needs no root and starts no lab.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/lab/bench"
	"github.com/smstorrent/smstorrent/lab/fleet"
	"github.com/smstorrent/smstorrent/lab/netlab"
)

type options struct {
	calibrate, check, out, markdown, system string
	pcs, sites                              int
	packageGB, hqMbit, originMbit, cores    float64
	siteMbit                                string
}

func main() {
	var o options
	fs := flag.NewFlagSet("fleet", flag.ExitOnError)
	fs.StringVar(&o.calibrate, "calibrate", filepath.Join("lab", "results", "latest.json"), "lab report whose per-site behaviour calibrates the model")
	fs.StringVar(&o.check, "check", filepath.Join("lab", "results", "suite.json"), "suite reports (bench -suite), comma-separated, to check the model against (empty: none)")
	fs.StringVar(&o.system, "system", "smstorrent", "the system whose behaviour is projected")
	fs.IntVar(&o.pcs, "pcs", 6500, "PCs in the fleet, spread evenly over the sites")
	fs.IntVar(&o.sites, "sites", 25, "sites")
	fs.Float64Var(&o.packageGB, "package-gb", 3.5, "package size, GB (10^9 bytes)")
	fs.StringVar(&o.siteMbit, "site-mbit", "100", "WAN link of each site, Mbit/s; a comma-separated list is used in turn over the sites")
	fs.Float64Var(&o.hqMbit, "hq-mbit", 1000, "hq's uplink, Mbit/s (0: no limit)")
	fs.Float64Var(&o.originMbit, "origin-mbit", 0, "what the origin can send, Mbit/s (0: from -origin-cores)")
	fs.Float64Var(&o.cores, "origin-cores", 1, "without -origin-mbit: the origin's cores, its capacity from the calibration's CPU per GiB (0: no limit beyond hq's link)")
	fs.StringVar(&o.out, "out", filepath.Join("lab", "results", "fleet.json"), "JSON results file")
	fs.StringVar(&o.markdown, "markdown", filepath.Join("docs", "BENCHMARKS.md"), "Markdown file whose fleet section is rewritten (empty: none)")
	_ = fs.Parse(os.Args[1:])
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	calRep, err := bench.ReadReport(o.calibrate)
	if err != nil {
		return err
	}
	cal, err := fleet.Calibrate(calRep, o.system)
	if err != nil {
		return err
	}
	f, err := seedFleet(o, cal)
	if err != nil {
		return err
	}
	proj, err := fleet.Project(f)
	if err != nil {
		return err
	}
	rep := &fleet.Report{Generated: time.Now().UTC(), Calibration: cal, Fleet: f, Projection: proj}
	if o.originMbit == 0 && f.OriginBits > 0 {
		rep.OriginNote = fmt.Sprintf(" (%g core at the calibration's %.1f CPU s per GiB sent)", o.cores, cal.OriginCPUSPerGiB)
	}
	if rep.Checks, err = checks(o, calRep, cal); err != nil {
		return err
	}
	if err := netlab.WriteJSON(o.out, rep); err != nil {
		return err
	}
	section := rep.Markdown()
	if o.markdown != "" {
		if err := netlab.UpdateMarkdownSection(o.markdown, fleet.BeginMarker, fleet.EndMarker, section); err != nil {
			return err
		}
	}
	fmt.Print(section)
	return nil
}

// seedFleet is the projected case: PCs spread evenly over the sites, links
// from the list in turn, every site with the calibrated behaviour.
func seedFleet(o options, cal fleet.Calibration) (fleet.Fleet, error) {
	if o.sites < 1 || o.pcs < o.sites {
		return fleet.Fleet{}, fmt.Errorf("need at least one site and one PC per site (sites %d, PCs %d)", o.sites, o.pcs)
	}
	var links []float64
	for _, s := range strings.Split(o.siteMbit, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || v <= 0 {
			return fleet.Fleet{}, fmt.Errorf("-site-mbit: %q is not a positive rate", s)
		}
		links = append(links, v*1e6)
	}
	origin := o.originMbit * 1e6
	if origin == 0 {
		origin = cal.OriginBits(o.cores)
	}
	f := fleet.Fleet{PackageBytes: o.packageGB * 1e9, HQLinkBits: o.hqMbit * 1e6, OriginBits: origin, HQOverhead: cal.HQOverhead}
	for i := range o.sites {
		pcs := o.pcs / o.sites
		if i < o.pcs%o.sites {
			pcs++
		}
		f.Sites = append(f.Sites, fleet.Site{Name: fmt.Sprintf("site%02d", i+1), PCs: pcs, LinkBits: links[i%len(links)],
			Copies: cal.Copies, WaitS: cal.WaitS})
	}
	return f, nil
}

// checks holds the model against the calibration run and every case of the
// suite report.
func checks(o options, calRep *bench.Report, cal fleet.Calibration) ([]fleet.Check, error) {
	name := func(r *bench.Report) string {
		n := fmt.Sprintf("%d × %d", r.Branches, r.ClientsPerBranch)
		if len(r.WANRatesBits) == 0 {
			n += fmt.Sprintf(" at %g Mbit/s", float64(r.WANRateBits)/1e6)
		}
		return n
	}
	cs, err := fleet.CheckCase(name(calRep)+" (the calibration run)", calRep, o.system, cal, 0)
	if err != nil {
		return nil, err
	}
	for _, path := range strings.Split(o.check, ",") {
		if path == "" {
			continue
		}
		suite, err := bench.ReadSuiteReport(path)
		if err != nil {
			return nil, err
		}
		when := suite.Generated.Format("15:04")
		for _, c := range suite.Cases {
			if c.Report == nil {
				continue
			}
			more, err := fleet.CheckCase(c.Shape.Name+" ("+when+")", c.Report, o.system, cal, 0)
			if err != nil {
				continue // the system did not run in that case: nothing to hold against
			}
			cs = append(cs, more...)
		}
	}
	return cs, nil
}
