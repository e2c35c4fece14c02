package viewmodel

import (
	"fmt"
	"math"
	"time"
)

// Sizes and rates are formatted by package units (IEC: "1.5 MiB", "2 MiB/s"),
// the one convention of every SMSTorrent program.

// Duration formats a span for people: "45 s", "12 min", "1 h 5 min", "3 days".
func Duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", max(int(d.Seconds()), 0))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		h := int(d.Hours())
		m := int(d.Minutes()) - 60*h
		if m == 0 || h >= 10 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	days := int(d.Hours() / 24)
	if days == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}

// ETA formats a job's time to completion; negative means unknown.
func ETA(seconds int64) string {
	switch {
	case seconds < 0:
		return "—"
	case seconds < 60:
		return "< 1 min"
	}
	return Duration(time.Duration(seconds) * time.Second)
}

// Ago formats a past moment relative to now: "just now", "5 min ago",
// "2 days ago"; "never" for the zero time.
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < time.Minute {
		return "just now"
	}
	return Duration(d) + " ago"
}

// Percent formats a fraction in [0,1] as a whole percentage that reaches 100
// only when the fraction is 1.
func Percent(f float64) string {
	p := math.Floor(f * 100)
	if f < 1 && p >= 100 {
		p = 99
	}
	return fmt.Sprintf("%.0f%%", max(p, 0))
}
