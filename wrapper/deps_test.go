package wrapper

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWindowsBuildStaysSmall checks that P2PWrapper builds for Windows
// without cgo and imports the service only through its API contract: no
// engine, no service internals, no GUI.
func TestWindowsBuildStaysSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	const main = "github.com/smstorrent/smstorrent/wrapper/cmd/P2PWrapper"
	env := append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	list := exec.Command("go", "list", "-deps", main)
	list.Env = env
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{
		"github.com/anacrolix/torrent", // the engine (its metainfo and bencode subpackages come with pkgsign)
		"github.com/smstorrent/smstorrent/service/core",
		"github.com/smstorrent/smstorrent/service/svc",
		"github.com/smstorrent/smstorrent/service/localapi",
		"github.com/smstorrent/smstorrent/tracker",
		"fyne.io/fyne/v2",
		"runtime/cgo",
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/smstorrent/smstorrent/service/api") {
		t.Fatalf("go list shows no service/api: %q", out)
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || (strings.HasPrefix(dep, f+"/") && f != "github.com/anacrolix/torrent") {
				t.Errorf("P2PWrapper depends on %s", dep)
			}
		}
	}
	build := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "P2PWrapper.exe"), main)
	build.Env = env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=windows CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
}
