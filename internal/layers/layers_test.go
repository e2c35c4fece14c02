package layers

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/smstorrent/smstorrent/"

// rule forbids packages under from (product code, and test code if tests)
// to import packages under any of to, except those under allow.
type rule struct {
	why   string
	from  []string
	tests bool // the rule covers test files too
	to    []string
	allow []string
}

var rules = []rule{
	{why: "the service never imports the tracker (the test harness internal/testbed sits above both)",
		from: []string{"service/"}, tests: true, to: []string{"tracker/"}},
	{why: "the tracker never imports the service or the desktop programs",
		from: []string{"tracker/"}, tests: true, to: []string{"service/", "ui/", "app/", "wrapper/"}},
	{why: "the desktop programs, the wrapper and the lab speak to the service only through its contract",
		from: []string{"ui/", "app/", "wrapper/", "lab/"}, to: []string{"service/", "tracker/"}, allow: []string{"service/api"}},
	{why: "the wrapper is a small console program: no GUI",
		from: []string{"wrapper/"}, tests: true, to: []string{"ui/", "app/", "fyne.io/"}},
	{why: "the local API's contract imports nothing of the repository but internal/secfs (its client checks that no ordinary user could have written the address file)",
		from: []string{"service/api"}, to: []string{""}, allow: []string{"internal/secfs"}},
	{why: "the engine knows nothing of HTTP handlers, the CLI or the process glue",
		from: []string{"service/core", "service/config"}, to: []string{"service/localapi", "service/svc", "service/ctl"}},
	{why: "shared internal packages stand below every program (the test harness and the layering test excepted)",
		from: []string{"internal/"}, to: []string{"service/", "tracker/", "ui/", "app/", "wrapper/", "lab/"},
		allow: []string{"internal/testbed", "internal/layers"}},
	{why: "the icons are plain data",
		from: []string{"icons"}, tests: true, to: []string{""}, allow: []string{"icons"}},
}

// testOnly are packages that product code never imports.
var testOnly = []string{"internal/testbed", "internal/units/unitstest"}

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func under(path string, prefixes []string) bool {
	for _, p := range prefixes {
		switch {
		case p == "":
			if strings.HasPrefix(path, mod) {
				return true
			}
		case strings.HasSuffix(p, "/") || strings.Contains(p, "."):
			if strings.HasPrefix(path, p) || strings.HasPrefix(path, mod+p) {
				return true
			}
		default:
			if path == mod+p || strings.HasPrefix(path, mod+p+"/") {
				return true
			}
		}
	}
	return false
}

func TestLayering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	out, err := exec.Command("go", "list", "-json", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	d := json.NewDecoder(bytes.NewReader(out))
	n := 0
	for d.More() {
		var p pkg
		if err := d.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		tests := append(append([]string{}, p.TestImports...), p.XTestImports...)
		for _, r := range rules {
			if !under(p.ImportPath, r.from) || under(p.ImportPath, r.allow) {
				continue
			}
			check := p.Imports
			if r.tests {
				check = append(append([]string{}, p.Imports...), tests...)
			}
			for _, imp := range check {
				if imp == p.ImportPath || !under(imp, r.to) || under(imp, r.allow) {
					continue
				}
				t.Errorf("%s imports %s: %s", strings.TrimPrefix(p.ImportPath, mod), strings.TrimPrefix(imp, mod), r.why)
			}
		}
		for _, imp := range p.Imports {
			if under(imp, testOnly) {
				t.Errorf("%s (product code) imports the test-only %s", strings.TrimPrefix(p.ImportPath, mod), strings.TrimPrefix(imp, mod))
			}
		}
	}
	if n < 30 {
		t.Fatalf("go list showed only %d packages", n)
	}
}

// TestRulesBite makes sure the matcher catches what it should.
func TestRulesBite(t *testing.T) {
	for _, c := range []struct {
		path     string
		prefixes []string
		want     bool
	}{
		{mod + "tracker/server", []string{"tracker/"}, true},
		{mod + "service/api", []string{"service/api"}, true},
		{mod + "service/apix", []string{"service/api"}, false},
		{mod + "icons/internal/paint", []string{"icons"}, true},
		{"fyne.io/fyne/v2", []string{"fyne.io/"}, true},
		{"fmt", []string{""}, false},
		{mod + "internal/units", []string{""}, true},
	} {
		if got := under(c.path, c.prefixes); got != c.want {
			t.Errorf("under(%s, %q) = %v", c.path, c.prefixes, got)
		}
	}
}
