package announce

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/tracker/swarm"
)

// BEP 15 constants.
const (
	udpProtocolID   = 0x41727101980
	actionConnect   = 0
	actionAnnounce  = 1
	actionScrape    = 2
	actionError     = 3
	connIDLifetime  = time.Minute // an ID is accepted for one to two of these
	maxUDPPacket    = 2048
	udpAnnounceSize = 98
)

// UDPServer serves the UDP tracker protocol (BEP 15) on a packet
// connection. Connection IDs are a keyed hash of the client's address and
// the current minute, so the server keeps no per-client state.
type UDPServer struct {
	Backend  Backend
	Interval time.Duration // announce interval reported to clients
	Logger   *slog.Logger
	Observe  Observer // nil: none
	Now      func() time.Time
	secret   [32]byte
	once     sync.Once
}

func (s *UDPServer) init() {
	s.once.Do(func() {
		_, _ = rand.Read(s.secret[:])
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
	})
}

func (s *UDPServer) observe(result string) {
	if s.Observe != nil {
		s.Observe("udp", result)
	}
}

// Serve answers packets on pc until ctx ends or pc fails, with one reader
// per CPU. It closes pc when ctx ends.
func (s *UDPServer) Serve(ctx context.Context, pc net.PacketConn) error {
	pcs := make([]net.PacketConn, runtime.GOMAXPROCS(0))
	for i := range pcs {
		pcs[i] = pc
	}
	return s.ServeAll(ctx, pcs)
}

// ServeAll answers packets with one reader per entry of pcs (ListenUDP's
// sockets; an entry may repeat) until ctx ends or one fails. It closes
// them all when it returns.
func (s *UDPServer) ServeAll(ctx context.Context, pcs []net.PacketConn) error {
	s.init()
	closeAll := func() {
		for _, pc := range pcs {
			_ = pc.Close()
		}
	}
	stop := context.AfterFunc(ctx, closeAll)
	defer stop()
	errc := make(chan error, len(pcs))
	for _, pc := range pcs {
		go func() { errc <- s.readLoop(ctx, pc) }()
	}
	var err error
	for range pcs {
		if e := <-errc; e != nil && err == nil {
			err = e
			closeAll() // stop the other readers
		}
	}
	closeAll()
	return err
}

func (s *UDPServer) readLoop(ctx context.Context, pc net.PacketConn) error {
	if uc, ok := pc.(*net.UDPConn); ok {
		return s.readLoopRaw(ctx, uc)
	}
	buf := make([]byte, maxUDPPacket)
	var out []byte
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("udp tracker: reading: %w", err)
		}
		ua, ok := addr.(*net.UDPAddr)
		if !ok {
			continue
		}
		out = s.handle(ctx, ua.AddrPort(), buf[:n], out)
		if out != nil {
			if _, err := pc.WriteTo(out, addr); err != nil && ctx.Err() == nil {
				s.Logger.Debug("udp tracker: writing reply", "to", addr, "err", err)
			}
		}
	}
}

// readLoopUDP is readLoop without per-packet address allocations.
func (s *UDPServer) readLoopUDP(ctx context.Context, uc *net.UDPConn) error {
	buf := make([]byte, maxUDPPacket)
	out := make([]byte, 0, maxUDPPacket)
	for {
		n, from, err := uc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("udp tracker: reading: %w", err)
		}
		if out = s.handle(ctx, from, buf[:n], out); out != nil {
			if _, err := uc.WriteToUDPAddrPort(out, from); err != nil && ctx.Err() == nil {
				s.Logger.Debug("udp tracker: writing reply", "to", from, "err", err)
			}
		}
	}
}

// connID is a keyed hash of the client's address and an epoch. The input
// has a fixed length, so SHA-256 over secret||input is a sound MAC here.
func (s *UDPServer) connID(from netip.Addr, epoch int64) uint64 {
	var in [32 + 16 + 8]byte
	copy(in[:32], s.secret[:])
	a := from.Unmap().As16()
	copy(in[32:48], a[:])
	binary.BigEndian.PutUint64(in[48:], uint64(epoch))
	sum := sha256.Sum256(in[:])
	return binary.BigEndian.Uint64(sum[:8])
}

func (s *UDPServer) epoch() int64 { return s.Now().Unix() / int64(connIDLifetime/time.Second) }

func (s *UDPServer) validConnID(from netip.Addr, id uint64) bool {
	e := s.epoch()
	return s.connID(from, e) == id || s.connID(from, e-1) == id
}

// Handle answers one packet; nil means no answer (the packet is too short
// to carry a transaction ID). It never panics on malformed input.
func (s *UDPServer) Handle(ctx context.Context, from netip.AddrPort, p []byte) []byte {
	return s.handle(ctx, from, p, nil)
}

// handle is Handle appending the answer to out[:0], so that a read loop
// reuses one buffer.
func (s *UDPServer) handle(ctx context.Context, from netip.AddrPort, p, out []byte) (answer []byte) {
	s.init()
	if len(p) < 16 {
		return nil
	}
	connID := binary.BigEndian.Uint64(p[0:])
	action := binary.BigEndian.Uint32(p[8:])
	tx := binary.BigEndian.Uint32(p[12:])
	defer func() {
		if v := recover(); v != nil {
			s.Logger.Error("udp tracker panic", "panic", v)
			answer = udpError(tx, "internal tracker error")
		}
	}()
	addr := from.Addr().Unmap()
	out = out[:0]
	switch action {
	case actionConnect:
		if connID != udpProtocolID {
			return udpError(tx, "connect: wrong protocol ID")
		}
		out = binary.BigEndian.AppendUint32(out, actionConnect)
		out = binary.BigEndian.AppendUint32(out, tx)
		return binary.BigEndian.AppendUint64(out, s.connID(addr, s.epoch()))
	case actionAnnounce:
		if !s.validConnID(addr, connID) {
			return udpError(tx, "connection ID expired or unknown: connect again")
		}
		return s.announce(ctx, addr, tx, p, out)
	case actionScrape:
		if !s.validConnID(addr, connID) {
			return udpError(tx, "connection ID expired or unknown: connect again")
		}
		return s.scrape(ctx, addr, tx, p, out)
	default:
		return udpError(tx, "unknown action")
	}
}

// announce answers an announce packet from a valid connection.
func (s *UDPServer) announce(ctx context.Context, addr netip.Addr, tx uint32, p, out []byte) []byte {
	req, err := ParseUDPAnnounce(p)
	if err != nil {
		s.observe(ResultMalformed)
		return udpError(tx, failureText(err))
	}
	resp, err := s.Backend.Announce(ctx, addr, req)
	s.observe(ResultOf(err))
	if err != nil {
		return udpError(tx, failureText(err))
	}
	out = slices.Grow(out, 20+18*len(resp.Peers))
	out = binary.BigEndian.AppendUint32(out, actionAnnounce)
	out = binary.BigEndian.AppendUint32(out, tx)
	out = binary.BigEndian.AppendUint32(out, uint32(resp.Interval/time.Second))
	out = binary.BigEndian.AppendUint32(out, uint32(resp.Leechers))
	out = binary.BigEndian.AppendUint32(out, uint32(resp.Seeders))
	for _, pa := range resp.Peers {
		a := pa.Addr.Addr().Unmap()
		if a.Is4() != addr.Is4() {
			continue // BEP 15: the peer list is in the family of the request
		}
		if a.Is4() {
			ip := a.As4()
			out = append(out, ip[:]...)
		} else {
			ip := a.As16()
			out = append(out, ip[:]...)
		}
		out = binary.BigEndian.AppendUint16(out, pa.Addr.Port())
	}
	resp.done()
	return out
}

// scrape answers a scrape packet from a valid connection.
func (s *UDPServer) scrape(ctx context.Context, addr netip.Addr, tx uint32, p, out []byte) []byte {
	hs, err := ParseUDPScrape(p)
	if err != nil {
		return udpError(tx, failureText(err))
	}
	figs, err := s.Backend.Scrape(ctx, addr, hs)
	if err != nil {
		return udpError(tx, failureText(err))
	}
	if len(figs) == 0 {
		return udpError(tx, "unknown info-hash: this private tracker serves only published packages")
	}
	out = binary.BigEndian.AppendUint32(out, actionScrape)
	out = binary.BigEndian.AppendUint32(out, tx)
	for _, h := range hs {
		f := figs[h]
		out = binary.BigEndian.AppendUint32(out, uint32(f.Seeders))
		out = binary.BigEndian.AppendUint32(out, uint32(f.Completed))
		out = binary.BigEndian.AppendUint32(out, uint32(f.Leechers))
	}
	return out
}

// ParseUDPAnnounce parses a BEP 15 announce packet, including BEP 41 URL
// data (from which origin_key is read).
func ParseUDPAnnounce(p []byte) (*Request, error) {
	if len(p) < udpAnnounceSize {
		return nil, Failuref("announce packet is %d bytes, want at least %d", len(p), udpAnnounceSize)
	}
	req := &Request{Compact: true}
	copy(req.InfoHash[:], p[16:36])
	copy(req.PeerID[:], p[36:56])
	req.Downloaded = int64(binary.BigEndian.Uint64(p[56:]))
	req.Left = int64(binary.BigEndian.Uint64(p[64:]))
	req.Uploaded = int64(binary.BigEndian.Uint64(p[72:]))
	if req.Downloaded < 0 || req.Uploaded < 0 {
		return nil, Failure("negative byte count")
	}
	if req.Left < 0 {
		req.Left = -1
	}
	switch binary.BigEndian.Uint32(p[80:]) {
	case 0:
		req.Event = swarm.EventNone
	case 1:
		req.Event = swarm.EventCompleted
	case 2:
		req.Event = swarm.EventStarted
	case 3:
		req.Event = swarm.EventStopped
	default:
		return nil, Failure("unknown event")
	}
	// p[84:88] IP address: ignored, the packet's source address is used.
	req.NumWant = int(int32(binary.BigEndian.Uint32(p[92:])))
	if req.NumWant < 0 {
		req.NumWant = -1
	}
	req.Port = binary.BigEndian.Uint16(p[96:])
	if req.Port == 0 && req.Event != swarm.EventStopped {
		return nil, Failure("port 0 is not a listening port")
	}
	var urlData []byte
	for opts := p[udpAnnounceSize:]; len(opts) > 0; {
		switch opts[0] {
		case 0: // end of options
			opts = nil
		case 1: // no-op
			opts = opts[1:]
		case 2: // URL data
			if len(opts) < 2 || len(opts) < 2+int(opts[1]) {
				return nil, Failure("truncated URL data option")
			}
			urlData = append(urlData, opts[2:2+int(opts[1])]...)
			opts = opts[2+int(opts[1]):]
		default:
			opts = nil // unknown options cannot be skipped safely
		}
	}
	if _, q, ok := strings.Cut(string(urlData), "?"); ok {
		err := eachParam(q, func(k, v string) error {
			if k == "origin_key" && len(v) <= MaxOriginKeySize {
				req.OriginKey = v
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return req, nil
}

// ParseUDPScrape parses a BEP 15 scrape packet: after the 16-byte header,
// 1 to MaxScrapeHashes info-hashes of 20 bytes each.
func ParseUDPScrape(p []byte) ([]Hash, error) {
	if len(p) < 16 {
		return nil, Failuref("scrape packet is %d bytes, want at least 16", len(p))
	}
	body := p[16:]
	if len(body) == 0 || len(body)%20 != 0 {
		return nil, Failure("scrape: info-hashes must be 20 bytes each")
	}
	if len(body)/20 > MaxScrapeHashes {
		return nil, Failuref("a scrape may ask for at most %d info-hashes", MaxScrapeHashes)
	}
	hs := make([]Hash, len(body)/20)
	for i := range hs {
		copy(hs[i][:], body[i*20:])
	}
	return hs, nil
}

func failureText(err error) string {
	var f Failure
	if errors.As(err, &f) {
		return string(f)
	}
	return "internal tracker error"
}

func udpError(tx uint32, msg string) []byte {
	out := binary.BigEndian.AppendUint32(nil, actionError)
	out = binary.BigEndian.AppendUint32(out, tx)
	return append(out, msg...)
}
