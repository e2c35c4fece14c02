package wincheck

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSignTimestamp proves the timestamp path of the signing step without
// leaving the machine: a throwaway RFC 3161 timestamp authority (openssl ts
// -reply behind an httptest server on 127.0.0.1) answers the query that
// packaging/windows/sign.sh (the script dist.sh signs every file with) sends
// when SMSTORRENT_SIGN_TIMESTAMP is set, and osslsigncode verify must report
// the timestamp, signed by that authority, over the signature of a small PE
// and of a small MSI.
// It needs no dist folder; it skips without openssl, osslsigncode or bash.
func TestSignTimestamp(t *testing.T) {
	needSigningTools(t, "the signing timestamp test")
	dir := t.TempDir()
	tsaCert, tsaKey := throwawayCert(t, dir, "tsa", "SMSTorrent test TSA", "critical,timeStamping")
	signCert, signKey := throwawayCert(t, dir, "code", "SMSTorrent test code signing", "codeSigning")
	conf := filepath.Join(dir, "tsa.cnf")
	writeFile(t, conf, tsaConfig(dir))

	var queries atomic.Int32
	srv := httptest.NewServer(tsaHandler(t, dir, conf, tsaCert, tsaKey, &queries))
	defer srv.Close()

	in := filepath.Join(dir, "small.exe")
	writeFile(t, in, string(smallPE(t)))
	sign := func(in, out, tsaCA string) ([]byte, error) {
		cmd := exec.Command("bash", "../windows/sign.sh", in, out)
		cmd.Env = append(signEnv(),
			"SMSTORRENT_SIGN_CERT="+signCert, "SMSTORRENT_SIGN_KEY="+signKey,
			"SMSTORRENT_SIGN_CAFILE="+signCert,
			"SMSTORRENT_SIGN_TIMESTAMP="+srv.URL+"/tsa",
			"SMSTORRENT_SIGN_TSA_CAFILE="+tsaCA,
			"no_proxy=127.0.0.1", "NO_PROXY=127.0.0.1")
		return cmd.CombinedOutput()
	}
	// The PE, and an MSI (a different Authenticode layout) when wixl is there.
	inputs := []string{in}
	if _, err := exec.LookPath("wixl"); err == nil {
		inputs = append(inputs, smallMSI(t, dir, in))
	} else {
		t.Log("wixl is not installed: the MSI is not timestamped, only the PE")
	}
	for i, in := range inputs {
		ext := filepath.Ext(in)
		out := strings.TrimSuffix(in, ext) + "-signed" + ext
		if b, err := sign(in, out, tsaCert); err != nil {
			t.Fatalf("sign.sh %s: %v\n%s", filepath.Base(in), err, b)
		}
		if n := queries.Load(); n != int32(i+1) {
			t.Errorf("the TSA answered %d timestamp queries after %d signatures", n, i+1)
		}
		if _, err := os.Stat(out + ".verify"); !os.IsNotExist(err) {
			t.Errorf("sign.sh left %s.verify behind (%v)", filepath.Base(out), err)
		}
		checkTimestamped(t, out, signCert, tsaCert)
	}

	// sign.sh itself refuses a timestamp that does not verify (here: the
	// TSA is not trusted) and leaves neither the file nor its .verify log.
	// osslsigncode verify alone exits 0 then ("Timestamp Server Signature
	// verification: failed" ... "Succeeded"): sign.sh's own check catches it.
	bad := filepath.Join(dir, "small-untrusted-tsa.exe")
	if b, err := sign(in, bad, signCert); err == nil || !strings.Contains(string(b), "sign: no verified timestamp") {
		t.Errorf("sign.sh accepted a timestamp by an untrusted TSA (%v):\n%s", err, b)
	}
	for _, f := range []string{bad, bad + ".verify"} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("sign.sh left %s behind after a failed verify (%v)", filepath.Base(f), err)
		}
	}

	// Without trust in the TSA the timestamp must not verify: the check
	// above is about this authority's signature, not any timestamp.
	b, _ := exec.Command("osslsigncode", "verify", "-CAfile", signCert, "-TSA-CAfile", signCert,
		"-in", strings.TrimSuffix(in, ".exe")+"-signed.exe").CombinedOutput()
	if strings.Contains(string(b), "Timestamp Server Signature verification: ok") {
		t.Errorf("the timestamp verifies against the wrong CA:\n%s", b)
	}
}

// checkTimestamped requires osslsigncode verify to report out's signature
// and its countersignature by the test TSA, both verified.
func checkTimestamped(t *testing.T, out, signCert, tsaCert string) {
	t.Helper()
	b, err := exec.Command("osslsigncode", "verify", "-CAfile", signCert, "-TSA-CAfile", tsaCert, "-in", out).CombinedOutput()
	if err != nil {
		t.Fatalf("osslsigncode verify %s: %v\n%s", filepath.Base(out), err, b)
	}
	report := string(b)
	for _, want := range []string{
		`^Signature verification: ok$`,
		`^Timestamp Server Signature verification: ok$`,
		`^\s*Subject: /CN=SMSTorrent test TSA$`,
	} {
		if !regexp.MustCompile(`(?m)` + want).MatchString(report) {
			t.Errorf("osslsigncode verify %s does not report %q:\n%s", filepath.Base(out), want, report)
		}
	}
	// The countersignature: the TSA's time and the TSA as its issuer.
	counter := regexp.MustCompile(`(?m)^Countersignatures:\n\s*Timestamp time: \S.*\n\s*Signing time: \S.*\n(?:.*\n)*?\s*Issuer: /CN=SMSTorrent test TSA$`)
	if !counter.MatchString(report) {
		t.Errorf("osslsigncode verify %s reports no countersignature by the test TSA:\n%s", filepath.Base(out), report)
	}
	for _, line := range strings.Split(report, "\n") {
		line = strings.TrimSpace(line)
		for _, p := range []string{"Timestamp ", "Signing time: ", "Issuer: ", "Signature verification: "} {
			if strings.HasPrefix(line, p) {
				t.Logf("%s: %s", filepath.Base(out), line)
				break
			}
		}
	}
}

// smallMSI builds with wixl a one-file MSI in dir holding exe (in dir too).
func smallMSI(t *testing.T, dir, exe string) string {
	t.Helper()
	wxs, msi := filepath.Join(dir, "small.wxs"), filepath.Join(dir, "small.msi")
	writeFile(t, wxs, `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="SMSTorrent timestamp test" Language="1033" Version="1.0.0" Manufacturer="SMSTorrent"
      UpgradeCode="6c1e1b2a-4f0e-4d7e-9a51-2d7b1f0c9e11">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine"/>
    <Media Id="1" Cabinet="small.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="SMSTorrentTimestampTest">
          <Component Id="Small" Guid="3f0d6c55-8d7b-4b8e-a1f2-5b7e9c0d1a22" Win64="yes">
            <File Id="small" Name="small.exe" Source="`+filepath.Base(exe)+`" KeyPath="yes"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Main" Level="1"><ComponentRef Id="Small"/></Feature>
  </Product>
</Wix>
`)
	cmd := exec.Command("wixl", "-a", "x64", "-o", msi, wxs)
	cmd.Dir = filepath.Dir(exe) // wixl takes relative Source paths only
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wixl: %v\n%s", err, out)
	}
	return msi
}

// signEnv is the environment without any SMSTORRENT_SIGN_* of the caller,
// so that only the test's certificates and TSA are used.
// needSigningTools skips the test (what) unless openssl, osslsigncode and
// bash are installed.
func needSigningTools(t *testing.T, what string) {
	t.Helper()
	for _, tool := range []string{"openssl", "osslsigncode", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %s needs openssl, osslsigncode and bash", tool, what)
		}
	}
}

func signEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SMSTORRENT_SIGN_") {
			env = append(env, kv)
		}
	}
	return env
}

// tsaHandler answers RFC 3161 timestamp queries (POST, application/
// timestamp-query, bounded size) with openssl ts -reply and counts them.
// osslsigncode sends one query per signature, one signature at a time, so
// openssl's serial file (the only state) is never written concurrently.
func tsaHandler(t *testing.T, dir, conf, cert, key string, queries *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
			http.Error(w, "want a POST of application/timestamp-query", http.StatusBadRequest)
			return
		}
		query, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n := queries.Add(1)
		qf := filepath.Join(dir, fmt.Sprintf("query%d.tsq", n))
		rf := filepath.Join(dir, fmt.Sprintf("reply%d.tsr", n))
		if err := os.WriteFile(qf, query, 0o600); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out, err := exec.Command("openssl", "ts", "-reply", "-config", conf, "-queryfile", qf,
			"-signer", cert, "-inkey", key, "-out", rf).CombinedOutput()
		if err != nil {
			t.Errorf("openssl ts -reply: %v\n%s", err, out)
			http.Error(w, "openssl ts -reply failed", http.StatusInternalServerError)
			return
		}
		reply, err := os.ReadFile(rf)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		if _, err := w.Write(reply); err != nil {
			t.Errorf("writing the timestamp reply: %v", err)
		}
	}
}

// tsaConfig is the minimal openssl configuration for "openssl ts -reply".
func tsaConfig(dir string) string {
	return `[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = ` + filepath.Join(dir, "tsa.serial") + `
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.4146.2.3
digests = sha256, sha384, sha512, sha1
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`
}

// throwawayCert makes a self-signed RSA certificate with the given extended
// key usage in dir and returns the certificate and key file names.
func throwawayCert(t *testing.T, dir, name, cn, eku string) (cert, key string) {
	t.Helper()
	cert, key = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-days", "2", "-nodes",
		"-keyout", key, "-out", cert, "-subj", "/CN="+cn,
		"-addext", "extendedKeyUsage="+eku, "-addext", "keyUsage=critical,digitalSignature").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req (%s): %v\n%s", name, err, out)
	}
	return cert, key
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// smallPE is a minimal valid PE32+ console executable (one .text section
// holding "ret"), enough for Authenticode signing; debug/pe must read it.
func smallPE(t *testing.T) []byte {
	t.Helper()
	const fileAlign, sectAlign = 0x200, 0x1000
	var buf bytes.Buffer
	dos := make([]byte, 0x40)
	copy(dos, "MZ")
	binary.LittleEndian.PutUint32(dos[0x3c:], 0x40)
	buf.Write(dos)
	buf.WriteString("PE\x00\x00")
	opt := pe.OptionalHeader64{
		Magic: 0x20b, SizeOfCode: fileAlign, AddressOfEntryPoint: sectAlign, BaseOfCode: sectAlign,
		ImageBase: 0x140000000, SectionAlignment: sectAlign, FileAlignment: fileAlign,
		MajorOperatingSystemVersion: 6, MajorSubsystemVersion: 6, SizeOfImage: 2 * sectAlign,
		SizeOfHeaders: fileAlign, Subsystem: pe.IMAGE_SUBSYSTEM_WINDOWS_CUI,
		DllCharacteristics: pe.IMAGE_DLLCHARACTERISTICS_NX_COMPAT | pe.IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE |
			pe.IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA | pe.IMAGE_DLLCHARACTERISTICS_TERMINAL_SERVER_AWARE,
		SizeOfStackReserve: 0x100000, SizeOfStackCommit: 0x1000, SizeOfHeapReserve: 0x100000, SizeOfHeapCommit: 0x1000,
		NumberOfRvaAndSizes: 16,
	}
	fh := pe.FileHeader{
		Machine: pe.IMAGE_FILE_MACHINE_AMD64, NumberOfSections: 1,
		SizeOfOptionalHeader: uint16(binary.Size(opt)),
		Characteristics:      pe.IMAGE_FILE_EXECUTABLE_IMAGE | pe.IMAGE_FILE_LARGE_ADDRESS_AWARE,
	}
	text := pe.SectionHeader32{
		VirtualSize: 1, VirtualAddress: sectAlign, SizeOfRawData: fileAlign, PointerToRawData: fileAlign,
		Characteristics: pe.IMAGE_SCN_CNT_CODE | pe.IMAGE_SCN_MEM_EXECUTE | pe.IMAGE_SCN_MEM_READ,
	}
	copy(text.Name[:], ".text")
	for _, v := range []any{fh, opt, text} {
		if err := binary.Write(&buf, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
	}
	img := make([]byte, 2*fileAlign)
	copy(img, buf.Bytes())
	img[fileAlign] = 0xc3 // ret
	f, err := pe.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("the small PE does not parse: %v", err)
	}
	defer f.Close()
	return img
}
