// Package cmdline is the one way SMSTorrent's command lines are parsed
// (smstorrent-service, its ctl, smstorrent-tracker): every subcommand has
// its own flag set, flags and positional arguments may come in any order
// ("--" ends the flags), a flag a subcommand does not take and a word it does
// not expect are refused, and a mistake is answered with the subcommand's
// one-line usage rather than the whole help. Flag values that people type
// (durations, rates) get messages that show the right form.
//
// Built on the standard library's flag package rather than a framework
// (cobra, ff): the programs have a handful of subcommands each, and what
// they need beyond package flag is interspersed arguments and better
// messages, about a hundred lines. It imports only internal/units.
package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/internal/units"
)

// UsageError is a wrong command line. Usage is the one-line usage of the
// (sub)command, printed under the message.
type UsageError struct {
	Msg   string
	Usage string
}

func (e *UsageError) Error() string { return e.Msg + " (usage: " + e.Usage + ")" }

// Usagef makes a UsageError.
func Usagef(usage, format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...), Usage: usage}
}

// IsUsage reports whether err is a wrong command line.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Print writes err for a person: the message, and for a usage error the
// usage line and where to find the full help.
func Print(w io.Writer, err error, help string) {
	var u *UsageError
	if errors.As(err, &u) {
		fmt.Fprintf(w, "error: %s\nusage: %s\n", u.Msg, u.Usage)
		if help != "" {
			fmt.Fprintf(w, "(%s for the full help)\n", help)
		}
		return
	}
	fmt.Fprintf(w, "error: %v\n", err)
}

// NewFlagSet returns a flag set that prints nothing by itself: errors come
// back from Parse.
func NewFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// Parse parses fs's flags and returns the positional arguments; flags may
// come before, between or after them, and "--" ends the flags. Errors are
// UsageErrors with usage as the usage line; "-h"/"--help" returns
// flag.ErrHelp.
func Parse(fs *flag.FlagSet, args []string, usage string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &UsageError{Msg: describe(fs, err), Usage: usage}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// describe turns package flag's error into a message for people.
func describe(fs *flag.FlagSet, err error) string {
	var msg string
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := f.Value.(problem); ok && v.problem() != nil && msg == "" {
			msg = fmt.Sprintf("--%s: %v", f.Name, v.problem())
		}
	})
	if msg != "" {
		return msg
	}
	s := err.Error()
	if name, ok := strings.CutPrefix(s, "flag provided but not defined: "); ok {
		return fmt.Sprintf("%s does not take --%s", fs.Name(), strings.TrimLeft(name, "-"))
	}
	if name, ok := strings.CutPrefix(s, "flag needs an argument: "); ok {
		return fmt.Sprintf("--%s needs a value", strings.TrimLeft(name, "-"))
	}
	return s
}

// problem is a flag value that remembers why it refused its input.
type problem interface{ problem() error }

// Args checks the number of positional arguments: at least min, at most max
// (max < 0: no limit). Stray words are refused by name.
func Args(pos []string, min, max int, usage string) error {
	switch {
	case len(pos) < min:
		return &UsageError{Msg: "missing arguments", Usage: usage}
	case max >= 0 && len(pos) > max:
		return &UsageError{Msg: fmt.Sprintf("unexpected %q", strings.Join(pos[max:], " ")), Usage: usage}
	}
	return nil
}

// durationValue is a time.Duration flag with a message that shows the form.
type durationValue struct {
	d   *time.Duration
	err error
}

// Duration defines a duration flag ("30m", "2h", "1h30m").
func Duration(fs *flag.FlagSet, name string, value time.Duration, usage string) *time.Duration {
	d := value
	fs.Var(&durationValue{d: &d}, name, usage)
	return &d
}

func (v *durationValue) String() string {
	if v.d == nil {
		return "0s"
	}
	return v.d.String()
}

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		v.err = fmt.Errorf("%q is not a duration: write it like 30m, 2h or 1h30m", s)
	case d < 0:
		v.err = fmt.Errorf("%q is negative", s)
	default:
		*v.d = d
		return nil
	}
	return v.err
}

func (v *durationValue) problem() error { return v.err }

// rateValue is a rate flag read with package units.
type rateValue struct {
	bps *int64
	set *bool
	err error
}

// Rate defines a rate flag ("2MiB/s", "20Mbit/s", "unlimited"); set
// reports whether it was given.
func Rate(fs *flag.FlagSet, name, usage string) (bps *int64, set *bool) {
	v := &rateValue{bps: new(int64), set: new(bool)}
	fs.Var(v, name, usage)
	return v.bps, v.set
}

func (v *rateValue) String() string {
	if v.bps == nil {
		return ""
	}
	return units.Limit(*v.bps)
}

func (v *rateValue) Set(s string) error {
	n, err := units.ParseRate(s)
	if err != nil {
		v.err = err
		return err
	}
	*v.bps, *v.set = n, true
	return nil
}

func (v *rateValue) problem() error { return v.err }
