// Package announce speaks the BitTorrent tracker protocols on the wire:
// HTTP announce and scrape (BEP 3, compact peer lists BEP 23, IPv6 peers
// BEP 7, scrape BEP 48) and the UDP tracker protocol (BEP 15 with the URL
// data option of BEP 41). It parses and bounds everything that arrives
// from the network, hands well-formed requests to a Backend, and encodes
// the answers. Nothing here panics on input from the network; malformed
// requests get a bencoded "failure reason" (HTTP) or an error packet (UDP).
package announce

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/smstorrent/smstorrent/tracker/swarm"
)

// Hash is an info-hash or peer ID (20 bytes).
type Hash = swarm.Hash

// Limits on what a request may carry.
const (
	MaxParams        = 100 // query parameters per request
	MaxScrapeHashes  = 74  // info-hashes per scrape (what fits in a UDP packet)
	MaxOriginKeySize = 256
	DefaultMaxQuery  = 4096
)

// Failure is an error whose message is meant for the client. Backends
// return it to refuse a request; any other error is reported to the client
// as an internal error.
type Failure string

func (f Failure) Error() string { return string(f) }

// Failuref formats a Failure.
func Failuref(format string, args ...any) error { return Failure(fmt.Sprintf(format, args...)) }

// Refusal is a Failure with a reason code for metrics (a short
// snake_case word from a fixed set, such as "rate_limited").
type Refusal struct {
	Reason string
	Msg    Failure
}

func (r *Refusal) Error() string { return string(r.Msg) }

// Unwrap makes errors.As find the Failure.
func (r *Refusal) Unwrap() error { return r.Msg }

// Refuse formats a Refusal.
func Refuse(reason, format string, args ...any) error {
	return &Refusal{Reason: reason, Msg: Failure(fmt.Sprintf(format, args...))}
}

// Outcomes of a request, for an Observer: a Refusal's reason, or one of these.
const (
	ResultOK        = "ok"
	ResultMalformed = "malformed" // the request did not parse
	ResultRefused   = "refused"   // a Failure without a reason
	ResultError     = "error"     // the backend failed
)

// ResultOf is the outcome an error stands for.
func ResultOf(err error) string {
	if err == nil {
		return ResultOK
	}
	return resultOfError(err)
}

// resultOfError is ResultOf for a non-nil error (apart, so that the
// targets errors.As takes are not allocated for every successful announce).
func resultOfError(err error) string {
	var r *Refusal
	var f Failure
	switch {
	case errors.As(err, &r):
		return r.Reason
	case errors.As(err, &f):
		return ResultRefused
	}
	return ResultError
}

// Observer is told the protocol ("http", "udp") and outcome of every
// announce. It must be cheap and safe for concurrent use.
type Observer func(protocol, result string)

// Request is a parsed announce.
type Request struct {
	InfoHash   Hash
	PeerID     Hash
	Port       uint16
	Uploaded   int64
	Downloaded int64
	Left       int64
	Event      swarm.Event
	Compact    bool // answer with a compact peer string (BEP 23)
	NoPeerID   bool
	NumWant    int // -1: not given
	OriginKey  string
}

// ParseAnnounce parses the raw query string of an HTTP announce. The
// parameters info_hash, peer_id and port are required; others default
// (left: unknown means not complete). Unknown parameters are ignored, as
// are ip/ipv4/ipv6: the tracker uses the address the request came from.
func ParseAnnounce(rawQuery string, maxBytes int) (*Request, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxQuery
	}
	if len(rawQuery) > maxBytes {
		return nil, Failuref("query string is %d bytes; the limit is %d", len(rawQuery), maxBytes)
	}
	a := announceParser{req: &Request{NumWant: -1, Left: -1, Compact: true}}
	if err := eachParam(rawQuery, a.param); err != nil {
		return nil, err
	}
	req := a.req
	switch {
	case !a.haveIH:
		return nil, Failure("info_hash is missing")
	case !a.havePID:
		return nil, Failure("peer_id is missing")
	case !a.havePort:
		return nil, Failure("port is missing")
	case req.Port == 0 && req.Event != swarm.EventStopped:
		return nil, Failure("port 0 is not a listening port")
	}
	if !a.haveLeft {
		req.Left = -1
	}
	return req, nil
}

// announceParser collects the parameters of one announce.
type announceParser struct {
	req                                 *Request
	haveIH, havePID, havePort, haveLeft bool
}

// param takes one parameter.
func (a *announceParser) param(k, v string) error {
	req := a.req
	switch k {
	case "info_hash":
		if a.haveIH {
			return Failure("info_hash is given more than once")
		}
		a.haveIH = true
		return hash20("info_hash", v, &req.InfoHash)
	case "peer_id":
		if a.havePID {
			return Failure("peer_id is given more than once")
		}
		a.havePID = true
		return hash20("peer_id", v, &req.PeerID)
	case "port":
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return Failuref("port %q is not a number between 0 and 65535", clip(v))
		}
		req.Port, a.havePort = uint16(n), true
	case "uploaded":
		return count("uploaded", v, &req.Uploaded)
	case "downloaded":
		return count("downloaded", v, &req.Downloaded)
	case "left":
		a.haveLeft = true
		return count("left", v, &req.Left)
	case "event":
		return parseEvent(v, &req.Event)
	case "compact":
		req.Compact = v != "0"
	case "no_peer_id":
		req.NoPeerID = v == "1"
	case "numwant":
		n, err := strconv.Atoi(v)
		if err != nil || n > 1<<20 {
			return Failuref("numwant %q is not a number", clip(v))
		}
		req.NumWant = max(n, -1)
	case "origin_key":
		if len(v) > MaxOriginKeySize {
			return Failure("origin_key is too long")
		}
		req.OriginKey = v
	}
	return nil
}

func parseEvent(v string, e *swarm.Event) error {
	switch v {
	case "", "empty", "paused":
		*e = swarm.EventNone
	case "started":
		*e = swarm.EventStarted
	case "completed":
		*e = swarm.EventCompleted
	case "stopped":
		*e = swarm.EventStopped
	default:
		return Failuref("event %q is not started, completed or stopped", clip(v))
	}
	return nil
}

// ParseScrape parses the raw query string of an HTTP scrape: one or more
// info_hash parameters.
func ParseScrape(rawQuery string, maxBytes int) ([]Hash, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxQuery
	}
	if len(rawQuery) > maxBytes {
		return nil, Failuref("query string is %d bytes; the limit is %d", len(rawQuery), maxBytes)
	}
	var hs []Hash
	err := eachParam(rawQuery, func(k, v string) error {
		if k != "info_hash" {
			return nil
		}
		if len(hs) == MaxScrapeHashes {
			return Failuref("a scrape may ask for at most %d info-hashes", MaxScrapeHashes)
		}
		var h Hash
		if err := hash20("info_hash", v, &h); err != nil {
			return err
		}
		hs = append(hs, h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, Failure("scrape needs at least one info_hash (this private tracker has no full scrape)")
	}
	return hs, nil
}

// eachParam calls fn with every unescaped key and value of a query.
func eachParam(q string, fn func(k, v string) error) error {
	n := 0
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" {
			continue
		}
		if n++; n > MaxParams {
			return Failuref("more than %d query parameters", MaxParams)
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := unescape(k)
		if err != nil {
			return Failuref("malformed query string: bad escape in a parameter name")
		}
		v, err = unescape(v)
		if err != nil {
			return Failuref("malformed query string: bad escape in %q", clip(k))
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

var errEscape = errors.New("bad escape")

// unescape decodes %XX and '+' (a space), like url.QueryUnescape, without
// allocating when there is nothing to decode.
func unescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) {
				return "", errEscape
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", errEscape
			}
			b = append(b, hi<<4|lo)
			i += 2
		case '+':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func hash20(name, v string, h *Hash) error {
	if len(v) != 20 {
		return Failuref("%s must be 20 bytes, got %d", name, len(v))
	}
	copy(h[:], v)
	return nil
}

func count(name, v string, n *int64) error {
	x, err := strconv.ParseInt(v, 10, 64)
	if err != nil || x < 0 {
		return Failuref("%s %q is not a byte count", name, clip(v))
	}
	*n = x
	return nil
}

// clip shortens a value quoted back to the client.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
