//go:build windows

package secfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

func securityAttributes(sddl string) (*windows.SecurityAttributes, *windows.SECURITY_DESCRIPTOR, error) {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, nil, err
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd, InheritHandle: 0}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	return sa, sd, nil
}

func mkdirProtected(path string, access Access) error {
	sa, sd, err := securityAttributes(FolderSDDL(access))
	if err != nil {
		return err
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	err = windows.CreateDirectory(p, sa)
	if err == nil {
		return nil
	}
	if !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 || fi.Mode()&os.ModeIrregular != 0 {
		return fmt.Errorf("%s is not a plain folder (%s)", path, fi.Mode().Type())
	}
	// An existing folder (an upgrade, or one a user created first): set the
	// protected DACL, and take ownership for Administrators if its owner is
	// someone else, since an owner may always rewrite the DACL.
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	info := windows.SECURITY_INFORMATION(windows.DACL_SECURITY_INFORMATION | windows.PROTECTED_DACL_SECURITY_INFORMATION)
	var owner *windows.SID
	if cur, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION); err == nil {
		if o, _, err := cur.Owner(); err == nil && !trustedOwner(o) {
			if owner, err = windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid); err != nil {
				return err
			}
			info |= windows.OWNER_SECURITY_INFORMATION
		}
	}
	return windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, info, owner, nil, dacl, nil)
}

func createProtected(path string, access Access) (*os.File, error) {
	sa, _, err := securityAttributes(FileSDDL(access))
	if err != nil {
		return nil, err
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE, 0, sa, windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(h), path), nil
}

func replaceFile(from, to string) error {
	f, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return err
	}
	t, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return err
	}
	// A move within a volume keeps the file's own (protected) DACL.
	return windows.MoveFileEx(f, t, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
}

// trustedSIDs are the accounts that may own or change what SYSTEM runs.
func trustedSID(s *windows.SID) bool {
	for _, k := range []windows.WELL_KNOWN_SID_TYPE{windows.WinLocalSystemSid, windows.WinBuiltinAdministratorsSid} {
		if s.IsWellKnown(k) {
			return true
		}
	}
	// NT SERVICE\TrustedInstaller
	if ti, err := windows.StringToSid("S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"); err == nil && s.Equals(ti) {
		return true
	}
	return false
}

func trustedOwner(s *windows.SID) bool {
	if trustedSID(s) {
		return true
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	return err == nil && s.Equals(u.User.Sid)
}

// writeRights are the rights that let a holder change a file or folder, or
// put something else in its place.
const writeRights = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | windows.FILE_WRITE_EA |
	windows.FILE_WRITE_ATTRIBUTES | 0x40 /* FILE_DELETE_CHILD */ | windows.DELETE | windows.WRITE_DAC |
	windows.WRITE_OWNER | windows.GENERIC_WRITE | windows.GENERIC_ALL

// checkTrusted checks the file and the folder it is in (the folders above a
// protected data folder, such as ProgramData, let users create folders of
// their own but not replace ours).
func checkTrusted(path string) error {
	for _, p := range []string{path, filepath.Dir(path)} {
		if err := checkOne(p); err != nil {
			return err
		}
	}
	return nil
}

func checkOne(p string) error {
	sd, err := windows.GetNamedSecurityInfo(p, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the security of %s: %w", p, err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return err
	}
	if owner == nil || !trustedOwner(owner) {
		return fmt.Errorf("%s is owned by %s: %w", p, sidName(owner), ErrUntrusted)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	if dacl == nil {
		return fmt.Errorf("%s has no DACL (everyone has full access): %w", p, ErrUntrusted)
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return err
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if ace.Mask&writeRights != 0 && !trustedOwner(sid) {
			return fmt.Errorf("%s lets %s change it (access mask %#x): %w", p, sidName(sid), ace.Mask, ErrUntrusted)
		}
	}
	return nil
}

func sidName(s *windows.SID) string {
	if s == nil {
		return "nobody"
	}
	if acct, dom, _, err := s.LookupAccount(""); err == nil {
		return dom + `\` + acct
	}
	return s.String()
}
