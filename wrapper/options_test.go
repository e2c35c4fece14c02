package wrapper

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantCmd []string
		check   func(t *testing.T, o Options)
		wantErr bool
	}{
		{name: "plain command", args: []string{"w", "msiexec.exe", "/i", "office.msi", "/qn"},
			wantCmd: []string{"msiexec.exe", "/i", "office.msi", "/qn"},
			check: func(t *testing.T, o Options) {
				if o.RetryCode != 1618 || o.Priority != api.Normal || o.Wait != 0 || o.Package != "" {
					t.Errorf("defaults wrong: %+v", o)
				}
			}},
		{name: "flags stop at first non-flag", args: []string{"w", "--package", "PS100012", "setup.exe", "--package", "x"},
			wantCmd: []string{"setup.exe", "--package", "x"},
			check: func(t *testing.T, o Options) {
				if o.Package != "PS100012" {
					t.Errorf("package %q", o.Package)
				}
			}},
		{name: "double dash ends flags", args: []string{"w", "-priority=high", "--", "-weird.exe", "a"},
			wantCmd: []string{"-weird.exe", "a"},
			check: func(t *testing.T, o Options) {
				if o.Priority != api.High {
					t.Errorf("priority %q", o.Priority)
				}
			}},
		{name: "wait bare", args: []string{"w", "--wait", "setup.exe"}, wantCmd: []string{"setup.exe"},
			check: func(t *testing.T, o Options) {
				if o.Wait != DefaultWait {
					t.Errorf("wait %v", o.Wait)
				}
			}},
		{name: "wait with separate duration", args: []string{"w", "--wait", "90s", "setup.exe"}, wantCmd: []string{"setup.exe"},
			check: func(t *testing.T, o Options) {
				if o.Wait != 90*time.Second {
					t.Errorf("wait %v", o.Wait)
				}
			}},
		{name: "wait with equals", args: []string{"w", "--wait=1h30m", "--retry-code", "3", "x"}, wantCmd: []string{"x"},
			check: func(t *testing.T, o Options) {
				if o.Wait != 90*time.Minute || o.RetryCode != 3 {
					t.Errorf("wait %v retry %d", o.Wait, o.RetryCode)
				}
			}},
		{name: "map errors", args: []string{"w", "--map-errors-to-retry", "service-down,repository", "x"}, wantCmd: []string{"x"},
			check: func(t *testing.T, o Options) {
				if !o.MapToRetry["service-down"] || !o.MapToRetry["repository"] || o.MapToRetry["signature"] {
					t.Errorf("map %v", o.MapToRetry)
				}
			}},
		{name: "map all", args: []string{"w", "--map-errors-to-retry=all", "x"}, wantCmd: []string{"x"},
			check: func(t *testing.T, o Options) {
				if len(o.MapToRetry) != len(Failures)-1 || o.MapToRetry["usage"] {
					t.Errorf("map %v", o.MapToRetry)
				}
			}},
		{name: "log and data dir", args: []string{"w", "--log", "/tmp/x.log", "--data-dir=/d", "x"}, wantCmd: []string{"x"},
			check: func(t *testing.T, o Options) {
				if o.Log != "/tmp/x.log" || o.DataDir != "/d" {
					t.Errorf("%+v", o)
				}
			}},
		{name: "help", args: []string{"w", "--help"}, check: func(t *testing.T, o Options) {
			if !o.Help {
				t.Error("no help")
			}
		}},
		{name: "windows help", args: []string{"w", "/?"}, check: func(t *testing.T, o Options) {
			if !o.Help {
				t.Error("no help")
			}
		}},
		{name: "unknown flag", args: []string{"w", "--nope", "x"}, wantErr: true},
		{name: "missing value", args: []string{"w", "--package"}, wantErr: true},
		{name: "bad package", args: []string{"w", "--package", `..\x`, "x"}, wantErr: true},
		{name: "bad priority", args: []string{"w", "--priority", "urgent", "x"}, wantErr: true},
		{name: "bad retry code", args: []string{"w", "--retry-code", "soon", "x"}, wantErr: true},
		{name: "bad wait", args: []string{"w", "--wait=-1s", "x"}, wantErr: true},
		{name: "bad map", args: []string{"w", "--map-errors-to-retry", "usage", "x"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, k, err := parseFlags(tt.args)
			if tt.wantErr {
				if !errors.Is(err, ErrUsage) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.args[k:]; len(got) > 0 || len(tt.wantCmd) > 0 {
				if !slices.Equal(got, tt.wantCmd) {
					t.Errorf("command %q, want %q", got, tt.wantCmd)
				}
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestPackageIDFromDir(t *testing.T) {
	tests := []struct {
		dir, want string
	}{
		{`\\dp01\SMSPKGD$\PS100012`, "PS100012"},
		{`\\dp01\SMSPKGD$\PS100012\`, "PS100012"},
		{`\\dp01.corp.example\SMSPKGD$\PS100012\\`, "PS100012"},
		{`D:\SMSPKGD$\PS100012`, "PS100012"},
		{`/mnt/dp/SMSPKGD$/PS100012/`, "PS100012"},
		{`C:\Windows\ccmcache\1a`, ""},
		{`\\dp01\SMSPKGD$`, ""},
		{`C:\`, ""},
		{`/`, ""},
		{``, ""},
		{`C:\pkgs\CON`, ""},
	}
	for _, tt := range tests {
		got, err := PackageIDFromDir(tt.dir)
		if tt.want == "" {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("PackageIDFromDir(%q) = %q, %v; want a usage error", tt.dir, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("PackageIDFromDir(%q) = %q, %v; want %q", tt.dir, got, err, tt.want)
		}
	}
}

func TestFailureCodesDistinct(t *testing.T) {
	seen := map[int]string{DefaultRetryCode: "retry", DefaultRetryCode & 0xff: "retry (8 bits)"}
	for _, f := range Failures {
		for _, c := range []int{f.Code, f.Code & 0xff} {
			if other, ok := seen[c]; ok && other != f.Name && other != f.Name+" (8 bits)" {
				t.Errorf("%s and %s share exit code %d", f.Name, other, c)
			}
		}
		seen[f.Code] = f.Name
		seen[f.Code&0xff] = f.Name + " (8 bits)"
	}
}

func TestParseVersionFlags(t *testing.T) {
	tests := []struct {
		args       []string
		pin, down  string
		version    bool
		wantErr    bool
		commandIdx int
	}{
		{args: []string{"w", "--version=1.0.1", "setup.exe"}, pin: "1.0.1", down: RunCached, commandIdx: 2},
		{args: []string{"w", "--version", "1.0.1", "setup.exe"}, pin: "1.0.1", down: RunCached, commandIdx: 3},
		{args: []string{"w", "--version"}, version: true, down: RunCached, commandIdx: 2},
		{args: []string{"w", "--if-repository-down", "retry", "x"}, down: Retry, commandIdx: 3},
		{args: []string{"w", "--if-repository-down=RUN-CACHED", "x"}, down: RunCached, commandIdx: 2},
		{args: []string{"w", "--if-repository-down=sometimes", "x"}, wantErr: true},
		{args: []string{"w", "--version=a b", "x"}, wantErr: true},
	}
	for _, tt := range tests {
		o, k, err := parseFlags(tt.args)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err %v", tt.args, err)
			continue
		}
		if tt.wantErr {
			continue
		}
		if o.PinVersion != tt.pin || o.IfRepositoryDown != tt.down || o.Version != tt.version || k != tt.commandIdx {
			t.Errorf("%q: pin %q down %q version %v at %d", tt.args, o.PinVersion, o.IfRepositoryDown, o.Version, k)
		}
	}
}
