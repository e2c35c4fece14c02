package core

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

// A role message from a hostile peer is taken only when it is small, well
// formed and in range; anything else says nothing.
func TestParseRole(t *testing.T) {
	good, _ := bencode.Marshal(peerRole{Gateway: true, Site: "berlin", Limited: true, UpLimit: 1000, DownRate: 5})
	if r, ok := parseRole(good); !ok || !r.Gateway || r.Site != "berlin" || r.UpLimit != 1000 {
		t.Fatalf("good message: %+v %v", r, ok)
	}
	bad := map[string]string{
		"empty":         "",
		"not a dict":    "i1e",
		"truncated":     string(good[:len(good)-3]),
		"negative":      "d8:up_limiti-5ee",
		"negative rate": "d9:down_ratei-1ee",
		"long site":     "d4:site100:" + strings.Repeat("x", 100) + "e",
		"control chars": "d4:site3:a\nbe",
		"oversized":     "d4:site" + strings.Repeat("x", 400) + "e",
	}
	for name, b := range bad {
		if r, ok := parseRole([]byte(b)); ok {
			t.Errorf("%s: taken as %+v", name, r)
		}
	}
	// Unknown keys are ignored (a newer peer may say more).
	if _, ok := parseRole([]byte("d5:extrai1e7:gatewayi1ee")); !ok {
		t.Error("a message with an unknown key was refused")
	}
}

func TestSameRole(t *testing.T) {
	a := peerRole{Gateway: true, DownRate: 1000}
	for _, c := range []struct {
		b    peerRole
		same bool
	}{
		{peerRole{Gateway: true, DownRate: 1200}, true},
		{peerRole{Gateway: true, DownRate: 2000}, false},
		{peerRole{Gateway: true, DownRate: 0}, false},
		{peerRole{Gateway: false, DownRate: 1000}, false},
		{peerRole{Gateway: true, Limited: true, DownRate: 1000}, false},
	} {
		if got := sameRole(a, c.b); got != c.same {
			t.Errorf("sameRole(%+v, %+v) = %v", a, c.b, got)
		}
	}
}

// What a peer says only labels it; addresses decide first.
func TestPeerKind(t *testing.T) {
	p := &pathClassifier{
		servers:  []netip.Prefix{netip.MustParsePrefix("10.0.5.0/24")},
		trackers: newTrackerHealth(""),
		siteNets: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
		siteName: "berlin",
	}
	addr := func(s string) *net.TCPAddr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	for _, c := range []struct {
		addr any
		role peerRole
		said bool
		want peerKind
	}{
		{addr("10.0.5.1:6881"), peerRole{}, false, kindOrigin},
		{addr("10.0.5.1:6881"), peerRole{Gateway: true, Site: "berlin"}, true, kindOrigin},
		{addr("10.1.2.3:6881"), peerRole{}, false, kindSite},
		{addr("10.1.2.3:6881"), peerRole{Gateway: true}, true, kindGateway},
		{addr("10.1.2.3:6881"), peerRole{Gateway: true, Site: "Berlin"}, true, kindGateway},
		{addr("10.1.2.3:6881"), peerRole{Site: "paris"}, true, kindOtherSite},
		{addr("10.1.2.3:6881"), peerRole{Origin: true}, true, kindOrigin},
		{addr("10.2.0.1:6881"), peerRole{Gateway: true, Site: "berlin"}, true, kindOtherSite},
		{webAddr("https://hq.example/seed/"), peerRole{}, false, kindOrigin},
	} {
		if got := p.kind(c.addr, c.role, c.said); got != c.want {
			t.Errorf("kind(%v, %+v) = %v, want %v", c.addr, c.role, got, c.want)
		}
	}
	// A peer's word never moves it across the WAN: only addresses do.
	if p.crossesWAN(addr("10.1.2.3:6881")) {
		t.Error("a site peer crosses the WAN")
	}
}

type webAddr string

func (w webAddr) String() string { return string(w) }

// Records saved before the origin / other sites split count their server
// bytes as origin bytes; the columns always add up.
func TestSplitServer(t *testing.T) {
	for _, c := range []struct{ in, want record }{
		{record{DownloadedServer: 100}, record{DownloadedServer: 100, DownloadedOrigin: 100}},
		{record{DownloadedServer: 100, DownloadedOrigin: 30, DownloadedOther: 50}, record{DownloadedServer: 100, DownloadedOrigin: 50, DownloadedOther: 50}},
		{record{DownloadedServer: 10, DownloadedOrigin: 30, DownloadedOther: 50}, record{DownloadedServer: 80, DownloadedOrigin: 30, DownloadedOther: 50}},
		{record{DownloadedServer: 10, DownloadedOrigin: -5}, record{DownloadedServer: 10, DownloadedOrigin: 10}},
	} {
		r := c.in
		r.splitServer()
		if r.DownloadedServer != c.want.DownloadedServer || r.DownloadedOrigin != c.want.DownloadedOrigin || r.DownloadedOther != c.want.DownloadedOther {
			t.Errorf("splitServer(%+v) = %+v, want %+v", c.in, r, c.want)
		}
	}
}

// A role message is peer input: parsing never panics, and what it takes
// is always in range.
func FuzzParseRole(f *testing.F) {
	good, _ := bencode.Marshal(peerRole{Gateway: true, Site: "berlin", Limited: true, UpLimit: 1000, DownRate: 5})
	for _, s := range []string{string(good), "de", "d4:sitei1ee", "d7:gatewayi1e4:site0:e", "l" + strings.Repeat("l", 100)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := parseRole(b)
		if ok && (r.UpLimit < 0 || r.DownRate < 0 || !cleanName(r.Site) || len(b) > maxRoleMessage) {
			t.Fatalf("took %+v from %q", r, b)
		}
	})
}
