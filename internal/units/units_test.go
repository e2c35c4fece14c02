package units_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/internal/units/unitstest"
)

func TestParseRate(t *testing.T) {
	for _, c := range unitstest.Rates {
		got, err := units.ParseRate(c.In)
		switch {
		case c.Err == "" && (err != nil || got != c.BPS):
			t.Errorf("ParseRate(%q) = %d, %v; want %d", c.In, got, err, c.BPS)
		case c.Err != "" && (err == nil || !strings.Contains(err.Error(), c.Err)):
			t.Errorf("ParseRate(%q) = %d, %v; want an error with %q", c.In, got, err, c.Err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, c := range unitstest.Sizes {
		got, err := units.ParseSize(c.In)
		switch {
		case c.Err == "" && (err != nil || got != c.Bytes):
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.In, got, err, c.Bytes)
		case c.Err != "" && (err == nil || !strings.Contains(err.Error(), c.Err)):
			t.Errorf("ParseSize(%q) = %d, %v; want an error with %q", c.In, got, err, c.Err)
		}
	}
}

func TestAmbiguousIsMarked(t *testing.T) {
	for _, in := range []string{"2", "MB/s", "2mb", "2M"} {
		if _, err := units.ParseRate(in); !errors.Is(err, units.ErrAmbiguous) {
			t.Errorf("ParseRate(%q): %v, want ErrAmbiguous", in, err)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range unitstest.Formats {
		if got := units.Bytes(c.N); got != c.Bytes {
			t.Errorf("Bytes(%d) = %q, want %q", c.N, got, c.Bytes)
		}
		if got := units.Rate(c.N); got != c.Rate {
			t.Errorf("Rate(%d) = %q, want %q", c.N, got, c.Rate)
		}
		if got := units.Limit(c.N); got != c.Limit {
			t.Errorf("Limit(%d) = %q, want %q", c.N, got, c.Limit)
		}
	}
}

// Every printed rate reads back as about the same number.
func TestPrintedFormsParseBack(t *testing.T) {
	for _, c := range unitstest.Formats {
		if c.N == 0 {
			continue
		}
		got, err := units.ParseRate(strings.ReplaceAll(c.Rate, " ", ""))
		if err != nil {
			t.Errorf("%q does not parse back: %v", c.Rate, err)
			continue
		}
		if d := float64(got-c.N) / float64(c.N); d > 0.05 || d < -0.05 {
			t.Errorf("%q parses as %d, printed from %d", c.Rate, got, c.N)
		}
	}
}
