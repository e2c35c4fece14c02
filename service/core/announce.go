package core

import (
	"context"
	"net"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/tracker"
	trHttp "github.com/anacrolix/torrent/tracker/http"
)

// Announces outside the engine's schedule.
//
// The engine (anacrolix/torrent v1.62.0) announces a torrent when its
// trackers are added and then at most once a minute (minAnnounceInterval),
// whatever the tracker asks for, and it has no public "announce now". Two
// cases lose that minute:
//
//   - a job whose announces found no one to download from (the first PC of
//     a site before its origin or gateway announced, a tracker that
//     restarted and forgot its swarms) waits a minute for its next one;
//   - a job whose data was complete already (placed content, a restart)
//     announced before the engine had checked it, as a leecher with
//     everything left, and the engine sends its completed event only after
//     a download: the tracker counts it as a seeder a minute later, and
//     meanwhile makes a neighbour its site's gateway, which fetches the
//     package across the WAN though the site has it.
//
// For those the service announces itself, through the engine's public
// tracker client, with the engine's peer ID, port and the torrent's own
// counters, and hands the peers it learns to the engine. A stuck job does
// so after 2, 4, 8, 16 and 32 s without a peer, then leaves it to the
// engine's minute; a complete one once, kickSeedDelay after its add, so
// that it comes after the engine's own first announce, and again with a
// backoff while no tracker took it.

const (
	kickFirst     = 2 * time.Second
	kickMax       = 32 * time.Second
	kickSeedDelay = time.Second
	kickTimeout   = 10 * time.Second
)

// kickState is a job's announces of its own (under the job lock).
type kickState struct {
	added   time.Time // the torrent was handed to the engine
	next    time.Time
	backoff time.Duration
	seeded  bool // the complete-data announce is done (or not needed)
	running bool
	// seedNext and seedBackoff pace the complete-data announce again when
	// no tracker took it.
	seedNext    time.Time
	seedBackoff time.Duration
}

// kickAnnounces starts the announces that jobs need now. Called with s.mu.
func (s *Service) kickAnnounces(now time.Time) {
	for _, j := range s.jobs {
		t := j.t
		if t == nil || t.Info() == nil || j.rec.Suspended || len(j.announce) == 0 || j.kick.running {
			continue
		}
		k := &j.kick
		if k.added.IsZero() {
			k.added, k.backoff = now, kickFirst
			k.next = now.Add(kickFirst)
		}
		complete := t.Complete().Bool()
		switch {
		case complete && !k.seeded:
			if now.Sub(k.added) < kickSeedDelay || now.Before(k.seedNext) {
				continue
			}
			k.seeded = true // until kick says no tracker took it
			if st := t.Stats(); st.BytesReadUsefulData.Int64() > 0 {
				continue // downloaded: the engine sends its completed event
			}
		case complete, j.queued, j.peersS+j.peersO > 0:
			k.backoff, k.next = kickFirst, now.Add(kickFirst)
			continue
		case now.Before(k.next) || k.backoff > kickMax:
			continue
		default:
			k.next = now.Add(k.backoff)
			k.backoff *= 2
		}
		k.running = true
		go s.kick(j, t, j.announce, complete)
	}
}

// kick announces t to the first tracker of each tier and gives the engine
// the peers they return. A seed's announce asks for none: it only tells
// the tracker that this PC has the package (leechers dial it; dialling
// them too would open second connections to the ones already here).
func (s *Service) kick(j *job, t *torrent.Torrent, tiers [][]string, seed bool) {
	took := false
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		k := &j.kick
		k.running = false
		if seed && !took && k.seedBackoff < kickMax {
			// No tracker took this PC's word that it is a seeder: again
			// after 2, 4, 8, 16 and 32 s, then the engine's minute.
			k.seedBackoff = max(2*k.seedBackoff, kickFirst)
			k.seeded, k.seedNext = false, s.now().Add(k.seedBackoff)
		}
	}()
	st := t.Stats()
	req := tracker.AnnounceRequest{
		InfoHash:   t.InfoHash(),
		PeerId:     s.cl.PeerID(),
		Port:       uint16(s.cl.LocalPort()),
		Left:       t.BytesMissing(),
		Uploaded:   st.BytesWrittenData.Int64(),
		Downloaded: st.BytesReadUsefulData.Int64(),
		NumWant:    200,
	}
	if seed {
		req.NumWant = 0
	}
	for _, tier := range tiers {
		if len(tier) == 0 {
			continue
		}
		peers, err := s.announceOnce(tier[0], req)
		if err != nil {
			// Few: tries 2 to 32 s apart while a job has no peers, then the
			// engine's own announces (a failing tracker shows in the status).
			s.log.Info("own announce failed", "job", j.rec.ID, "tracker", tier[0], "err", err)
			continue
		}
		took = true
		s.log.Log(context.Background(), traceLevel, "own announce", "job", j.rec.ID, "left", req.Left, "peers", len(peers))
		if len(peers) > 0 && !seed {
			t.AddPeers(peers)
		}
	}
}

func (s *Service) announceOnce(url string, req tracker.AnnounceRequest) ([]torrent.PeerInfo, error) {
	opts := tracker.NewClientOpts{Http: trHttp.NewClientOpts{DialContext: s.trackers.dial}, Slogger: s.engineLog}
	if s.trackers.local.IsValid() {
		// From the address the service is bound to, as the engine's own.
		local := s.trackers.local.String()
		opts.ListenPacket = func(network, _ string) (net.PacketConn, error) {
			return net.ListenPacket(network, net.JoinHostPort(local, "0"))
		}
	}
	c, err := tracker.NewClient(url, opts)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), kickTimeout)
	defer cancel()
	resp, err := c.Announce(ctx, req, tracker.AnnounceOpt{})
	if err != nil {
		return nil, err
	}
	out := make([]torrent.PeerInfo, 0, len(resp.Peers))
	for _, p := range resp.Peers {
		if p.Port <= 0 || p.Port > 65535 || p.IP == nil || p.IP.IsUnspecified() {
			continue // nothing to dial
		}
		pi := torrent.PeerInfo{Addr: &net.TCPAddr{IP: p.IP, Port: p.Port}, Source: torrent.PeerSourceTracker}
		if len(p.ID) == len(pi.Id) {
			copy(pi.Id[:], p.ID)
		}
		out = append(out, pi)
	}
	return out, nil
}
