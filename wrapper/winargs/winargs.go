// Package winargs splits Windows command lines the way CommandLineToArgvW
// and the Microsoft C runtime do, and remembers where each argument starts in
// the raw text, so that a program can pass the rest of its own command line
// on to another program byte for byte.
//
// On Windows a process receives one string, not an argument vector. Programs
// such as msiexec parse that string themselves (PROPERTY="a b" keeps its
// quotes), so re-quoting split arguments, as os/exec does, changes what they
// see. The wrapper instead splits only as far as its own flags and hands the
// untouched remainder to CreateProcess.
//
// The package is plain Go and runs on every platform, so the rules are
// tested everywhere.
//
// The rules (CommandLineToArgvW, as documented by Microsoft and checked
// against Wine's implementation):
//
//   - The first argument is the program name: if it starts with a double
//     quote it runs to the next double quote, with no escapes; otherwise to
//     the next space or tab.
//   - Other arguments are separated by spaces and tabs outside quotes.
//   - 2n backslashes followed by a double quote give n backslashes, and the
//     quote opens or closes a quoted section; 2n+1 backslashes followed by a
//     quote give n backslashes and a literal quote. Backslashes not followed
//     by a quote are literal.
//   - Inside a quoted section, two double quotes give one literal quote and
//     close the section (the "prior to 2008" rule, which CommandLineToArgvW
//     and Go's own os.Args follow).
package winargs

import "strings"

// Arg is one argument of a command line.
type Arg struct {
	// Value is the argument after unquoting.
	Value string
	// Start and End are byte offsets of the argument's raw text in the
	// command line: line[Start:End] is the argument as typed.
	Start, End int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// Split splits a command line into arguments; the first is the program name.
func Split(line string) []Arg {
	var args []Arg
	i := 0
	if line == "" {
		return nil
	}
	// The program name.
	start := i
	if line[i] == '"' {
		i++
		j := strings.IndexByte(line[i:], '"')
		if j < 0 {
			args = append(args, Arg{Value: line[i:], Start: start, End: len(line)})
			i = len(line)
		} else {
			args = append(args, Arg{Value: line[i : i+j], Start: start, End: i + j + 1})
			i += j + 1
		}
	} else {
		for i < len(line) && !isSpace(line[i]) {
			i++
		}
		args = append(args, Arg{Value: line[start:i], Start: start, End: i})
	}
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return args
		}
		var a Arg
		a, i = next(line, i)
		args = append(args, a)
	}
}

// next reads one argument (not the program name) starting at line[i], which
// is not a space or tab, and returns it and the offset just after it.
func next(line string, i int) (Arg, int) {
	start := i
	var b strings.Builder
	inQuote := false
	slashes := 0
	for i < len(line) {
		c := line[i]
		switch {
		case isSpace(c) && !inQuote:
			b.WriteString(strings.Repeat(`\`, slashes))
			return Arg{Value: b.String(), Start: start, End: i}, i
		case c == '\\':
			slashes++
			i++
			continue
		case c == '"':
			b.WriteString(strings.Repeat(`\`, slashes/2))
			if slashes%2 == 1 {
				b.WriteByte('"')
			} else {
				if inQuote && i+1 < len(line) && line[i+1] == '"' {
					b.WriteByte('"')
					i++
				}
				inQuote = !inQuote
			}
			slashes = 0
			i++
			continue
		}
		b.WriteString(strings.Repeat(`\`, slashes))
		slashes = 0
		b.WriteByte(c)
		i++
	}
	b.WriteString(strings.Repeat(`\`, slashes))
	return Arg{Value: b.String(), Start: start, End: i}, i
}

// Values returns the unquoted values of args.
func Values(args []Arg) []string {
	v := make([]string, len(args))
	for i, a := range args {
		v[i] = a.Value
	}
	return v
}

// Tail returns the raw text of line from argument i on, as typed (args must
// come from Split(line)). It is "" when there is no argument i.
func Tail(line string, args []Arg, i int) string {
	if i < 0 || i >= len(args) {
		return ""
	}
	return line[args[i].Start:]
}

// Quote quotes s as one argument (not a program name) so that Split gives s
// back; it is the inverse used by the Go runtime (syscall.EscapeArg) and by
// tests.
func Quote(s string) string {
	if s == "" {
		return `""`
	}
	if !strings.ContainsAny(s, " \t\"") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}
