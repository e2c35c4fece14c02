//go:build !windows

package procmem

import "testing"

func TestKBFields(t *testing.T) {
	m := kbFields([]byte("Name:\tx\nVmRSS:\t  1234 kB\nBad:\t-1 kB\nThreads:\t7\nPrivate_Dirty:  8 kB\n"))
	if m["VmRSS"] != 1234<<10 || m["Private_Dirty"] != 8<<10 || len(m) != 2 {
		t.Fatalf("got %v", m)
	}
}
