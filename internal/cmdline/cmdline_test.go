package cmdline

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParseIntersperses(t *testing.T) {
	fs := NewFlagSet("x add")
	prio := fs.String("priority", "normal", "")
	assign := fs.Bool("assign", false, "")
	pos, err := Parse(fs, []string{"--priority", "high", "PS1", "--assign", "--", "--not-a-flag"}, "x add ID")
	if err != nil {
		t.Fatal(err)
	}
	if *prio != "high" || !*assign || strings.Join(pos, " ") != "PS1 --not-a-flag" {
		t.Errorf("priority %q assign %v pos %q", *prio, *assign, pos)
	}
}

func TestMistakes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--colour", "red"}, "x throttle does not take --colour"},
		{[]string{"--for", "banana"}, `--for: "banana" is not a duration: write it like 30m, 2h or 1h30m`},
		{[]string{"--for", "-1h"}, `--for: "-1h" is negative`},
		{[]string{"--down", "2"}, "--down: rate \"2\": ambiguous: give a unit"},
		{[]string{"--down"}, "--down needs a value"},
	} {
		fs := NewFlagSet("x throttle")
		Duration(fs, "for", 0, "")
		Rate(fs, "down", "")
		_, err := Parse(fs, c.args, "x throttle --down RATE")
		if !IsUsage(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want a usage error with %q", c.args, err, c.want)
		}
	}
}

func TestValuesAndHelp(t *testing.T) {
	fs := NewFlagSet("x")
	d := Duration(fs, "for", time.Minute, "")
	bps, set := Rate(fs, "down", "")
	if _, err := Parse(fs, []string{"--for", "1h30m", "--down", "2MiB/s"}, "x"); err != nil {
		t.Fatal(err)
	}
	if *d != 90*time.Minute || *bps != 2<<20 || !*set {
		t.Errorf("for %v down %d set %v", *d, *bps, *set)
	}
	if _, err := Parse(NewFlagSet("x"), []string{"-h"}, "x"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestArgsAndPrint(t *testing.T) {
	if err := Args([]string{"a", "b", "c"}, 1, 1, "x job ID"); err == nil || !strings.Contains(err.Error(), `unexpected "b c"`) {
		t.Errorf("stray words: %v", err)
	}
	if err := Args(nil, 1, 1, "x job ID"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing: %v", err)
	}
	if err := Args([]string{"a"}, 1, -1, "x"); err != nil {
		t.Errorf("any number: %v", err)
	}
	var b bytes.Buffer
	Print(&b, Usagef("x job ID", "missing arguments"), `"x help"`)
	if b.String() != "error: missing arguments\nusage: x job ID\n(\"x help\" for the full help)\n" {
		t.Errorf("printed %q", b.String())
	}
	b.Reset()
	Print(&b, errors.New("boom"), "")
	if b.String() != "error: boom\n" {
		t.Errorf("printed %q", b.String())
	}
}
