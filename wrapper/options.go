package wrapper

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/internal/pkgid"
	"github.com/smstorrent/smstorrent/service/api"
)

// DefaultWait is how long --wait without a duration waits.
const DefaultWait = time.Hour

// Options are the wrapper's flags and the command to run.
type Options struct {
	Package   string        // --package; "" means from the current directory
	Priority  api.Priority  // --priority
	RetryCode int           // --retry-code
	Wait      time.Duration // --wait; 0 means do not wait
	// MapToRetry holds failure names (Failure.Name) that exit with RetryCode.
	MapToRetry map[string]bool
	// PinVersion is --version: run exactly this version of the package.
	PinVersion string
	// IfRepositoryDown is --if-repository-down: RunCached (default) or Retry.
	IfRepositoryDown string
	Log              string // --log: a file, or a folder for P2PWrapper.log
	DataDir          string // --data-dir: the service's data folder
	Help             bool
	Version          bool

	// Command is the command and its arguments, unquoted.
	Command []string
	// RawCommand is the command line from the command on, exactly as the
	// wrapper received it (Windows); "" when the arguments came as a vector.
	RawCommand string
}

// What to do when the repository cannot say which version is current.
const (
	RunCached = "run-cached" // run the complete cached version, and log that
	Retry     = "retry"      // exit with the retry code
)

// ErrUsage marks command-line errors.
var ErrUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

// Usage is the --help text.
const Usage = `Usage: P2PWrapper [flags] [--] <command> [arguments...]

Runs <command> from the package's folder in the SMSTorrent cache once the
package has been downloaded by the local SMSTorrent service. Until then it
starts or continues the download and exits with the retry code, which SCCM
retries later. The package ID is the last element of the current directory
(\\dp01\SMSPKGD$\PS100012 gives PS100012) unless --package names it.

Flags (before the command; "--" ends them):
  --package ID           package ID (default: last element of the current directory)
  --priority P           download priority: foreground, high, normal, low (default normal)
  --version V            run exactly version V of the package (default: the
                         repository's current version, never an older cached one)
  --if-repository-down run-cached|retry
                         when the repository cannot say which version is current:
                         run the cached version (default) or exit with the retry code
  --retry-code N         exit code for "not yet, retry later" (default 1618)
  --wait[=DURATION]      wait for the download (default 1h), showing progress,
                         then run; on timeout exit with the retry code
  --map-errors-to-retry LIST
                         exit with the retry code on these failures (comma-separated,
                         or all): service-down, access-denied, repository,
                         unknown-package, signature, download-failed, service-error,
                         command-not-started
  --log PATH             log file, or folder for P2PWrapper.log (default: the
                         service's log folder)
  --data-dir DIR         the service's data folder (default: as the service)
  --version              (alone) print the wrapper's version
  --help                 print this help

Exit codes: the command's own, or 1618 retry, 1639 usage, 1062 service-down,
5 access-denied, 1231 repository, 1168 unknown-package, 577 signature,
1619 download-failed, 1064 service-error, 2 command-not-started.
See docs/WRAPPER.md.
`

// parseFlags parses the wrapper's flags in args (args[0] is the wrapper
// itself) up to the first argument that is not a flag, or "--". It returns
// the options and the index in args where the command starts.
func parseFlags(args []string) (Options, int, error) {
	o := Options{Priority: api.Normal, RetryCode: DefaultRetryCode, IfRepositoryDown: RunCached}
	i := 1
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if a == "/?" && i == 1 {
			o.Help = true
			return o, len(args), nil
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		f := &flagArg{args: args, i: i, name: name, val: val, hasVal: hasVal}
		if err := o.apply(f); err != nil {
			return o, 0, err
		}
		i = f.i + 1
	}
	return o, i, nil
}

// flagArg is one flag being parsed: args[i] is the flag itself, as
// --name or --name=val.
type flagArg struct {
	args   []string
	i      int
	name   string
	val    string
	hasVal bool
}

// value returns the flag's value: after "=", or the next argument (which
// it then consumes).
func (f *flagArg) value() (string, error) {
	if f.hasVal {
		return f.val, nil
	}
	if f.i+1 >= len(f.args) {
		return "", usageErr("flag --%s needs a value", f.name)
	}
	f.i++
	return f.args[f.i], nil
}

// apply sets the option that flag f names.
func (o *Options) apply(f *flagArg) error {
	name := strings.ToLower(f.name)
	if set, ok := valueFlags[name]; ok {
		v, err := f.value()
		if err != nil {
			return err
		}
		return set(o, v)
	}
	switch name {
	case "wait":
		// The duration is optional: "--wait 30m cmd" and "--wait cmd".
		o.Wait = DefaultWait
		v, hasVal := f.val, f.hasVal
		if !hasVal && f.i+1 < len(f.args) && looksLikeDuration(f.args[f.i+1]) {
			f.i++
			v, hasVal = f.args[f.i], true
		}
		if hasVal {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return usageErr("--wait: %q is not a positive duration like 30m or 2h", v)
			}
			o.Wait = d
		}
	case "version":
		if !f.hasVal && (f.i+1 >= len(f.args) || strings.HasPrefix(f.args[f.i+1], "-")) {
			o.Version = true // --version alone prints the wrapper's version
			return nil
		}
		v, err := f.value()
		if err != nil {
			return err
		}
		if err := validVersion(v); err != nil {
			return usageErr("--version: %v", err)
		}
		o.PinVersion = v
	case "help", "h", "?":
		o.Help = true
	default:
		return usageErr("unknown flag %s (put \"--\" before a command that starts with '-')", f.args[f.i])
	}
	return nil
}

// valueFlags are the flags that always take a value, by lower-case name:
// each checks the value and sets its option.
var valueFlags = map[string]func(o *Options, v string) error{
	"package": func(o *Options, v string) error {
		if err := pkgid.ValidID(v); err != nil {
			return usageErr("--package: %v", err)
		}
		o.Package = v
		return nil
	},
	"priority": func(o *Options, v string) error {
		p, err := api.ParsePriority(v)
		if err != nil {
			return usageErr("--priority: %v", err)
		}
		o.Priority = p
		return nil
	},
	"retry-code": func(o *Options, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > 0xFFFFFFFF {
			return usageErr("--retry-code: %q is not an exit code", v)
		}
		o.RetryCode = int(n)
		return nil
	},
	"map-errors-to-retry": func(o *Options, v string) error {
		m, err := parseRetryMap(v)
		if err != nil {
			return usageErr("%v", err)
		}
		o.MapToRetry = m
		return nil
	},
	"if-repository-down": func(o *Options, v string) error {
		switch strings.ToLower(v) {
		case RunCached, Retry:
			o.IfRepositoryDown = strings.ToLower(v)
			return nil
		}
		return usageErr("--if-repository-down: %q is not run-cached or retry", v)
	},
	"log":      func(o *Options, v string) error { o.Log = v; return nil },
	"data-dir": func(o *Options, v string) error { o.DataDir = v; return nil },
}

// validVersion checks a pinned version string: 1-64 printable characters
// without spaces.
func validVersion(v string) error {
	if v == "" || len(v) > 64 {
		return fmt.Errorf("%q must be 1-64 characters", v)
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("%q has spaces or control characters", v)
		}
	}
	return nil
}

// looksLikeDuration reports whether s is a Go duration such as 30m or 1h30m,
// so that "--wait 30m cmd" takes 30m as the duration and "--wait cmd" does not.
func looksLikeDuration(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	_, err := time.ParseDuration(s)
	return err == nil
}

// PackageIDFromDir returns the package ID named by a working directory:
// its last element, with Windows or slash separators and trailing
// separators ignored (\\dp01\SMSPKGD$\PS100012\ gives PS100012).
func PackageIDFromDir(dir string) (string, error) {
	trimmed := strings.TrimRight(dir, `\/`)
	elems := strings.FieldsFunc(trimmed, func(r rune) bool { return r == '\\' || r == '/' })
	if len(elems) == 0 {
		return "", usageErr("the current directory %q names no package: use --package", dir)
	}
	id := elems[len(elems)-1]
	if len(elems) >= 2 && strings.EqualFold(elems[len(elems)-2], "ccmcache") {
		return "", usageErr("the current directory %q is in the SCCM client cache, not on a distribution point: use --package", dir)
	}
	if err := pkgid.ValidID(id); err != nil {
		return "", usageErr("the current directory %q does not end in a package ID (like \\\\dp01\\SMSPKGD$\\PS100012): use --package", dir)
	}
	return id, nil
}
