package procmem

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// processMemoryCountersEx2 is PROCESS_MEMORY_COUNTERS_EX2 (psapi.h);
// Windows before 10 version 1809 knows only the fields up to PrivateUsage
// (PROCESS_MEMORY_COUNTERS_EX).
type processMemoryCountersEx2 struct {
	Cb                         uint32
	PageFaultCount             uint32
	PeakWorkingSetSize         uintptr
	WorkingSetSize             uintptr
	QuotaPeakPagedPoolUsage    uintptr
	QuotaPagedPoolUsage        uintptr
	QuotaPeakNonPagedPoolUsage uintptr
	QuotaNonPagedPoolUsage     uintptr
	PagefileUsage              uintptr
	PeakPagefileUsage          uintptr
	PrivateUsage               uintptr
	PrivateWorkingSetSize      uintptr
	SharedCommitUsage          uint64
}

// K32GetProcessMemoryInfo is GetProcessMemoryInfo as kernel32 exports it
// (Windows 7 and later), so no psapi.dll is loaded. golang.org/x/sys/windows
// has no wrapper for it.
var procGetProcessMemoryInfo = windows.NewLazySystemDLL("kernel32.dll").NewProc("K32GetProcessMemoryInfo")

// Read returns this process's memory from GetProcessMemoryInfo: Resident is
// the working set, Private the private working set (Task Manager's
// "Memory"); where Windows does not report that (before Windows 10 1809),
// Private is the private commit (PrivateUsage, or PagefileUsage).
func Read() (Usage, error) {
	var c processMemoryCountersEx2
	size := uint32(unsafe.Sizeof(c))
	c.Cb = size
	if ok, _, _ := procGetProcessMemoryInfo.Call(uintptr(windows.CurrentProcess()), uintptr(unsafe.Pointer(&c)), uintptr(size)); ok == 0 {
		// An older Windows refuses the EX2 size: ask for EX.
		size = uint32(unsafe.Offsetof(c.PrivateWorkingSetSize))
		c = processMemoryCountersEx2{Cb: size}
		ok, _, err := procGetProcessMemoryInfo.Call(uintptr(windows.CurrentProcess()), uintptr(unsafe.Pointer(&c)), uintptr(size))
		if ok == 0 {
			return Usage{}, fmt.Errorf("GetProcessMemoryInfo: %w", err)
		}
	}
	u := Usage{Resident: int64(c.WorkingSetSize), Private: int64(c.PrivateWorkingSetSize)}
	if size < uint32(unsafe.Sizeof(c)) || u.Private == 0 {
		u.Private = int64(c.PrivateUsage)
	}
	if u.Private == 0 {
		// PagefileUsage is the same commit charge under its older name.
		u.Private = int64(c.PagefileUsage)
	}
	return u, nil
}
