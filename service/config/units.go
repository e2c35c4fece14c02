package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/internal/units"
)

// Rate is a transfer rate in bytes per second; 0 means unlimited. In JSON it
// is a string with a unit (package units: "512KiB/s", "2MiB/s", "2MB/s",
// "20Mbit/s", "unlimited") or a JSON number of bytes per second.
type Rate int64

// ParseRate parses a rate as described in package units ("2MiB/s",
// "2MB/s", "20Mbit/s", "unlimited"); a bare number other than 0 is refused.
func ParseRate(in string) (Rate, error) {
	n, err := units.ParseRate(in)
	return Rate(n), err
}

func (r Rate) String() string { return units.Limit(int64(r)) }

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

// MarshalJSON writes a human string.
func (r Rate) MarshalJSON() ([]byte, error) {
	if r == 0 {
		return json.Marshal("unlimited")
	}
	return json.Marshal(r.String())
}

// Size is a number of bytes; in JSON a number or a string like "50GiB".
type Size int64

// ParseSize parses a size as described in package units ("512MiB",
// "50GB", "0"); a bare number other than 0 is refused.
func ParseSize(s string) (Size, error) {
	n, err := units.ParseSize(s)
	return Size(n), err
}

func (z Size) String() string { return units.Bytes(int64(z)) }

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

// MarshalJSON writes a human string.
func (z Size) MarshalJSON() ([]byte, error) {
	if z == 0 {
		return json.Marshal("0")
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
