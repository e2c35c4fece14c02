package secfs

// The security descriptors, in SDDL, that the Windows implementation sets.
// "P" protects the DACL: nothing is inherited from ProgramData, where
// ordinary users may create files. SY is LocalSystem, BA the built-in
// Administrators, BU the built-in Users; FA is full access; 0x1200a9 is
// read, list and execute (FILE_GENERIC_READ|FILE_GENERIC_EXECUTE); FR is
// read. OICI makes a folder's entries apply to everything created in it.
const (
	folderPrivateSDDL   = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
	folderUsersReadSDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"
	filePrivateSDDL     = "D:P(A;;FA;;;SY)(A;;FA;;;BA)"
	fileUsersReadSDDL   = "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;BU)"
)

// FolderSDDL is the security descriptor MkdirProtected gives a folder on Windows.
func FolderSDDL(a Access) string {
	if a == UsersRead {
		return folderUsersReadSDDL
	}
	return folderPrivateSDDL
}

// FileSDDL is the security descriptor WriteFileProtected gives a file on Windows.
func FileSDDL(a Access) string {
	if a == UsersRead {
		return fileUsersReadSDDL
	}
	return filePrivateSDDL
}
