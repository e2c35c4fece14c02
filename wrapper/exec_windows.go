package wrapper

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
)

const notExecutableHint = ""

// OSInvocation describes how this process was started. On Windows the raw
// command line is kept, so that the command receives it unchanged.
func OSInvocation() Invocation {
	dir, _ := os.Getwd()
	return Invocation{
		Args:        os.Args,
		CommandLine: windows.UTF16PtrToString(windows.GetCommandLine()),
		Dir:         dir,
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
	}
}

// setRawCommandLine makes CreateProcess receive raw as the command line,
// instead of the arguments re-quoted by os/exec.
func setRawCommandLine(cmd *exec.Cmd, raw string) {
	if raw == "" {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CmdLine = raw
}

// exitCode is the command's exit code, all 32 bits of it.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return FailCommand.Code
	}
	return int(ps.Sys().(syscall.WaitStatus).ExitCode)
}

// systemDirs are where a bare command name (msiexec.exe, cmd.exe,
// powershell.exe) is looked up after the package folder: the Windows
// folders as the system reports them (not %SystemRoot%, which the caller's
// environment could change), writable by administrators only.
func systemDirs() []string {
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		return nil
	}
	win, err := windows.GetWindowsDirectory()
	if err != nil {
		return []string{sys}
	}
	return []string{sys, win, filepath.Join(sys, "Wbem"), filepath.Join(sys, "WindowsPowerShell", "v1.0")}
}

// samePath compares two cleaned absolute paths as NTFS does: case does not matter.
func samePath(a, b string) bool { return strings.EqualFold(a, b) }
