package config

import (
	"fmt"
	"strings"
	"time"
)

// Window is one entry of the bandwidth schedule: on the given weekdays,
// between From and To (local time, "HH:MM"; To before From crosses
// midnight), the limits replace limit_down/limit_up.
type Window struct {
	Days      []string `json:"days"` // "mon".."sun", ranges like "mon-fri", or "*"
	From      string   `json:"from"`
	To        string   `json:"to"`
	LimitDown Rate     `json:"limit_down"`
	LimitUp   Rate     `json:"limit_up"`
	// Name is shown in the window and the status ("business hours").
	Name string `json:"name,omitempty"`
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func dayIndex(s string) (int, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) >= 3 {
		s = s[:3]
	}
	for i, d := range dayNames {
		if d == s {
			return i, true
		}
	}
	return 0, false
}

// days returns the set of weekdays the window covers.
func (w Window) days() ([7]bool, error) {
	var set [7]bool
	if len(w.Days) == 0 {
		return set, fmt.Errorf("list the days, e.g. [\"mon-fri\"] or [\"*\"]")
	}
	for _, d := range w.Days {
		d = strings.TrimSpace(d)
		if d == "*" {
			return [7]bool{true, true, true, true, true, true, true}, nil
		}
		a, b, isRange := strings.Cut(d, "-")
		from, ok1 := dayIndex(a)
		to := from
		ok2 := true
		if isRange {
			to, ok2 = dayIndex(b)
		}
		if !ok1 || !ok2 {
			return set, fmt.Errorf("%q is not a weekday (mon, tue, ... sun) or a range like mon-fri", d)
		}
		for i := from; ; i = (i + 1) % 7 {
			set[i] = true
			if i == to {
				break
			}
		}
	}
	return set, nil
}

func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		if strings.TrimSpace(s) == "24:00" {
			return 24 * time.Hour, nil
		}
		return 0, fmt.Errorf("%q is not a time of day like 08:00", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func (w Window) validate() error {
	if _, err := w.days(); err != nil {
		return err
	}
	f, err := parseClock(w.From)
	if err != nil {
		return fmt.Errorf("from: %v", err)
	}
	t, err := parseClock(w.To)
	if err != nil {
		return fmt.Errorf("to: %v", err)
	}
	if f == t {
		return fmt.Errorf("from and to are the same time")
	}
	return nil
}

// Contains reports whether the window is in force at t (in t's location).
// A window crossing midnight belongs to the day it starts on.
func (w Window) Contains(t time.Time) bool {
	days, err := w.days()
	if err != nil {
		return false
	}
	f, err1 := parseClock(w.From)
	to, err2 := parseClock(w.To)
	if err1 != nil || err2 != nil {
		return false
	}
	mid := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	wd := int(t.Weekday())
	if f < to {
		return days[wd] && mid >= f && mid < to
	}
	// Crosses midnight: the evening part today, or the morning part of a
	// window that started yesterday.
	return (days[wd] && mid >= f) || (days[(wd+6)%7] && mid < to)
}

// Describe says the window in words.
func (w Window) Describe() string {
	name := w.Name
	if name == "" {
		name = "schedule"
	}
	return fmt.Sprintf("%s: %s %s-%s, down %s, up %s", name, strings.Join(w.Days, ","), w.From, w.To, w.LimitDown, w.LimitUp)
}

// ActiveWindow returns the first window in force at t, if any.
func ActiveWindow(ws []Window, t time.Time) (Window, bool) {
	for _, w := range ws {
		if w.Contains(t) {
			return w, true
		}
	}
	return Window{}, false
}
