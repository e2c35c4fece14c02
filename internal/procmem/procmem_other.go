//go:build !windows

package procmem

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Read returns this process's memory from /proc/self/status (Linux), in
// one reading: Resident is VmRSS, Private is RssAnon (the anonymous pages:
// heap and stacks, not the program's code or any mapped file; the same
// split as Windows' private working set). Without /proc it returns an
// error.
func Read() (Usage, error) {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return Usage{}, fmt.Errorf("reading the process's memory: %w", err)
	}
	f := kbFields(st)
	rss, ok := f["VmRSS"]
	if !ok {
		return Usage{}, fmt.Errorf("reading the process's memory: no VmRSS in /proc/self/status")
	}
	return Usage{Resident: rss, Private: f["RssAnon"]}, nil
}

// kbFields parses "Name:   123 kB" lines into bytes by name; other lines
// are skipped.
func kbFields(b []byte) map[string]int64 {
	m := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		v, unit, _ := bytes.Cut(bytes.TrimSpace(rest), []byte(" "))
		if string(unit) != "kB" {
			continue
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 0 {
			continue
		}
		m[string(name)] = n << 10
	}
	return m
}
