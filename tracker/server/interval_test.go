package server

import (
	"testing"
	"time"
)

// Origins, leechers the registry wants back, and everyone during the first
// announce_interval after a start (the tracker has lost its peers) are told
// min_interval; the rest announce_interval.
func TestInterval(t *testing.T) {
	tr := &Tracker{Interval: 10 * time.Minute, MinInterval: time.Minute}
	for _, c := range []struct {
		name         string
		startedAgo   time.Duration
		origin, soon bool
		want         time.Duration
	}{
		{"leecher, settled", time.Hour, false, false, 10 * time.Minute},
		{"origin, settled", time.Hour, true, false, time.Minute},
		{"gateway mode leecher", time.Hour, false, true, time.Minute},
		{"leecher, just restarted", time.Second, false, false, time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr.started = time.Now().Add(-c.startedAgo)
			if got := tr.interval(c.origin, c.soon); got != c.want {
				t.Errorf("interval %v, want %v", got, c.want)
			}
		})
	}
}
