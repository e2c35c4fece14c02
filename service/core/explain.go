package core

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/anacrolix/torrent"

	"github.com/smstorrent/smstorrent/service/api"
)

// Explaining a transfer: where a job's bytes came from (site peers,
// origins, other sites), which peers it uses now and which of them is the
// site's gateway, and what holds its rate back, in words.
//
// Who a peer is comes from what the service can check, then from what the
// peer says:
//   - an origin: its address is in server_networks or is a tracker's
//     address (the origin runs beside the tracker), or it is a web seed;
//   - a PC of another site: its address is outside site_networks (when
//     set), or its role message names another site than ours;
//   - the site's gateway: its role message says so (the tracker hands the
//     origins only to the gateway, so the gateway knows it is one: it is
//     connected to an origin while it still downloads);
//   - else a colleague in this site.
//
// A role message (roles.go) can lie; a lie only changes labels and words,
// never what crosses the WAN or what a peer is given.
//
// The per-connection samples live in each job (job.conns) under the job
// lock; the roles peers said live in the roleBook under its own lock.

// peerKind is where a peer stands for this PC.
type peerKind uint8

const (
	kindSite peerKind = iota
	kindGateway
	kindOrigin
	kindOtherSite
)

func (k peerKind) api() string {
	switch k {
	case kindGateway:
		return api.PeerGateway
	case kindOrigin:
		return api.PeerOrigin
	case kindOtherSite:
		return api.PeerOtherSite
	}
	return api.PeerSite
}

// kindOf classifies a peer. The engine calls it with its locks held
// (peerCounters.received): it takes only the classifier's and the
// roleBook's locks.
func (s *Service) kindOf(p *torrent.Peer) peerKind {
	r, said := s.roles.roleOf(p)
	return s.paths.kind(p.RemoteAddr, r, said)
}

// kind classifies a peer address, with what the peer said of itself.
func (p *pathClassifier) kind(addr any, r peerRole, said bool) peerKind {
	if p.isServer(addr) || said && r.Origin {
		return kindOrigin
	}
	if a, ok := addrOf(addr); ok && len(p.siteNets) > 0 && !slices.ContainsFunc(p.siteNets, func(pf netip.Prefix) bool { return pf.Contains(a) }) {
		return kindOtherSite
	}
	if said && r.Site != "" && p.siteName != "" && !strings.EqualFold(r.Site, p.siteName) {
		return kindOtherSite
	}
	if said && r.Gateway {
		return kindGateway
	}
	return kindSite
}

// addrOf is the IP address of a peer address, if it has one.
func addrOf(addr any) (netip.Addr, bool) {
	switch v := addr.(type) {
	case *net.TCPAddr:
		a, ok := netip.AddrFromSlice(v.IP)
		return a.Unmap(), ok
	case *net.UDPAddr:
		a, ok := netip.AddrFromSlice(v.IP)
		return a.Unmap(), ok
	case interface{ String() string }:
		ap, err := netip.ParseAddrPort(v.String())
		return ap.Addr().Unmap(), err == nil
	}
	return netip.Addr{}, false
}

// addSources adds the bytes the engine received for a job since the last
// tick to the job's lifetime counters, by source. Called with s.mu.
func (s *Service) addSources(j *job) {
	now := s.peers.get(j.t.InfoHash())
	d := sourceBytes{
		site:   max(now.site-j.lastSrc.site, 0),
		origin: max(now.origin-j.lastSrc.origin, 0),
		other:  max(now.other-j.lastSrc.other, 0),
	}
	j.lastSrc = now
	r := j.rec
	r.DownloadedSite += d.site
	r.DownloadedOrigin += d.origin
	r.DownloadedOther += d.other
	r.DownloadedServer += d.origin + d.other
}

// jobView is what a job's explanation saw at the last tick.
type jobView struct {
	peers     []api.JobPeer // busiest first, at most api.MaxJobPeers
	gateway   string        // the site's gateway we are connected to; "" if none
	gwRole    peerRole      // what it said
	gwDown    float64       // its rate to us, bytes/s
	isGateway bool          // this PC is the site's gateway for the job
	connected int           // peer connections and web seeds
	wanted    int           // of those, the ones with pieces this PC lacks
	wanDown   float64       // rate from origins and other sites
}

// connSample is one connection's byte counters at the last tick and its
// smoothed rates.
type connSample struct {
	read, written int64
	down, up      float64
	seen          bool
}

// viewRow is one peer while a view is built.
type viewRow struct {
	peer api.JobPeer
	kind peerKind
	role peerRole
	said bool
	// server: an origin by its address (not by its word): connected to
	// one while downloading, this PC is its site's gateway.
	server bool
	down   float64
}

// observe samples a job's connections: per-peer rates, kinds, who holds
// pieces this PC lacks, the gateway; and tells the peers our role. Called
// with s.mu from collect; dt is the interval in seconds and a its weight in
// the rates (collectInterval).
func (s *Service) observe(j *job, dt, a float64, upLimited bool, upLimit int64, live map[*torrent.PeerConn]bool) {
	t := j.t
	incomplete := t.Info() != nil && !t.Complete().Bool() && j.rec.Source == ""
	var missing *roaring.Bitmap
	if incomplete {
		missing = missingPieces(t)
	}
	if j.conns == nil {
		j.conns = map[*torrent.Peer]*connSample{}
	}
	for _, c := range j.conns {
		c.seen = false
	}
	var rows []viewRow
	v := jobView{}
	conns := t.PeerConns()
	for _, pc := range conns {
		live[pc] = true
		st := pc.Stats()
		r, said := s.roles.roleOf(&pc.Peer)
		row := viewRow{kind: s.paths.kind(pc.RemoteAddr, r, said), role: r, said: said, server: s.paths.isServer(pc.RemoteAddr)}
		row.peer = api.JobPeer{Address: pc.RemoteAddr.String(), Client: clientName(pc), Throttled: said && r.Limited}
		row.down, row.peer.UpRate = s.sampleConn(j, &pc.Peer, st.BytesReadUsefulData.Int64(), st.BytesWrittenData.Int64(), dt, a)
		if missing != nil && !missing.IsEmpty() && pc.PeerPieces().Intersects(missing) {
			v.wanted++
		}
		rows = append(rows, row)
	}
	for _, p := range t.WebseedPeerConns() {
		st := p.Stats()
		row := viewRow{kind: kindOrigin, peer: api.JobPeer{Address: webSeedName(p.RemoteAddr), Client: "web seed"}}
		row.down, row.peer.UpRate = s.sampleConn(j, p, st.BytesReadUsefulData.Int64(), st.BytesWrittenData.Int64(), dt, a)
		if incomplete {
			v.wanted++
		}
		rows = append(rows, row)
	}
	for k, c := range j.conns {
		if !c.seen {
			delete(j.conns, k)
		}
	}
	v.connected = len(rows)
	self := s.paths.selfIsServer()
	for _, row := range rows {
		switch row.kind {
		case kindOrigin:
			v.isGateway = v.isGateway || incomplete && !self && row.server
			v.wanDown += row.down
		case kindOtherSite:
			v.wanDown += row.down
		case kindGateway:
			if v.gateway == "" || row.down > v.gwDown {
				v.gateway, v.gwRole, v.gwDown = row.peer.Address, row.role, row.down
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b viewRow) int {
		return int(b.down+float64(b.peer.UpRate)) - int(a.down+float64(a.peer.UpRate))
	})
	for _, row := range rows[:min(len(rows), api.MaxJobPeers)] {
		row.peer.Kind = row.kind.api()
		row.peer.DownRate = int64(row.down)
		v.peers = append(v.peers, row.peer)
	}
	j.view = v
	me := peerRole{Origin: self, Gateway: v.isGateway, Limited: upLimited, UpLimit: upLimit, DownRate: int64(j.downRate)}
	if cleanName(s.cfg.Site) {
		me.Site = s.cfg.Site
	}
	s.roles.tell(conns, me)
}

// sampleConn updates one connection's sample and returns its smoothed
// rates. Called with s.mu.
func (s *Service) sampleConn(j *job, p *torrent.Peer, read, written int64, dt, a float64) (down float64, up int64) {
	c := j.conns[p]
	if c == nil {
		c = &connSample{read: read, written: written}
		j.conns[p] = c
	}
	c.down = a*float64(max(read-c.read, 0))/dt + (1-a)*c.down
	c.up = a*float64(max(written-c.written, 0))/dt + (1-a)*c.up
	c.read, c.written, c.seen = read, written, true
	if c.down < 1 {
		c.down = 0
	}
	if c.up < 1 {
		c.up = 0
	}
	return c.down, int64(c.up)
}

// missingPieces are the pieces of t this PC does not have yet.
func missingPieces(t *torrent.Torrent) *roaring.Bitmap {
	m := roaring.New()
	i := uint64(0)
	for _, run := range t.PieceStateRuns() {
		n := uint64(max(run.Length, 0))
		if !run.Complete {
			m.AddRange(i, i+n)
		}
		i += n
	}
	return m
}

// webSeedName shows a web seed by its scheme and host only: its path and
// query are not for every local user to read.
func webSeedName(a interface{ String() string }) string {
	u, err := url.Parse(a.String())
	if err != nil || u.Host == "" {
		return "web seed"
	}
	return u.Scheme + "://" + u.Host
}

// sourcesOf renders a job's sources for the API: the counters as written
// (counters.go) and the view of the last tick. Called with s.mu.
func sourcesOf(c counters, v *jobView) *api.Sources {
	return &api.Sources{
		Site: c.Site, Origin: c.Origin, OtherSites: c.Other,
		Gateway: v.gateway, IsGateway: v.isGateway,
		Peers: slices.Clone(v.peers),
	}
}

// limitOf says what holds a job's download rate back right now. errText
// is the job's error, if any. Called with s.mu.
func (s *Service) limitOf(j *job, state api.State, errText string, lim limitsNow) *api.JobLimit {
	switch state {
	case api.StateError, api.StateTransientError:
		return &api.JobLimit{Reason: api.LimitError, Detail: errText}
	case api.StateSuspended:
		return &api.JobLimit{Reason: api.LimitSuspended, Detail: "Paused by a user: resume it to continue"}
	case api.StateTransferred:
		if j.rec.Source != "" {
			return &api.JobLimit{Reason: api.LimitDone, Detail: "Seeding from its source folder " + j.rec.Source}
		}
		return &api.JobLimit{Reason: api.LimitDone, Detail: "Transferred: the package is on this PC and seeded to colleagues"}
	case api.StateQueued:
		d := "Waiting: downloads of a higher priority run first"
		if lim.foreground && j.rec.Priority.Background() {
			d = "Waiting: a foreground download runs first"
		}
		return &api.JobLimit{Reason: api.LimitQueued, Detail: d}
	}
	if j.rec.Source != "" {
		return &api.JobLimit{Reason: api.LimitNone, Detail: "Checking the source folder against the package"}
	}
	if l := s.policyLimit(lim); l != nil {
		return l
	}
	v := &j.view
	if lim.yielding && j.rec.Priority.Background() && (v.wanDown > 0 || v.isGateway) {
		return &api.JobLimit{Reason: api.LimitYielding, Rate: lim.wanDown, Detail: fmt.Sprintf(
			"Giving way to your own traffic on the line to hq (%d ms of queueing): transfers from outside the site limited to %s; colleagues' PCs are not held back",
			lim.queueDelayMS, rateText(lim.wanDown))}
	}
	if j.t == nil || j.t.Info() == nil {
		return &api.JobLimit{Reason: api.LimitWaitingPeers, Detail: "Looking for the package's torrent and peers"}
	}
	if v.connected == 0 {
		return &api.JobLimit{Reason: api.LimitWaitingPeers, Detail: "Waiting for peers: none connected yet"}
	}
	if l := s.gatewayLimit(j, v); l != nil {
		return l
	}
	if v.wanted == 0 {
		return &api.JobLimit{Reason: api.LimitWaitingPeers, Detail: fmt.Sprintf(
			"Waiting for peers: none of the %d connected has a piece this PC still needs", v.connected)}
	}
	return &api.JobLimit{Reason: api.LimitNone, Detail: fmt.Sprintf("Nothing holds it back: %s/s from %d peers",
		strings.TrimSuffix(rateText(int64(j.downRate)), "/s"), v.connected)}
}

// policyLimit is the reason when the policy's download limit (helpdesk
// throttle, schedule, configuration) is what the service runs into: the
// service as a whole moves at half the limit or more, or the limit is
// below a chunk a second.
func (s *Service) policyLimit(lim limitsNow) *api.JobLimit {
	if lim.down <= 0 || (s.downRate < 0.5*float64(lim.down) && lim.down >= 16<<10) {
		return nil
	}
	l := &api.JobLimit{Rate: lim.down}
	switch lim.reason {
	case "override":
		l.Reason = api.LimitThrottle
		l.Detail = "Limited by the helpdesk: " + strings.TrimPrefix(lim.detail, "helpdesk throttle: ")
	case "schedule":
		l.Reason = api.LimitSchedule
		l.Detail = "Business-hours schedule: " + lim.detail
	default:
		l.Reason = api.LimitConfigured
		l.Detail = "Limited by the configuration: " + strings.TrimPrefix(lim.detail, "configured limits: ")
	}
	return l
}

// gatewayLimit is the reason when the site's gateway is what this PC
// waits on: it has pieces we lack but says a helpdesk throttle or the
// schedule limits its upload (or the tracker says so:
// trackerGatewayLimited); or it still receives the package from outside
// and we get it as fast as it does (we have every piece it has, or it is
// our main source at about its own rate).
func (s *Service) gatewayLimit(j *job, v *jobView) *api.JobLimit {
	if v.isGateway || v.gateway == "" {
		return nil
	}
	limited, rate := v.gwRole.Limited, v.gwRole.UpLimit
	if tl, tr, ok := s.trackerGatewayLimited(j); ok && !limited {
		limited, rate = tl, tr
	}
	if limited && v.wanted > 0 {
		return &api.JobLimit{Reason: api.LimitGatewayThrottled, Rate: rate, Detail: fmt.Sprintf(
			"The site's gateway %s is throttled: it passes the package on at most %s; ask the helpdesk to lift its throttle",
			v.gateway, rateText(rate))}
	}
	in := v.gwRole.DownRate
	keepingUp := v.wanted == 0 || v.gwDown > 0 && v.gwDown >= j.downRate/2 && v.gwDown*4 >= float64(in)*3
	if in > 0 && keepingUp {
		return &api.JobLimit{Reason: api.LimitGatewaySlow, Rate: in, Detail: fmt.Sprintf(
			"The site's gateway %s receives the package at %s from the server; this PC gets it as fast as the gateway does",
			v.gateway, rateText(in))}
	}
	return nil
}

// trackerGatewayLimited is the hook for the tracker's word on a site's
// gateway (the savings report carries each PC's upload limit, and the
// package details name a site's gateway and whether it is limited): ok is
// false while the service does not ask the tracker, and the gateway's own
// role message decides.
func (s *Service) trackerGatewayLimited(*job) (limited bool, rate int64, ok bool) {
	return false, 0, false
}
