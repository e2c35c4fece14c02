//go:build windows

package secfs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// daclOf reads back the DACL that Windows stored, as SDDL.
func daclOf(t *testing.T, p string) string {
	t.Helper()
	sd, err := windows.GetNamedSecurityInfo(p, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	return sd.String()
}

// underWine reports whether the test runs under wine, which does not keep
// the security descriptors of files (it reports a default one).
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

type ace struct {
	sid   string
	mask  windows.ACCESS_MASK
	flags uint8
}

// TestDACLBuilt decodes the security descriptors the code sets, as Windows
// builds them from the SDDL, entry by entry.
func TestDACLBuilt(t *testing.T) {
	const (
		full    = windows.ACCESS_MASK(0x1f01ff) // FILE_ALL_ACCESS
		readX   = windows.ACCESS_MASK(0x1200a9) // FILE_GENERIC_READ|FILE_GENERIC_EXECUTE
		read    = windows.ACCESS_MASK(0x120089) // FILE_GENERIC_READ
		inherit = windows.OBJECT_INHERIT_ACE | windows.CONTAINER_INHERIT_ACE
	)
	tests := []struct {
		name string
		sddl string
		want []ace
	}{
		{"private folder", FolderSDDL(Private), []ace{{"S-1-5-18", full, inherit}, {"S-1-5-32-544", full, inherit}}},
		{"users-read folder", FolderSDDL(UsersRead), []ace{{"S-1-5-18", full, inherit}, {"S-1-5-32-544", full, inherit}, {"S-1-5-32-545", readX, inherit}}},
		{"private file", FileSDDL(Private), []ace{{"S-1-5-18", full, 0}, {"S-1-5-32-544", full, 0}}},
		{"users-read file", FileSDDL(UsersRead), []ace{{"S-1-5-18", full, 0}, {"S-1-5-32-544", full, 0}, {"S-1-5-32-545", read, 0}}},
	}
	for _, tt := range tests {
		sd, err := windows.SecurityDescriptorFromString(tt.sddl)
		if err != nil {
			t.Fatalf("%s: %v", tt.sddl, err)
		}
		ctl, _, err := sd.Control()
		if err != nil || ctl&windows.SE_DACL_PROTECTED == 0 {
			t.Errorf("%s: DACL not protected (%v %v)", tt.name, ctl, err)
		}
		dacl, _, err := sd.DACL()
		if err != nil {
			t.Fatal(err)
		}
		var got []ace
		for i := uint32(0); i < uint32(dacl.AceCount); i++ {
			var a *windows.ACCESS_ALLOWED_ACE
			if err := windows.GetAce(dacl, i, &a); err != nil {
				t.Fatal(err)
			}
			if a.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
				t.Errorf("%s: entry %d is not an allow entry", tt.name, i)
			}
			sid := (*windows.SID)(unsafe.Pointer(&a.SidStart))
			got = append(got, ace{sid.String(), a.Mask, a.Header.AceFlags})
		}
		t.Logf("%s: %s -> %+v", tt.name, tt.sddl, got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: entries %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestCreateDataTreeACLs(t *testing.T) {
	if underWine() {
		t.Skip("wine does not keep file security descriptors; TestDACLBuilt checks what is set")
	}
	data := filepath.Join(t.TempDir(), "SMSTorrent")
	if err := CreateDataTree(Layout{DataDir: data}); err != nil {
		t.Fatal(err)
	}
	for _, f := range (Layout{DataDir: data}).Folders() {
		got := daclOf(t, f.Path)
		t.Logf("%s: %s", f.Path, got)
		if !strings.Contains(got, "D:P") {
			t.Errorf("%s: DACL not protected: %s", f.Path, got)
		}
		hasUsers := strings.Contains(got, ";;;BU)")
		if hasUsers != (f.Access == UsersRead) {
			t.Errorf("%s (%v): Users entry %v: %s", f.Path, f.Access, hasUsers, got)
		}
		if err := CheckTrusted(f.Path); err != nil {
			t.Errorf("CheckTrusted(%s): %v", f.Path, err)
		}
	}
	tok := filepath.Join(data, "api", "control.token")
	if err := WriteFileProtected(tok, []byte("secret"), Private); err != nil {
		t.Fatal(err)
	}
	got := daclOf(t, tok)
	t.Logf("%s: %s", tok, got)
	if !strings.HasPrefix(got, "D:P") || strings.Contains(got, "BU") {
		t.Errorf("control token DACL %s", got)
	}
	if err := CheckTrusted(tok); err != nil {
		t.Errorf("CheckTrusted(token): %v", err)
	}
}

func TestCheckTrustedRefusesUsersWrite(t *testing.T) {
	if underWine() {
		t.Skip("wine does not keep file security descriptors")
	}
	dir := t.TempDir()
	if err := MkdirProtected(filepath.Join(dir, "d"), Private); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "d", "config.json")
	if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FRFW;;;BU)")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, _ := sd.DACL()
	if err := windows.SetNamedSecurityInfo(p, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
	if err := CheckTrusted(p); !errors.Is(err, ErrUntrusted) {
		t.Errorf("a file Users may write was trusted: %v", err)
	}
}
