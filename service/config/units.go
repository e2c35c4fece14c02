package config

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rate is a transfer rate in bytes per second; 0 means unlimited. In JSON it
// is a number of bytes per second or a string with a unit: "512KiB/s",
// "2MB/s", "20Mbit/s", "20Mbps", "unlimited".
type Rate int64

// ParseRate parses a rate as described on Rate. A unit ending in "bit" or
// "bps" counts bits ("20Mbit/s", "20Mbps"); anything else counts bytes.
func ParseRate(in string) (Rate, error) {
	s := strings.TrimSpace(strings.ToLower(in))
	switch s {
	case "", "0", "unlimited", "none", "off":
		return 0, nil
	}
	s = strings.TrimSuffix(s, "/s")
	bits := false
	for _, suf := range []string{"bit", "bps"} {
		if strings.HasSuffix(s, suf) {
			bits = true
			s = strings.TrimSuffix(s, suf)
			break
		}
	}
	n, err := parseScaled(s)
	if err != nil {
		return 0, fmt.Errorf("rate %q: %w", in, err)
	}
	if bits {
		n /= 8
	}
	if n < 0 {
		return 0, fmt.Errorf("rate %q is negative", in)
	}
	return Rate(n), nil
}

func (r Rate) String() string {
	if r == 0 {
		return "unlimited"
	}
	return FormatBytes(int64(r)) + "/s"
}

// UnmarshalJSON accepts a number or a string.
func (r *Rate) UnmarshalJSON(b []byte) error {
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		if n < 0 {
			return fmt.Errorf("rate %v is negative", n)
		}
		*r = Rate(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("rate must be a number of bytes per second or a string like \"2MB/s\"")
	}
	v, err := ParseRate(s)
	*r = v
	return err
}

// MarshalJSON writes a human string, or the exact number of bytes per
// second when the human string would round it (a written configuration must
// read back as the same value).
func (r Rate) MarshalJSON() ([]byte, error) {
	if r == 0 {
		return json.Marshal("unlimited")
	}
	if back, err := ParseRate(r.String()); err != nil || back != r {
		return json.Marshal(int64(r))
	}
	return json.Marshal(r.String())
}

// Size is a number of bytes; in JSON a number or a string like "50GiB".
type Size int64

// ParseSize parses "0", "512MiB", "50GB", "1.5GiB".
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" || s == "0" || s == "unlimited" || s == "none" {
		return 0, nil
	}
	n, err := parseScaled(s)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("size %q is negative", s)
	}
	return Size(n), nil
}

func (z Size) String() string { return FormatBytes(int64(z)) }

// UnmarshalJSON accepts a number or a string.
func (z *Size) UnmarshalJSON(b []byte) error {
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		if n < 0 {
			return fmt.Errorf("size %v is negative", n)
		}
		*z = Size(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("size must be a number of bytes or a string like \"50GiB\"")
	}
	v, err := ParseSize(s)
	*z = v
	return err
}

// MarshalJSON writes a human string, or the exact number of bytes when the
// human string would round it.
func (z Size) MarshalJSON() ([]byte, error) {
	if z == 0 {
		return json.Marshal("0")
	}
	if back, err := ParseSize(z.String()); err != nil || back != z {
		return json.Marshal(int64(z))
	}
	return json.Marshal(z.String())
}

// Duration is a time.Duration written as "30s", "2h", "72h".
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		*d = Duration(time.Duration(n * float64(time.Second)))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\" or a number of seconds")
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

var scales = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12},
	{"b", 1},
}

func parseScaled(s string) (int64, error) {
	mult := 1.0
	for _, sc := range scales {
		if strings.HasSuffix(s, sc.suffix) {
			mult = sc.mult
			s = strings.TrimSuffix(s, sc.suffix)
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a number with a unit (like 512KiB, 2MB, 20Mbit)")
	}
	v := f * mult
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("too large")
	}
	return int64(v), nil
}

// FormatBytes writes n with a binary unit: "1.5 MiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit || m <= -unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
