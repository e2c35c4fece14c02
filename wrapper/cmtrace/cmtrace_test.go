package cmtrace

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	cest := time.FixedZone("CEST", 2*3600)
	pst := time.FixedZone("PST", -8*3600)
	tests := []struct {
		name string
		t    time.Time
		sev  Severity
		msg  string
		want string
	}{
		{"info utc", time.Date(2026, 11, 21, 7, 5, 3, 42e6, time.UTC), Info, "hello",
			`<![LOG[hello]LOG]!><time="07:05:03.042+000" date="11-21-2026" component="P2PWrapper" context="" type="1" thread="4711" file="">` + "\r\n"},
		{"warning east of utc", time.Date(2026, 6, 15, 14, 1, 52, 394e6, cest), Warning, "w",
			`<![LOG[w]LOG]!><time="14:01:52.394-120" date="06-15-2026" component="P2PWrapper" context="" type="2" thread="4711" file="">` + "\r\n"},
		{"error west of utc", time.Date(2026, 1, 2, 23, 59, 59, 999e6, pst), Error, "e",
			`<![LOG[e]LOG]!><time="23:59:59.999+480" date="01-02-2026" component="P2PWrapper" context="" type="3" thread="4711" file="">` + "\r\n"},
		{"end marker in message is defused", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Info, "a]LOG]!>b",
			`<![LOG[a]LOG]!&gt;b]LOG]!><time="03:04:05.000+000" date="01-02-2026" component="P2PWrapper" context="" type="1" thread="4711" file="">` + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(tt.t, tt.sev, "P2PWrapper", 4711, tt.msg); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// entryRE matches one CMTrace entry as CMTrace.exe parses it.
var entryRE = regexp.MustCompile(`(?s)<!\[LOG\[(.*?)\]LOG\]!><time="(\d\d:\d\d:\d\d\.\d\d\d)([+-]\d+)" date="(\d\d-\d\d-\d{4})" component="([^"]*)" context="" type="([123])" thread="(\d+)" file="">\r\n`)

func parse(t *testing.T, b []byte) []string {
	t.Helper()
	var msgs []string
	rest := b
	for len(rest) > 0 {
		m := entryRE.FindSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			t.Fatalf("not a CMTrace entry at %q", rest[:min(len(rest), 120)])
		}
		msgs = append(msgs, string(rest[m[2]:m[3]]))
		rest = rest[m[1]:]
	}
	return msgs
}

func TestLoggerWritesEntriesAndMirror(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "P2PWrapper.log")
	var mirror bytes.Buffer
	l, err := Open(path, Options{Component: "P2PWrapper", Mirror: &mirror})
	if err != nil {
		t.Fatal(err)
	}
	l.Infof("start %d", 1)
	l.Warnf("careful")
	l.Errorf("broken: %s", "x")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msgs := parse(t, b)
	if want := []string{"start 1", "careful", "broken: x"}; fmt.Sprint(msgs) != fmt.Sprint(want) {
		t.Errorf("messages %q, want %q", msgs, want)
	}
	if !strings.Contains(string(b), `type="2"`) || !strings.Contains(string(b), `type="3"`) {
		t.Errorf("severities missing in %s", b)
	}
	if want := "start 1\nwarning: careful\nerror: broken: x\n"; mirror.String() != want {
		t.Errorf("mirror %q, want %q", mirror.String(), want)
	}
	// Appends to an existing file.
	l, err = Open(path, Options{Component: "P2PWrapper"})
	if err != nil {
		t.Fatal(err)
	}
	l.Infof("again")
	l.Close()
	b, _ = os.ReadFile(path)
	if msgs := parse(t, b); len(msgs) != 4 || msgs[3] != "again" {
		t.Errorf("after reopen: %q", msgs)
	}
}

func TestLoggerRollsOver(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "P2PWrapper.log")
	l, err := Open(path, Options{Component: "c", MaxSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 40 {
		l.Infof("entry %02d %s", i, strings.Repeat("x", 50))
	}
	cur, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(filepath.Join(dir, "P2PWrapper.lo_"))
	if err != nil {
		t.Fatalf("no rolled file: %v", err)
	}
	if len(cur) > 1000 || len(old) > 1000 {
		t.Errorf("sizes %d and %d exceed the cap", len(cur), len(old))
	}
	curMsgs, oldMsgs := parse(t, cur), parse(t, old)
	if last := curMsgs[len(curMsgs)-1]; !strings.HasPrefix(last, "entry 39 ") {
		t.Errorf("last entry %q", last)
	}
	// One rollover only: the rolled file holds the entries just before the current ones.
	if !strings.HasPrefix(oldMsgs[len(oldMsgs)-1], fmt.Sprintf("entry %02d ", 39-len(curMsgs))) {
		t.Errorf("rolled file ends with %q, current starts with %q", oldMsgs[len(oldMsgs)-1], curMsgs[0])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("want 2 files, got %d", len(entries))
	}
}

func TestLoggerConcurrentWriters(t *testing.T) {
	if underWine() {
		// Seen under wine 8: entries overwrite each other. Windows appends
		// each write atomically to a file opened for FILE_APPEND_DATA (Go's
		// O_APPEND); wine seeks to the end and writes, per handle.
		t.Skip("wine's appends are not atomic across handles")
	}
	path := filepath.Join(t.TempDir(), "w.log")
	// Two loggers on one file stand for two wrapper processes.
	a, err := Open(path, Options{Component: "a", MaxSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(path, Options{Component: "b", MaxSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, l := range []*Logger{a, b, a, b} {
		wg.Go(func() {
			for i := range 100 {
				l.Infof("message %d", i)
			}
		})
	}
	wg.Wait()
	a.Close()
	b.Close()
	data, _ := os.ReadFile(path)
	if n := len(parse(t, data)); n != 400 {
		t.Errorf("%d entries, want 400", n)
	}
}

func TestDiscardMirrorsOnly(t *testing.T) {
	var mirror bytes.Buffer
	l := Discard(Options{Mirror: &mirror})
	l.Errorf("x")
	if l.Path() != "" || mirror.String() != "error: x\n" {
		t.Errorf("path %q mirror %q", l.Path(), mirror.String())
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
}

func TestRolledPath(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Windows\CCM\Logs\P2PWrapper.log`: `C:\Windows\CCM\Logs\P2PWrapper.lo_`,
		"/var/log/x.log":                     "/var/log/x.lo_",
		"noext":                              "noext.lo_",
	} {
		if got := RolledPath(in); got != want {
			t.Errorf("RolledPath(%q) = %q, want %q", in, got, want)
		}
	}
}
