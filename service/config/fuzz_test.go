package config

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzConfig feeds configuration files to the parser and validator. They
// must never panic; a refused file names a field or says where the JSON
// breaks; an accepted one can be written out and read back, and writing
// that again gives the same file. (Not "unchanged after one round": rates
// are written rounded, e.g. 2 MB/s as "1.9 MiB/s"; see the report.)
func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"data_dir": "/var/lib/smstorrent", "api_listen": "127.0.0.1:7380", "limit_down": "2 MB/s", "limit_up": 0}`,
		`{"api_listen": "[::1]:0", "transports": ["utp"], "trusted_keys": ["ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}`,
		`{"schedule": [{"days": "mon-fri", "from": "08:00", "to": "18:00", "limit_down": "1 Mbit/s"}]}`,
		`{"server_networks": ["10.0.0.0/8", "::1/128"], "cache_max": "20 GB", "seed_days": 3.5, "retry_min": "5s", "retry_max": "5m"}`,
		`{"api_listen": "0.0.0.0:7380"}`, `{"unknown": 1}`, `{"yield_target": "-1s"}`, `[`, `{"limit_down": "1e400"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Default()
		c.DataDir = "/var/lib/smstorrent"
		if err := Parse(b, &c); err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("refused without naming a field: %v", err)
			}
			return
		}
		out, err := c.JSON()
		if err != nil {
			t.Fatalf("an accepted configuration does not marshal: %v", err)
		}
		d := Default()
		if err := Parse(out, &d); err != nil {
			t.Fatalf("written configuration does not parse: %v\n%s", err, out)
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("written configuration does not validate: %v\n%s", err, out)
		}
		again, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, again) {
			t.Fatalf("writing a written configuration changed it:\n%s\n%s", out, again)
		}
	})
}
