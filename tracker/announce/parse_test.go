package announce

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/smstorrent/smstorrent/tracker/swarm"
)

var (
	ih20  = strings.Repeat("\xaa", 20)
	pid20 = "-TR3000-abcdefghijkl"
)

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestParseAnnounce(t *testing.T) {
	r, err := ParseAnnounce(q("info_hash", ih20, "peer_id", pid20, "port", "6881", "uploaded", "10",
		"downloaded", "20", "left", "0", "event", "completed", "compact", "1", "numwant", "7", "origin_key", "k")+"&ip=10.0.0.1&unknown=x", 0)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.InfoHash[:]) != ih20 || string(r.PeerID[:]) != pid20 || r.Port != 6881 || r.Uploaded != 10 ||
		r.Downloaded != 20 || r.Left != 0 || r.Event != swarm.EventCompleted || !r.Compact || r.NumWant != 7 || r.OriginKey != "k" {
		t.Errorf("parsed %+v", r)
	}
	// Transmission writes info_hash with %XX for every non-unreserved byte.
	r, err = ParseAnnounce("info_hash=%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA%AA&peer_id=-TR3000-abcdefghijkl&port=1&compact=0", 0)
	if err != nil || string(r.InfoHash[:]) != ih20 || r.Compact || r.Left != -1 || r.NumWant != -1 {
		t.Errorf("got %+v, %v", r, err)
	}
}

func TestParseAnnounceRefusals(t *testing.T) {
	base := func(extra ...string) string {
		return q(append([]string{"info_hash", ih20, "peer_id", pid20, "port", "6881"}, extra...)...)
	}
	for _, c := range []struct {
		name, query, want string
	}{
		{"empty", "", "info_hash is missing"},
		{"no peer_id", q("info_hash", ih20, "port", "1"), "peer_id is missing"},
		{"no port", q("info_hash", ih20, "peer_id", pid20), "port is missing"},
		{"short info_hash", q("info_hash", "abc", "peer_id", pid20, "port", "1"), "info_hash must be 20 bytes, got 3"},
		{"long info_hash", q("info_hash", ih20+"x", "peer_id", pid20, "port", "1"), "info_hash must be 20 bytes, got 21"},
		{"hex info_hash", q("info_hash", strings.Repeat("ab", 20), "peer_id", pid20, "port", "1"), "info_hash must be 20 bytes, got 40"},
		{"short peer_id", q("info_hash", ih20, "peer_id", "x", "port", "1"), "peer_id must be 20 bytes"},
		{"two info_hash", base("info_hash", ih20), "more than once"},
		{"port text", q("info_hash", ih20, "peer_id", pid20, "port", "http"), "port \"http\" is not a number"},
		{"port big", q("info_hash", ih20, "peer_id", pid20, "port", "70000"), "is not a number between"},
		{"port zero", q("info_hash", ih20, "peer_id", pid20, "port", "0"), "port 0"},
		{"negative left", base("left", "-5"), "left \"-5\" is not a byte count"},
		{"huge uploaded", base("uploaded", "99999999999999999999999"), "uploaded"},
		{"bad event", base("event", "exploded"), "event \"exploded\""},
		{"bad numwant", base("numwant", "lots"), "numwant"},
		{"bad escape", "info_hash=%zz", "malformed query string"},
		{"truncated escape", "info_hash=%a", "malformed query string"},
		{"too long", base("x", strings.Repeat("y", 5000)), "the limit is 4096"},
		{"too many params", strings.Repeat("a=b&", MaxParams+1), "more than 100 query parameters"},
		{"long origin key", base("origin_key", strings.Repeat("k", 300)), "origin_key is too long"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseAnnounce(c.query, 0)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if _, ok := err.(Failure); !ok {
				t.Errorf("error %T is not a Failure", err)
			}
		})
	}
	// A stopped announce may carry port 0.
	if _, err := ParseAnnounce(q("info_hash", ih20, "peer_id", pid20, "port", "0", "event", "stopped"), 0); err != nil {
		t.Errorf("stopped with port 0: %v", err)
	}
}

func TestParseScrape(t *testing.T) {
	hs, err := ParseScrape(q("info_hash", ih20, "info_hash", strings.Repeat("b", 20)), 0)
	if err != nil || len(hs) != 2 {
		t.Fatalf("got %v %v", hs, err)
	}
	for _, c := range []struct{ query, want string }{
		{"", "at least one info_hash"},
		{q("info_hash", "short"), "20 bytes"},
		{strings.Repeat("info_hash="+strings.Repeat("a", 20)+"&", MaxScrapeHashes+1), "at most 74"},
	} {
		if _, err := ParseScrape(c.query, 1<<16); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: error %v, want %q", c.query, err, c.want)
		}
	}
}

type fakeBackend struct {
	resp *Response
	err  error
	got  *Request
	from netip.Addr
}

func (f *fakeBackend) Announce(_ context.Context, from netip.Addr, r *Request) (*Response, error) {
	f.got, f.from = r, from
	return f.resp, f.err
}

func (f *fakeBackend) Scrape(_ context.Context, _ netip.Addr, hs []Hash) (map[Hash]ScrapeFigures, error) {
	if f.err != nil {
		return nil, f.err
	}
	return map[Hash]ScrapeFigures{hs[0]: {Seeders: 3, Leechers: 4, Completed: 5}}, nil
}

func peers() []swarm.PeerAddr {
	var id Hash
	copy(id[:], pid20)
	return []swarm.PeerAddr{
		{ID: id, Addr: netip.MustParseAddrPort("10.1.2.3:6881")},
		{ID: id, Addr: netip.MustParseAddrPort("[fd00::1]:51413")},
	}
}

type httpResp struct {
	Failure     string `bencode:"failure reason"`
	Interval    int    `bencode:"interval"`
	MinInterval int    `bencode:"min interval"`
	Complete    int    `bencode:"complete"`
	Incomplete  int    `bencode:"incomplete"`
	Peers       any    `bencode:"peers"`
	Peers6      string `bencode:"peers6"`
}

func serve(t *testing.T, h http.HandlerFunc, target string) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", target, nil)
	req.RemoteAddr = "10.9.9.9:1234"
	h(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func TestHandlerAnswers(t *testing.T) {
	fb := &fakeBackend{resp: &Response{Interval: 10 * time.Minute, MinInterval: time.Minute, Seeders: 2, Leechers: 1, Peers: peers()}}
	h := &Handler{Backend: fb}
	code, body := serve(t, h.ServeAnnounce, "/announce?"+q("info_hash", ih20, "peer_id", pid20, "port", "1"))
	var r httpResp
	if err := bencode.Unmarshal(body, &r); err != nil || code != 200 {
		t.Fatalf("%d %q: %v", code, body, err)
	}
	if r.Interval != 600 || r.MinInterval != 60 || r.Complete != 2 || r.Incomplete != 1 {
		t.Errorf("got %+v", r)
	}
	if r.Peers != "\x0a\x01\x02\x03\x1a\xe1" || len(r.Peers6) != 18 || r.Peers6[16:] != "\xc8\xd5" {
		t.Errorf("peers %q peers6 %q", r.Peers, r.Peers6)
	}
	if fb.from.String() != "10.9.9.9" {
		t.Errorf("backend saw client %v", fb.from)
	}
	// Non-compact: a list of dictionaries with both families.
	_, body = serve(t, h.ServeAnnounce, "/announce?"+q("info_hash", ih20, "peer_id", pid20, "port", "1", "compact", "0"))
	var nc struct {
		Peers []struct {
			IP     string `bencode:"ip"`
			PeerID string `bencode:"peer id"`
			Port   int    `bencode:"port"`
		} `bencode:"peers"`
	}
	if err := bencode.Unmarshal(body, &nc); err != nil || len(nc.Peers) != 2 || nc.Peers[1].IP != "fd00::1" || nc.Peers[0].PeerID != pid20 {
		t.Errorf("non-compact %q: %+v %v", body, nc, err)
	}
	// Backend refusals and internal errors.
	fb.err = Failure("go away")
	_, body = serve(t, h.ServeAnnounce, "/announce?"+q("info_hash", ih20, "peer_id", pid20, "port", "1"))
	if string(body) != "d14:failure reason7:go awaye" {
		t.Errorf("failure body %q", body)
	}
	fb.err = context.DeadlineExceeded
	_, body = serve(t, h.ServeAnnounce, "/announce?"+q("info_hash", ih20, "peer_id", pid20, "port", "1"))
	if !strings.Contains(string(body), "internal tracker error") {
		t.Errorf("internal error body %q", body)
	}
	// Scrape.
	fb.err = nil
	_, body = serve(t, h.ServeScrape, "/scrape?"+q("info_hash", ih20))
	var sr struct {
		Files map[string]struct {
			Complete   int `bencode:"complete"`
			Downloaded int `bencode:"downloaded"`
			Incomplete int `bencode:"incomplete"`
		} `bencode:"files"`
	}
	if err := bencode.Unmarshal(body, &sr); err != nil || sr.Files[ih20].Complete != 3 || sr.Files[ih20].Incomplete != 4 || sr.Files[ih20].Downloaded != 5 {
		t.Errorf("scrape %q: %+v %v", body, sr, err)
	}
	// Wrong method.
	rec := httptest.NewRecorder()
	h.ServeAnnounce(rec, httptest.NewRequest("POST", "/announce", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

func TestHandlerRecoversFromBackendPanic(t *testing.T) {
	h := &Handler{Backend: panicBackend{}}
	code, body := serve(t, h.ServeAnnounce, "/announce?"+q("info_hash", ih20, "peer_id", pid20, "port", "1"))
	if code != 200 || !strings.Contains(string(body), "internal tracker error") {
		t.Errorf("%d %q", code, body)
	}
}

type panicBackend struct{}

func (panicBackend) Announce(context.Context, netip.Addr, *Request) (*Response, error) {
	panic("boom")
}

func (panicBackend) Scrape(context.Context, netip.Addr, []Hash) (map[Hash]ScrapeFigures, error) {
	panic("boom")
}

func udpAnnouncePacket(connID uint64, tx uint32, event uint32, port uint16, urlData string) []byte {
	p := binary.BigEndian.AppendUint64(nil, connID)
	p = binary.BigEndian.AppendUint32(p, actionAnnounce)
	p = binary.BigEndian.AppendUint32(p, tx)
	p = append(p, ih20...)
	p = append(p, pid20...)
	p = binary.BigEndian.AppendUint64(p, 1) // downloaded
	p = binary.BigEndian.AppendUint64(p, 2) // left
	p = binary.BigEndian.AppendUint64(p, 3) // uploaded
	p = binary.BigEndian.AppendUint32(p, event)
	p = binary.BigEndian.AppendUint32(p, 0)
	p = binary.BigEndian.AppendUint32(p, 42)
	p = binary.BigEndian.AppendUint32(p, 0xffffffff)
	p = binary.BigEndian.AppendUint16(p, port)
	if urlData != "" {
		p = append(p, 2, byte(len(urlData)))
		p = append(p, urlData...)
	}
	return p
}

func TestUDP(t *testing.T) {
	fb := &fakeBackend{resp: &Response{Interval: time.Minute, Seeders: 1, Leechers: 2, Peers: peers()}}
	s := &UDPServer{Backend: fb}
	from := netip.MustParseAddrPort("10.0.0.7:5000")
	ctx := context.Background()

	conn := binary.BigEndian.AppendUint64(nil, udpProtocolID)
	conn = binary.BigEndian.AppendUint32(conn, actionConnect)
	conn = binary.BigEndian.AppendUint32(conn, 77)
	out := s.Handle(ctx, from, conn)
	if len(out) != 16 || binary.BigEndian.Uint32(out[4:]) != 77 {
		t.Fatalf("connect answer %x", out)
	}
	id := binary.BigEndian.Uint64(out[8:])

	out = s.Handle(ctx, from, udpAnnouncePacket(id, 5, 2, 6881, "/announce?origin_key=secret"))
	if binary.BigEndian.Uint32(out) != actionAnnounce || len(out) != 20+6 {
		t.Fatalf("announce answer %x", out)
	}
	if fb.got.OriginKey != "secret" || fb.got.Event != swarm.EventStarted || fb.got.Left != 2 || fb.got.NumWant != -1 || fb.got.Port != 6881 {
		t.Errorf("backend got %+v", fb.got)
	}
	// Another address cannot use this connection ID.
	out = s.Handle(ctx, netip.MustParseAddrPort("10.0.0.8:5000"), udpAnnouncePacket(id, 5, 2, 6881, ""))
	if binary.BigEndian.Uint32(out) != actionError {
		t.Errorf("foreign connection ID accepted: %x", out)
	}
	// Short, malformed and unknown packets.
	for name, p := range map[string][]byte{
		"short announce": udpAnnouncePacket(id, 5, 2, 6881, "")[:60],
		"bad event":      udpAnnouncePacket(id, 5, 9, 6881, ""),
		"port 0":         udpAnnouncePacket(id, 5, 2, 0, ""),
		"truncated opt":  append(udpAnnouncePacket(id, 5, 2, 1, ""), 2, 200, 'x'),
		"bad connect":    append(binary.BigEndian.AppendUint64(nil, 1), make([]byte, 8)...),
		"scrape 19":      append(append(binary.BigEndian.AppendUint64(nil, id), 0, 0, 0, 2, 0, 0, 0, 1), make([]byte, 19)...),
		"action 9":       append(binary.BigEndian.AppendUint64(nil, id), 0, 0, 0, 9, 0, 0, 0, 1),
	} {
		out := s.Handle(ctx, from, p)
		if len(out) < 8 || binary.BigEndian.Uint32(out) != actionError {
			t.Errorf("%s: answer %x, want an error", name, out)
		}
	}
	if out := s.Handle(ctx, from, []byte{1, 2, 3}); out != nil {
		t.Errorf("tiny packet answered %x", out)
	}
	// Scrape.
	sc := append(binary.BigEndian.AppendUint64(nil, id), 0, 0, 0, 2, 0, 0, 0, 9)
	sc = append(sc, ih20...)
	out = s.Handle(ctx, from, sc)
	if len(out) != 20 || binary.BigEndian.Uint32(out[8:]) != 3 || binary.BigEndian.Uint32(out[12:]) != 5 || binary.BigEndian.Uint32(out[16:]) != 4 {
		t.Errorf("scrape answer %x", out)
	}
}
