//go:build !windows

package cmtrace

func underWine() bool { return false }
