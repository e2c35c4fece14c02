package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/tracker/cli"
)

const opentrackerBin = "/usr/bin/opentracker"

// benchTarget is a tracker under load.
type benchTarget struct {
	name     string
	httpAddr string
	udpAddr  string
	pid      int
}

// cpuTime is the CPU time (user + system) a process has used so far, from
// /proc/<pid>/stat (0 where that cannot be read).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// benchSetup starts the smstorrent-tracker executable and opentracker as
// separate processes on loopback, both serving the same info-hashes.
func benchSetup(b *testing.B) (ours, ot benchTarget, hashes []metainfo.Hash) {
	b.Helper()
	if _, err := os.Stat(opentrackerBin); err != nil {
		b.Skipf("%s is not installed (Debian package opentracker): %v", opentrackerBin, err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		b.Skip("the go command is needed to build smstorrent-tracker")
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "smstorrent-tracker")
	if out, err := exec.Command(goBin, "build", "-o", bin, "github.com/smstorrent/smstorrent/tracker/cmd/smstorrent-tracker").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	key := testbed.NewKey(b)
	port := freePortB(b)
	cfg := map[string]any{
		"listen": "127.0.0.1:" + strconv.Itoa(port), "udp_listen": "127.0.0.1:" + strconv.Itoa(port),
		"data_dir": filepath.Join(dir, "data"), "admin_token": testbed.Token,
		"trusted_keys": []string{key.Pub}, "allow_networks": []string{"127.0.0.0/8"},
		// 16 load addresses carry 32,000 peers at full speed: lift the
		// per-address bounds that protect a real site (opentracker has none).
		"max_peers_per_address": 100000, "announce_rate": 1e6, "announce_burst": 1000000,
	}
	cb, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "tracker.json")
	if err := os.WriteFile(cfgFile, cb, 0o600); err != nil {
		b.Fatal(err)
	}
	pid := startProcess(b, bin, "serve", "--config", cfgFile)
	ours = benchTarget{"smstorrent-tracker", "127.0.0.1:" + strconv.Itoa(port), "127.0.0.1:" + strconv.Itoa(port), pid}
	base := "http://" + ours.httpAddr
	testbed.WaitFor(b, "smstorrent-tracker", 60*time.Second, func() bool {
		resp, err := http.Get(base + "/api/v1/packages")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	var wl strings.Builder
	for i := range 8 {
		p := testbed.RandomPackage(b, key, fmt.Sprintf("BENCH%02d", i), "1", 16<<10, base+"/announce")
		if _, err := cli.Publish(context.Background(), http.DefaultClient, base, testbed.Token, p.Torrent); err != nil {
			b.Fatal(err)
		}
		hashes = append(hashes, p.Hash)
		wl.WriteString(hex.EncodeToString(p.Hash[:]) + "\n")
	}

	otDir := filepath.Join(dir, "opentracker")
	_ = os.MkdirAll(otDir, 0o755)
	_ = os.Chmod(dir, 0o755)
	if err := os.WriteFile(filepath.Join(otDir, "whitelist.txt"), []byte(wl.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	otPort := freePortB(b)
	args := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(otPort), "-P", strconv.Itoa(otPort), "-d", otDir, "-w", "/whitelist.txt"}
	if os.Getuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	pid = startProcess(b, opentrackerBin, args...)
	ot = benchTarget{"opentracker", "127.0.0.1:" + strconv.Itoa(otPort), "127.0.0.1:" + strconv.Itoa(otPort), pid}
	for _, tg := range []benchTarget{ours, ot} {
		// opentracker loads its whitelist in the background: wait for every hash.
		for _, h := range hashes {
			testbed.WaitFor(b, tg.name+" answering announces", 60*time.Second, func() bool {
				body, err := httpAnnounce(&net.Dialer{}, tg.httpAddr, h, 1, 1)
				return err == nil && bytes.Contains(body, []byte("5:peers"))
			})
		}
	}
	return ours, ot, hashes
}

func freePortB(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startProcess(b *testing.B, bin string, args ...string) (pid int) {
	b.Helper()
	cmd := exec.Command(bin, args...)
	// For A/B runs of the GC target and the scheduler:
	// SMSTORRENT_BENCH_TRACKER_GOGC=100, SMSTORRENT_BENCH_TRACKER_GOMAXPROCS=1.
	for _, v := range []string{"GOGC", "GOMAXPROCS"} {
		if g := os.Getenv("SMSTORRENT_BENCH_TRACKER_" + v); g != "" {
			cmd.Env = append(cmd.Environ(), v+"="+g)
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", bin, err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if b.Failed() {
			b.Logf("%s output:\n%s", bin, out.String())
		}
	})
	return cmd.Process.Pid
}

// httpAnnounce sends one announce on a new connection (opentracker closes
// every connection after its answer, so both trackers are measured the
// same way) and returns the body.
func httpAnnounce(d *net.Dialer, addr string, ih metainfo.Hash, peer, port int) ([]byte, error) {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	pid := fmt.Sprintf("-BN0001-%012d", peer)
	q := "info_hash=" + percentEncode(ih[:]) + "&peer_id=" + pid + "&port=" + strconv.Itoa(port) +
		"&uploaded=0&downloaded=0&left=1000&compact=1&numwant=50"
	if _, err := io.WriteString(c, "GET /announce?"+q+" HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n"); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(body, []byte("failure reason")) {
		return nil, fmt.Errorf("tracker refused: %q", body)
	}
	return body, nil
}

// percentEncode escapes every byte, as BitTorrent clients do for binary
// values (url.QueryEscape would write a space as '+', which opentracker
// does not decode).
func percentEncode(b []byte) string {
	const hexd = "0123456789ABCDEF"
	out := make([]byte, 0, 3*len(b))
	for _, c := range b {
		out = append(out, '%', hexd[c>>4], hexd[c&15])
	}
	return string(out)
}

// udpAnnouncer keeps one BEP 15 connection.
type udpAnnouncer struct {
	c      net.Conn
	connID uint64
	buf    []byte
}

func (u *udpAnnouncer) roundTrip(p []byte) ([]byte, error) {
	if _, err := u.c.Write(p); err != nil {
		return nil, err
	}
	_ = u.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := u.c.Read(u.buf)
	if err != nil {
		return nil, err
	}
	if n < 8 || binary.BigEndian.Uint32(u.buf) == 3 {
		return nil, fmt.Errorf("udp error answer %q", u.buf[:n])
	}
	return u.buf[:n], nil
}

func (u *udpAnnouncer) announce(ih metainfo.Hash, peer, port int) error {
	if u.connID == 0 {
		p := binary.BigEndian.AppendUint64(nil, 0x41727101980)
		p = binary.BigEndian.AppendUint32(p, 0)
		p = binary.BigEndian.AppendUint32(p, 1)
		r, err := u.roundTrip(p)
		if err != nil || len(r) < 16 {
			return fmt.Errorf("udp connect: %v", err)
		}
		u.connID = binary.BigEndian.Uint64(r[8:])
	}
	p := binary.BigEndian.AppendUint64(nil, u.connID)
	p = binary.BigEndian.AppendUint32(p, 1)
	p = binary.BigEndian.AppendUint32(p, 2)
	p = append(p, ih[:]...)
	p = append(p, fmt.Sprintf("-BN0001-%012d", peer)...)
	p = binary.BigEndian.AppendUint64(p, 0)
	p = binary.BigEndian.AppendUint64(p, 1000)
	p = binary.BigEndian.AppendUint64(p, 0)
	p = binary.BigEndian.AppendUint32(p, 0)
	p = binary.BigEndian.AppendUint32(p, 0)
	p = binary.BigEndian.AppendUint32(p, 0)
	p = binary.BigEndian.AppendUint32(p, 50)
	p = binary.BigEndian.AppendUint16(p, uint16(port))
	if _, err := u.roundTrip(p); err != nil {
		u.connID = 0
		return err
	}
	return nil
}

const benchWorkers = 16

// load runs n announces over benchWorkers workers and returns announces
// per second. Each worker uses its own loopback source address and a
// rotating set of peers, so swarms fill up (up to 8 × 4000 peers).
func load(b *testing.B, tg benchTarget, proto string, hashes []metainfo.Hash, n int) float64 {
	var next, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := range benchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := net.IPv4(127, 0, 10, byte(w+1))
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}
			var ua *udpAnnouncer
			if proto == "udp" {
				c, err := (&net.Dialer{LocalAddr: &net.UDPAddr{IP: src}}).Dial("udp", tg.udpAddr)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					errs.Add(1)
					return
				}
				defer c.Close()
				ua = &udpAnnouncer{c: c, buf: make([]byte, 2048)}
			}
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				peer := rand.IntN(4000)
				ih := hashes[i%len(hashes)]
				var err error
				if ua != nil {
					err = ua.announce(ih, peer, 10000+peer)
				} else {
					_, err = httpAnnounce(d, tg.httpAddr, ih, peer, 10000+peer)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if e := errs.Load(); e > int64(n/100) {
		b.Fatalf("%s %s: %d of %d announces failed, first: %v", tg.name, proto, e, n, firstErr.Load())
	}
	return float64(n) / el.Seconds()
}

// BenchmarkAnnounceVsOpentracker measures announces per second on loopback
// for this tracker and for opentracker in the same run, over HTTP (a new
// connection per announce) and UDP (BEP 15), and logs the ratios and each
// tracker process's own CPU time per announce (from /proc; the load
// generator shares the machine, so CPU per announce is the steadier
// figure):
//
//	go test -run '^$' -bench AnnounceVsOpentracker -benchtime 40000x ./tracker/server
//
// Figures depend on the machine; compare ratios, never absolute numbers.
func BenchmarkAnnounceVsOpentracker(b *testing.B) {
	ours, ot, hashes := benchSetup(b)
	// Fill the swarms first so that answers carry full peer lists.
	for _, tg := range []benchTarget{ours, ot} {
		load(b, tg, "udp", hashes, 8*4000)
	}
	rates, cpu := map[string]float64{}, map[string]float64{}
	for _, proto := range []string{"http", "udp"} {
		for _, tg := range []benchTarget{ours, ot} {
			b.Run(proto+"/"+tg.name, func(b *testing.B) {
				c0 := cpuTime(tg.pid)
				r := load(b, tg, proto, hashes, b.N)
				us := float64(cpuTime(tg.pid)-c0) / float64(time.Microsecond) / float64(b.N)
				b.ReportMetric(r, "announces/s")
				b.ReportMetric(us, "tracker-cpu-µs/announce")
				rates[proto+"/"+tg.name], cpu[proto+"/"+tg.name] = r, us
			})
		}
	}
	var report strings.Builder
	for _, proto := range []string{"http", "udp"} {
		o, t := rates[proto+"/"+ours.name], rates[proto+"/"+ot.name]
		oc, tc := cpu[proto+"/"+ours.name], cpu[proto+"/"+ot.name]
		if o > 0 && t > 0 {
			fmt.Fprintf(&report, "| %s | %.0f | %.0f | %.2f | %.1f | %.1f |\n", strings.ToUpper(proto), o, t, o/t, oc, tc)
		}
	}
	fmt.Printf("announces per second (%d workers, loopback) and each tracker's own CPU per announce:\n"+
		"| protocol | smstorrent-tracker | opentracker | ratio | smstorrent-tracker CPU µs | opentracker CPU µs |\n|---|---|---|---|---|---|\n%s",
		benchWorkers, report.String())
	if out := os.Getenv("SMSTORRENT_BENCH_OUT"); out != "" && report.Len() > 0 {
		_ = os.WriteFile(out, []byte(report.String()), 0o644)
	}
}
