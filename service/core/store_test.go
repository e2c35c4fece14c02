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
