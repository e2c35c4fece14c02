package svc

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
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

func TestRotatingLog(t *testing.T) {
	dir := t.TempDir()
	r, err := openRotating(dir, "x.log", 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := r.Write([]byte(strings.Repeat("a", 40) + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"x.log", "x.log.1", "x.log.2"}) {
		t.Errorf("files %v", names)
	}
}
