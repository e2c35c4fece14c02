package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
)

func TestUpdateMarkdownFileKeepsOtherSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	other := "# Benchmarks\n\n## Tracker: announces per second\n\nfigures\n"
	if err := os.WriteFile(path, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{"## Lab\n\nalpha\n", "## Lab\n\nbeta\n"} {
		if err := UpdateMarkdownFile(path, sec); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, append(must(os.ReadFile(path)), "\n## Later section\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateMarkdownFile(path, "## Lab\n\nthird\n"); err != nil {
		t.Fatal(err)
	}
	got := string(must(os.ReadFile(path)))
	for _, want := range []string{"## Tracker: announces per second\n\nfigures\n", "third", "## Later section"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	for _, gone := range []string{"alpha", "beta"} {
		if strings.Contains(got, gone) {
			t.Errorf("stale %q in:\n%s", gone, got)
		}
	}
	if strings.Count(got, BeginMarker) != 1 {
		t.Errorf("markers duplicated:\n%s", got)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestReportOutputs(t *testing.T) {
	r := &Report{Branches: 2, ClientsPerBranch: 2, WANRateBits: 20e6, PackageBytes: 48 << 20, BoundSeconds: 20.1,
		Systems: []SystemResult{
			{System: "http", Label: "HTTP", OK: true, TimeToAllS: 80, RatioToBound: 4, ClientDoneS: map[string]float64{"b1c1": 70, "b1c2": 80},
				WAN: []WANLink{{Branch: "b1", InCopies: 2}, {Branch: "b2", InCopies: 2}}, HQSentCopies: 4},
			{System: "smstorrent", Label: "SMSTorrent", Error: "boom"},
		}}
	dir := t.TempDir()
	if err := r.WriteChart(filepath.Join(dir, "c.png")); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(filepath.Join(dir, "r.json")); err != nil {
		t.Fatal(err)
	}
	md := r.Markdown("c.png")
	for _, want := range []string{"| HTTP | 80.0 | 4.00 |", "SMSTorrent**: failed — boom", "![", "20.1 s"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestSmoke is the lab's smoke run (part of make test): 1 branch x 2 clients,
// a 4 MiB package, by HTTP and — when the executables build — by SMSTorrent.
// It needs root and ip/tc/iptables, and skips without them.
func TestSmoke(t *testing.T) {
	if err := netlab.Check(); err != nil {
		t.Skipf("network lab unavailable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	systems := []string{"http"}
	bin := t.TempDir()
	if buildSMSTorrent(ctx, t, bin) {
		systems = append(systems, "smstorrent")
	}
	prefix := netlab.Prefix + strconv.Itoa(os.Getpid()) + "n"
	rep, err := Run(ctx, Config{
		Topo:         netlab.Topology{Branches: 1, ClientsPerBranch: 2, WANRateBits: 20_000_000, WANDelay: 10 * time.Millisecond},
		PackageBytes: 4 << 20,
		Systems:      systems,
		WorkDir:      t.TempDir(),
		BinDir:       bin,
		Timeout:      30 * time.Second,
		// Foreground: the smoke run checks the path, not the background
		// bandwidth policy (which yields to other traffic).
		Priority: "foreground",
	})
	noNamespacesLeft(t, prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Systems {
		if !s.OK {
			t.Errorf("%s: %s", s.System, s.Error)
			continue
		}
		t.Logf("%s: %.1f s (%.2f x bound), WAN in %.3f copies, hq sent %.2f copies",
			s.System, s.TimeToAllS, s.RatioToBound, s.MaxWANInCopies, s.HQSentCopies)
		if len(s.ClientDoneS) != 2 {
			t.Errorf("%s: %d clients complete, want 2", s.System, len(s.ClientDoneS))
		}
		if s.System == "http" && (s.MaxWANInCopies < 1.95 || s.MaxWANInCopies > 2.3) {
			t.Errorf("http: WAN in %.3f copies, want about 2 (one per client)", s.MaxWANInCopies)
		}
	}
}

// noNamespacesLeft fails the test for every namespace of this process's
// labs (prefix) that is still there.
func noNamespacesLeft(t *testing.T, prefix string) {
	t.Helper()
	for _, ns := range netlab.ListNamespaces("") {
		if strings.HasPrefix(ns, prefix) {
			t.Errorf("namespace left behind: %s", ns)
		}
	}
}

// buildSMSTorrent builds the service and tracker into dir; it reports false
// (and logs why) when they do not exist or do not build yet.
func buildSMSTorrent(ctx context.Context, t *testing.T, dir string) bool {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"smstorrent-service", "smstorrent-tracker"} {
		pkg := "./service/cmd/" + c
		if c == "smstorrent-tracker" {
			pkg = "./tracker/cmd/" + c
		}
		bctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		cmd := exec.CommandContext(bctx, "go", "build", "-o", filepath.Join(dir, c), pkg)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Logf("SMSTorrent part skipped: %s does not build: %v\n%s", pkg, err, out)
			return false
		}
	}
	return true
}

func TestMedianRun(t *testing.T) {
	runs := []SystemResult{
		{OK: true, TimeToAllS: 30},
		{OK: false, Error: "x"},
		{OK: true, TimeToAllS: 10},
		{OK: true, TimeToAllS: 20},
	}
	m := medianRun(runs)
	if m.TimeToAllS != 20 {
		t.Errorf("median = %v, want 20", m.TimeToAllS)
	}
	if want := []float64{30, -1, 10, 20}; !slices.Equal(m.RunsTimeToAllS, want) {
		t.Errorf("runs = %v, want %v", m.RunsTimeToAllS, want)
	}
	if f := medianRun([]SystemResult{{Error: "a"}, {Error: "b"}}); f.Error != "a" {
		t.Errorf("all failed: got %+v", f)
	}
	if one := medianRun([]SystemResult{{OK: true, TimeToAllS: 5}}); one.RunsTimeToAllS != nil {
		t.Errorf("single run lists runs: %v", one.RunsTimeToAllS)
	}
}
