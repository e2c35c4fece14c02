package svc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/service/config"
)

func testKey(t *testing.T) string {
	t.Helper()
	k, err := pkgsign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k.Public().String()
}

func TestMergeSetup(t *testing.T) {
	key := testKey(t)
	good := SetupProps{Repository: "http://tracker.example:7390/", TrustedKey: key}
	t.Run("first install", func(t *testing.T) {
		p := good
		p.Site, p.CacheMax, p.LimitDown, p.LimitUp, p.ListenPort = "Branch 12", "50GB", "2MB/s", "20Mbit/s", "6990"
		p.Schedule = "mon-fri 08:00-18:00 1MB/s 256KB/s; sat,sun 00:00-06:00 0 0"
		c, err := MergeSetup(config.Default(), p)
		if err != nil {
			t.Fatal(err)
		}
		if c.Repository != "http://tracker.example:7390" || len(c.TrustedKeys) != 1 || c.Site != "Branch 12" ||
			c.CacheMax != 50e9 || c.LimitDown != 2e6 || c.LimitUp != 2.5e6 || c.ListenPort != 6990 || len(c.Schedule) != 2 {
			t.Errorf("merged %+v", c)
		}
		if c.Schedule[0].LimitDown != 1e6 || c.Schedule[0].From != "08:00" || c.Schedule[1].Days[1] != "sun" {
			t.Errorf("schedule %+v", c.Schedule)
		}
	})
	t.Run("upgrade keeps values", func(t *testing.T) {
		base := config.Default()
		base.Repository, base.TrustedKeys, base.Site, base.LimitDown = "http://old:1", []string{key}, "keep", 5e6
		c, err := MergeSetup(base, SetupProps{LimitUp: "1MB/s"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Repository != "http://old:1" || c.Site != "keep" || c.LimitDown != 5e6 || c.LimitUp != 1e6 {
			t.Errorf("merged %+v", c)
		}
	})
	for _, tc := range []struct {
		name, prop string
		edit       func(*SetupProps)
	}{
		{"missing repository", "REPOSITORY_URL", func(p *SetupProps) { p.Repository = "" }},
		{"missing key", "TRUSTED_KEY", func(p *SetupProps) { p.TrustedKey = "" }},
		{"bad repository", "REPOSITORY_URL", func(p *SetupProps) { p.Repository = "ftp://x" }},
		{"bad key", "TRUSTED_KEY", func(p *SetupProps) { p.TrustedKey = "ed25519:nope" }},
		{"bad rate", "LIMIT_DOWN", func(p *SetupProps) { p.LimitDown = "fast" }},
		{"bad size", "CACHE_MAX", func(p *SetupProps) { p.CacheMax = "lots" }},
		{"relative cache", "CACHE_DIR", func(p *SetupProps) { p.CacheDir = "cache" }},
		{"bad port", "LISTEN_PORT", func(p *SetupProps) { p.ListenPort = "70000" }},
		{"bad schedule", "SCHEDULE", func(p *SetupProps) { p.Schedule = "mon-fri 8-18" }},
		{"bad schedule day", "SCHEDULE", func(p *SetupProps) { p.Schedule = "funday 08:00-18:00 1MB/s 0" }},
		{"bad firewall", "FIREWALL", func(p *SetupProps) { p.Firewall = "yes" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			tc.edit(&p)
			_, err := MergeSetup(config.Default(), p)
			var pe *PropError
			if !errors.As(err, &pe) || pe.Prop != tc.prop {
				t.Fatalf("err = %v, want a %s error", err, tc.prop)
			}
		})
	}
}

func TestSetupWritesConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SMSTORRENT_DATA_DIR", dir)
	cfgPath := filepath.Join(dir, "config.json")
	key := testKey(t)
	var out, errb bytes.Buffer
	args := []string{"--repository_url", "http://tracker.example:7390", "--trusted_key", key, "--site", "", "--limit_down", "1MB/s"}
	if code := setupMain(cfgPath, args, &out, &errb); code != 0 {
		t.Fatalf("setup: %d %s", code, errb.String())
	}
	c, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if c.Repository != "http://tracker.example:7390" || c.LimitDown != 1e6 || c.DataDir != dir {
		t.Errorf("written %q %d %q (data dir %q)", c.Repository, c.LimitDown, c.DataDir, dir)
	}
	// An upgrade without properties keeps it; a bad value fails and leaves it.
	if code := setupMain(cfgPath, []string{"--limit_up", "2MB/s"}, &out, &errb); code != 0 {
		t.Fatalf("upgrade: %d %s", code, errb.String())
	}
	errb.Reset()
	if code := setupMain(cfgPath, []string{"--limit_up", "quick"}, &out, &errb); code != 1603 || !strings.Contains(errb.String(), "LIMIT_UP") {
		t.Fatalf("bad value: %d %q", code, errb.String())
	}
	c, _ = config.Load(cfgPath)
	if c.LimitDown != 1e6 || c.LimitUp != 2e6 {
		t.Errorf("after upgrade %+v", c)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "logs", "setup.log")); !strings.Contains(string(b), "LIMIT_UP") {
		t.Errorf("setup.log: %s", b)
	}
	// teardown --purge removes the data; packages in a custom cache go, other folders stay.
	cache := t.TempDir()
	c.CacheDir = cache
	if err := writeConfig(cfgPath, c); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"PS100012", "not a package"} {
		if err := os.MkdirAll(filepath.Join(cache, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if code := teardownMain(cfgPath, []string{"--purge"}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data dir still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cache, "PS100012")); !os.IsNotExist(err) {
		t.Errorf("package folder still there")
	}
	if _, err := os.Stat(filepath.Join(cache, "not a package")); err != nil {
		t.Errorf("unrelated folder removed: %v", err)
	}
}

func TestFirewallAddArgs(t *testing.T) {
	got := firewallAddArgs(`C:\Program Files\SMSTorrent\smstorrent-service.exe`, 6881)
	if len(got) != 2 {
		t.Fatalf("%d rules", len(got))
	}
	for i, proto := range []string{"TCP", "UDP"} {
		line := strings.Join(got[i], " ")
		for _, want := range []string{"add rule", "dir=in", "action=allow", "protocol=" + proto, "localport=6881",
			`program=C:\Program Files\SMSTorrent\smstorrent-service.exe`, "name=SMSTorrent peers (" + proto + ")"} {
			if !strings.Contains(line, want) {
				t.Errorf("rule %d lacks %q: %s", i, want, line)
			}
		}
	}
	if line := strings.Join(firewallAddArgs("x.exe", 0)[0], " "); strings.Contains(line, "localport") {
		t.Errorf("port 0 should allow any port: %s", line)
	}
}
