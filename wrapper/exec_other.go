//go:build !windows

package wrapper

import (
	"os"
	"os/exec"
	"syscall"
)

const notExecutableHint = " (files downloaded by the service are not executable here: run scripts through their interpreter, e.g. sh install.sh)"

// OSInvocation describes how this process was started.
func OSInvocation() Invocation {
	dir, _ := os.Getwd()
	return Invocation{
		Args:   os.Args,
		Dir:    dir,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	}
}

// setRawCommandLine does nothing: outside Windows a process receives an
// argument vector, which exec passes unchanged.
func setRawCommandLine(*exec.Cmd, string) {}

// exitCode is the command's exit code; a command killed by a signal gives
// 128+signal, as shells report it.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return FailCommand.Code
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// systemDirs are where a bare command name is looked up after the package
// folder: folders only root may write.
func systemDirs() []string { return []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"} }

// samePath compares two cleaned absolute paths.
func samePath(a, b string) bool { return a == b }
