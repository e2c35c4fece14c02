package server_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"testing"

	"github.com/anacrolix/torrent/bencode"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/tracker/config"
)

func TestSeparateRepositoryListener(t *testing.T) {
	e := testbed.StartSiteTracker(t, func(c *config.Config) { c.RepositoryListen = "127.0.0.1:0" })
	if e.Server.RepositoryAddr() == e.Server.HTTPAddr() {
		t.Fatal("repository shares the tracker's port")
	}
	p := testbed.RandomPackage(t, e.Key, "PS600001", "1.0", 16<<10, e.Announce)
	e.Publish(p) // to e.Base, the repository port
	if r := rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, ""); r.Failure != "" {
		t.Errorf("announce on the tracker port: %s", r.Failure)
	}
	if status, _ := testbed.Get(t, http.DefaultClient, "http://"+e.Server.HTTPAddr()+"/api/v1/packages"); status != 404 {
		t.Errorf("repository API on the tracker port: %d, want 404", status)
	}
	if status, _ := testbed.Get(t, http.DefaultClient, "http://"+e.Server.RepositoryAddr()+"/announce"); status != 404 {
		t.Errorf("announce on the repository port: %d, want 404", status)
	}
}

func TestIPv6Peers(t *testing.T) {
	e := testbed.StartSiteTracker(t, func(c *config.Config) {
		c.Listen, c.UDPListen = "[::1]:0", ""
		c.AllowNetworks = append(c.AllowNetworks, "::1/128")
		c.Sites = append(c.Sites, config.Site{Name: "v6", Networks: []string{"::1/128"}})
	})
	// Publish through the same (IPv6) listener.
	p := testbed.RandomPackage(t, e.Key, "PS600002", "1.0", 16<<10, e.Announce)
	e.Publish(p)
	announce := func(peer string, port int, compact string) map[string]any {
		q := url.Values{"info_hash": {string(p.Hash[:])}, "peer_id": {testbed.PeerID(peer)}, "port": {strconv.Itoa(port)}, "compact": {compact}}
		status, body := testbed.Get(t, http.DefaultClient, e.Announce+"?"+q.Encode())
		var m map[string]any
		if err := bencode.Unmarshal(body, &m); err != nil || status != 200 {
			t.Fatalf("%d %q: %v", status, body, err)
		}
		return m
	}
	announce("v6a", 6001, "1")
	m := announce("v6b", 6002, "1")
	p6, _ := m["peers6"].(string)
	if len(p6) != 18 {
		t.Fatalf("peers6 %q, want one 18-byte IPv6 peer (answer %v)", p6, m)
	}
	ip := netip.AddrFrom16([16]byte([]byte(p6[:16])))
	if ip != netip.MustParseAddr("::1") || p6[16] != 6001>>8 || p6[17] != byte(6001&0xff) {
		t.Errorf("peers6 holds %v", ip)
	}
	m = announce("v6b", 6002, "0")
	list, _ := m["peers"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["ip"] != "::1" {
		t.Errorf("non-compact peers %v", m["peers"])
	}
}
