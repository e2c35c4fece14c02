//go:build !windows

package secfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestCreateDataTreeModes(t *testing.T) {
	data := filepath.Join(t.TempDir(), "smstorrent")
	// A folder that exists with loose permissions is tightened.
	if err := os.MkdirAll(filepath.Join(data, "state"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(data, "state"), 0o777); err != nil {
		t.Fatal(err)
	}
	l := Layout{DataDir: data}
	if err := CreateDataTree(l); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{"": 0o755, "api": 0o755, "state": 0o700, "torrents": 0o700, "cache": 0o700, "logs": 0o700}
	for sub, m := range want {
		p := filepath.Join(data, sub)
		if got := mode(t, p); got != m {
			t.Errorf("%s: mode %v, want %v", p, got, m)
		}
		if err := CheckTrusted(p); err != nil {
			t.Errorf("CheckTrusted(%s): %v", p, err)
		}
		st, _ := os.Lstat(p)
		if uid := st.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Geteuid() {
			t.Errorf("%s: owner %d", p, uid)
		}
	}
}

func TestMkdirProtectedRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := t.TempDir()
	link := filepath.Join(dir, "cache")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := MkdirProtected(link, Private); err == nil {
		t.Fatal("a symbolic link was accepted as the protected folder")
	}
}

func TestWriteFileProtected(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "control.token")
	// An earlier file with loose permissions is replaced, not reused.
	if err := os.WriteFile(p, []byte("old"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileProtected(p, []byte("secret\n"), Private); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, p); got != 0o600 {
		t.Errorf("private file mode %v", got)
	}
	if b, _ := os.ReadFile(p); string(b) != "secret\n" {
		t.Errorf("content %q", b)
	}
	r := filepath.Join(dir, "read.token")
	if err := WriteFileProtected(r, []byte("x"), UsersRead); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, r); got != 0o644 {
		t.Errorf("users-read file mode %v", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestCheckTrusted(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "config.json")
	if err := os.WriteFile(good, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckTrusted(good); err != nil {
		t.Fatalf("own file: %v", err)
	}
	bad := filepath.Join(dir, "world.json")
	if err := os.WriteFile(bad, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bad, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := CheckTrusted(bad); !errors.Is(err, ErrUntrusted) {
		t.Errorf("world-writable file: %v", err)
	}
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	inOpen := filepath.Join(open, "config.json")
	if err := os.WriteFile(inOpen, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckTrusted(inOpen); !errors.Is(err, ErrUntrusted) {
		t.Errorf("file in a world-writable folder: %v", err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	if err := CheckTrusted(link); !errors.Is(err, ErrUntrusted) {
		t.Errorf("symbolic link: %v", err)
	}
	if os.Geteuid() == 0 {
		other := filepath.Join(dir, "other.json")
		if err := os.WriteFile(other, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := CheckTrusted(other); !errors.Is(err, ErrUntrusted) {
			t.Errorf("file of another user: %v", err)
		}
	}
	if err := CheckTrusted(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
