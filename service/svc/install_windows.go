package svc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/smstorrent/smstorrent/service/config"
)

// platformSetup finishes the service registration that the MSI's
// ServiceInstall row began: failure actions (restart after 5 s, three times,
// counter reset after a day) and delayed automatic start, which wixl cannot
// write; puts the program folder on the system PATH (syspath.go); then the
// firewall rules for the peer port, scoped to this program.
func platformSetup(cfg config.Config, cfgPath string, firewall bool) error {
	if err := setRecovery(); err != nil {
		return err
	}
	if err := rememberConfig(cfgPath); err != nil {
		return err
	}
	if err := addToSystemPath(); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the service program: %w", err)
	}
	if !firewall {
		return removeFirewallRules()
	}
	return addFirewallRules(exe, cfg.ListenPort)
}

// platformTeardown removes the firewall rules and the program folder's
// PATH entry, and stops the tray and window of every session, so that the
// uninstall leaves no process running.
func platformTeardown() error {
	err := removeFirewallRules()
	err = errors.Join(err, removeFromSystemPath())
	return errors.Join(err, stopDesktopProcesses())
}

// configKey holds "Config", the configuration's path: the MSI's
// RegistrySearch finds it, so a reinstall over a kept configuration needs no
// properties.
const configKey = `Software\SMSTorrent`

func rememberConfig(path string) error {
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, configKey, registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return fmt.Errorf("writing HKLM\\%s: %w", configKey, err)
	}
	defer k.Close()
	return k.SetStringValue("Config", path)
}

// platformForget removes what rememberConfig wrote (teardown --purge).
func platformForget() error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, configKey, registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return nil
	}
	defer k.Close()
	if err := k.DeleteValue("Config"); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return err
	}
	return nil
}

func setRecovery() error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connecting to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(ServiceName)
	if err != nil {
		return fmt.Errorf("opening service %s (registered by the installer): %w", ServiceName, err)
	}
	defer s.Close()
	if err := quoteImagePath(s); err != nil {
		return err
	}
	restart := mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: 5 * time.Second}
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{restart, restart, restart}, 86400); err != nil {
		return fmt.Errorf("setting the failure actions of %s: %w", ServiceName, err)
	}
	// Delayed automatic start lets the PC's logon finish first. It is a
	// nicety, not worth failing an install for (wine does not know it).
	info := windows.SERVICE_DELAYED_AUTO_START_INFO{IsDelayedAutoStartUp: 1}
	if err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&info))); err != nil {
		fmt.Fprintf(os.Stderr, "setup: delayed automatic start of %s not set: %v\n", ServiceName, err)
	}
	return nil
}

// quoteImagePath makes the service's command line start with the quoted
// path of this program: an unquoted "C:\Program Files\SMSTorrent\..." would let
// whoever can write C:\Program.exe run code as SYSTEM (wine's msiexec writes
// it unquoted; the step does not rely on any installer quoting it).
func quoteImagePath(s *mgr.Service) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	want := syscall.EscapeArg(exe) + " run"
	if !strings.HasPrefix(want, `"`) {
		want = `"` + exe + `" run`
	}
	var need uint32
	_ = windows.QueryServiceConfig(s.Handle, nil, 0, &need)
	if need == 0 {
		need = 8192
	}
	buf := make([]byte, need)
	qc := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
	if err := windows.QueryServiceConfig(s.Handle, qc, need, &need); err != nil {
		return fmt.Errorf("reading the configuration of %s: %w", ServiceName, err)
	}
	if windows.UTF16PtrToString(qc.BinaryPathName) == want {
		return nil
	}
	p, err := windows.UTF16PtrFromString(want)
	if err != nil {
		return err
	}
	const noChange = windows.SERVICE_NO_CHANGE
	if err := windows.ChangeServiceConfig(s.Handle, noChange, noChange, noChange, p, nil, nil, nil, nil, nil, nil); err != nil {
		return fmt.Errorf("setting the command line of %s: %w", ServiceName, err)
	}
	return nil
}

// desktopPrograms are the per-user programs that the uninstall stops.
var desktopPrograms = []string{"smstorrent-tray.exe", "smstorrent-window.exe"}

// stopDesktopProcesses terminates the tray and window processes started from
// this program's folder, in every session.
func stopDesktopProcesses() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir := filepath.Dir(exe)
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return fmt.Errorf("listing processes: %w", err)
	}
	defer windows.CloseHandle(snap)
	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	var errs []error
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		name := windows.UTF16ToString(pe.ExeFile[:])
		want := false
		for _, p := range desktopPrograms {
			want = want || strings.EqualFold(name, p)
		}
		if !want {
			continue
		}
		errs = append(errs, terminateIfIn(pe.ProcessID, dir))
	}
	return errors.Join(errs...)
}

// terminateIfIn ends process pid if its image lives in dir.
func terminateIfIn(pid uint32, dir string) error {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		return nil // gone, or not ours to stop
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return nil
	}
	if !strings.EqualFold(filepath.Dir(windows.UTF16ToString(buf[:n])), dir) {
		return nil
	}
	if err := windows.TerminateProcess(h, 0); err != nil {
		return fmt.Errorf("stopping process %d: %w", pid, err)
	}
	return nil
}
