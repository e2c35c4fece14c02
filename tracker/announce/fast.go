package announce

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"
)

// Limits of the fast path.
const (
	fastHeaderMax = 16 << 10 // request head, as net/http's MaxHeaderBytes
	fastDeadline  = 10 * time.Second
)

// FastListener answers the plain announces and scrapes that arrive on ln
// itself and hands every other connection on, unread bytes and all, to
// whoever calls Accept (the net/http server of the same port). A plain
// announce is "GET /announce?… HTTP/1.x" (or /scrape) in origin form: its
// head is read (at most 16 KiB, within 10 s), its headers are ignored, the
// answer carries "Connection: close" and the connection is closed, as
// opentracker does. This skips net/http's per-connection and per-request
// machinery (request and header maps, URL parsing, contexts, deadlines'
// timers), most of the tracker's CPU per HTTP announce. What net/http
// would refuse or treat differently (other methods and paths, absolute
// URLs, HTTP/2, a head that does not fit) goes to net/http unchanged.
// server is the Server header's value.
func (h *Handler) FastListener(ln net.Listener, server string) net.Listener {
	l := &fastListener{Listener: ln, raw: rawListener(ln), h: h, conns: make(chan net.Conn), errc: make(chan error, 1), done: make(chan struct{}),
		head: "HTTP/1.1 200 OK\r\nServer: " + server + "\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: "}
	go l.run()
	return l
}

type fastListener struct {
	net.Listener
	raw   *os.File // Linux: the listener's descriptor for acceptLoop, or nil
	h     *Handler
	head  string
	conns chan net.Conn
	errc  chan error
	done  chan struct{}
	once  sync.Once
}

func (l *fastListener) run() {
	if l.acceptLoop() {
		return
	}
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.fail(err)
			return
		}
		go l.serve(c, nil)
	}
}

// fail hands the listener's error to Accept.
func (l *fastListener) fail(err error) {
	select {
	case l.errc <- err:
	case <-l.done:
	}
}

// Accept returns the next connection that is not a plain announce.
func (l *fastListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errc:
		l.errc <- err // every later Accept fails the same way
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close closes the listener.
func (l *fastListener) Close() error {
	l.once.Do(func() { close(l.done) })
	if l.raw != nil {
		_ = l.raw.Close()
	}
	return l.Listener.Close()
}

// fastHeadSize is the pooled head buffer: an announce's head is a few
// hundred bytes; a longer one grows to fastHeaderMax, so that idle
// connections hold little memory.
const fastHeadSize = 2048

var headPool = sync.Pool{New: func() any { b := make([]byte, fastHeadSize); return &b }}

// serve reads one request head, after the bytes read already, and
// answers it, or hands the connection on.
func (l *fastListener) serve(c net.Conn, read []byte) {
	bp := headPool.Get().(*[]byte)
	defer headPool.Put(bp)
	buf := *bp
	if len(read) > len(buf) {
		buf = make([]byte, fastHeaderMax)
	}
	n := copy(buf, read)
	end := bytes.Index(buf[:n], []byte("\r\n\r\n"))
	_ = c.SetDeadline(time.Now().Add(fastDeadline))
	for end < 0 && plausible(buf[:n]) {
		if n == len(buf) {
			if len(buf) >= fastHeaderMax {
				break
			}
			buf = append(buf, make([]byte, fastHeaderMax-len(buf))...)
		}
		m, err := c.Read(buf[n:])
		n += m
		end = bytes.Index(buf[:n], []byte("\r\n\r\n"))
		if err != nil {
			break
		}
	}
	path, query, ok := fastRequest(buf[:max(end, 0)])
	if end < 0 || !ok {
		l.handOn(c, buf[:n])
		return
	}
	defer c.Close()
	ap, ok := remoteAddr(c)
	if !ok {
		return
	}
	out := bufPool.Get().(*[]byte)
	defer bufPool.Put(out)
	body := l.h.answer(path, query, ap.Addr().Unmap(), (*out)[:0])
	*out = body
	_, _ = c.Write(l.response(buf[:0], body))
}

// response appends the answer's head and body to b.
func (l *fastListener) response(b, body []byte) []byte {
	b = append(b, l.head...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

// remoteAddr is the client's address and port.
func remoteAddr(c net.Conn) (netip.AddrPort, bool) {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort(), true
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	return ap, err == nil
}

// plausible reports whether a partial head may still become a plain
// announce: it starts like one. Anything else goes to net/http at once.
func plausible(b []byte) bool {
	for _, p := range []string{"GET /announce", "GET /scrape"} {
		k := min(len(b), len(p))
		if string(b[:k]) == p[:k] {
			return true
		}
	}
	return false
}

// fastRequest takes a request head and returns the path ("/announce" or
// "/scrape") and raw query of a plain GET, or ok false.
func fastRequest(head []byte) (path, query string, ok bool) {
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	rest, found := bytes.CutPrefix(line, []byte("GET "))
	if !found {
		return "", "", false
	}
	target, proto, found := bytes.Cut(rest, []byte(" "))
	if !found || (string(proto) != "HTTP/1.1" && string(proto) != "HTTP/1.0") {
		return "", "", false
	}
	p, q, _ := bytes.Cut(target, []byte("?"))
	if string(p) != "/announce" && string(p) != "/scrape" || bytes.ContainsAny(q, " #") {
		return "", "", false
	}
	return string(p), string(q), true
}

// handOn gives a connection, with the bytes already read from it, to Accept.
func (l *fastListener) handOn(c net.Conn, read []byte) {
	_ = c.SetDeadline(time.Time{})
	pc := &prefixConn{Conn: c, prefix: append([]byte(nil), read...)}
	select {
	case l.conns <- pc:
	case <-l.done:
		_ = c.Close()
	}
}

// prefixConn replays bytes read before the connection was handed on.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the connection, as net/http does before closing
// one whose request it refused (so that the client reads the refusal
// before a reset).
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
