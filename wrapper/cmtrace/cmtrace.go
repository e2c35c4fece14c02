// Package cmtrace writes log files in the CMTrace format that Configuration
// Manager (SCCM) clients use and that CMTrace.exe and OneTrace display with
// colours, filters and time columns:
//
//	<![LOG[message]LOG]!><time="14:01:52.394-120" date="06-15-2026" component="P2PWrapper" context="" type="1" thread="4711" file="">
//
// type is 1 (information), 2 (warning) or 3 (error); time is local time with
// the bias in minutes (UTC = local time + bias); thread is the process ID here.
//
// A file is capped in size: when a write would take it past the cap, the
// file is renamed to the same name with the extension ".lo_" (replacing an
// older one), as Configuration Manager does, and a new file is started.
// Several processes may append to the same file; each entry is one write.
package cmtrace

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Severity is an entry's CMTrace type.
type Severity int

// Severities.
const (
	Info    Severity = 1
	Warning Severity = 2
	Error   Severity = 3
)

// DefaultMaxSize is the size cap used when Options.MaxSize is 0.
const DefaultMaxSize = 2 << 20

// Options configure a Logger.
type Options struct {
	// Component names the program in every entry.
	Component string
	// MaxSize caps the file in bytes; 0 means DefaultMaxSize, negative no cap.
	MaxSize int64
	// Now returns the time of an entry; nil means time.Now.
	Now func() time.Time
	// Thread is written in the thread attribute; 0 means the process ID.
	Thread int
	// Mirror, if set, also receives every message as plain text
	// ("warning: ..." / "error: ..."), one line each.
	Mirror io.Writer
}

// Logger appends entries to one CMTrace log file. Its methods are safe for
// concurrent use. A Logger with no file (Discard) only mirrors.
type Logger struct {
	path string
	opts Options

	mu sync.Mutex
	f  *os.File
}

// Open opens (creating it and its folder if needed) the log file at path.
func Open(path string, opts Options) (*Logger, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Thread == 0 {
		opts.Thread = os.Getpid()
	}
	if opts.MaxSize == 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("log folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}
	return &Logger{path: path, opts: opts, f: f}, nil
}

// Discard returns a Logger that writes no file, only to opts.Mirror.
func Discard(opts Options) *Logger {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Logger{opts: opts}
}

// Path is the log file's path ("" for Discard).
func (l *Logger) Path() string { return l.path }

// RolledPath is the name a full log file is renamed to: the extension
// replaced by ".lo_".
func RolledPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".lo_"
}

// Infof logs an information entry.
func (l *Logger) Infof(format string, args ...any) { l.Log(Info, fmt.Sprintf(format, args...)) }

// Warnf logs a warning entry.
func (l *Logger) Warnf(format string, args ...any) { l.Log(Warning, fmt.Sprintf(format, args...)) }

// Errorf logs an error entry.
func (l *Logger) Errorf(format string, args ...any) { l.Log(Error, fmt.Sprintf(format, args...)) }

// Log writes one entry. Failures to write are ignored: logging must never
// stop the program (the mirror still gets the message).
func (l *Logger) Log(sev Severity, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opts.Mirror != nil {
		prefix := ""
		switch sev {
		case Warning:
			prefix = "warning: "
		case Error:
			prefix = "error: "
		}
		fmt.Fprintf(l.opts.Mirror, "%s%s\n", prefix, msg)
	}
	if l.f == nil {
		return
	}
	entry := Format(l.opts.Now(), sev, l.opts.Component, l.opts.Thread, msg)
	if l.opts.MaxSize > 0 {
		l.rollIfFull(int64(len(entry)))
	}
	_, _ = l.f.WriteString(entry)
}

// rollIfFull renames the file to RolledPath when adding n bytes would take
// it past the cap. Another process may have rolled it already; then the
// name points to a new file, which is opened instead. On Windows the rename
// fails while another process holds the file open; the entry is then
// appended anyway and the next write tries again.
func (l *Logger) rollIfFull(n int64) {
	st, err := os.Stat(l.path)
	switch {
	case err != nil:
		// Gone (rolled or removed by someone else): open a new one.
	case st.Size() > 0 && st.Size()+n > l.opts.MaxSize:
		_ = l.f.Close()
		l.f = nil
		_ = os.Remove(RolledPath(l.path))
		_ = os.Rename(l.path, RolledPath(l.path))
	default:
		if fst, ferr := l.f.Stat(); ferr == nil && os.SameFile(st, fst) {
			return
		}
	}
	if l.f != nil {
		_ = l.f.Close()
	}
	l.f, err = os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		l.f = nil
	}
}

// Close closes the file.
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Format renders one entry, ending in CRLF. The message may span lines; the
// marker that ends a message is defused so that it cannot end it early.
func Format(t time.Time, sev Severity, component string, thread int, msg string) string {
	msg = strings.ReplaceAll(msg, "]LOG]!>", "]LOG]!&gt;")
	_, off := t.Zone()
	bias := -off / 60
	return fmt.Sprintf("<![LOG[%s]LOG]!><time=\"%s%+04d\" date=\"%s\" component=\"%s\" context=\"\" type=\"%d\" thread=\"%d\" file=\"\">\r\n",
		msg, t.Format("15:04:05.000"), bias, t.Format("01-02-2006"), attr(component), sev, thread)
}

func attr(s string) string {
	return strings.NewReplacer(`"`, "'", "\r", " ", "\n", " ").Replace(s)
}
