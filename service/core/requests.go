package core

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	pp "github.com/anacrolix/torrent/peer_protocol"
)

// Block requests to peers.
//
// The engine (anacrolix/torrent v1.62.0) keeps up to the peer's advertised
// "reqq" requests outstanding with a peer and sends more only once they are
// all answered. Two things about that stall a download:
//
//   - transmission-daemon 3.00 advertises reqq 512 but refuses a request
//     that would make 512 pending (its test is pending+1 >= reqq), so it
//     answers 511 and rejects the 512th. A reject that leaves nothing
//     outstanding makes the engine request nothing more until the peer
//     unchokes us again, which a peer that never choked us does not do:
//     the connection idles for good (see docs/BENCHMARKS.md, "Interop").
//     So we take one less than a peer advertises (capReqq).
//   - a request the peer never answers (a peer that drops it without the
//     fast extension's reject, a path that stops forwarding) holds the
//     connection's whole batch: the engine has no request timeout. The
//     request watch notices a connection whose requests go unanswered for
//     requestTimeout (or that the engine left idle after rejects), warns,
//     and closes it: its requests go back to the pool for other peers, and
//     the peer is dialled again, where the requests are sent afresh.

// defaultRequestTimeout is how long requests may go unanswered, with no
// byte arriving, while the peer does not choke us before the connection
// counts as stalled (the first look that finds it quiet starts the byte
// count, so it takes one to two timeouts).
const defaultRequestTimeout = 30 * time.Second

// capReqq lowers the request queue length a peer advertises in its
// extended handshake to what it accepts (see above); the engine reads d.Reqq
// after the ReadExtendedHandshake callback returns. libtorrent accepts what
// it advertises (max_allowed_in_request_queue: 500 in 1.2, 2000 in 2.0), so
// one less is safe with it too; the engine never keeps more than 963
// outstanding (what fits its write buffer), and assumes 250 from a peer that
// advertises nothing.
func capReqq(d *pp.ExtendedHandshakeMessage) {
	if d.Reqq > 1 {
		d.Reqq--
	}
}

// requestWatch follows the requests sent to each peer (through the engine's
// callbacks) and closes connections whose requests go unanswered.
type requestWatch struct {
	timeout time.Duration
	log     *slog.Logger
	now     func() time.Time

	// isWAN tells connections across the WAN (nil: none); outage marks
	// an address whose dials are bounded while it is redialled (silence.go).
	isWAN  func(net.Addr) bool
	outage func(addr string, on bool)

	mu    sync.Mutex
	peers map[*torrent.Peer]*peerRequests
}

// peerRequests is what the watch knows of one connection.
type peerRequests struct {
	p           *torrent.Peer
	client      string // the peer's client name from its extended handshake
	listenPort  int    // from its extended handshake; 0: unknown
	outstanding int    // requests sent and not yet answered, cancelled or rejected
	choked      bool   // the peer chokes us
	lastSent    time.Time
	lastAnswer  time.Time // the last block, reject or unchoke
	lastReject  time.Time
	lastRead    int64 // the connection's bytes read at the last look
	stalled     bool  // already reported and closed
	sent, got   int   // requests sent and blocks received since the last trace line
	gotBlock    bool  // a block arrived on this connection
	wan         bool  // the connection crosses the WAN (silence.go)
	incoming    bool  // the peer dialled us: redial its listen port, not the address it came from
	quietSince  time.Time
	quietRead   int64
}

func newRequestWatch(timeout time.Duration, log *slog.Logger) *requestWatch {
	if timeout <= 0 {
		timeout = defaultRequestTimeout
	}
	return &requestWatch{timeout: timeout, log: log, now: time.Now, peers: map[*torrent.Peer]*peerRequests{}}
}

// install adds the watch's callbacks to cc. The engine calls them with its
// lock held: they take only the watch's own lock.
func (w *requestWatch) install(cb *torrent.Callbacks) {
	cb.ReadExtendedHandshake = func(pc *torrent.PeerConn, d *pp.ExtendedHandshakeMessage) {
		capReqq(d)
		w.mu.Lock()
		defer w.mu.Unlock()
		st := w.get(&pc.Peer)
		st.client, st.listenPort = d.V, d.Port
	}
	cb.ReadMessage = w.readMessage
	cb.StatusUpdated = append(cb.StatusUpdated, func(ev torrent.StatusUpdatedEvent) {
		w.log.Log(context.Background(), traceLevel, "engine "+string(ev.Event), "url", ev.Url, "err", ev.Error)
	})
	cb.PeerConnAdded = append(cb.PeerConnAdded, func(pc *torrent.PeerConn) {
		w.log.Log(context.Background(), traceLevel, "peer connection added", "peer", pc.RemoteAddr, "network", pc.Network)
		wan := false
		if a, ok := pc.RemoteAddr.(net.Addr); ok && w.isWAN != nil {
			wan = w.isWAN(a)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		st := w.get(&pc.Peer)
		st.wan, st.incoming = wan, pc.Discovery == torrent.PeerSourceIncoming
	})
	cb.SentRequest = append(cb.SentRequest, func(ev torrent.PeerRequestEvent) {
		w.mu.Lock()
		defer w.mu.Unlock()
		st := w.get(ev.Peer)
		now := w.now()
		if st.outstanding == 0 && st.lastAnswer.Before(now) {
			// The clock of a fresh batch starts now.
			st.lastAnswer = now
		}
		if st.lastSent.IsZero() {
			w.log.Log(context.Background(), traceLevel, "first request to a peer", "peer", ev.Peer.RemoteAddr, "client", st.client)
		}
		st.outstanding++
		st.sent++
		st.lastSent = now
	})
	cb.DeletedRequest = append(cb.DeletedRequest, func(ev torrent.PeerRequestEvent) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if st := w.peers[ev.Peer]; st != nil && st.outstanding > 0 {
			st.outstanding--
		}
	})
	cb.PeerClosed = append(cb.PeerClosed, func(p *torrent.Peer) {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.peers, p)
	})
}

// readMessage notes the answers, rejects and chokes a peer sends.
func (w *requestWatch) readMessage(pc *torrent.PeerConn, m *pp.Message) {
	switch m.Type {
	case pp.Piece, pp.Reject, pp.Choke, pp.Unchoke:
	default:
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.get(&pc.Peer)
	now := w.now()
	switch m.Type {
	case pp.Piece:
		st.lastAnswer = now
		st.got++
	case pp.Reject:
		st.lastAnswer, st.lastReject = now, now
	case pp.Choke:
		st.choked = true
	case pp.Unchoke:
		st.choked = false
		st.lastAnswer = now
	}
	if m.Type == pp.Piece && !st.gotBlock {
		st.gotBlock = true
		w.log.Log(context.Background(), traceLevel, "first block from a peer", "peer", pc.RemoteAddr, "client", st.client)
	}
	if m.Type == pp.Choke || m.Type == pp.Unchoke {
		w.log.Log(context.Background(), traceLevel, "peer "+m.Type.String(), "peer", pc.RemoteAddr, "client", st.client)
	}
}

// redialPort is the port to dial the peer at again: its listen port if it
// dialled us, else (0) the one we reached it at.
func (st *peerRequests) redialPort() int {
	if st.incoming {
		return st.listenPort
	}
	return 0
}

// get returns the state of p, creating it. Called with w.mu held.
func (w *requestWatch) get(p *torrent.Peer) *peerRequests {
	st := w.peers[p]
	if st == nil {
		st = &peerRequests{p: p}
		w.peers[p] = st
	}
	return st
}

// stalledPeer is a connection check found stalled.
type stalledPeer struct {
	p           *torrent.Peer
	client      string
	listenPort  int
	outstanding int
	idle        time.Duration
	rejected    bool // idle after rejects rather than with requests out
}

// check returns the connections that look stalled: requests outstanding
// and none answered for the timeout while the peer does not choke us, or
// nothing requested since a reject for the timeout (the engine waits for an
// unchoke; whether the peer has anything we lack is for the caller to
// decide). A connection with requests out is stalled only if confirm also
// finds that no byte arrived since the last look: a block takes long to
// arrive when our own limits are low (a helpdesk throttle, yielding), and
// that is not the peer's fault.
func (w *requestWatch) check() []stalledPeer {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	var out []stalledPeer
	for _, st := range w.peers {
		if st.stalled || st.choked {
			continue
		}
		idle := now.Sub(st.lastAnswer)
		switch {
		case st.outstanding > 0 && idle >= w.timeout:
			out = append(out, stalledPeer{st.p, st.client, st.redialPort(), st.outstanding, idle, false})
		case st.outstanding == 0 && !st.lastReject.IsZero() && !st.lastSent.After(st.lastReject) && now.Sub(st.lastReject) >= w.timeout:
			out = append(out, stalledPeer{st.p, st.client, st.redialPort(), 0, now.Sub(st.lastReject), true})
		default:
			continue
		}
		if len(out) > 0 && out[len(out)-1].rejected {
			st.stalled = true
		}
	}
	return out
}

// confirm reports whether a connection check found with requests out is
// stalled, given the bytes read from it so far: if any arrived since the
// last look, the peer is sending and its clock starts again.
func (w *requestWatch) confirm(p *torrent.Peer, read int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.peers[p]
	if st == nil || st.stalled {
		return false
	}
	if read != st.lastRead {
		st.lastRead = read
		st.lastAnswer = w.now()
		return false
	}
	st.stalled = true
	return true
}

// traceRequests logs, every traceRequestsEvery, each connection's
// outstanding requests and the requests sent and blocks received since the
// last line (SMSTORRENT_TRACE_REQUESTS=1), for the lab.
var traceRequests = os.Getenv("SMSTORRENT_TRACE_REQUESTS") == "1"

// traceLevel is the level of the connection milestones (connected,
// unchoked, first request, tracker events): debug, or info while tracing.
var traceLevel = func() slog.Level {
	if traceRequests {
		return slog.LevelInfo
	}
	return slog.LevelDebug
}()

const traceRequestsEvery = 50 * time.Millisecond

func (w *requestWatch) traceLoop(ctx context.Context) {
	t := time.NewTicker(traceRequestsEvery)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		for _, st := range w.peers {
			if st.sent == 0 && st.got == 0 && st.outstanding == 0 {
				continue
			}
			w.log.Info("requests", "t_ms", time.Since(start).Milliseconds(), "peer", st.p.RemoteAddr, "client", st.client,
				"outstanding", st.outstanding, "sent", st.sent, "blocks", st.got)
			st.sent, st.got = 0, 0
		}
		w.mu.Unlock()
	}
}

// run checks the connections every quarter of the timeout until ctx ends.
// A stalled connection is reported and closed, and the peer is offered to
// the engine again so that it is redialled.
func (w *requestWatch) run(ctx context.Context) {
	t := time.NewTicker(w.timeout / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, sp := range w.check() {
			// Read outside the watch's lock: the engine holds its own
			// lock while it calls the watch's callbacks.
			st := sp.p.Stats()
			if sp.rejected || w.confirm(sp.p, st.BytesRead.Int64()) {
				w.drop(sp)
			}
		}
	}
}

func (w *requestWatch) drop(sp stalledPeer) {
	tor := sp.p.Torrent()
	if tor == nil {
		return
	}
	if sp.rejected && (tor.BytesMissing() == 0 || sp.p.Stats().RemotePieceCount == 0) {
		return // nothing to ask it for: idle is right
	}
	addr := sp.p.RemoteAddr
	if sp.rejected {
		w.log.Warn("a peer rejected our requests and sends nothing more; reconnecting to it",
			"peer", addr, "client", sp.client, "idle", sp.idle.Round(time.Second), "torrent", tor.Name())
	} else {
		w.log.Warn("a peer stopped answering our requests; closing the connection so that other peers get them and reconnecting",
			"peer", addr, "client", sp.client, "unanswered", sp.outstanding, "idle", sp.idle.Round(time.Second), "torrent", tor.Name())
	}
	if err := sp.p.Close(); err != nil {
		w.log.Warn("closing a stalled peer connection", "peer", addr, "err", err)
	}
	if redial := redialAddr(addr, sp.listenPort); redial != nil {
		tor.AddPeers([]torrent.PeerInfo{{Addr: redial, Source: torrent.PeerSourceDirect}})
	}
}

// redialAddr is where to dial a peer again: its own listen port (from its
// extended handshake) at its address, else the address we reached it at.
func redialAddr(remote torrent.PeerRemoteAddr, listenPort int) net.Addr {
	if remote == nil {
		return nil
	}
	host, port, err := net.SplitHostPort(remote.String())
	if err != nil {
		return nil
	}
	if listenPort > 0 {
		port = strconv.Itoa(listenPort)
	}
	p, err := strconv.Atoi(port)
	ip := net.ParseIP(host)
	if err != nil || ip == nil || p <= 0 {
		return nil
	}
	return &net.TCPAddr{IP: ip, Port: p}
}
