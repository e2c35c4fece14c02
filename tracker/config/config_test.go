package config

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != DefaultListen || c.DataDir != DefaultDataDir || time.Duration(c.AnnounceInterval) != DefaultAnnounceInterval ||
		time.Duration(c.PeerTTL) != 21*time.Minute || c.MaxPeers != 50 || len(c.Sites) != 1 || c.Sites[0].Name != "default" {
		t.Errorf("defaults: %+v", c)
	}
	nm, err := NewNetMap(c)
	if err != nil {
		t.Fatal(err)
	}
	if !nm.Allowed(netip.MustParseAddr("127.0.0.1")) || nm.Allowed(netip.MustParseAddr("10.0.0.1")) {
		t.Error("default allowlist is not loopback only")
	}
}

func TestBadValuesNameTheField(t *testing.T) {
	for _, c := range []struct{ json, field string }{
		{`{"listen":"6969"}`, "listen"},
		{`{"udp_listen":"x"}`, "udp_listen"},
		{`{"repository_listen":"::1"}`, "repository_listen"},
		{`{"data_dir":" "}`, "data_dir"},
		{`{"public_url":"ftp://x"}`, "public_url"},
		{`{"admin_token":"short"}`, "admin_token"},
		{`{"admin_token":"0123456789abcdef","admin_token_file":"/x"}`, "admin_token"},
		{`{"admin_token_file":"/does/not/exist"}`, "admin_token_file"},
		{`{"trusted_keys":["ed25519:AAAA"]}`, "trusted_keys[0]"},
		{`{"allow_networks":[]}`, "allow_networks"},
		{`{"allow_networks":["10.0.0.0/33"]}`, "allow_networks[0]"},
		{`{"sites":[{"name":"a b","networks":["10.0.0.0/8"]}]}`, "sites[0].name"},
		{`{"sites":[{"name":"a","networks":["10.0.0.0/8"]},{"name":"a","networks":["10.0.0.0/8"]}]}`, "sites[1].name"},
		{`{"sites":[{"name":"a","networks":[]}]}`, "sites[0].networks"},
		{`{"sites":[{"name":"a","networks":["x"]}]}`, "sites[0].networks[0]"},
		{`{"sites":[{"name":"a","networks":["10.0.0.0/8"],"share_with":["b"]}]}`, "sites[0].share_with[0]"},
		{`{"origins":{"networks":["nope"]}}`, "origins.networks[0]"},
		{`{"origins":{"keys":["short"]}}`, "origins.keys[0]"},
		{`{"announce_interval":"1s"}`, "announce_interval"},
		{`{"announce_interval":"ten minutes"}`, "announce_interval"},
		{`{"min_interval":"1h"}`, "min_interval"},
		{`{"peer_ttl":"5m"}`, "peer_ttl"},
		{`{"max_peers":5000}`, "max_peers"},
		{`{"origin_peers":-1}`, "origin_peers"},
		{`{"max_query_bytes":10}`, "max_query_bytes"},
		{`{"max_peers":"many"}`, "max_peers"},
		{`{"max_swarm_peers":5}`, "max_swarm_peers"},
		{`{"max_peers_per_address":-1}`, "max_peers_per_address"},
		{`{"max_swarm_peers":10,"max_peers_per_address":11}`, "max_peers_per_address"},
		{`{"announce_rate":-1}`, "announce_rate"},
		{`{"announce_rate":1e9}`, "announce_rate"},
		{`{"announce_burst":-5}`, "announce_burst"},
		{`{"listne":":1"}`, "listne"},
		{`{} {}`, "trailing data"},
	} {
		_, err := Parse([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v, want one naming %q", c.json, err, c.field)
		}
	}
}

func TestNetMap(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokJSON, _ := json.Marshal(tok) // a Windows path has backslashes
	c, err := Parse([]byte(`{
		"admin_token_file": ` + string(tokJSON) + `,
		"allow_networks": ["10.0.0.0/8", "fd00::/8"],
		"sites": [
			{"name": "hq", "networks": ["10.0.0.0/8"]},
			{"name": "berlin", "networks": ["10.1.0.0/16", "fd00:1::/32"], "share_with": ["*"]},
			{"name": "paris", "networks": ["10.2.0.0/16"], "share_with": ["hq"]}
		],
		"origins": {"networks": ["10.0.0.5"]}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if tk, _ := c.Token(); tk != "0123456789abcdef0123" {
		t.Errorf("token %q", tk)
	}
	nm, err := NewNetMap(c)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{"10.1.2.3": "berlin", "10.2.0.1": "paris", "10.3.0.1": "hq", "fd00:1::5": "berlin", "::ffff:10.2.0.1": "paris"} {
		if got, _ := nm.Site(netip.MustParseAddr(addr)); got != want {
			t.Errorf("site of %s: %q, want %q (most specific network wins)", addr, got, want)
		}
	}
	if !nm.IsOrigin(netip.MustParseAddr("10.0.0.5")) || nm.IsOrigin(netip.MustParseAddr("10.0.0.6")) {
		t.Error("origin networks")
	}
	if !nm.MayReceive("berlin", "paris") || !nm.MayReceive("paris", "hq") || nm.MayReceive("paris", "berlin") || nm.MayReceive("hq", "paris") {
		t.Error("share_with")
	}
	if nm.Allowed(netip.MustParseAddr("192.168.0.1")) || !nm.Allowed(netip.MustParseAddr("::ffff:10.0.0.1")) {
		t.Error("allowlist")
	}
}
