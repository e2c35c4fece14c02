package winargs

import (
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		line string
		want []string
	}{
		{"empty", ``, nil},
		{"program only", `P2PWrapper.exe`, []string{`P2PWrapper.exe`}},
		{"simple", `P2PWrapper.exe msiexec.exe /i office.msi /qn`, []string{`P2PWrapper.exe`, `msiexec.exe`, `/i`, `office.msi`, `/qn`}},
		{"quoted program with spaces", `"C:\Program Files\SMSTorrent\P2PWrapper.exe" a b`, []string{`C:\Program Files\SMSTorrent\P2PWrapper.exe`, `a`, `b`}},
		{"program name ignores backslash escapes", `"C:\a\"b c`, []string{`C:\a\`, `b`, `c`}},
		{"program name unquoted stops at space only", `C:\a"b c"\x.exe d`, []string{`C:\a"b`, `c\x.exe d`}},
		{"argument right after quoted program", `"prog"arg1 arg2`, []string{`prog`, `arg1`, `arg2`}},
		{"msiexec property", `p msiexec.exe /i office.msi /qn PROPERTY="a b" INSTALLDIR="C:\Program Files\X\\"`,
			[]string{`p`, `msiexec.exe`, `/i`, `office.msi`, `/qn`, `PROPERTY=a b`, `INSTALLDIR=C:\Program Files\X\`}},
		{"ms docs 1", `p "abc" d e`, []string{`p`, `abc`, `d`, `e`}},
		{"ms docs 2", `p a\\\b d"e f"g h`, []string{`p`, `a\\\b`, `de fg`, `h`}},
		{"ms docs 3", `p a\\\"b c d`, []string{`p`, `a\"b`, `c`, `d`}},
		{"ms docs 4", `p a\\\\"b c" d e`, []string{`p`, `a\\b c`, `d`, `e`}},
		{"double quote inside quotes closes (pre-2008 rule)", `p a"b"" c d`, []string{`p`, `ab"`, `c`, `d`}},
		{"empty argument", `p "" x`, []string{`p`, ``, `x`}},
		{"two empty arguments", `p "" ""`, []string{`p`, ``, ``}},
		{"tripled quotes", `p """a"""`, []string{`p`, `"a"`}},
		{"four quotes", `p """"`, []string{`p`, `"`}},
		{"tabs separate", "p\ta\t\tb \t c", []string{`p`, `a`, `b`, `c`}},
		{"tab inside quotes", "p \"a\tb\"", []string{`p`, "a\tb"}},
		{"trailing backslashes unquoted", `p a\\ b\`, []string{`p`, `a\\`, `b\`}},
		{"unterminated quote", `p "a b`, []string{`p`, `a b`}},
		{"escaped quote unquoted", `p \"x\"`, []string{`p`, `"x"`}},
		{"leading and trailing spaces", `p   a   `, []string{`p`, `a`}},
		{"newline is not a separator", "p a\nb", []string{`p`, "a\nb"}},
		{"unicode", `p "Größe ü" 日本`, []string{`p`, `Größe ü`, `日本`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Values(Split(tt.line))
			if len(got) == 0 {
				got = nil
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Split(%q)\n got %q\nwant %q", tt.line, got, tt.want)
			}
			if ref := wineSplit(tt.line); !slices.Equal(ref, tt.want) {
				t.Errorf("reference wineSplit(%q) = %q, table says %q", tt.line, ref, tt.want)
			}
		})
	}
}

func TestTail(t *testing.T) {
	tests := []struct {
		line string
		i    int
		want string
	}{
		{`P2PWrapper.exe msiexec.exe /i office.msi /qn PROPERTY="a b"`, 1, `msiexec.exe /i office.msi /qn PROPERTY="a b"`},
		{`"C:\P F\P2PWrapper.exe" --package PS100012 -- msiexec /i "x y.msi"  P="a ""b"" c"  `, 4, `msiexec /i "x y.msi"  P="a ""b"" c"  `},
		{"w.exe\t--wait\t\t\"setup.exe\" /S", 2, "\"setup.exe\" /S"},
		{`"w"cmd a`, 1, `cmd a`},
		{`w a`, 2, ``},
		{`w a`, -1, ``},
	}
	for _, tt := range tests {
		args := Split(tt.line)
		if got := Tail(tt.line, args, tt.i); got != tt.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", tt.line, tt.i, got, tt.want)
		}
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	vals := []string{``, `a`, `a b`, `a"b`, `a\b`, `a\"b`, `C:\Program Files\`, `"`, `\`, `\\"`, "a\tb", `PROPERTY="a b"`, `x\\`, `a b\\`}
	line := "prog"
	for _, v := range vals {
		line += " " + Quote(v)
	}
	got := Values(Split(line))
	want := append([]string{"prog"}, vals...)
	if !slices.Equal(got, want) {
		t.Errorf("round trip of %q\n got %q\nwant %q", line, got, want)
	}
}

// FuzzSplit checks Split against an independent reference implementation
// and checks that re-splitting a tail gives the same arguments.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{`p a\\\"b "c d" e`, `"x y"z ""`, "p \t\"\"\"\"a\\", `p PROPERTY="a b" x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := Split(line)
		if got, ref := Values(args), wineSplit(line); !slices.Equal(got, ref) && (len(got) != 0 || len(ref) != 0) {
			t.Fatalf("Split(%q) = %q, reference %q", line, got, ref)
		}
		for i := 1; i < len(args); i++ {
			if args[i].Start < args[i-1].End || args[i].End < args[i].Start {
				t.Fatalf("offsets out of order in %q: %+v", line, args)
			}
			tail := Tail(line, args, i)
			re := Split("p " + tail)
			if !slices.Equal(Values(re[1:]), Values(args[i:])) {
				t.Fatalf("tail %q of %q re-splits to %q, want %q", tail, line, Values(re[1:]), Values(args[i:]))
			}
		}
	})
}

// wineSplit is a transcription of Wine's CommandLineToArgvW (dlls/shcore),
// kept independent of Split to catch mistakes in either.
func wineSplit(s string) []string {
	if s == "" {
		return nil
	}
	var args []string
	i := 0
	if s[0] == '"' {
		i++
		j := i
		for i < len(s) && s[i] != '"' {
			i++
		}
		args = append(args, s[j:i])
		if i < len(s) {
			i++
		}
	} else {
		for i < len(s) && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		args = append(args, s[:i])
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i >= len(s) {
		return args
	}
	var d []byte
	qcount, bcount := 0, 0
	for i < len(s) {
		c := s[i]
		switch {
		case (c == ' ' || c == '\t') && qcount == 0:
			args = append(args, string(d))
			d = d[:0]
			bcount = 0
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			if i >= len(s) {
				return args
			}
		case c == '\\':
			d = append(d, c)
			i++
			bcount++
		case c == '"':
			if bcount%2 == 0 {
				d = d[:len(d)-bcount/2]
				qcount++
			} else {
				d = d[:len(d)-bcount/2-1]
				d = append(d, '"')
			}
			i++
			bcount = 0
			for i < len(s) && s[i] == '"' {
				qcount++
				if qcount == 3 {
					d = append(d, '"')
					qcount = 0
				}
				i++
			}
			if qcount == 2 {
				qcount = 0
			}
		default:
			d = append(d, c)
			i++
			bcount = 0
		}
	}
	return append(args, string(d))
}

func TestValuesNotAliased(t *testing.T) {
	a := Split(`p x`)
	v := Values(a)
	v[0] = "changed"
	if a[0].Value != "p" || strings.Contains(a[0].Value, "changed") {
		t.Fatal("Values aliases Split's result")
	}
}
