package api

import (
	"os"
	"strings"
	"testing"
)

// docs/API.md lists every route of the contract, with its method.
func TestRoutesDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, r := range Routes {
		row := "| " + r.Method + " | `" + r.Pattern + "` |"
		if !strings.Contains(doc, row) {
			t.Errorf("docs/API.md has no row %q", row)
		}
	}
}

func TestParsePriority(t *testing.T) {
	for in, want := range map[string]Priority{"": Normal, "HIGH": High, " low ": Low, "foreground": Foreground} {
		if got, err := ParsePriority(in); err != nil || got != want {
			t.Errorf("ParsePriority(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParsePriority("urgent"); err == nil {
		t.Error("urgent accepted")
	}
}
