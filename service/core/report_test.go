package core_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/svc"
)

// A real tracker, origin and two site PCs: each PC reports where its bytes
// came from when its job completes, and the repository's savings (JSON,
// package details and web page) add up what the jobs themselves say.
func TestSavingsReportedToRepository(t *testing.T) {
	key := testbed.NewKey(t)
	tr := testbed.StartTracker(t, key)
	pkg := testbed.Published(t, key, tr, "SAVINGS", map[string]int{"a.bin": 3 << 20, "b.bin": 1 << 20}, 64<<10)
	testbed.StartOrigin(t, key, tr, pkg)
	ctx := context.Background()
	var jobs []*api.Job
	var first *svc.Instance
	for i := range 2 {
		cfg := testbed.Config(t, key, tr.Repository, "127.0.0.1")
		cfg.Metrics = i == 0
		in := testbed.StartService(t, cfg, svc.Options{})
		if i == 0 {
			first = in
		}
		if _, err := in.Client(true).Add(ctx, api.AddRequest{PackageID: pkg.ID}); err != nil {
			t.Fatal(err)
		}
		j := testbed.WaitJob(t, in.Client(false), pkg.ID, 2*time.Minute, "transferred",
			func(j *api.Job) bool { return j.State == api.StateTransferred })
		if i == 0 {
			// The second PC starts once the first holds the package: it
			// can only get it from its colleague (the site is seeded).
			t.Logf("first PC: %d from the site, %d from servers", j.DownloadedSite, j.DownloadedServer)
		}
		jobs = append(jobs, j)
	}
	var site, servers int64
	for _, j := range jobs {
		if got := j.DownloadedSite + j.DownloadedServer; got < pkg.Info.Size() {
			t.Fatalf("job says site %d + server %d < package %d", j.DownloadedSite, j.DownloadedServer, pkg.Info.Size())
		}
		site += j.DownloadedSite
		servers += j.DownloadedServer
	}
	repo := &repoapi.Client{BaseURL: tr.Base}
	var got repoapi.SiteSavings
	testbed.WaitFor(t, "both PCs' reports in the repository's savings", time.Minute, func() bool {
		all, err := repo.Savings(ctx)
		if err != nil || len(all) != 1 || len(all[0].Sites) != 1 {
			return false
		}
		got = all[0].Sites[0]
		return got.Complete == 2
	})
	// The jobs' figures were read after completion; a report is sent at
	// completion: they may differ by bytes in flight, never by a piece.
	near := func(a, b int64) bool { return a-b < 64<<10 && b-a < 64<<10 }
	if got.PCs != 2 || !near(got.FromSite, site) || !near(got.Origin+got.OtherSites, servers) || got.WANAvoided != got.FromSite {
		t.Fatalf("repository savings %+v; the jobs say %d from the site, %d from servers", got, site, servers)
	}
	if len(got.Milestones) == 0 || got.Milestones[len(got.Milestones)-1].PCs != 2 {
		t.Errorf("milestones %+v, want the last at 2 PCs", got.Milestones)
	}
	d, err := repo.Details(ctx, pkg.ID)
	if err != nil || d.Current.Savings == nil || d.Current.Savings.WANAvoided != got.WANAvoided {
		t.Fatalf("details savings: %+v %v", d, err)
	}
	resp, err := http.Get(tr.Base + "/packages/" + pkg.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Savings per site") || !strings.Contains(string(page), "2 PCs:") {
		t.Errorf("the package page shows no savings")
	}
	t.Logf("savings: %+v", got)

	// The first PC's metrics, on its local API behind the read token.
	req, _ := http.NewRequest("GET", "http://"+first.Addr+"/metrics", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("metrics without a token: %v %v, want 401", resp, err)
	}
	req.Header.Set("Authorization", "Bearer "+first.ReadToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metrics with the read token: %v %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	j := jobs[0]
	for _, want := range []string{
		fmt.Sprintf(`smstorrent_service_job_received_bytes_total{package=%q,source="origin"} %s`, pkg.ID,
			strconv.FormatFloat(float64(j.DownloadedServer), 'g', -1, 64)), // as the text format writes it
		fmt.Sprintf(`smstorrent_service_jobs{state=%q} 1`, api.StateTransferred),
		"go_goroutines ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
