package savings

import (
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/tracker/swarm"
)

func h(b byte) swarm.Hash { return swarm.Hash{b} }

// Five PCs of one site complete 10 s apart after starting together: the
// milestones are 1, 2, 4 and the last (5) PCs; a PC's later report keeps
// its first start and completion.
func TestMilestonesAndMerge(t *testing.T) {
	b := New(0)
	pub := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := pub.Add(time.Hour)
	for i := range 5 {
		at := start.Add(time.Duration(10*(i+1)) * time.Second)
		b.Put(h(1), h(byte(10+i)), "a", repoapi.Report{Site: 100, Origin: 10, Complete: true, Seconds: int64(10 * (i + 1))}, pub, at)
	}
	// PC 10 reports again much later: nothing moves but its bytes.
	b.Put(h(1), h(10), "a", repoapi.Report{Site: 200, Origin: 10, Complete: true, Seconds: 9999}, pub, start.Add(time.Hour))
	s := b.Version("P", "1", h(1), 1000)
	if s == nil || len(s.Sites) != 1 {
		t.Fatalf("savings %+v", s)
	}
	a := s.Sites[0]
	if a.PCs != 5 || a.Complete != 5 || a.FromSite != 600 || a.Origin != 50 || a.WANAvoided != 600 || a.ServerAvoided != 600 {
		t.Fatalf("site savings %+v", a)
	}
	want := []repoapi.Milestone{{PCs: 1, Seconds: 10}, {PCs: 2, Seconds: 20}, {PCs: 4, Seconds: 40}, {PCs: 5, Seconds: 50}}
	if len(a.Milestones) != len(want) {
		t.Fatalf("milestones %+v, want %+v", a.Milestones, want)
	}
	for i := range want {
		if a.Milestones[i] != want[i] {
			t.Fatalf("milestones %+v, want %+v", a.Milestones, want)
		}
	}
	if b.Version("P", "1", h(2), 1000) != nil {
		t.Error("savings for a version nobody reported on")
	}
}

// A start claimed before the version was published is clamped to its
// publication; the table stays bounded and says what it dropped.
func TestBoundsAndChanges(t *testing.T) {
	b := New(100)
	pub := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := pub.Add(time.Minute)
	r := b.Put(h(1), h(1), "a", repoapi.Report{Seconds: 1 << 40}, pub, now)
	if !r.Started.Equal(pub) {
		t.Errorf("start %v, want the publication %v", r.Started, pub)
	}
	for i := range 300 {
		b.Put(h(2), swarm.Hash{byte(i), byte(i >> 8)}, "a", repoapi.Report{Origin: 1}, pub, now.Add(time.Duration(i)*time.Second))
	}
	if n := b.Len(); n > 100 {
		t.Fatalf("%d records kept, bound 100", n)
	}
	changed, dropped := b.Changes()
	if len(changed) != b.Len() || len(dropped) == 0 {
		t.Fatalf("%d changed, %d dropped, %d kept", len(changed), len(dropped), b.Len())
	}
	if c, d := b.Changes(); len(c) != 0 || len(d) != 0 {
		t.Fatalf("changes reported twice: %d %d", len(c), len(d))
	}
	b.Unsave(changed, dropped)
	if c, _ := b.Changes(); len(c) != len(changed) {
		t.Fatalf("Unsave gave back %d of %d", len(c), len(changed))
	}
	fresh := New(100)
	fresh.Restore(changed)
	if fresh.Len() != len(changed) || fresh.Totals()["a"].Reports != len(changed) {
		t.Fatalf("restored %d of %d", fresh.Len(), len(changed))
	}
}
