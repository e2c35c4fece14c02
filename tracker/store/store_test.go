package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/tracker/swarm"
)

func v(version, ih string) Version {
	return Version{Version: version, InfoHash: ih, Size: 10, Files: 1, Published: time.Unix(1, 0).UTC()}
}

const (
	h1 = "1111111111111111111111111111111111111111"
	h2 = "2222222222222222222222222222222222222222"
	h3 = "3333333333333333333333333333333333333333"
)

func TestPublishReplaceAndReopen(t *testing.T) {
	file := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish("P1", v("1.0", h1), []byte("t1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish("P1", v("1.0", h1), []byte("t1")); !errors.Is(err, ErrRepublished) {
		t.Errorf("same torrent again: %v", err)
	}
	if _, err := s.Publish("P1", v("1.0", h2), []byte("t2")); !errors.Is(err, ErrConflict) {
		t.Errorf("same version, other content: %v", err)
	}
	p, err := s.Publish("P1", v("2.0", h2), []byte("t2"))
	if err != nil || p.Current.Version != "2.0" || len(p.Previous) != 1 || p.Previous[0].Version != "1.0" {
		t.Fatalf("replace: %+v %v", p, err)
	}
	if _, err := s.Publish("P1", v("3.0", h1), []byte("t1")); !errors.Is(err, ErrConflict) {
		t.Errorf("an old torrent as a new version: %v", err)
	}
	ih := swarm.Hash{1}
	if err := s.SaveCounters([]swarm.CounterRecord{{InfoHash: ih, Site: "a", Counters: swarm.Counters{Completed: 3}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ps, err := s.Packages()
	if err != nil || len(ps) != 1 || ps[0].Current.InfoHash != h2 {
		t.Fatalf("after reopen: %+v %v", ps, err)
	}
	if b, err := s.Torrent(h1); err != nil || string(b) != "t1" {
		t.Errorf("old torrent: %q %v", b, err)
	}
	if _, err := s.Torrent(h3); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing torrent: %v", err)
	}
	if _, err := s.Package("P2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing package: %v", err)
	}
	hs, err := s.Hashes()
	if err != nil || len(hs) != 2 {
		t.Errorf("hashes %v %v", hs, err)
	}
	recs, err := s.LoadCounters()
	if err != nil || len(recs) != 1 || recs[0].Counters.Completed != 3 || recs[0].InfoHash != ih {
		t.Errorf("counters %+v %v", recs, err)
	}
}
