package svc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// environmentKey holds the system environment (HKLM); new processes get
// its Path, which the setup step extends with the program folder.
const environmentKey = `SYSTEM\CurrentControlSet\Control\Session Manager\Environment`

// programDir is the folder of this program: the MSI's INSTALLDIR.
func programDir() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the service program: %w", err)
	}
	return filepath.Dir(exe), nil
}

// addToSystemPath appends the program folder to the system Path unless an
// entry names it already.
func addToSystemPath() error {
	dir, err := programDir()
	if err != nil {
		return err
	}
	return editSystemPath(func(p string) (string, bool) { return withPathEntry(p, dir, expandEnv) })
}

// removeFromSystemPath takes the program folder's entries out of the
// system Path.
func removeFromSystemPath() error {
	dir, err := programDir()
	if err != nil {
		return err
	}
	return editSystemPath(func(p string) (string, bool) { return withoutPathEntry(p, dir, expandEnv) })
}

// editSystemPath rewrites the system Path with edit, as REG_EXPAND_SZ (so
// entries like %SystemRoot% keep working), and tells running programs that
// the environment changed. Nothing is written when edit changes nothing.
func editSystemPath(edit func(string) (string, bool)) error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, environmentKey, registry.QUERY_VALUE|registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return fmt.Errorf("opening HKLM\\%s: %w", environmentKey, err)
	}
	defer k.Close()
	old, _, err := k.GetStringValue("Path")
	if err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("reading the system Path: %w", err)
	}
	p, changed := edit(old)
	if !changed {
		return nil
	}
	if err := k.SetExpandStringValue("Path", p); err != nil {
		return fmt.Errorf("writing the system Path: %w", err)
	}
	broadcastEnvironment()
	return nil
}

// expandEnv expands %NAME% references as Windows does.
func expandEnv(s string) string {
	out, err := registry.ExpandString(s)
	if err != nil {
		return s
	}
	return out
}

var procSendMessageTimeout = windows.NewLazySystemDLL("user32.dll").NewProc("SendMessageTimeoutW")

// broadcastEnvironment sends WM_SETTINGCHANGE "Environment" so that
// Explorer, and the consoles it starts from then on, read the new Path
// (best effort, at most a second per window that does not answer).
func broadcastEnvironment() {
	const hwndBroadcast, wmSettingChange, smtoAbortIfHung = 0xffff, 0x001A, 0x0002
	env, err := windows.UTF16PtrFromString("Environment")
	if err != nil || procSendMessageTimeout.Find() != nil {
		return
	}
	var result uintptr
	_, _, _ = procSendMessageTimeout.Call(hwndBroadcast, wmSettingChange, 0, uintptr(unsafe.Pointer(env)),
		smtoAbortIfHung, 1000, uintptr(unsafe.Pointer(&result)))
}
