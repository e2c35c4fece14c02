package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/tracker/cli"
	"github.com/smstorrent/smstorrent/tracker/config"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), err
}

// TestCreatePublishFetchVerify is the round trip the service depends on:
// keygen, create, publish, GET /api/v1/packages/<id>/torrent, Verify.
func TestCreatePublishFetchVerify(t *testing.T) {
	dir := t.TempDir()
	keyPrefix := filepath.Join(dir, "publisher")
	if out, err := run(t, "keygen", "--out", keyPrefix); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	if out, err := run(t, "keygen", "--out", keyPrefix); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("keygen over existing files: %v\n%s", err, out)
	}
	if st, err := os.Stat(keyPrefix + ".key"); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("private key file: %v %v", st, err)
	}
	pub, err := pkgsign.LoadPublicKey(keyPrefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := pkgsign.LoadPrivateKey(keyPrefix + ".key")
	key := testbed.Key{Priv: priv, Pub: priv.Public().String()}
	e := testbed.StartTrackerConfig(t, func() *config.Config {
		c := testbed.TrackerConfig(t, key)
		c.PublicURL = "http://tracker.example:6969"
		return c
	}(), key)
	cfgFile := filepath.Join(dir, "tracker.json")
	b, _ := json.Marshal(e.Cfg)
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}

	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "x64"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(src, "setup.exe"), bytes.Repeat([]byte("A"), 70000), 0o644)
	_ = os.WriteFile(filepath.Join(src, "x64", "driver.inf"), []byte("[Version]"), 0o644)

	tf := filepath.Join(dir, "PS100012.torrent")
	out, err := run(t, "create", "--id", "PS100012", "--source", src, "--version", "1.2.3", "--piece-length", "32768",
		"--webseed", "http://dp01.example/PS100012/", "--key", keyPrefix+".key", "--config", cfgFile, "-o", tf)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if out, err := run(t, "publish", tf, "--repository", e.Base, "--token", testbed.Token); err != nil || !strings.Contains(out, "published PS100012 version 1.2.3") {
		t.Fatalf("publish: %v\n%s", err, out)
	}

	// Fetch it exactly the way the service does.
	resp, err := http.Get(e.Base + "/api/v1/packages/PS100012/torrent")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	_, _ = got.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-bittorrent" {
		t.Fatalf("fetch: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	p, err := pkgsign.Verify(got.Bytes(), []pkgsign.PublicKey{pub})
	if err != nil {
		t.Fatalf("verify fetched torrent: %v", err)
	}
	if p.ID != "PS100012" || p.Version != "1.2.3" || p.Info.PieceLength != 32768 || p.ContentSize() != 70009 ||
		p.Meta.Announce != "http://tracker.example:6969/announce" || len(p.Meta.UrlList) != 1 || !*p.Info.Private {
		t.Errorf("fetched package: id %s version %s piece %d size %d announce %s urls %v", p.ID, p.Version, p.Info.PieceLength, p.Size(), p.Meta.Announce, p.Meta.UrlList)
	}

	// One byte of info changed: verification fails.
	tampered := got.Bytes()
	i := bytes.Index(tampered, []byte("driver.inf"))
	tampered[i] = 'D'
	if _, err := pkgsign.Verify(tampered, []pkgsign.PublicKey{pub}); !errors.Is(err, pkgsign.ErrBadSignature) {
		t.Errorf("tampered: %v, want ErrBadSignature", err)
	}
	// Re-signed with another key: not trusted.
	otherPrefix := filepath.Join(dir, "other")
	if _, err := run(t, "keygen", "--out", otherPrefix); err != nil {
		t.Fatal(err)
	}
	tf2 := filepath.Join(dir, "other.torrent")
	if out, err := run(t, "create", "--id", "PS100012", "--source", src, "--version", "1.2.3", "--piece-length", "32768",
		"--key", otherPrefix+".key", "--announce", e.Announce, "-o", tf2); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	resigned, _ := os.ReadFile(tf2)
	if _, err := pkgsign.Verify(resigned, []pkgsign.PublicKey{pub}); !errors.Is(err, pkgsign.ErrUnknownSigner) {
		t.Errorf("re-signed: %v, want ErrUnknownSigner", err)
	}
	if out, err := run(t, "publish", tf2, "--repository", e.Base, "--token", testbed.Token); err == nil || !strings.Contains(out+err.Error(), "not trusted") {
		t.Errorf("publish of a foreign-signed torrent: %v %s", err, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"create", "--source", "x"},
		{"create", "--id", "CON", "--source", "x", "--key", "k", "-o", "o", "--announce", "http://x/announce"},
		{"publish"},
		{"publish", "x.torrent"},
		{"serve", "extra"},
		{"serve", "--config", "/does/not/exist.json"},
	} {
		if _, err := run(t, args...); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if out, err := run(t, "create", "--help"); err != nil || !strings.Contains(out, "-piece-length") {
		t.Errorf("create --help: %v\n%s", err, out)
	}
	if _, err := run(t); !errors.Is(err, cli.ErrUsage) {
		t.Errorf("no args: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"max_peers": 0.5}`), 0o600)
	if _, err := run(t, "serve", "--config", bad); err == nil || !strings.Contains(err.Error(), "max_peers") {
		t.Errorf("bad config: %v", err)
	}
}
