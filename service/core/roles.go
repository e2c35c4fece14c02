package core

import (
	"bytes"
	"strings"
	"sync"
	"unicode"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	pp "github.com/anacrolix/torrent/peer_protocol"
)

// The role message is a BitTorrent extension of our own (BEP 10, named
// roleExtension): on each connection, a service tells its peer what it is
// for this torrent — an origin, its site's gateway, which site it is in,
// whether a helpdesk throttle or the schedule limits its upload, and how
// fast it receives the package itself. It is sent once the peer's extended
// handshake arrived and again when it changes.
//
// A peer can lie in it, so what it says only labels: which column the
// bytes are counted in, which peer the window shows as the gateway, and
// the words of the limiting reason. It never changes what crosses the WAN
// (the yield limiters follow addresses: pathClassifier), never grants a
// peer anything and is never forwarded.

const (
	roleExtension pp.ExtensionName = "smstorrent_role"
	// maxRoleMessage bounds a role message; anything longer is ignored.
	maxRoleMessage = 256
	maxSiteName    = 64
)

// peerRole is what a peer says of itself in its role message.
type peerRole struct {
	Origin  bool   `bencode:"origin,omitempty"`
	Gateway bool   `bencode:"gateway,omitempty"`
	Site    string `bencode:"site,omitempty"`
	// Limited: a helpdesk throttle or the schedule limits its upload to
	// UpLimit bytes per second.
	Limited bool  `bencode:"limited,omitempty"`
	UpLimit int64 `bencode:"up_limit,omitempty"`
	// DownRate is how fast it receives the package, bytes per second.
	DownRate int64 `bencode:"down_rate,omitempty"`
}

// parseRole decodes a role message; ok is false for anything malformed,
// oversized or out of range.
func parseRole(b []byte) (r peerRole, ok bool) {
	if len(b) == 0 || len(b) > maxRoleMessage || b[0] != 'd' {
		return peerRole{}, false
	}
	if err := bencode.Unmarshal(b, &r); err != nil {
		return peerRole{}, false
	}
	if r.UpLimit < 0 || r.DownRate < 0 || !cleanName(r.Site) {
		return peerRole{}, false
	}
	return r, true
}

// cleanName reports whether s is fit to show: short, printable, one line.
func cleanName(s string) bool {
	if len(s) > maxSiteName {
		return false
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// sameRole reports whether two roles differ only in a rate that moved
// little (by less than half), so that a steady transfer does not resend
// its role every second.
func sameRole(a, b peerRole) bool {
	ra, rb := a.DownRate, b.DownRate
	a.DownRate, b.DownRate = 0, 0
	if a != b {
		return false
	}
	lo, hi := min(ra, rb), max(ra, rb)
	return hi == 0 || (lo > 0 && hi < lo*3/2)
}

// roleBook keeps the roles peers said and what we last told each peer, by
// connection. It has its own lock and never calls the engine while holding
// it: the engine calls said and roleOf with its own locks held.
type roleBook struct {
	mapOnce sync.Once
	ltep    torrent.LocalLtepProtocolMap // the engine's protocols plus ours

	mu   sync.Mutex
	said map[*torrent.Peer]peerRole
	sent map[*torrent.PeerConn]sentRole
}

type sentRole struct {
	role  peerRole
	tries int // failed sends (the peer's handshake had not arrived, or it lacks the extension)
	done  bool
}

// maxRoleTries bounds the sends to a peer that never takes the message
// (one per tick): a client other than ours.
const maxRoleTries = 20

func newRoleBook() *roleBook {
	return &roleBook{said: map[*torrent.Peer]peerRole{}, sent: map[*torrent.PeerConn]sentRole{}}
}

// install registers the extension with the engine's callbacks.
func (b *roleBook) install(cb *torrent.Callbacks) {
	cb.PeerConnAdded = append(cb.PeerConnAdded, b.added)
	cb.PeerConnReadExtensionMessage = append(cb.PeerConnReadExtensionMessage, b.read)
	cb.PeerClosed = append(cb.PeerClosed, b.closed)
}

// added gives a new connection the engine's protocols plus ours. The map
// is one copy shared by every connection and never changed after.
func (b *roleBook) added(pc *torrent.PeerConn) {
	b.mapOnce.Do(func() {
		def := pc.LocalLtepProtocolMap
		b.ltep = torrent.LocalLtepProtocolMap{Index: append([]pp.ExtensionName(nil), def.Index...), NumBuiltin: def.NumBuiltin}
		b.ltep.AddUserProtocol(roleExtension)
	})
	pc.LocalLtepProtocolMap = &b.ltep
}

// read takes a role message from a peer. Called by the engine with its
// locks held.
func (b *roleBook) read(ev torrent.PeerConnReadExtensionMessageEvent) {
	if ev.ExtensionNumber == pp.HandshakeExtendedID || ev.PeerConn == nil || ev.PeerConn.LocalLtepProtocolMap == nil {
		return
	}
	name, _, err := ev.PeerConn.LocalLtepProtocolMap.LookupId(ev.ExtensionNumber)
	if err != nil || name != roleExtension {
		return
	}
	r, ok := parseRole(ev.Payload)
	if !ok {
		return // a malformed message says nothing
	}
	b.mu.Lock()
	b.said[&ev.PeerConn.Peer] = r
	b.mu.Unlock()
}

func (b *roleBook) closed(p *torrent.Peer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.said, p)
	if pc, ok := p.TryAsPeerConn(); ok {
		delete(b.sent, pc)
	}
}

// prune forgets what was sent to connections that are gone (a send may
// race with the engine's close callback). live holds every connection of
// every torrent at this tick.
func (b *roleBook) prune(live map[*torrent.PeerConn]bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for pc := range b.sent {
		if !live[pc] {
			delete(b.sent, pc)
		}
	}
	for p := range b.said {
		if pc, ok := p.TryAsPeerConn(); ok && !live[pc] {
			delete(b.said, p)
		}
	}
}

// roleOf returns what a peer said of itself, if anything.
func (b *roleBook) roleOf(p *torrent.Peer) (peerRole, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.said[p]
	return r, ok
}

// tell sends our role to the connections that have not had it yet or had
// an older one. Called without the roleBook's lock (it writes to the
// engine).
func (b *roleBook) tell(conns []*torrent.PeerConn, me peerRole) {
	payload, err := bencode.Marshal(me)
	if err != nil || len(payload) > maxRoleMessage {
		return
	}
	for _, pc := range conns {
		b.mu.Lock()
		st, had := b.sent[pc]
		b.mu.Unlock()
		if had && (st.done && sameRole(st.role, me) || !st.done && st.tries >= maxRoleTries && sameRole(st.role, me)) {
			continue
		}
		if !had || !sameRole(st.role, me) {
			st = sentRole{role: me}
		}
		if err := pc.WriteExtendedMessage(roleExtension, bytes.Clone(payload)); err != nil {
			st.tries++
		} else {
			st.done = true
		}
		b.mu.Lock()
		b.sent[pc] = st
		b.mu.Unlock()
	}
}

// clientName is a peer's client name (from its extended handshake), fit to
// show, or "".
func clientName(pc *torrent.PeerConn) string {
	v, _ := pc.PeerClientName.Load().(string)
	if r := []rune(strings.TrimSpace(v)); len(r) > 40 {
		v = string(r[:40])
	}
	if !cleanName(v) {
		return ""
	}
	return strings.TrimSpace(v)
}
