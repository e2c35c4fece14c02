package viewmodel

import (
	"fmt"
	"math"
	"time"
)

// Bytes formats a size the way Windows Explorer does (1024-based, one decimal
// below 100): "0 B", "512 KB", "1.4 GB".
func Bytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", max(n, 0))
	}
	units := []string{"KB", "MB", "GB", "TB", "PB"}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v < 100 {
		s := fmt.Sprintf("%.1f", v)
		if len(s) > 2 && s[len(s)-2:] == ".0" {
			s = s[:len(s)-2]
		}
		return s + " " + units[u]
	}
	return fmt.Sprintf("%.0f %s", v, units[u])
}

// Rate formats bytes per second: "0 B/s", "1.2 MB/s".
func Rate(bps int64) string { return Bytes(bps) + "/s" }

// Limit formats a configured limit where 0 means unlimited.
func Limit(bps int64) string {
	if bps <= 0 {
		return "unlimited"
	}
	return Rate(bps)
}

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
