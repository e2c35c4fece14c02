package procmem

import (
	"runtime"
	"testing"
)

// The figures move with what the process holds: touching 64 MiB of new
// memory raises both the resident and the private figure by most of it.
func TestReadFollowsAllocation(t *testing.T) {
	before, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	if before.Resident <= 0 || before.Private <= 0 || before.Private > before.Resident {
		t.Fatalf("implausible figures %+v", before)
	}
	const n = 64 << 20
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = 1
	}
	after, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(b)
	if d := after.Resident - before.Resident; d < n/2 {
		t.Errorf("resident grew by %d bytes after touching %d", d, n)
	}
	if d := after.Private - before.Private; d < n/2 {
		t.Errorf("private grew by %d bytes after touching %d", d, n)
	}
	t.Logf("before %+v, after %+v", before, after)
}
