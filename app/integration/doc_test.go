package integration

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryPackageHasDocComment checks the desktop client's packages (app,
// ui, icons) the way Tailscale does: each package says what it is for.
func TestEveryPackageHasDocComment(t *testing.T) {
	for _, root := range []string{"..", "../../ui", "../../icons"} {
		err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() || strings.HasPrefix(d.Name(), "testdata") {
				return err
			}
			files, err := filepath.Glob(filepath.Join(dir, "*.go"))
			if err != nil {
				return err
			}
			var name string
			documented := false
			for _, f := range files {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ParseComments|parser.PackageClauseOnly)
				if err != nil {
					return err
				}
				name = af.Name.Name
				documented = documented || af.Doc != nil && strings.TrimSpace(af.Doc.Text()) != ""
			}
			if name != "" && !documented {
				t.Errorf("package %s in %s has no doc comment", name, dir)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
