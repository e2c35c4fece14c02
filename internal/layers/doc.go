// Package layers holds only a test: the layering rules of the whole
// repository, checked on every package's direct imports (product and test
// code) by running `go list`. The rules are written out in rules below and
// in docs/ARCHITECTURE.md.
package layers
