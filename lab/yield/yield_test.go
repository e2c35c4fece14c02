package yield

import (
	"context"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
)

// TestMain lets the test binary serve as the scenario's helper process.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == HelperArg {
		if err := HelperMain(os.Args[2:]); err != nil {
			os.Stderr.WriteString("helper: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func at(s float64) time.Time { return time.Unix(1000, 0).Add(time.Duration(s * float64(time.Second))) }

func TestSustained(t *testing.T) {
	var ps []point
	// below until 2 s, a blip above at 2.5 s, above from 3 s on.
	for i := 0; i <= 60; i++ {
		x := float64(i) / 10
		v := 1.0
		if x == 2.5 || x >= 3 {
			v = 10
		}
		ps = append(ps, point{at(x), v})
	}
	tests := []struct {
		name       string
		from, thr  float64
		hold, want float64
	}{
		{"sustained from 3 s", 1, 5, 1, 2},
		{"blip does not count", 2, 5, 1, 1},
		{"always above a low threshold", 0, 0.5, 1, 0},
		{"never", 0, 20, 1, -1},
		{"hold longer than the data", 0, 5, 10, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sustained(ps, at(tt.from), at(100), tt.thr, time.Duration(tt.hold*float64(time.Second)))
			if math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRatesAndMean(t *testing.T) {
	var ss []sample
	for i := 0; i <= 10; i++ {
		ss = append(ss, sample{At: at(float64(i) / 10), C1: uint64(i) * 1000, C2: uint64(i * i)})
	}
	c1 := func(s sample) uint64 { return s.C1 }
	rs := rates(ss, c1, 2)
	if len(rs) != 10 {
		t.Fatalf("%d rates, want 10", len(rs))
	}
	for _, r := range rs {
		if math.Abs(r.V-20000) > 1e-6 {
			t.Fatalf("rate %v, want 20000 (1000 bytes per 100 ms, scaled by 2)", r.V)
		}
	}
	if got := meanRate(ss, c1, 1, at(0.2), at(0.7)); math.Abs(got-10000) > 1e-6 {
		t.Errorf("meanRate = %v, want 10000", got)
	}
	if got := meanRate(ss, c1, 1, at(5), at(6)); !math.IsNaN(got) {
		t.Errorf("meanRate without samples = %v, want NaN", got)
	}
	sm := smooth([]point{{at(0), 0}, {at(0.1), 10}, {at(0.2), 20}, {at(1), 100}}, 150*time.Millisecond)
	want := []float64{5, 10, 15, 100}
	for i, p := range sm {
		if math.Abs(p.V-want[i]) > 1e-9 {
			t.Errorf("smooth[%d] = %v, want %v", i, p.V, want[i])
		}
	}
}

func TestQuantileAndRTT(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "rtt.log")
	body := "1000000 41000\n1000100 42000\n1000200 -1\ngarbage\n1000300 50000\n1000400 43000\n"
	if err := os.WriteFile(log, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := readRTTLog(log)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 {
		t.Fatalf("%d samples, want 5", len(rs))
	}
	med, p95, n := rttStats(rs, time.UnixMilli(1000000), time.UnixMilli(1000400))
	if n != 4 || med != 42.5 || math.Abs(p95-48.95) > 1e-9 {
		t.Errorf("median %v p95 %v n %d, want 42.5 48.95 4", med, p95, n)
	}
	fg := filepath.Join(dir, "fg.log")
	if err := os.WriteFile(fg, []byte("start 1000\n1100 5\nstop 3000 77\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start, stop, bytes, ok := fgTimes(fg)
	if !ok || start != time.UnixMilli(1000) || stop != time.UnixMilli(3000) || bytes != 77 {
		t.Errorf("fgTimes = %v %v %v %v", start, stop, bytes, ok)
	}
}

func TestUpdateMarkdownFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	other := "# Benchmarks\n\n<!-- BEGIN other -->\nkeep me\n<!-- END other -->\n"
	if err := os.WriteFile(path, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateMarkdownFile(path, "first\n"); err != nil {
		t.Fatal(err)
	}
	if err := UpdateMarkdownFile(path, "second\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	if !strings.HasPrefix(got, other) || strings.Contains(got, "first") || strings.Count(got, BeginMarker) != 1 ||
		!strings.Contains(got, BeginMarker+"\nsecond\n"+EndMarker) {
		t.Errorf("file after two updates:\n%s", got)
	}
	if err := os.WriteFile(path, []byte(BeginMarker+"\nno end\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateMarkdownFile(path, "x\n"); err == nil {
		t.Error("a lone begin marker was accepted")
	}
}

func TestSetCC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	avail, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_available_congestion_control")
	for _, cc := range []string{"cubic", "bbr"} {
		t.Run(cc, func(t *testing.T) {
			if !strings.Contains(string(avail), cc) {
				t.Skipf("%s not available here (%s)", cc, strings.TrimSpace(string(avail)))
			}
			d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error { return setCC(rc, cc) }}
			c, err := d.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		})
	}
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error { return setCC(rc, "no-such-cc") }}
	if c, err := d.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("an unknown congestion control was accepted")
	}
}

func fakeReport() *Report {
	run := SystemRun{System: "smstorrent", Label: Labels["smstorrent"], OK: true, FgRatio: 0.95, IdleShare: 0.5,
		AddedDelayMS: 12, AddedDelayP95MS: 20, GiveWayS: 1.2, TakeBackS: -1, FgStartS: 10, FgStopS: 20,
		Summary: map[string]PhaseSummary{"fg": {Samples: 2, Reasons: map[string]int{"yielding": 2}}}}
	for i := range 120 {
		x := float64(i) / 4
		fg := 0.0
		if x >= 10 && x < 20 {
			fg = 19
		}
		run.Series = append(run.Series, SeriesPoint{T: x, BgMbit: 20 - fg, FgMbit: fg})
	}
	return &Report{Generated: time.Unix(0, 0).UTC(), WANRateBits: 20e6, WANDelayMS: 20, PackageBytes: 64 << 20,
		Phases: phaseSeconds(DefaultPhases()), Targets: DefaultTargets(),
		Cases: []Case{{QueueMS: 110, CC: "cubic", FgAloneMbit: 19.5, Runs: []SystemRun{run}}}}
}

func TestMarkdownAndChart(t *testing.T) {
	r := fakeReport()
	md := r.Markdown("bench-yield.png")
	for _, want := range []string{"| 110 ms | cubic (alone 19.5 Mbit/s) | SMSTorrent | 0.95 ✓ | 0.50 ✗ | 12 / 20 ms ✓ | 1.2 s ✓ | never ✗ |",
		"![rates over time", "reason yielding 2/2"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	png := filepath.Join(t.TempDir(), "y.png")
	if err := r.WriteChart(png); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Errorf("chart: %v %v", st, err)
	}
	json := filepath.Join(t.TempDir(), "y.json")
	if err := r.WriteJSON(json); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(json)
	if err != nil || len(back.Cases) != 1 || back.Cases[0].Runs[0].FgRatio != 0.95 {
		t.Errorf("round trip: %+v %v", back, err)
	}
}

// TestSmoke runs the scenario end to end on a real lab: one case, SMSTorrent
// only, phases of a few seconds (about 30 s). It checks the plumbing — the
// foreground moved data, the probe measured, the figures exist, nothing is
// left behind — not the targets. It needs root, `ip netns` and the built
// executables (make build); it skips, saying why, without them, and with
// -short.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the lab smoke run takes about 30 s")
	}
	if err := netlab.Check(); err != nil {
		t.Skip(err)
	}
	bin, _ := filepath.Abs(filepath.Join("..", "..", "bin"))
	if _, err := findBinaries(bin, []string{"smstorrent"}); err != nil {
		t.Skip(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := QuickConfig()
	cfg.Phases = Phases{Idle: time.Second, FgAlone: 4 * time.Second, FlowWait: 5 * time.Second,
		Alone: 5 * time.Second, Fg: 6 * time.Second, After: 5 * time.Second, Settle: 2 * time.Second}
	cfg.PackageBytes = 48 << 20
	cfg.WorkDir, cfg.BinDir = t.TempDir(), bin
	cfg.Helper = []string{exe, HelperArg}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.LabID != "" {
		if left := netlab.ListNamespaces(rep.LabID); len(left) > 0 {
			t.Errorf("namespaces left behind: %v", left)
		}
	}
	if len(rep.Cases) != 1 || len(rep.Cases[0].Runs) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	c := rep.Cases[0]
	if c.FgAloneMbit < 10 || c.IdleRTTMS < 30 {
		t.Errorf("foreground alone %.1f Mbit/s (want most of 20), idle RTT %.1f ms (want ~40)", c.FgAloneMbit, c.IdleRTTMS)
	}
	r := c.Runs[0]
	if !r.OK || r.FgWithMbit <= 0 || len(r.Series) == 0 || len(r.Status) == 0 {
		t.Errorf("run: ok %v err %q fg %.1f Mbit/s, %d points, %d status samples", r.OK, r.Error, r.FgWithMbit, len(r.Series), len(r.Status))
	}
	t.Logf("fg ratio %.2f, idle share %.2f, added delay %.0f ms, give way %.1f s, take back %.1f s; %s",
		r.FgRatio, r.IdleShare, r.AddedDelayMS, r.GiveWayS, r.TakeBackS, r.Note)
}
