// Command gen draws SMSTorrent's icons and writes them as PNG (Linux tray,
// window and packaging) and ICO (Windows tray and executable) files.
// Run it through `go generate ./icons`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/smstorrent/smstorrent/icons/internal/paint"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	out := fs.String("out", ".", "the icons folder to write png/ and ico/ into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, f := range paint.Files() {
		p := filepath.Join(*out, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	return nil
}
