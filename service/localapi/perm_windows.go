//go:build windows

package localapi

import (
	"golang.org/x/sys/windows"
)

// restrict sets the file's ACL: SYSTEM and Administrators full control, and
// for the read token, Users read. Inheritance from the folder is cut so a
// permissive ProgramData ACL does not leak the control token.
func restrict(path string, private bool) error {
	sddl := "D:P(A;;FA;;;SY)(A;;FA;;;BA)"
	if !private {
		sddl += "(A;;FR;;;BU)"
	}
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	return windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
}
