package server

import (
	"testing"
	"time"
)

// Origins and everyone during the first announce_interval after a start
// (the tracker has lost its peers) are told at most min_interval; the rest
// what the registry says.
func TestInterval(t *testing.T) {
	tr := &Tracker{Interval: 10 * time.Minute, MinInterval: time.Minute}
	for _, c := range []struct {
		name       string
		startedAgo time.Duration
		origin     bool
		registry   time.Duration
		want       time.Duration
	}{
		{"leecher, settled", time.Hour, false, 10 * time.Minute, 10 * time.Minute},
		{"origin, settled", time.Hour, true, 10 * time.Minute, time.Minute},
		{"gateway mode leecher", time.Hour, false, time.Minute, time.Minute},
		{"leecher, just restarted", time.Second, false, 10 * time.Minute, time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr.started = time.Now().Add(-c.startedAgo)
			if got := tr.interval(c.origin, c.registry); got != c.want {
				t.Errorf("interval %v, want %v", got, c.want)
			}
		})
	}
}
