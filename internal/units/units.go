// Package units is SMSTorrent's one convention for the sizes and rates that
// people read and type, used by ctl, the configuration, the service's logs
// and status texts, the wrapper, the repository page, the window and the
// tray.
//
// Output is IEC (binary, 1024-based) with IEC names: "512 B", "1.5 KiB",
// "200 MiB", "3.4 GiB", "2 MiB/s". Windows Explorer and Task Manager count
// in 1024s too (and call them "KB", "MB"), so the figures agree with what
// people see there; only the spelling is the unambiguous one.
//
// Input accepts both spellings with their true meaning: KiB, MiB, GiB, TiB
// are 1024-based; kB (KB), MB, GB, TB are 1000-based; kbit, Mbit, Gbit (and
// kbps, Mbps, Gbps) count bits. A rate may end in "/s". Ambiguous input is
// refused with a message that shows the right form: a bare number ("2",
// except "0"), a unit on its own ("MB/s"), a prefix without a unit ("2M"),
// and a lower-case "b" after a prefix ("2mb", "2Mb": megabytes or
// megabits?).
//
// It imports nothing of this repository.
package units

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Bytes formats a size: "0 B", "512 B", "1 KiB", "1.5 KiB", "200 MiB",
// "3.4 GiB"; one decimal below 100, none from 100 up and none when it is .0.
// Negative sizes show as 0 B.
func Bytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", max(n, 0))
	}
	names := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(names)-1 {
		v /= 1024
		u++
	}
	if v < 100 {
		s := strconv.FormatFloat(v, 'f', 1, 64)
		if s == "100.0" { // 99.95 and up round to 100
			return "100 " + names[u]
		}
		return strings.TrimSuffix(s, ".0") + " " + names[u]
	}
	return fmt.Sprintf("%.0f %s", v, names[u])
}

// Rate formats a rate in bytes per second: "0 B/s", "1.5 MiB/s".
func Rate(bps int64) string { return Bytes(bps) + "/s" }

// Limit formats a limit in bytes per second where 0 (or less) means none:
// "unlimited", "2 MiB/s".
func Limit(bps int64) string {
	if bps <= 0 {
		return "unlimited"
	}
	return Rate(bps)
}

// unit is one accepted spelling.
type unit struct {
	name string  // as typed; matched case-insensitively unless exact
	mult float64 // bytes per unit
	bits bool    // counts bits
}

var units = func() []unit {
	var us []unit
	prefixes := []struct {
		si, iec string
		p       float64
	}{{"k", "ki", 1}, {"m", "mi", 2}, {"g", "gi", 3}, {"t", "ti", 4}}
	for _, p := range prefixes {
		si, iec := math.Pow(1000, p.p), math.Pow(1024, p.p)
		us = append(us,
			unit{p.iec + "b", iec, false}, // KiB (bytes: see exactB)
			unit{p.si + "b", si, false},   // kB
			unit{p.iec + "bit", iec / 8, true},
			unit{p.si + "bit", si / 8, true},
			unit{p.si + "bps", si / 8, true},
		)
	}
	return append(us, unit{"b", 1, false}, unit{"bit", 1.0 / 8, true}, unit{"bps", 1.0 / 8, true})
}()

// ErrAmbiguous is wrapped by every error about input that could mean two
// things (a bare number, a unit alone, "mb").
var ErrAmbiguous = errors.New("ambiguous")

// ParseSize parses a size: "512MiB", "50GB", "1.5 GiB", "0" (zero).
// "unlimited" and "none" are 0 too (no cap).
func ParseSize(in string) (int64, error) {
	n, err := parse(in, "size", "50GiB", false)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// ParseRate parses a rate in bytes per second: "2MiB/s", "2MB/s",
// "20Mbit/s", "20Mbps", "512 KiB/s"; "0", "unlimited", "none" and "off" are
// 0 (no limit).
func ParseRate(in string) (int64, error) {
	return parse(in, "rate", "2MiB/s", true)
}

func parse(in, what, example string, rate bool) (int64, error) {
	s := strings.TrimSpace(in)
	switch strings.ToLower(s) {
	case "0", "unlimited", "none":
		return 0, nil
	case "off":
		if rate {
			return 0, nil
		}
	case "":
		return 0, fmt.Errorf("empty %s: write a number with a unit, like %s (0 or \"unlimited\" for none)", what, example)
	}
	num, unitText := splitNumber(s)
	if rate {
		unitText = strings.TrimSuffix(strings.TrimSpace(unitText), "/s")
	}
	unitText = strings.TrimSpace(unitText)
	if num == "" {
		if _, err := lookup(unitText, "", ""); err == nil || errors.Is(err, ErrAmbiguous) {
			return 0, fmt.Errorf("%s %q: %w: a unit needs a number before it, like %s", what, in, ErrAmbiguous, example)
		}
		return 0, fmt.Errorf("%s %q: not a number with a unit, like %s", what, in, example)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s %q: not a number with a unit, like %s", what, in, example)
	}
	if unitText == "" {
		if f == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("%s %q: %w: give a unit, like %s%s, %sMB%s or %sMbit/s (KiB, MiB, GiB count 1024s; kB, MB, GB 1000s)",
			what, in, ErrAmbiguous, num, suffix(example), num, slash(rate), num)
	}
	u, err := lookup(unitText, num, slash(rate))
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", what, in, err)
	}
	if u.bits && !rate {
		return 0, fmt.Errorf("%s %q: bits are for rates; give a size in bytes, like %s", what, in, example)
	}
	v := f * u.mult
	if v < 0 {
		return 0, fmt.Errorf("%s %q is negative", what, in)
	}
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("%s %q is too large", what, in)
	}
	return int64(v), nil
}

// suffix is the example's unit: "MiB/s" of "2MiB/s".
func suffix(example string) string {
	_, u := splitNumber(example)
	return u
}

func slash(rate bool) string {
	if rate {
		return "/s"
	}
	return ""
}

// splitNumber splits "1.5 GiB" into "1.5" and " GiB".
func splitNumber(s string) (num, rest string) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || (i == 0 && (s[i] == '-' || s[i] == '+'))) {
		i++
	}
	return s[:i], s[i:]
}

// lookup finds a unit. Prefixes and "bit"/"bps" are case-insensitive; the
// byte unit must be an upper-case "B" (after a prefix, "b" could be bits).
// num and per ("/s" or "") spell the right forms in messages.
func lookup(text, num, per string) (unit, error) {
	low := strings.ToLower(text)
	for _, u := range units {
		if low != u.name {
			continue
		}
		if !u.bits && !strings.HasSuffix(text, "B") {
			n := strings.TrimSuffix(strings.TrimSuffix(low, "b"), "i")
			p := prefixCase(text, n)
			return unit{}, fmt.Errorf("%w: %q could be bytes or bits: write %s%sB%s for bytes or %s%sbit%s for bits",
				ErrAmbiguous, text, num, p, per, num, p, per)
		}
		return u, nil
	}
	switch low {
	case "k", "m", "g", "t", "ki", "mi", "gi", "ti":
		p := prefixCase(text, strings.TrimSuffix(low, "i"))
		return unit{}, fmt.Errorf("%w: %q is a prefix without a unit: write %s%sB%s (bytes) or %s%sbit%s (bits)", ErrAmbiguous, text, num, p, per, num, p, per)
	}
	return unit{}, fmt.Errorf("unknown unit %q: use B, KiB, MiB, GiB (1024s), kB, MB, GB (1000s) or kbit, Mbit, Gbit", text)
}

// prefixCase spells a prefix the usual way: k, M, G, T; Ki, Mi, Gi, Ti.
func prefixCase(text, low string) string {
	switch low {
	case "k":
		return "k"
	case "":
		return ""
	}
	if strings.HasPrefix(strings.ToLower(text), low+"i") {
		return strings.ToUpper(low) + "i"
	}
	return strings.ToUpper(low)
}
