// Package procmem reads this process's memory figures as an admin's tools
// show them: the resident set (Windows: the working set, which Task Manager
// shows as "Working set") and the private part of it (Windows: the private
// working set, Task Manager's "Memory" column; Linux: the anonymous
// resident pages, RssAnon). The service puts both in its status.
package procmem

// Usage is a process's memory, in bytes.
type Usage struct {
	// Resident is the memory of the process in RAM now, shared pages
	// (program code, mapped files) included.
	Resident int64
	// Private is the part of Resident that belongs to this process alone
	// and is backed by no file (heap, stacks): not the program's code, not
	// mapped files. It is what grows if the process leaks.
	Private int64
}
