package bench

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
)

// TestFaults: SMSTorrent distributes a package to two branches while
// branch b1's WAN link is down for 10 s and the tracker is restarted;
// every client ends with a byte-identical copy (Run compares SHA-256s),
// and no namespace is left behind.
func TestFaults(t *testing.T) {
	if err := netlab.Check(); err != nil {
		t.Skipf("network lab unavailable: %v", err)
	}
	if testing.Short() {
		t.Skip("builds the executables and runs a lab distribution")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := t.TempDir()
	if !buildSMSTorrent(ctx, t, bin) {
		t.Fatal("SMSTorrent does not build")
	}
	prefix := netlab.Prefix + strconv.Itoa(os.Getpid()) + "n"
	rep, err := Run(ctx, Config{
		// 16 MiB over 8 Mbit/s: about 17 s per copy, so the faults land mid-distribution.
		Topo:         netlab.Topology{Branches: 2, ClientsPerBranch: 2, WANRateBits: 8_000_000, WANDelay: 10 * time.Millisecond},
		PackageBytes: 16 << 20,
		Systems:      []string{"smstorrent"},
		WorkDir:      t.TempDir(),
		BinDir:       bin,
		Timeout:      3 * time.Minute,
		Priority:     "foreground",
		Faults:       &Faults{WANDownAt: 4 * time.Second, WANDownFor: 10 * time.Second, TrackerRestartAt: 8 * time.Second},
	})
	noNamespacesLeft(t, prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Systems {
		t.Logf("%s: ok=%v %.1f s (bound %.1f s), WAN in %.3f copies, hq sent %.2f copies; faults %q; clients %v",
			s.System, s.OK, s.TimeToAllS, s.BoundS, s.MaxWANInCopies, s.HQSentCopies, s.Faults, s.ClientDoneS)
		if !s.OK {
			t.Errorf("%s: %s", s.System, s.Error)
			continue
		}
		if len(s.ClientDoneS) != 4 {
			t.Errorf("%d clients complete, want 4", len(s.ClientDoneS))
		}
		if len(s.Faults) != 3 {
			t.Errorf("faults %q, want link down, tracker restart, link up", s.Faults)
		}
	}
}
