package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the whole demo headless with a smaller package, building
// the programs from source, so that make demo keeps working.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"--bin", t.TempDir(), "--size", "8", "--origin-up", "4MB/s"}, &out)
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"[8/8] Summary", "branch-a: exit code 0: installed", "branch-b: exit code 0: installed", "from branch peers"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// Both branches: the first SCCM run returned the retry code, the last one 0.
	rc := fmt.Sprint(retryCode())
	for _, b := range []string{"branch-a", "branch-b"} {
		row := regexp.MustCompile(`(?m)^\s+` + b + `\s.*\s` + rc + `(, ` + rc + `)*, 0$`)
		if !row.MatchString(s) {
			t.Errorf("summary row of %s does not show retry codes then 0:\n%s", b, s)
		}
	}
}

// TestCloseSaysWhatHappensToTheFolder checks that the demo, which prints
// paths into its working folder, says at the end that the folder is gone
// and how to keep it, or that it was kept.
func TestCloseSaysWhatHappensToTheFolder(t *testing.T) {
	for _, keep := range []bool{false, true} {
		var out bytes.Buffer
		d, err := newDemo(options{keep: keep}, &out)
		if err != nil {
			t.Fatal(err)
		}
		d.close()
		_, statErr := os.Stat(d.root)
		s := out.String()
		if keep {
			if statErr != nil || !strings.Contains(s, "kept: "+d.root) {
				t.Errorf("--keep: folder %v, output %q", statErr, s)
			}
			_ = os.RemoveAll(d.root)
			continue
		}
		if !os.IsNotExist(statErr) || !strings.Contains(s, "Removed the demo's folder "+d.root) || !strings.Contains(s, "--keep") {
			t.Errorf("without --keep: folder %v, output %q", statErr, s)
		}
	}
}
