package svc

import (
	"strings"
	"testing"
)

func TestPathEntry(t *testing.T) {
	const dir = `C:\Program Files\SMSTorrent`
	expand := func(s string) string { return strings.ReplaceAll(s, "%ProgramFiles%", `C:\Program Files`) }
	for _, c := range []struct {
		name, path, added, removed string
	}{
		{"empty", "", dir, ""},
		{"appended last", `C:\Windows\system32;C:\Windows`, `C:\Windows\system32;C:\Windows;` + dir, `C:\Windows\system32;C:\Windows`},
		{"trailing separator", `C:\Windows;`, `C:\Windows;` + dir, `C:\Windows`},
		{"already there, other case and backslash", `C:\Windows;c:\program files\smstorrent\;D:\x`, `C:\Windows;c:\program files\smstorrent\;D:\x`, `C:\Windows;D:\x`},
		{"already there, quoted", `"C:\Program Files\SMSTorrent";C:\Windows`, `"C:\Program Files\SMSTorrent";C:\Windows`, `C:\Windows`},
		{"already there, unexpanded", `%SystemRoot%;%ProgramFiles%\SMSTorrent`, `%SystemRoot%;%ProgramFiles%\SMSTorrent`, `%SystemRoot%`},
		{"twice: both removed", dir + `;C:\Windows;` + dir, dir + `;C:\Windows;` + dir, `C:\Windows`},
		{"empty entries kept", `C:\a;;C:\b`, `C:\a;;C:\b;` + dir, `C:\a;;C:\b`},
		{"a folder below is another entry", dir + `\bin;C:\Windows`, dir + `\bin;C:\Windows;` + dir, dir + `\bin;C:\Windows`},
		{"a longer name is another entry", `C:\Program Files\SMSTorrent2`, `C:\Program Files\SMSTorrent2;` + dir, `C:\Program Files\SMSTorrent2`},
	} {
		t.Run(c.name, func(t *testing.T) {
			added, changed := withPathEntry(c.path, dir, expand)
			if added != c.added || changed != (added != c.path) {
				t.Errorf("add: %q, %v; want %q", added, changed, c.added)
			}
			// Idempotent: adding again changes nothing.
			if again, changed := withPathEntry(added, dir, expand); again != added || changed {
				t.Errorf("add twice: %q, %v", again, changed)
			}
			removed, _ := withoutPathEntry(added, dir, expand)
			if removed != c.removed {
				t.Errorf("remove after add: %q; want %q", removed, c.removed)
			}
			if again, changed := withoutPathEntry(removed, dir, expand); again != removed || changed {
				t.Errorf("remove twice: %q, %v", again, changed)
			}
		})
	}
}
