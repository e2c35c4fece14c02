package wincheck

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// programs are the shipped executables and whether they are GUI programs.
var programs = []struct {
	name string
	gui  bool
}{
	{"smstorrent-service", false},
	{"P2PWrapper", false},
	{"smstorrent-tracker", false},
	{"smstorrent-tray", true},
	{"smstorrent-window", true},
}

// systemDLLs are the DLLs every Windows 10/11 has in System32. Anything
// else (libgcc_s_seh-1.dll, libstdc++-6.dll, libwinpthread-1.dll) would
// have to be shipped and is refused.
var systemDLLs = map[string]bool{
	"kernel32.dll": true, "ws2_32.dll": true, "msvcrt.dll": true, "advapi32.dll": true,
	"user32.dll": true, "gdi32.dll": true, "shell32.dll": true, "ole32.dll": true,
	"opengl32.dll": true, "winmm.dll": true, "ntdll.dll": true, "iphlpapi.dll": true,
	"shlwapi.dll": true, "comdlg32.dll": true, "dwmapi.dll": true, "imm32.dll": true,
	"secur32.dll": true, "crypt32.dll": true, "userenv.dll": true, "mswsock.dll": true,
	"dnsapi.dll": true, "version.dll": true, "comctl32.dll": true, "uxtheme.dll": true,
	"setupapi.dll": true, "bcrypt.dll": true, "powrprof.dll": true, "oleaut32.dll": true,
	"netapi32.dll": true, "wtsapi32.dll": true, "rpcrt4.dll": true, "shcore.dll": true,
	"msi.dll": true,
}

func distDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv("SMSTORRENT_DIST")
	if d == "" {
		t.Skip("SMSTORRENT_DIST is not set (make dist-check sets it)")
	}
	abs, err := filepath.Abs(d)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func distVersion(t *testing.T, dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// Resource types (winuser.h).
const (
	rtIcon      = 3
	rtGroupIcon = 14
	rtVersion   = 16
	rtManifest  = 24
)

// resourceTypes lists the type IDs of the resource directory's root.
func resourceTypes(f *pe.File) ([]uint32, []byte, error) {
	s := f.Section(".rsrc")
	if s == nil {
		return nil, nil, nil
	}
	data, err := s.Data()
	if err != nil {
		return nil, nil, err
	}
	if len(data) < 16 {
		return nil, data, nil
	}
	named := binary.LittleEndian.Uint16(data[12:])
	ids := binary.LittleEndian.Uint16(data[14:])
	var types []uint32
	for i := 0; i < int(named)+int(ids); i++ {
		off := 16 + 8*i
		if off+8 > len(data) {
			break
		}
		types = append(types, binary.LittleEndian.Uint32(data[off:]))
	}
	return types, data, nil
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

func TestExecutables(t *testing.T) {
	dir := distDir(t)
	version := distVersion(t, dir)
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			path := filepath.Join(dir, p.name+".exe")
			f, err := pe.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
				t.Errorf("machine %#x, want amd64", f.Machine)
			}
			oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
			if !ok {
				t.Fatalf("not PE32+")
			}
			want := uint16(pe.IMAGE_SUBSYSTEM_WINDOWS_CUI)
			if p.gui {
				want = pe.IMAGE_SUBSYSTEM_WINDOWS_GUI
			}
			if oh.Subsystem != want {
				t.Errorf("subsystem %d, want %d", oh.Subsystem, want)
			}
			libs := importedDLLs(t, path)
			if len(libs) == 0 {
				t.Fatalf("no imported DLLs found")
			}
			for _, l := range libs {
				if !systemDLLs[strings.ToLower(l)] && !strings.HasPrefix(strings.ToLower(l), "api-ms-win-") {
					t.Errorf("imports %s, which is not a system DLL", l)
				}
			}
			t.Logf("imports %s", strings.Join(libs, " "))
			types, data, err := resourceTypes(f)
			if err != nil {
				t.Fatal(err)
			}
			have := map[uint32]bool{}
			for _, ty := range types {
				have[ty] = true
			}
			for _, ty := range []uint32{rtIcon, rtGroupIcon, rtVersion, rtManifest} {
				if !have[ty] {
					t.Errorf("no resource of type %d (have %v)", ty, types)
				}
			}
			for _, s := range []string{"FileVersion", version, "SMSTorrent", p.name + ".exe"} {
				if !bytes.Contains(data, utf16le(s)) {
					t.Errorf("version resource lacks %q", s)
				}
			}
			if !bytes.Contains(data, []byte(`level="asInvoker"`)) {
				t.Errorf("manifest lacks asInvoker")
			}
			verify(t, path)
		})
	}
}

// importedDLLs reads the import table with mingw's objdump (debug/pe's
// ImportedLibraries is a stub that returns nothing for PE files).
func importedDLLs(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("x86_64-w64-mingw32-objdump", "-p", path).CombinedOutput()
	if err != nil {
		t.Fatalf("objdump -p: %v\n%s", err, out)
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		if _, name, ok := strings.Cut(line, "DLL Name: "); ok {
			libs = append(libs, strings.TrimSpace(name))
		}
	}
	return libs
}

// verify runs osslsigncode verify, trusting the throwaway certificate when
// the build used one.
func verify(t *testing.T, path string) {
	t.Helper()
	args := []string{"verify"}
	if ca := os.Getenv("SMSTORRENT_VERIFY_CA"); ca != "" {
		args = append(args, "-CAfile", ca)
	}
	out, err := exec.Command("osslsigncode", append(args, "-in", path)...).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("Signature verification: ok")) {
		t.Errorf("osslsigncode verify %s: %v\n%s", filepath.Base(path), err, out)
	}
}

// The MSI's custom action DLL: PE32+ amd64, a DLL exporting RunSetup (the
// wxs's DllEntry), system DLLs only, the version resource, signed.
func TestSetupCustomActionDLL(t *testing.T) {
	dir := distDir(t)
	path := filepath.Join(dir, "smstorrent-setupca.dll")
	f, err := pe.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok || f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || f.Characteristics&pe.IMAGE_FILE_DLL == 0 {
		t.Fatalf("not a PE32+ amd64 DLL (machine %#x, characteristics %#x)", f.Machine, f.Characteristics)
	}
	for _, l := range importedDLLs(t, path) {
		if !systemDLLs[strings.ToLower(l)] {
			t.Errorf("imports %s, which is not a system DLL", l)
		}
	}
	out, err := exec.Command("x86_64-w64-mingw32-objdump", "-p", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "RunSetup") {
		t.Errorf("RunSetup is not exported: %v", err)
	}
	_, data, err := resourceTypes(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"FileVersion", distVersion(t, dir), "smstorrent-setupca.dll"} {
		if !bytes.Contains(data, utf16le(s)) {
			t.Errorf("version resource lacks %q", s)
		}
	}
	verify(t, path)
}
