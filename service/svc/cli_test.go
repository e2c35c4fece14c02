package svc

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestTakeConfigFlag(t *testing.T) {
	cases := []struct {
		in   []string
		path string
		rest []string
	}{
		{[]string{"run"}, "", []string{"run"}},
		{[]string{"--config", "a.json", "run"}, "a.json", []string{"run"}},
		{[]string{"ctl", "jobs", "--config=b.json", "--json"}, "b.json", []string{"ctl", "jobs", "--json"}},
		{[]string{"-config", "c.json", "status"}, "c.json", []string{"status"}},
		{[]string{"ctl", "add", "--", "--config"}, "", []string{"ctl", "add", "--", "--config"}},
	}
	for _, c := range cases {
		p, rest, err := takeConfigFlag(c.in)
		if err != nil || p != c.path || !reflect.DeepEqual(rest, c.rest) {
			t.Errorf("%v: %q %v %v", c.in, p, rest, err)
		}
	}
	if _, _, err := takeConfigFlag([]string{"run", "--config"}); err == nil {
		t.Error("--config without a path accepted")
	}
}

func TestMainRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	os.WriteFile(p, []byte(`{"data_dir": "`+dir+`", "api_listen": "0.0.0.0:7380"}`), 0o644)
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"run", "--config", p}, &out, &errb); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errb.String(), "api_listen") {
		t.Errorf("message does not name the field: %s", errb.String())
	}
	out.Reset()
	if code := Main(context.Background(), []string{"version"}, &out, &errb); code != 0 || strings.TrimSpace(out.String()) != Version {
		t.Errorf("version: %d %q", code, out.String())
	}
	os.WriteFile(p, []byte(`{"data_dir": "`+dir+`", "listen_port": 0, "api_listen": "127.0.0.1:0"}`), 0o644)
	out.Reset()
	if code := Main(context.Background(), []string{"check-config", "--config", p}, &out, &errb); code != 0 || !strings.Contains(out.String(), `"seed_days": 3`) {
		t.Errorf("check-config: %d %s %s", code, out.String(), errb.String())
	}
}

func TestMistakesGetAShortUsage(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"status", "extra"}, {"check-config", "now"}} {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if !strings.Contains(errb.String(), "usage: smstorrent-service") || strings.Count(errb.String(), "\n") > 4 {
			t.Errorf("%q: want a short usage, got:\n%s", args, errb.String())
		}
	}
}

func TestStatusWithoutServiceManager(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil || runtime.GOOS != "linux" {
		t.Skip("this system has a service manager to ask")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	os.WriteFile(p, []byte(`{"data_dir": "`+dir+`", "listen_port": 0, "api_listen": "127.0.0.1:0"}`), 0o644)
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"status", "--config", p}, &out, &errb); code != 3 {
		t.Errorf("exit %d, want 3 (not running)", code)
	}
	if !strings.Contains(errb.String(), "smstorrent-service run") {
		t.Errorf("no hint what to do:\n%s", errb.String())
	}
}
