package core

import (
	"path/filepath"
	"testing"
)

// The counters the API shows are those written to disk: staged but not
// flushed counters do not show, and a new store (a restart) shows what the
// last flush wrote.
func TestShownCountersAreWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.json")
	st := &jobStore{path: path}
	st.stage([]record{{ID: "PS1", Downloaded: 100, Uploaded: 7}})
	if got := st.shown("PS1"); got != (counters{}) {
		t.Fatalf("staged counters shown before the write: %+v", got)
	}
	if err := st.flush(); err != nil {
		t.Fatal(err)
	}
	if got := st.shown("PS1"); got.Down != 100 || got.Up != 7 {
		t.Fatalf("after the write: %+v", got)
	}
	st.stage([]record{{ID: "PS1", Downloaded: 500}}) // not written: as after a kill -9
	restarted := &jobStore{path: path}
	if _, err := restarted.load(); err != nil {
		t.Fatal(err)
	}
	if got := restarted.shown("PS1"); got.Down != 100 {
		t.Fatalf("after a restart: %+v, want the written 100", got)
	}
}
