package ui

import (
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/ui/viewmodel"
)

func TestNiceMaxAndSteps(t *testing.T) {
	for _, c := range []struct {
		peak  int64
		top   string
		lines []string
	}{
		{0, "256 KiB/s", []string{"256 KiB/s", "192 KiB/s", "128 KiB/s", "64 KiB/s", "0 B/s"}},
		{300 << 10, "384 KiB/s", []string{"384 KiB/s", "256 KiB/s", "128 KiB/s", "0 B/s"}},
		{1 << 20, "1 MiB/s", nil},
		{1100 << 10, "1.5 MiB/s", []string{"1.5 MiB/s", "1 MiB/s", "512 KiB/s", "0 B/s"}},
		{5 << 20, "6 MiB/s", []string{"6 MiB/s", "4 MiB/s", "2 MiB/s", "0 B/s"}},
		{50 << 20, "64 MiB/s", []string{"64 MiB/s", "48 MiB/s", "32 MiB/s", "16 MiB/s", "0 B/s"}},
	} {
		top := niceMax(c.peak)
		if got := units.Rate(top); got != c.top {
			t.Errorf("niceMax(%d) = %s, want %s", c.peak, got, c.top)
		}
		if c.lines == nil {
			continue
		}
		n := gridSteps(top)
		var got []string
		for i := range n + 1 {
			got = append(got, units.Rate(top*int64(n-i)/int64(n)))
		}
		if len(got) != len(c.lines) {
			t.Errorf("top %s: lines %v, want %v", c.top, got, c.lines)
			continue
		}
		for i := range got {
			if got[i] != c.lines[i] {
				t.Errorf("top %s: lines %v, want %v", c.top, got, c.lines)
				break
			}
		}
	}
}

// TestAxisFollowsTheVisibleData: a 20-second LAN burst at 50 MiB/s in the
// middle of five minutes at about 1 MiB/s no longer flattens the line; the
// burst is clipped and reported.
func TestAxisFollowsTheVisibleData(t *testing.T) {
	var ss []viewmodel.Sample
	for i := range 150 { // 2-second buckets over 5 minutes
		v := int64(1000 << 10)
		if i >= 60 && i < 70 {
			v = 50 << 20
		}
		ss = append(ss, viewmodel.Sample{At: fixedNow.Add(time.Duration(i) * 2 * time.Second), Down: v, Up: 200 << 10})
	}
	top, clipped := axisTop(ss)
	if units.Rate(top) != "1.5 MiB/s" || units.Rate(clipped) != "50 MiB/s" {
		t.Errorf("burst: top %s, clipped %s; want 1.5 MiB/s and 50 MiB/s", units.Rate(top), units.Rate(clipped))
	}
	// The burst is happening now: the axis covers it.
	for i := 140; i < 150; i++ {
		ss[i].Down = 50 << 20
	}
	if top, clipped := axisTop(ss); top < 50<<20 || clipped != 0 {
		t.Errorf("current burst: top %s, clipped %d", units.Rate(top), clipped)
	}
	// Steady traffic: the top is just above it, nothing clipped.
	for i := range ss {
		ss[i].Down = 5 << 20
	}
	if top, clipped := axisTop(ss); units.Rate(top) != "6 MiB/s" || clipped != 0 {
		t.Errorf("steady: top %s, clipped %d", units.Rate(top), clipped)
	}
	if top, clipped := axisTop(nil); top != minAxis || clipped != 0 {
		t.Errorf("empty: %d %d", top, clipped)
	}
}
