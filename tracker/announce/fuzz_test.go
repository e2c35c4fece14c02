package announce

import (
	"context"
	"encoding/binary"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// FuzzParseAnnounce checks that no query string crashes the parser or the
// handler, that accepted requests are well-formed, and that every answer
// is valid bencode. "go test" runs the seeds; "go test -fuzz
// FuzzParseAnnounce ./tracker/announce" explores.
func FuzzParseAnnounce(f *testing.F) {
	for _, s := range []string{
		"",
		q("info_hash", ih20, "peer_id", pid20, "port", "6881"),
		q("info_hash", ih20, "peer_id", pid20, "port", "6881", "left", "0", "event", "completed", "compact", "0", "numwant", "200"),
		"info_hash=%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA&peer_id=-TR3000-abcdefghijkl&port=51413&uploaded=0&downloaded=0&left=1000&numwant=80&key=1a2b&compact=1&supportcrypto=1&event=started",
		"info_hash=%zz&peer_id=&port=",
		"info_hash=%a",
		"&&&&=&=&==",
		"port=-1&port=99999&left=-1&numwant=-9",
		"info_hash=" + strings.Repeat("%00", 20) + "&peer_id=" + strings.Repeat("+", 20) + "&port=1&event=stopped",
		strings.Repeat("a=b&", 70),
		"origin_key=" + strings.Repeat("k", 300),
	} {
		f.Add(s)
	}
	h := &Handler{Backend: &fakeBackend{resp: &Response{Interval: time.Minute, Peers: peers()}}}
	f.Fuzz(func(t *testing.T, query string) {
		r, err := ParseAnnounce(query, 0)
		if err != nil {
			if _, ok := err.(Failure); !ok {
				t.Fatalf("error %T is not a Failure", err)
			}
		} else if r.Port == 0 && r.Event != 3 {
			t.Fatalf("accepted port 0: %+v", r)
		}
		_, _ = ParseScrape(query, 0)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/announce", nil)
		req.URL.RawQuery = query
		req.RemoteAddr = "127.0.0.1:1"
		h.ServeAnnounce(rec, req)
		var v map[string]any
		if err := bencode.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("answer %q is not bencode: %v", rec.Body.Bytes(), err)
		}
		if _, fail := v["failure reason"]; fail == (err == nil) {
			t.Fatalf("parser said %v but answer is %q", err, rec.Body.Bytes())
		}
	})
}

// FuzzUDPPacket checks that no packet crashes the UDP tracker.
func FuzzUDPPacket(f *testing.F) {
	f.Add(udpAnnouncePacket(1, 1, 2, 6881, "/announce?origin_key=x"))
	f.Add(append(binary.BigEndian.AppendUint64(nil, udpProtocolID), 0, 0, 0, 0, 0, 0, 0, 1))
	f.Add([]byte{})
	f.Add(append(udpAnnouncePacket(1, 1, 2, 6881, ""), 1, 1, 2, 255))
	s := &UDPServer{Backend: &fakeBackend{resp: &Response{Interval: time.Minute, Peers: peers()}}}
	from := netip.MustParseAddrPort("10.0.0.1:1")
	f.Fuzz(func(t *testing.T, p []byte) {
		_ = s.Handle(context.Background(), from, p)
		if len(p) >= udpAnnounceSize {
			_, _ = ParseUDPAnnounce(p)
		}
	})
}
