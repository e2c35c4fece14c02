package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/tracker/config"
)

func post(t *testing.T, e *testbed.Tracker, token string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.Base+repoapi.PathPackages, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPublishVersionsAndAPI(t *testing.T) {
	e := testbed.StartSiteTracker(t, nil)
	p1 := testbed.RandomPackage(t, e.Key, "PS200001", "1.0", 40<<10, e.Announce)
	p2 := testbed.RandomPackage(t, e.Key, "PS200001", "2.0", 50<<10, e.Announce)
	if code, body := post(t, e, testbed.Token, p1.Torrent); code != 201 {
		t.Fatalf("publish 1.0: %d %s", code, body)
	}
	if code, body := post(t, e, testbed.Token, p1.Torrent); code != 200 || !strings.Contains(body, "unchanged") {
		t.Errorf("publish 1.0 again: %d %s", code, body)
	}
	code, body := post(t, e, testbed.Token, p2.Torrent)
	if code != 201 || !strings.Contains(body, `"replaced": "1.0"`) {
		t.Fatalf("publish 2.0: %d %s", code, body)
	}
	// Both versions are tracked.
	for _, h := range []string{string(p1.Hash[:]), string(p2.Hash[:])} {
		var ih [20]byte
		copy(ih[:], h)
		if r := rawAnnounce(t, e, testbed.SiteAIP1, ih, "a1", 7001, ""); r.Failure != "" {
			t.Errorf("announce: %s", r.Failure)
		}
	}
	var list []repoapi.Entry
	getJSON(t, e.Base+"/api/v1/packages", &list)
	if len(list) != 1 || list[0].Version != "2.0" || list[0].InfoHash != testbed.HexHash(p2.Hash) ||
		list[0].Files != 2 || list[0].Size != 50<<10 || len(list[0].Previous) != 1 || !strings.HasPrefix(list[0].Signer, "ed25519:") {
		t.Errorf("catalogue %+v", list)
	}
	var d repoapi.Details
	getJSON(t, e.Base+"/api/v1/packages/PS200001", &d)
	if d.Current.Version.Version != "2.0" || len(d.Previous) != 1 || d.Current.Total.Leechers != 1 || d.Current.Sites[testbed.SiteA].Leechers != 1 ||
		len(d.Current.FileList) != 2 {
		t.Errorf("details %+v", d)
	}
	// The current torrent, and a previous one by version; both verify.
	for u, want := range map[string]*testbed.Package{
		"/api/v1/packages/PS200001/torrent":             p2,
		"/api/v1/packages/PS200001/torrent?version=1.0": p1,
	} {
		status, b := testbed.Get(t, http.DefaultClient, e.Base+u)
		if status != 200 || !bytes.Equal(b, want.Torrent) {
			t.Errorf("%s: %d, %d bytes", u, status, len(b))
		}
		if _, err := pkgsign.Verify(b, []pkgsign.PublicKey{e.Key.Priv.Public()}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for u, want := range map[string]int{
		"/api/v1/packages/PS999999/torrent":             404,
		"/api/v1/packages/PS200001/torrent?version=0.1": 404,
		"/api/v1/packages/..%2Fetc/torrent":             400,
		"/api/v1/packages/CON":                          400,
		"/api/v1/nothing":                               404,
	} {
		if status, b := testbed.Get(t, http.DefaultClient, e.Base+u); status != want {
			t.Errorf("%s: %d %s, want %d", u, status, b, want)
		}
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	status, b := testbed.Get(t, http.DefaultClient, u)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", u, status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func TestInvalidUploadsRefused(t *testing.T) {
	e := testbed.StartSiteTracker(t, nil)
	good := testbed.RandomPackage(t, e.Key, "PS300001", "1.0", 20<<10, e.Announce)
	other := testbed.NewKey(t)
	foreign := testbed.RandomPackage(t, other, "PS300002", "1.0", 20<<10, e.Announce)

	tampered := bytes.Clone(good.Torrent)
	i := bytes.Index(tampered, []byte("setup.msi"))
	tampered[i] = 'S' // one byte of info changed: the info-hash no longer matches the signature

	unsigned, err := bencode.Marshal(map[string]any{"announce": e.Announce, "info": good.Meta.InfoBytes})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		token string
		body  []byte
		code  int
		want  string
	}{
		{"no token", "", good.Torrent, 401, "admin token"},
		{"wrong token", "wrong-token-0000000000", good.Torrent, 401, "admin token"},
		{"empty", testbed.Token, nil, 400, "empty file"},
		{"garbage", testbed.Token, []byte("this is not bencode"), 400, "malformed"},
		{"deep nesting", testbed.Token, bytes.Repeat([]byte("l"), 100000), 400, "malformed"},
		{"no info", testbed.Token, []byte("d8:announce3:abce"), 400, "no info"},
		{"unsigned", testbed.Token, unsigned, 400, "not signed"},
		{"tampered", testbed.Token, tampered, 403, "does not match"},
		{"unknown signer", testbed.Token, foreign.Torrent, 403, "not trusted"},
		{"too large", testbed.Token, bytes.Repeat([]byte("x"), pkgsign.MaxTorrentSize+1), 413, "at most"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := post(t, e, c.token, c.body)
			if code != c.code || !strings.Contains(body, c.want) {
				t.Errorf("%d %s, want %d with %q", code, body, c.code, c.want)
			}
			var eb repoapi.ErrorBody
			if json.Unmarshal([]byte(body), &eb) != nil || eb.Error == "" {
				t.Errorf("body %q is not a JSON error", body)
			}
		})
	}
	var list []repoapi.Entry
	getJSON(t, e.Base+"/api/v1/packages", &list)
	if len(list) != 0 {
		t.Errorf("refused uploads were stored: %+v", list)
	}
}

func TestPublishingDisabledWithoutToken(t *testing.T) {
	e := testbed.StartSiteTracker(t, func(c *config.Config) { c.AdminToken = "" })
	p := testbed.RandomPackage(t, e.Key, "PS300003", "1.0", 20<<10, e.Announce)
	if code, body := post(t, e, "anything", p.Torrent); code != 403 || !strings.Contains(body, "disabled") {
		t.Errorf("%d %s", code, body)
	}
}

// TestBadAnnounceInput sends hostile requests over a real socket; every one
// gets a clear bencoded failure and the server keeps serving.
func TestBadAnnounceInput(t *testing.T) {
	e := testbed.StartSiteTracker(t, nil)
	p := testbed.RandomPackage(t, e.Key, "PS300004", "1.0", 20<<10, e.Announce)
	e.Publish(p)
	ih := url.QueryEscape(string(p.Hash[:]))
	pid := url.QueryEscape(testbed.PeerID("x"))
	for _, c := range []struct{ query, want string }{
		{"", "info_hash is missing"},
		{"info_hash=abc&peer_id=" + pid + "&port=1", "info_hash must be 20 bytes, got 3"},
		{"info_hash=" + ih + "&peer_id=short&port=1", "peer_id must be 20 bytes"},
		{"info_hash=" + ih + "&peer_id=" + pid + "&port=99999", "port"},
		{"info_hash=" + ih + "&peer_id=" + pid + "&port=1&left=-1", "left"},
		{"info_hash=%%%&peer_id=" + pid, "malformed query string"},
		{"info_hash=" + ih + "&peer_id=" + pid + "&port=1&pad=" + strings.Repeat("x", 5000), "limit is 4096"},
		{strings.Repeat("a&", 150), "more than 100"},
	} {
		status, body := testbed.Get(t, http.DefaultClient, e.Announce+"?"+c.query)
		var r announceResp
		if err := bencode.Unmarshal(body, &r); err != nil || status != 200 || !strings.Contains(r.Failure, c.want) {
			t.Errorf("%.60q: %d %q, want failure %q", c.query, status, body, c.want)
		}
	}
	// Scrape refusals.
	status, body := testbed.Get(t, http.DefaultClient, strings.Replace(e.Announce, "announce", "scrape", 1))
	if status != 200 || !strings.Contains(string(body), "at least one info_hash") {
		t.Errorf("empty scrape: %d %q", status, body)
	}
	// An oversized request line is cut off by the HTTP server.
	status, _ = testbed.Get(t, http.DefaultClient, e.Announce+"?x="+strings.Repeat("y", 64<<10))
	if status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB request line: %d, want 431", status)
	}
	// Raw garbage on the socket.
	c, err := net.DialTimeout("tcp", e.Server.HTTPAddr(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	_, _ = c.Write([]byte("\x00\x01\x02 GARBAGE\r\n\r\n"))
	b, _ := io.ReadAll(c)
	c.Close()
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 400")) {
		t.Errorf("garbage answered %q", b)
	}
	// UDP garbage.
	uc, err := net.Dial("udp", e.Server.UDPAddr())
	if err != nil {
		t.Fatal(err)
	}
	for _, pkt := range [][]byte{{}, {1, 2, 3}, bytes.Repeat([]byte{0xff}, 100), bytes.Repeat([]byte{0}, 1500)} {
		_, _ = uc.Write(pkt)
	}
	uc.Close()
	// Still alive and correct (a leecher with site gateways is asked back
	// at the minimum interval).
	if r := rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "alive", 7001, ""); r.Failure != "" || r.Interval != 1 {
		t.Errorf("after bad input: %+v", r)
	}
}

// TestStateSurvivesRestart: the catalogue and the counters are kept; peer
// lists are rebuilt from announces.
func TestStateSurvivesRestart(t *testing.T) {
	key := testbed.NewKey(t)
	cfg := testbed.TrackerConfig(t, key)
	e := testbed.StartTrackerConfig(t, cfg, key)
	p := testbed.RandomPackage(t, key, "PS400001", "1.0", 20<<10, e.Announce)
	e.Publish(p)
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "event=started&downloaded=0")
	rawAnnounce(t, e, testbed.SiteAIP1, p.Hash, "a1", 7001, "event=completed&left=0&downloaded=20480")
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg.Listen, cfg.UDPListen = "127.0.0.1:0", "127.0.0.1:0"
	e2 := testbed.StartTrackerConfig(t, cfg, key)
	if r := rawAnnounce(t, e2, testbed.SiteAIP2, p.Hash, "a2", 7002, ""); r.Failure != "" {
		t.Fatalf("published package forgotten: %s", r.Failure)
	}
	var d repoapi.Details
	getJSON(t, e2.Base+"/api/v1/packages/PS400001", &d)
	a := d.Current.Sites[testbed.SiteA]
	if a.Completed != 1 || a.Downloaded != 20480 || a.Leechers != 1 || a.Seeders != 0 {
		t.Errorf("after restart site A: %+v (want completed 1, 20480 bytes, only a2 announced since)", a)
	}
}
