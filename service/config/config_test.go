package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/secfs"
	"github.com/smstorrent/smstorrent/internal/units/unitstest"
)

// TestUnitForms runs the shared table of unit forms through the
// configuration's JSON values: limit_down and cache_max read exactly as ctl
// and the window do, and print back the same way.
func TestUnitForms(t *testing.T) {
	for _, c := range unitstest.Rates {
		var r Rate
		err := json.Unmarshal([]byte(strconv.Quote(c.In)), &r)
		switch {
		case c.Err == "" && (err != nil || int64(r) != c.BPS):
			t.Errorf("rate %q = %d, %v; want %d", c.In, r, err, c.BPS)
		case c.Err != "" && (err == nil || !strings.Contains(err.Error(), c.Err)):
			t.Errorf("rate %q = %d, %v; want an error with %q", c.In, r, err, c.Err)
		}
	}
	for _, c := range unitstest.Sizes {
		var z Size
		err := json.Unmarshal([]byte(strconv.Quote(c.In)), &z)
		switch {
		case c.Err == "" && (err != nil || int64(z) != c.Bytes):
			t.Errorf("size %q = %d, %v; want %d", c.In, z, err, c.Bytes)
		case c.Err != "" && (err == nil || !strings.Contains(err.Error(), c.Err)):
			t.Errorf("size %q = %d, %v; want an error with %q", c.In, z, err, c.Err)
		}
	}
	for _, c := range unitstest.Formats {
		if got := Rate(c.N).String(); got != c.Limit {
			t.Errorf("Rate(%d) prints %q, want %q", c.N, got, c.Limit)
		}
		if got := Size(c.N).String(); got != c.Bytes {
			t.Errorf("Size(%d) prints %q, want %q", c.N, got, c.Bytes)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"0": 0, "unlimited": 0,
		"512KiB/s": 512 << 10, "2MB/s": 2e6,
		"20Mbit/s": 2.5e6, "20Mbps": 2.5e6, "1.5MiB": 1.5 * (1 << 20), "800kbit": 1e5,
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"fast", "-1MB", "1e400", "NaN", "1000", "2mb"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) accepted", in)
		}
	}
}

func TestValidateNamesField(t *testing.T) {
	cases := map[string]string{
		`{"api_listen": "0.0.0.0:7380"}`:          "api_listen",
		`{"api_listen": "198.18.0.5:7380"}`:       "api_listen",
		`{"listen_port": 70000}`:                  "listen_port",
		`{"transports": ["quic"]}`:                "transports",
		`{"transports": []}`:                      "transports",
		`{"repository": "ftp://x"}`:               "repository",
		`{"trusted_keys": ["ed25519:AAAA"]}`:      "trusted_keys[0]",
		`{"server_networks": ["10.0.0.0/33"]}`:    "server_networks[0]",
		`{"seed_days": -1}`:                       "seed_days",
		`{"retry_min": "10s", "retry_max": "1s"}`: "retry_max",
		`{"log_files": 0}`:                        "log_files",
		`{"data_dir": "relative/path"}`:           "data_dir",
		`{"limit_down": "fast"}`:                  "rate",
		`{"nonsense": 1}`:                         "unknown field",
		`{"seed_days": "three"}`:                  "seed_days",
		`not json`:                                "JSON",
	}
	for body, field := range cases {
		dir := t.TempDir()
		p := filepath.Join(dir, "c.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %v, want it to name %q", body, err, field)
		}
	}
}

func TestDefaultsAndFill(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	os.WriteFile(p, []byte(`{"data_dir": "`+dir+`", "limit_up": "1MiB/s", "cache_max": "50GiB"}`), 0o644)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.CacheDir != filepath.Join(dir, "cache") || c.LogDir != filepath.Join(dir, "logs") {
		t.Errorf("dirs %q %q", c.CacheDir, c.LogDir)
	}
	if c.LimitUp != 1<<20 || c.CacheMax != 50<<30 || c.SeedDays != 3 || c.APIListen != "127.0.0.1:7380" {
		t.Errorf("values %+v", c)
	}
	// Round trip through Write.
	out := filepath.Join(dir, "out.json")
	if err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	c2, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if c2.LimitUp != c.LimitUp || c2.CacheMax != c.CacheMax || c2.RetryMax != c.RetryMax {
		t.Errorf("round trip changed values: %+v vs %+v", c2, c)
	}
	var fe *FieldError
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil || errors.As(err, &fe) {
		t.Errorf("a missing explicit file: %v", err)
	}
}

// docs/CONFIG.md documents every key of the file.
func TestKeysDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeOf(Config{})
	for i := range typ.NumField() {
		tag := strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		if !strings.Contains(string(b), "| `"+tag+"` |") {
			t.Errorf("docs/CONFIG.md does not document %q", tag)
		}
	}
}

func TestScheduleWindows(t *testing.T) {
	loc := time.UTC
	at := func(day, hh, mm int) time.Time { return time.Date(2026, 11, day, hh, mm, 0, 0, loc) } // 2026-11-02 is a Monday
	office := Window{Days: []string{"mon-fri"}, From: "08:00", To: "18:00"}
	night := Window{Days: []string{"fri"}, From: "22:00", To: "06:00"}
	wrap := Window{Days: []string{"sat-mon"}, From: "00:00", To: "24:00"}
	cases := []struct {
		w    Window
		t    time.Time
		want bool
	}{
		{office, at(2, 8, 0), true}, {office, at(2, 17, 59), true}, {office, at(2, 18, 0), false},
		{office, at(2, 7, 59), false}, {office, at(7, 9, 0), false}, {office, at(6, 9, 0), true},
		{night, at(6, 23, 0), true}, {night, at(7, 5, 0), true}, {night, at(7, 6, 0), false}, {night, at(5, 23, 0), false},
		{wrap, at(8, 12, 0), true}, {wrap, at(9, 12, 0), true}, {wrap, at(10, 12, 0), false},
	}
	for _, c := range cases {
		if got := c.w.Contains(c.t); got != c.want {
			t.Errorf("%v at %s: %v, want %v", c.w.Days, c.t.Format("Mon 15:04"), got, c.want)
		}
	}
	for _, bad := range []Window{{Days: []string{"mon"}, From: "8am", To: "18:00"}, {Days: []string{"funday"}, From: "08:00", To: "18:00"}, {From: "08:00", To: "18:00"}, {Days: []string{"*"}, From: "08:00", To: "08:00"}} {
		if err := bad.validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// A configuration an ordinary user could have written is refused with an
// error that says why; the service does not start on it.
func TestLoadRefusesUntrustedFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes; the DACL check is tested in internal/secfs")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte(`{"trusted_keys": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatalf("own file: %v", err)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); !errors.Is(err, secfs.ErrUntrusted) || !strings.Contains(err.Error(), "refusing the configuration") {
		t.Errorf("world-writable configuration: %v", err)
	}
}

// TestEveryBadKeyIsNamed: a configuration with several mistakes names all
// of them, each by its key, not only the first.
func TestEveryBadKeyIsNamed(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	body := `{"data_dir": "` + dir + `", "limit_down": "2", "limit_up": "2mb/s", "cache_max": "lots",
		"colour": "blue", "listen_port": 70000, "seed_days": -1, "api_listen": "0.0.0.0:7380"}`
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"limit_down: ", "limit_up: ", "cache_max: ", "colour: "} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
	if !strings.Contains(err.Error(), "give a unit, like 2MiB/s") {
		t.Errorf("the rate's message does not show the right form:\n%v", err)
	}
	// The values that decode are validated together, every one named.
	c := Default()
	c.DataDir = dir
	c.ListenPort, c.SeedDays, c.APIListen = 70000, -1, "0.0.0.0:7380"
	err = c.Validate()
	for _, key := range []string{"listen_port: ", "seed_days: ", "api_listen: "} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate does not name %s: %v", key, err)
		}
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Errorf("%T is not a *FieldError", err)
	}
}
