package wincheck

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// msiTable is one table of the MSI as msiinfo exports it (tab-separated,
// three header lines).
func msiTable(t *testing.T, msi, table string) string {
	t.Helper()
	cmd := exec.Command("msiinfo", "export", msi, table)
	cmd.Dir = t.TempDir() // exporting Binary writes its streams into Binary/ there
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("msiinfo export %s: %v\n%s", table, err, out)
	}
	return string(out)
}

func TestMSITables(t *testing.T) {
	dir := distDir(t)
	msi := filepath.Join(dir, "smstorrent.msi")
	want := map[string][]string{
		"File":      {"smstorrent-service.exe", "P2PWrapper.exe", "smstorrent-tray.exe", "smstorrent-window.exe", "smstorrent-tracker.exe"},
		"Directory": {"ProgramFiles64Folder", "INSTALLDIR\tProgramFiles64Folder\tSMSTorrent", "ProgramMenuDir"},
		// 256: 64-bit components (no registry or file redirection).
		"Component":      {"Service\t{", "\tINSTALLDIR\t256\t\tServiceExe", "StartMenu\t{"},
		"ServiceInstall": {"SMSTorrent\tSMSTorrent package distribution\t16\t2\t1\t\t\tLocalSystem\t\trun\tService"},
		// 163 = start at install, stop at install and uninstall, delete at uninstall.
		"ServiceControl": {"SMSTorrent\t163\t\t1\tService"},
		"Registry":       {"Software\\Microsoft\\Windows\\CurrentVersion\\Run\tSMSTorrent\t\"[INSTALLDIR]smstorrent-tray.exe\"\tTray"},
		"Shortcut":       {"WindowShortcut\tProgramMenuDir\tSMSTorrent\tStartMenu\t[INSTALLDIR]smstorrent-window.exe"},
		// 3073 = a DLL from the Binary table, deferred, not impersonated (SYSTEM); 51 (+2048, which
		// wixl adds and Windows ignores for an immediate action) sets its CustomActionData;
		// 3154 = exe from an installed file, deferred, SYSTEM, exit code ignored.
		"Binary": {"SetupCA\t"},
		"CustomAction": {"SMSTorrentSetup\t3073\tSetupCA\tRunSetup",
			"SMSTorrentSetupData\t2099\tSMSTorrentSetup\t\"[#ServiceExe]\" setup --repository_url \"[REPOSITORY_URL]\" --trusted_key \"[TRUSTED_KEY]\"",
			"--site \"[SITE]\" --cache_dir \"[CACHE_DIR]\" --cache_max \"[CACHE_MAX]\" --limit_down \"[LIMIT_DOWN]\" --limit_up \"[LIMIT_UP]\" --schedule \"[SCHEDULE]\" --listen_port \"[LISTEN_PORT]\" --firewall \"[FIREWALL]\"",
			"SMSTorrentTeardown\t3154\tServiceExe\tteardown", "SMSTorrentTeardownPurge\t3154\tServiceExe\tteardown --purge"},
		"InstallExecuteSequence": {"SMSTorrentSetupData\tNOT REMOVE~=\"ALL\"\t5849", "SMSTorrentSetup\tNOT REMOVE~=\"ALL\"\t5850", "InstallServices\tVersionNT\t5800", "StartServices\tVersionNT\t5900",
			"SMSTorrentTeardown\tREMOVE~=\"ALL\" AND NOT (REMOVE_CACHE=\"1\" AND NOT UPGRADINGPRODUCTCODE)\t1950", "StopServices\tVersionNT\t1900",
			"SMSTorrentTeardownPurge\tREMOVE~=\"ALL\" AND REMOVE_CACHE=\"1\" AND NOT UPGRADINGPRODUCTCODE\t1951",
			"DeleteServices\tVersionNT\t2000", "InstallValidate\t\t1400", "RemoveExistingProducts\t\t1401"},
		"Property":        {"UpgradeCode\t{6E3D6C2B-7B8E-4F6A-9C43-1B5A2D0E8F17}", "ALLUSERS\t1", "ARPPRODUCTICON\tapp.ico"},
		"Upgrade":         {"{6E3D6C2B-7B8E-4F6A-9C43-1B5A2D0E8F17}", "WIX_UPGRADE_DETECTED", "WIX_DOWNGRADE_DETECTED"},
		"LaunchCondition": {"Installed OR SMSTORRENT_CONFIG OR (REPOSITORY_URL AND TRUSTED_KEY)\tSMSTorrent needs REPOSITORY_URL and TRUSTED_KEY"},
		"RegLocator":      {"ConfigSearch\t2\tSoftware\\SMSTorrent\tConfig\t18"},
	}
	for table, rows := range want {
		got := msiTable(t, msi, table)
		for _, r := range rows {
			if !strings.Contains(got, r) {
				t.Errorf("%s: no row with %q in\n%s", table, r, got)
			}
		}
	}
	version := distVersion(t, dir)
	if got := msiTable(t, msi, "Property"); !strings.Contains(got, "ProductVersion\t"+msiVersion(version)) {
		t.Errorf("ProductVersion is not %s:\n%s", msiVersion(version), got)
	}
	verify(t, msi)
}

// msiVersion is the MSI's ProductVersion for a build version: the first
// three numbers (packaging/version.sh).
func msiVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '-' })
	if len(parts) < 3 {
		return v
	}
	return strings.Join(parts[:3], ".")
}
