package core

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestJobStoreWritesNewestAndRetries: flush writes the newest staged copy;
// a failed write stays staged and the next flush writes it.
func TestJobStoreWritesNewestAndRetries(t *testing.T) {
	dir := t.TempDir()
	blocked := filepath.Join(dir, "state")
	// A file where the folder should be: the first write fails.
	if err := os.WriteFile(blocked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st := &jobStore{path: filepath.Join(blocked, "jobs.json")}
	if err := st.flush(); err != nil {
		t.Fatalf("flush with nothing staged: %v", err)
	}
	st.stage([]record{{ID: "OLD"}})
	st.stage([]record{{ID: "A"}, {ID: "B"}})
	if err := st.flush(); err == nil {
		t.Fatal("writing below a file succeeded")
	}
	if err := os.Remove(blocked); err != nil {
		t.Fatal(err)
	}
	if err := st.flush(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	recs, err := st.load()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(recs)
	if len(recs) != 2 || recs[0].ID != "A" || recs[1].ID != "B" {
		t.Errorf("loaded %s, want A and B", b)
	}
	st.stage(nil)
	if err := st.flush(); err != nil {
		t.Fatal(err)
	}
	if recs, err := st.load(); err != nil || len(recs) != 0 {
		t.Errorf("after staging no jobs: %v, %v", recs, err)
	}
}

// The source split survives a restart, and a job saved before the split
// shows its server bytes as origin bytes: shown counters never go back.
func TestJobStoreKeepsSourceSplit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.json")
	st := &jobStore{path: path}
	st.stage([]record{{ID: "NEW", Downloaded: 100, DownloadedSite: 60, DownloadedServer: 40, DownloadedOrigin: 30, DownloadedOther: 10}})
	if err := st.flush(); err != nil {
		t.Fatal(err)
	}
	again := &jobStore{path: path}
	recs, err := again.load()
	if err != nil || len(recs) != 1 {
		t.Fatalf("load: %v %v", recs, err)
	}
	if c := again.shown("NEW"); c.Site != 60 || c.Server != 40 || c.Origin != 30 || c.Other != 10 {
		t.Errorf("after a restart: %+v", c)
	}
	old := `{"version":1,"jobs":[{"id":"OLD","priority":"normal","added":"2026-01-01T00:00:00Z","downloaded":50,"downloaded_site":20,"downloaded_server":30}]}`
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	older := &jobStore{path: path}
	if _, err := older.load(); err != nil {
		t.Fatal(err)
	}
	if c := older.shown("OLD"); c.Server != 30 || c.Origin != 30 || c.Other != 0 || c.Site != 20 {
		t.Errorf("a job saved before the split: %+v", c)
	}
}
