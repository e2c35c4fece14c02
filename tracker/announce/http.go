package announce

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/tracker/swarm"
)

// Response is a backend's answer to an announce.
type Response struct {
	Interval    time.Duration
	MinInterval time.Duration
	Seeders     int
	Leechers    int
	Peers       []swarm.PeerAddr
	// Done, if set, is called once the answer is encoded: the backend
	// may reuse Peers from then on.
	Done func()
}

func (r *Response) done() {
	if r.Done != nil {
		r.Done()
	}
}

// bufPool holds answer buffers: an answer is written, then forgotten.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// ScrapeFigures are the figures of one swarm in a scrape.
type ScrapeFigures struct {
	Seeders   int
	Leechers  int
	Completed int64
}

// Backend decides what to do with well-formed requests. Errors of type
// Failure are shown to the client. Implementations must be safe for
// concurrent use.
type Backend interface {
	Announce(ctx context.Context, from netip.Addr, req *Request) (*Response, error)
	// Scrape returns figures for the known hashes among hs; unknown ones
	// are left out.
	Scrape(ctx context.Context, from netip.Addr, hs []Hash) (map[Hash]ScrapeFigures, error)
}

// Handler serves /announce and /scrape over HTTP.
type Handler struct {
	Backend       Backend
	MaxQueryBytes int          // 0: DefaultMaxQuery
	Logger        *slog.Logger // nil: slog.Default()
	Observe       Observer     // nil: none
}

func (h *Handler) observe(result string) {
	if h.Observe != nil {
		h.Observe("http", result)
	}
}

// Routes registers the handler's paths on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("/announce", h.ServeAnnounce)
	mux.HandleFunc("/scrape", h.ServeScrape)
}

func (h *Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// ServeAnnounce answers an HTTP announce.
func (h *Handler) ServeAnnounce(w http.ResponseWriter, r *http.Request) { h.serve(w, r, "/announce") }

// ServeScrape answers an HTTP scrape.
func (h *Handler) ServeScrape(w http.ResponseWriter, r *http.Request) { h.serve(w, r, "/scrape") }

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, path string) {
	from, ok := h.begin(w, r)
	if !ok {
		return
	}
	bp := bufPool.Get().(*[]byte)
	*bp = h.answer(path, r.URL.RawQuery, from, (*bp)[:0])
	writeBody(w, *bp)
	bufPool.Put(bp)
}

// answer appends the bencoded answer to an announce or scrape (path) with
// raw query q from address from to b. Both the net/http handler and the
// fast path (fast.go) answer through it. It never panics.
func (h *Handler) answer(path, q string, from netip.Addr, b []byte) (out []byte) {
	defer func() {
		if v := recover(); v != nil {
			h.log().Error("announce handler panic", "panic", v)
			out = AppendFailure(b[:0], "internal tracker error")
		}
	}()
	ctx := context.Background()
	if path == "/scrape" {
		hs, err := ParseScrape(q, h.MaxQueryBytes)
		if err != nil {
			return AppendFailure(b, h.failText(err))
		}
		figs, err := h.Backend.Scrape(ctx, from, hs)
		if err != nil {
			return AppendFailure(b, h.failText(err))
		}
		return AppendScrape(b, figs)
	}
	req, err := ParseAnnounce(q, h.MaxQueryBytes)
	if err != nil {
		h.observe(ResultMalformed)
		return AppendFailure(b, h.failText(err))
	}
	resp, err := h.Backend.Announce(ctx, from, req)
	h.observe(ResultOf(err))
	if err != nil {
		return AppendFailure(b, h.failText(err))
	}
	b = AppendAnnounce(b, resp, req.Compact, req.NoPeerID)
	resp.done()
	return b
}

func (h *Handler) begin(w http.ResponseWriter, r *http.Request) (netip.Addr, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write(AppendFailure(nil, "method not allowed: use GET"))
		return netip.Addr{}, false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		writeFailure(w, Failure("cannot tell the client's address"))
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// failText is the message a client gets for err: a Failure's own, else
// "internal tracker error" (and the error is logged).
func (h *Handler) failText(err error) string {
	var f Failure
	if !errors.As(err, &f) {
		h.log().Error("tracker backend failed", "err", err)
		return "internal tracker error"
	}
	return string(f)
}

func writeFailure(w http.ResponseWriter, err error) {
	var f Failure
	msg := "bad request"
	if errors.As(err, &f) {
		msg = string(f)
	}
	writeBody(w, AppendFailure(nil, msg))
}

// Header values shared by every answer (net/http only reads them).
var (
	headerTextPlain = []string{"text/plain"}
	headerNoStore   = []string{"no-store"}
)

func writeBody(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h["Content-Type"] = headerTextPlain
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	h["Cache-Control"] = headerNoStore
	_, _ = w.Write(b)
}

// AppendFailure appends a bencoded failure response.
func AppendFailure(b []byte, msg string) []byte {
	b = append(b, "d14:failure reason"...)
	b = appendString(b, msg)
	return append(b, 'e')
}

func appendString(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func appendInt(b []byte, key string, n int64) []byte {
	b = appendString(b, key)
	b = append(b, 'i')
	b = strconv.AppendInt(b, n, 10)
	return append(b, 'e')
}

// AppendAnnounce appends a bencoded announce response. In compact form
// IPv4 peers go in "peers" (6 bytes each) and IPv6 peers in "peers6"
// (18 bytes each); otherwise "peers" is a list of dictionaries.
func AppendAnnounce(b []byte, r *Response, compact, noPeerID bool) []byte {
	b = append(b, 'd')
	b = appendInt(b, "complete", int64(r.Seeders))
	b = appendInt(b, "incomplete", int64(r.Leechers))
	b = appendInt(b, "interval", int64(r.Interval/time.Second))
	b = appendInt(b, "min interval", int64(r.MinInterval/time.Second))
	b = appendString(b, "peers")
	if compact {
		n4 := 0
		for _, p := range r.Peers {
			if p.Addr.Addr().Unmap().Is4() {
				n4++
			}
		}
		b = appendCompact(b, r.Peers, true, n4)
		if n6 := len(r.Peers) - n4; n6 > 0 {
			b = appendString(b, "peers6")
			b = appendCompact(b, r.Peers, false, n6)
		}
	} else {
		b = append(b, 'l')
		for _, p := range r.Peers {
			b = append(b, 'd')
			b = appendString(b, "ip")
			b = appendString(b, p.Addr.Addr().Unmap().String())
			if !noPeerID {
				b = appendString(b, "peer id")
				b = appendString(b, string(p.ID[:]))
			}
			b = appendInt(b, "port", int64(p.Addr.Port()))
			b = append(b, 'e')
		}
		b = append(b, 'e')
	}
	return append(b, 'e')
}

// appendCompact appends the n peers of one family as a bencoded string
// of compact entries (BEP 23, BEP 7).
func appendCompact(b []byte, peers []swarm.PeerAddr, v4 bool, n int) []byte {
	size := 18
	if v4 {
		size = 6
	}
	b = strconv.AppendInt(b, int64(n*size), 10)
	b = append(b, ':')
	for _, p := range peers {
		a := p.Addr.Addr().Unmap()
		if a.Is4() != v4 {
			continue
		}
		if v4 {
			ip := a.As4()
			b = append(b, ip[:]...)
		} else {
			ip := a.As16()
			b = append(b, ip[:]...)
		}
		b = append(b, byte(p.Addr.Port()>>8), byte(p.Addr.Port()))
	}
	return b
}

// AppendScrape appends a bencoded scrape response.
func AppendScrape(b []byte, figs map[Hash]ScrapeFigures) []byte {
	keys := make([]Hash, 0, len(figs))
	for h := range figs {
		keys = append(keys, h)
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i][:], keys[j][:]) < 0 })
	b = append(b, "d5:filesd"...)
	for _, h := range keys {
		f := figs[h]
		b = appendString(b, string(h[:]))
		b = append(b, 'd')
		b = appendInt(b, "complete", int64(f.Seeders))
		b = appendInt(b, "downloaded", f.Completed)
		b = appendInt(b, "incomplete", int64(f.Leechers))
		b = append(b, 'e')
	}
	return append(b, "ee"...)
}
