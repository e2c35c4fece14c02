package fleet

import (
	"math"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/lab/bench"
)

const mib = 1 << 20

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.6f, want %.6f", what, got, want)
	}
}

func TestOneSiteIsWaitPlusBytesOverLink(t *testing.T) {
	f := Fleet{PackageBytes: 48 * mib, HQOverhead: 1.02,
		Sites: []Site{{Name: "b1", PCs: 4, LinkBits: 20e6, Copies: 1.047, WaitS: 2.5}}}
	r, err := Project(f)
	if err != nil {
		t.Fatal(err)
	}
	bound := 48.0 * mib * 8 / 20e6
	near(t, "done", r.Sites[0].DoneS, 2.5+1.047*bound)
	near(t, "ratio", r.Sites[0].Ratio, (2.5+1.047*bound)/bound)
	near(t, "WAN bytes", r.WANBytes, 1.047*48*mib)
	near(t, "hq bytes", r.HQBytes, 1.047*1.02*48*mib)
	if r.Sites[0].OriginLimited || r.OriginBusyS != 0 {
		t.Error("an unlimited origin is reported as the limit")
	}
}

func TestOriginSharedEquallyWhenItIsTheLimit(t *testing.T) {
	// 10 sites at 20 Mbit/s from an origin of 50 Mbit/s: every site gets
	// 5 Mbit/s and all finish together, when the origin has sent it all.
	f := Fleet{PackageBytes: 48 * mib, OriginBits: 50e6}
	for range 10 {
		f.Sites = append(f.Sites, Site{LinkBits: 20e6, Copies: 1, WaitS: 1})
	}
	r, err := Project(f)
	if err != nil {
		t.Fatal(err)
	}
	want := 1 + 10*48.0*mib*8/50e6
	for _, s := range r.Sites {
		near(t, "done", s.DoneS, want)
		if !s.OriginLimited {
			t.Error("site not marked origin-limited")
		}
	}
	near(t, "origin busy", r.OriginBusyS, want-1)
}

func TestMaxMinShareGivesSlowLinksTheirRate(t *testing.T) {
	// Links 5, 20, 50 Mbit/s, origin 40 Mbit/s (hq link; a smaller origin
	// figure would win): 5 gets 5, the others 17.5 each until the 20 Mbit/s
	// site is done, then the 50 Mbit/s site gets 35.
	f := Fleet{PackageBytes: 10 * mib, HQLinkBits: 40e6, OriginBits: 100e6, Sites: []Site{
		{Name: "slow", LinkBits: 5e6, Copies: 1}, {Name: "mid", LinkBits: 20e6, Copies: 1}, {Name: "fast", LinkBits: 50e6, Copies: 1}}}
	r, err := Project(f)
	if err != nil {
		t.Fatal(err)
	}
	bits := 10.0 * mib * 8
	tMid := bits / 17.5e6
	near(t, "mid", r.Sites[1].DoneS, tMid)
	near(t, "fast", r.Sites[2].DoneS, tMid+(bits-17.5e6*tMid)/35e6)
	near(t, "slow", r.Sites[0].DoneS, bits/5e6) // its link, never the origin
	if r.Sites[0].OriginLimited || !r.Sites[1].OriginLimited || !r.Sites[2].OriginLimited {
		t.Errorf("origin-limited flags %v %v %v", r.Sites[0].OriginLimited, r.Sites[1].OriginLimited, r.Sites[2].OriginLimited)
	}
	// The slowest link is last.
	near(t, "time to all", r.TimeToAllS, r.Sites[0].DoneS)
}

func TestLaterStartGetsTheCapacityLeft(t *testing.T) {
	// One site starts 10 s after the other; the origin (30 Mbit/s) serves
	// the first alone at its 20 Mbit/s link, then both at 15.
	f := Fleet{PackageBytes: 100 * mib, OriginBits: 30e6, Sites: []Site{
		{Name: "a", LinkBits: 20e6, Copies: 1}, {Name: "b", LinkBits: 20e6, Copies: 1, WaitS: 10}}}
	r, err := Project(f)
	if err != nil {
		t.Fatal(err)
	}
	bits := 100.0 * mib * 8
	aDone := 10 + (bits-20e6*10)/15e6
	near(t, "a", r.Sites[0].DoneS, aDone)
	near(t, "b", r.Sites[1].DoneS, aDone+(bits-15e6*(aDone-10))/20e6)
}

func TestValidateRefusesNonsense(t *testing.T) {
	for name, f := range map[string]Fleet{
		"no sites":    {PackageBytes: 1},
		"no package":  {Sites: []Site{{LinkBits: 1, Copies: 1}}},
		"zero link":   {PackageBytes: 1, Sites: []Site{{Copies: 1}}},
		"zero copies": {PackageBytes: 1, Sites: []Site{{LinkBits: 1}}},
		"neg wait":    {PackageBytes: 1, Sites: []Site{{LinkBits: 1, Copies: 1, WaitS: -1}}},
		"neg origin":  {PackageBytes: 1, OriginBits: -1, Sites: []Site{{LinkBits: 1, Copies: 1}}},
	} {
		if _, err := Project(f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCalibrateAndLabCase(t *testing.T) {
	rep := &bench.Report{Generated: time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC), Branches: 2, ClientsPerBranch: 4,
		WANRateBits: 20e6, PackageBytes: 48 * mib, Systems: []bench.SystemResult{{
			System: "smstorrent", OK: true, HQSentCopies: 2.1,
			// An old report: no per-branch rate or done time, only the clients'.
			ClientDoneS: map[string]float64{"b1c1": 23.0, "b1c2": 23.9, "b2c1": 23.5},
			WAN:         []bench.WANLink{{Branch: "b1", InCopies: 1.05}, {Branch: "b2", InCopies: 1.05}},
		}}}
	cal, err := Calibrate(rep, "smstorrent")
	if err != nil {
		t.Fatal(err)
	}
	bound := bench.BoundSeconds(48*mib, 20e6)
	near(t, "copies", cal.Copies, 1.05)
	near(t, "wait", cal.WaitS, ((23.9-1.05*bound)+(23.5-1.05*bound))/2)
	near(t, "hq overhead", cal.HQOverhead, 1)
	f, measured, err := LabCase(rep, "smstorrent", cal, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Project(f)
	if err != nil {
		t.Fatal(err)
	}
	// Its own calibration predicts the run's mean branch.
	near(t, "predicted mean", (r.Sites[0].DoneS+r.Sites[1].DoneS)/2, (measured.WAN[0].DoneS+measured.WAN[1].DoneS)/2)
	if cal.OriginBits(1) != 0 {
		t.Error("an origin capacity without CPU figures")
	}
	rep.Systems[0].HQSentBytes = 1 << 30
	rep.Systems[0].CPU = &bench.CPUFigures{SystemByProcessS: map[string]float64{"hq-service": 2}}
	cal, _ = Calibrate(rep, "smstorrent")
	near(t, "origin capacity of 1 core at 2 s/GiB", cal.OriginBits(1), 4*(1<<30))
	if _, err := Calibrate(rep, "transmission"); err == nil {
		t.Error("a missing system calibrated")
	}
}
