// Package logfile is the rotating log file of every SMSTorrent program that
// writes one: the service (in its log folder) and the tray and window (in the
// user's profile: they are GUI-subsystem programs on Windows, whose stderr
// goes nowhere). Rotation is gopkg.in/natefinch/lumberjack.v2's: when the
// file passes its size it is renamed with a timestamp (name-2026-12-01T10-00-00.000.log)
// and a new one started; the oldest beyond keep are removed. It imports
// nothing of this repository.
package logfile

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Open returns a writer that appends to dir/name, rotating at maxBytes
// (rounded up to whole MiB: the library counts MiB) and keeping keep old
// files. The folder is created if needed, and the file is opened at once so
// that a folder that cannot be written is reported here.
func Open(dir, name string, maxBytes int64, keep int) (io.WriteCloser, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the log folder: %w", err)
	}
	mb := int((maxBytes + 1<<20 - 1) >> 20)
	l := &lumberjack.Logger{
		Filename:   filepath.Join(dir, name),
		MaxSize:    max(mb, 1),
		MaxBackups: max(keep, 1),
		LocalTime:  true,
	}
	if _, err := l.Write(nil); err != nil {
		return nil, fmt.Errorf("opening %s: %w", l.Filename, err)
	}
	return l, nil
}

// UserDir is the folder for a desktop program's logs in the user's profile:
// %LOCALAPPDATA%\SMSTorrent\logs on Windows, ~/.cache/smstorrent/logs (or
// $XDG_CACHE_HOME) elsewhere.
func UserDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user's profile for logs: %w", err)
	}
	name := "smstorrent"
	if filepath.Separator == '\\' {
		name = "SMSTorrent"
	}
	return filepath.Join(base, name, "logs"), nil
}

// Desktop opens the log of a desktop program (the tray, the window) in
// UserDir: name.log, 5 MiB, three old files. The returned writer writes to
// the file and to stderr (a console, when there is one); the standard
// library's log package (which Fyne uses) is pointed at it too.
func Desktop(name string) (io.Writer, io.Closer, error) {
	dir, err := UserDir()
	if err != nil {
		return nil, nil, err
	}
	f, err := Open(dir, name+".log", 5<<20, 3)
	if err != nil {
		return nil, nil, err
	}
	w := io.MultiWriter(os.Stderr, f)
	log.SetOutput(w)
	log.SetPrefix(name + ": ")
	return w, f, nil
}

// DesktopOrStderr is Desktop for a program's main: when the file cannot be
// opened it says why on stderr and logs to stderr alone. close closes the
// file (a no-op without one).
func DesktopOrStderr(name string) (w io.Writer, close func()) {
	w, f, err := Desktop(name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: no log file: %v\n", name, err)
		return os.Stderr, func() {}
	}
	return w, func() { _ = f.Close() }
}
