package cmtrace

import "golang.org/x/sys/windows"

// underWine reports whether the test runs under wine (its ntdll exports
// wine_get_version), whose limits some tests name.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
