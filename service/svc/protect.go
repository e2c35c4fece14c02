package svc

import "os"

// makeProtectedDir creates a data folder of the service (the data folder,
// the cache, the logs) if it is missing.
//
// SECFS CALL SITE: this is the one place where the install step creates
// folders. Issue 12's internal/secfs (protected ACLs on Windows: SYSTEM and
// Administrators full control, Users read, no inheritance from
// %ProgramData%; modes on Linux) replaces the body when it lands; until
// then the folders get the default permissions of their parent.
func makeProtectedDir(dir string) error {
	return os.MkdirAll(dir, 0o755)
}
