package wincheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSignPasswordStaysOffTheCommandLine: sign.sh with a password-protected
// key (PEM, then PKCS#12) signs and verifies, a wrong password fails, and
// the password never appears in osslsigncode's arguments, which any local
// user can read in the process list. A wrapper first on PATH records them.
func TestSignPasswordStaysOffTheCommandLine(t *testing.T) {
	needSigningTools(t, "the signing password test")
	const pass = "pw-4be1c0ffee"
	dir := t.TempDir()
	cert, plainKey := throwawayCert(t, dir, "code", "SMSTorrent test code signing", "codeSigning")
	key, pfx := filepath.Join(dir, "enc.key"), filepath.Join(dir, "code.pfx")
	for _, args := range [][]string{
		{"pkey", "-in", plainKey, "-aes256", "-passout", "pass:" + pass, "-out", key},
		{"pkcs12", "-export", "-in", cert, "-inkey", plainKey, "-passout", "pass:" + pass, "-out", pfx},
	} {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", args[0], err, out)
		}
	}
	ossl, _ := exec.LookPath("osslsigncode")
	argv := filepath.Join(dir, "argv")
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(bin, "osslsigncode"), "#!/bin/sh\necho \"$@\" >> '"+argv+"'\nexec '"+ossl+"' \"$@\"\n")
	if err := os.Chmod(filepath.Join(bin, "osslsigncode"), 0o700); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "small.exe")
	writeFile(t, in, string(smallPE(t)))
	sign := func(out, pw string, creds ...string) ([]byte, error) {
		cmd := exec.Command("bash", "../windows/sign.sh", in, filepath.Join(dir, out))
		cmd.Env = append(signEnv(), append(creds, "SMSTORRENT_SIGN_PASS="+pw, "SMSTORRENT_SIGN_CAFILE="+cert,
			"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))...)
		return cmd.CombinedOutput()
	}
	pem := []string{"SMSTORRENT_SIGN_CERT=" + cert, "SMSTORRENT_SIGN_KEY=" + key}
	if b, err := sign("pem.exe", pass, pem...); err != nil {
		t.Errorf("sign.sh with an encrypted PEM key: %v\n%s", err, b)
	}
	if b, err := sign("pfx.exe", pass, "SMSTORRENT_SIGN_PFX="+pfx); err != nil {
		t.Errorf("sign.sh with a PKCS#12 file: %v\n%s", err, b)
	}
	if b, err := sign("wrong.exe", "not-"+pass, pem...); err == nil {
		t.Errorf("sign.sh signed with a wrong password:\n%s", b)
	}
	b, err := os.ReadFile(argv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "-readpass") || strings.Contains(string(b), pass) {
		t.Errorf("osslsigncode's arguments carry the password, or no -readpass:\n%s", b)
	}
}
