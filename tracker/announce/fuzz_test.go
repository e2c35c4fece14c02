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

// FuzzParseScrape checks that no query string crashes the scrape parser
// or handler, that an accepted scrape asks for 1 to MaxScrapeHashes
// hashes, and that every answer is valid bencode.
func FuzzParseScrape(f *testing.F) {
	for _, s := range []string{
		"",
		"info_hash=" + strings.Repeat("%AA", 20),
		q("info_hash", ih20, "info_hash", ih20),
		strings.Repeat("info_hash="+strings.Repeat("a", 20)+"&", MaxScrapeHashes+1),
		"info_hash=%a&info_hash=%zz",
		"info_hash=" + strings.Repeat("+", 20) + "&peer_id=x&port=1",
		strings.Repeat("a=b&", 120),
		"info_hash=short",
	} {
		f.Add(s)
	}
	h := &Handler{Backend: &fakeBackend{resp: &Response{Interval: time.Minute, Peers: peers()}}}
	f.Fuzz(func(t *testing.T, query string) {
		hs, err := ParseScrape(query, 0)
		if err != nil {
			if _, ok := err.(Failure); !ok {
				t.Fatalf("error %T is not a Failure", err)
			}
		} else if len(hs) == 0 || len(hs) > MaxScrapeHashes {
			t.Fatalf("accepted a scrape of %d hashes", len(hs))
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/scrape", nil)
		req.URL.RawQuery = query
		req.RemoteAddr = "127.0.0.1:1"
		h.ServeScrape(rec, req)
		var v map[string]any
		if err := bencode.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("answer %q is not bencode: %v", rec.Body.Bytes(), err)
		}
		if _, fail := v["failure reason"]; fail == (err == nil) {
			t.Fatalf("parser said %v but answer is %q", err, rec.Body.Bytes())
		}
	})
}

// FuzzUDPPacket checks that no packet crashes the UDP tracker, that every
// answer echoes the transaction ID with a known action, and that accepted
// announces and scrapes are well-formed. With valid set, the packet's
// connection ID is replaced by one the server issued, so the fuzzer
// reaches the announce and scrape parsers behind the connection check.
func FuzzUDPPacket(f *testing.F) {
	f.Add(true, udpAnnouncePacket(1, 1, 2, 6881, "/announce?origin_key=x"))
	f.Add(true, udpAnnouncePacket(1, 1, 3, 0, ""))
	f.Add(false, append(binary.BigEndian.AppendUint64(nil, udpProtocolID), 0, 0, 0, 0, 0, 0, 0, 1))
	f.Add(false, []byte{})
	f.Add(true, append(udpAnnouncePacket(1, 1, 2, 6881, ""), 1, 1, 2, 255))
	f.Add(true, append(udpAnnouncePacket(1, 1, 2, 6881, ""), 2, 200, 'x'))
	scrape := binary.BigEndian.AppendUint64(nil, 1)
	scrape = binary.BigEndian.AppendUint32(scrape, actionScrape)
	scrape = binary.BigEndian.AppendUint32(scrape, 7)
	f.Add(true, append(scrape, ih20...))
	f.Add(true, append(scrape, ih20[:19]...))
	f.Add(true, append(scrape, []byte(strings.Repeat(ih20, MaxScrapeHashes+1))...))
	s := &UDPServer{Backend: &fakeBackend{resp: &Response{Interval: time.Minute, Peers: peers()}}}
	s.init()
	from := netip.MustParseAddrPort("10.0.0.1:1")
	f.Fuzz(func(t *testing.T, valid bool, p []byte) {
		if valid && len(p) >= 8 {
			q := binary.BigEndian.AppendUint64(make([]byte, 0, len(p)), s.connID(from.Addr(), s.epoch()))
			p = append(q, p[8:]...)
		}
		out := s.Handle(context.Background(), from, p)
		if len(p) < 16 {
			if out != nil {
				t.Fatalf("answered a %d-byte packet", len(p))
			}
			return
		}
		if len(out) < 8 || binary.BigEndian.Uint32(out[4:]) != binary.BigEndian.Uint32(p[12:]) {
			t.Fatalf("answer %x does not echo the transaction ID of %x", out, p[:16])
		}
		if a := binary.BigEndian.Uint32(out); a > actionError {
			t.Fatalf("answer with action %d", a)
		}
		if len(p) >= udpAnnounceSize {
			if r, err := ParseUDPAnnounce(p); err == nil && (r.Port == 0 && r.Event != 3 || r.Downloaded < 0 || r.Uploaded < 0 || len(r.OriginKey) > MaxOriginKeySize) {
				t.Fatalf("accepted a bad announce: %+v", r)
			}
		}
		if hs, err := ParseUDPScrape(p); err == nil && (len(hs) == 0 || len(hs) > MaxScrapeHashes) {
			t.Fatalf("accepted a scrape of %d hashes", len(hs))
		}
	})
}
