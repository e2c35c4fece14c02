//go:build windows

package secfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestSDDLParses(t *testing.T) {
	for _, a := range []Access{Private, UsersRead} {
		for _, s := range []string{FolderSDDL(a), FileSDDL(a)} {
			sd, err := windows.SecurityDescriptorFromString(s)
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			ctl, _, err := sd.Control()
			if err != nil || ctl&windows.SE_DACL_PROTECTED == 0 {
				t.Errorf("%s: DACL not protected (%v %v)", s, ctl, err)
			}
		}
	}
}

func TestCreateDataTreeACLs(t *testing.T) {
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
