package server_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/tracker/announce"
	"github.com/smstorrent/smstorrent/tracker/config"
)

// BenchmarkUDPHandleInProcess measures the tracker's own cost per UDP
// announce (parsing, policy, peer selection, encoding) without sockets.
func BenchmarkUDPHandleInProcess(b *testing.B) {
	e := testbed.StartSiteTracker(b, func(c *config.Config) {
		c.Sites = nil
		// One source address for 4000 peers: lift the per-address bounds.
		c.MaxPeersPerAddress, c.AnnounceRate, c.AnnounceBurst = 100000, 1e6, 1000000
		c.SetDefaults()
	})
	p := testbed.RandomPackage(b, e.Key, "BENCH", "1", 16<<10, e.Announce)
	e.Publish(p)
	s := &announce.UDPServer{Backend: e.Server.Tracker}
	from := netip.MustParseAddrPort("127.0.0.1:5000")
	conn := binary.BigEndian.AppendUint64(nil, 0x41727101980)
	conn = binary.BigEndian.AppendUint32(conn, 0)
	conn = binary.BigEndian.AppendUint32(conn, 1)
	id := binary.BigEndian.Uint64(s.Handle(context.Background(), from, conn)[8:])
	pkt := func(peer int) []byte {
		q := binary.BigEndian.AppendUint64(nil, id)
		q = binary.BigEndian.AppendUint32(q, 1)
		q = binary.BigEndian.AppendUint32(q, 2)
		q = append(q, p.Hash[:]...)
		q = append(q, fmt.Sprintf("-BN0001-%012d", peer)...)
		q = append(q, make([]byte, 36)...)
		q = binary.BigEndian.AppendUint32(q, 50)
		return binary.BigEndian.AppendUint16(q, uint16(1000+peer))
	}
	pkts := make([][]byte, 4000)
	for i := range pkts {
		pkts[i] = pkt(i)
		s.Handle(context.Background(), from, pkts[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s.Handle(context.Background(), from, pkts[i%len(pkts)])
	}
}

// BenchmarkLoopbackInProcess runs the opentracker comparison's load
// against a tracker in the test process, for profiling the whole announce
// path with its sockets (the profile also holds the load generator):
//
//	go test -run '^$' -bench LoopbackInProcess/udp -benchtime 40000x -cpuprofile cpu.out ./tracker/server
func BenchmarkLoopbackInProcess(b *testing.B) {
	e := testbed.StartSiteTracker(b, func(c *config.Config) {
		c.AllowNetworks = []string{"127.0.0.0/8"}
		c.Sites = nil
		c.MaxPeersPerAddress, c.AnnounceRate, c.AnnounceBurst = 100000, 1e6, 1000000
		c.SetDefaults()
	})
	var hashes []metainfo.Hash
	for i := range 8 {
		p := testbed.RandomPackage(b, e.Key, fmt.Sprintf("BENCH%02d", i), "1", 16<<10, e.Announce)
		e.Publish(p)
		hashes = append(hashes, p.Hash)
	}
	tg := benchTarget{name: "in-process", httpAddr: e.Server.HTTPAddr(), udpAddr: e.Server.UDPAddr()}
	load(b, tg, "udp", hashes, 8*4000)
	for _, proto := range []string{"http", "udp"} {
		b.Run(proto, func(b *testing.B) {
			b.ReportAllocs()
			b.ReportMetric(load(b, tg, proto, hashes, b.N), "announces/s")
		})
	}
}
