package core

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	pp "github.com/anacrolix/torrent/peer_protocol"
)

func TestCapReqq(t *testing.T) {
	for _, c := range []struct{ in, want int }{
		{0, 0},       // not advertised: the engine's default applies
		{1, 1},       // one request at a time stays one
		{512, 511},   // Transmission 3.00 refuses the 512th
		{500, 499},   // libtorrent 1.2's default
		{2000, 1999}, // libtorrent 2.0 (the engine keeps at most 963 outstanding)
	} {
		d := pp.ExtendedHandshakeMessage{Reqq: c.in}
		capReqq(&d)
		if d.Reqq != c.want {
			t.Errorf("reqq %d: got %d, want %d", c.in, d.Reqq, c.want)
		}
	}
}

// The watch's rules, driven through the callbacks it installs, with a
// clock the test moves.
func TestRequestWatchFindsStalledPeers(t *testing.T) {
	now := time.Unix(1000, 0)
	w := newRequestWatch(10*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.now = func() time.Time { return now }
	var cb torrent.Callbacks
	w.install(&cb)

	answering, silent, rejected, choked := &torrent.PeerConn{}, &torrent.PeerConn{}, &torrent.PeerConn{}, &torrent.PeerConn{}
	send := func(pc *torrent.PeerConn, n int) {
		for range n {
			for _, f := range cb.SentRequest {
				f(torrent.PeerRequestEvent{Peer: &pc.Peer})
			}
		}
	}
	answer := func(pc *torrent.PeerConn, typ pp.MessageType) {
		cb.ReadMessage(pc, &pp.Message{Type: typ})
		if typ == pp.Piece || typ == pp.Reject {
			for _, f := range cb.DeletedRequest {
				f(torrent.PeerRequestEvent{Peer: &pc.Peer})
			}
		}
	}
	for _, pc := range []*torrent.PeerConn{answering, silent, rejected, choked} {
		answer(pc, pp.Unchoke)
		send(pc, 3)
	}
	answer(rejected, pp.Reject)
	answer(rejected, pp.Reject)
	answer(rejected, pp.Reject)
	answer(choked, pp.Choke)

	// Within the timeout nobody is stalled.
	for range 9 {
		now = now.Add(time.Second)
		answer(answering, pp.Piece)
		send(answering, 1)
	}
	if got := w.check(); len(got) != 0 {
		t.Fatalf("stalled within the timeout: %+v", got)
	}
	now = now.Add(2 * time.Second)
	answer(answering, pp.Piece)
	got := w.check()
	stalled := map[*torrent.Peer]stalledPeer{}
	for _, sp := range got {
		stalled[sp.p] = sp
	}
	if len(got) != 2 {
		t.Fatalf("stalled: %+v, want the silent and the rejected peer", got)
	}
	if sp, ok := stalled[&silent.Peer]; !ok || sp.outstanding != 3 || sp.rejected || sp.idle < 10*time.Second {
		t.Errorf("silent peer: %+v (found %v)", sp, ok)
	}
	if sp, ok := stalled[&rejected.Peer]; !ok || sp.outstanding != 0 || !sp.rejected {
		t.Errorf("rejected peer: %+v (found %v)", sp, ok)
	}
	// The silent peer is stalled only once no byte arrives between two looks.
	if w.confirm(&silent.Peer, 100) {
		t.Error("a peer whose bytes are still arriving counts as stalled")
	}
	if got := w.check(); len(got) != 0 {
		t.Fatalf("the clock did not start again for a peer that sent bytes: %+v", got)
	}
	now = now.Add(11 * time.Second)
	answer(answering, pp.Piece)
	if got := w.check(); len(got) != 1 || got[0].p != &silent.Peer {
		t.Fatalf("stalled: %+v, want the silent peer", got)
	}
	if !w.confirm(&silent.Peer, 100) {
		t.Error("a peer that sent nothing between two looks is not stalled")
	}
	// Reported once; a closed peer is forgotten.
	if again := w.check(); len(again) != 0 {
		t.Errorf("reported twice: %+v", again)
	}
	for _, f := range cb.PeerClosed {
		f(&silent.Peer)
	}
	if _, ok := w.peers[&silent.Peer]; ok {
		t.Error("a closed peer is still watched")
	}
}

func TestRedialAddr(t *testing.T) {
	for _, c := range []struct {
		remote string
		port   int
		want   string
	}{
		{"127.0.0.1:5000", 0, "127.0.0.1:5000"},
		{"127.0.0.1:5000", 51413, "127.0.0.1:51413"},
		{"[::1]:5000", 0, "[::1]:5000"},
		{"nonsense", 0, ""},
	} {
		got := redialAddr(stringAddr(c.remote), c.port)
		if (got == nil && c.want != "") || (got != nil && got.String() != c.want) {
			t.Errorf("redialAddr(%q, %d) = %v, want %q", c.remote, c.port, got, c.want)
		}
	}
}

type stringAddr string

func (s stringAddr) String() string { return string(s) }
