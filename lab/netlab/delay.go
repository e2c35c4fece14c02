package netlab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// WAN delay without netem: the core router sends every forwarded packet to
// an NFQUEUE, and this process holds it there for the link's delay before
// it lets it go on (a batch verdict, in arrival order). The delay is added
// once per WAN link a packet crosses: once between hq and a branch, twice
// between branches. The rules use --queue-bypass, so if nothing listens the
// packets pass undelayed rather than being dropped.

const (
	nfnlSubsysQueue   = 3
	nfqnlMsgPacket    = 0
	nfqnlMsgConfig    = 2
	nfqnlMsgVerdBatch = 3

	nfqaPacketHdr   = 1
	nfqaVerdictHdr  = 2
	nfqaCfgCmd      = 1
	nfqaCfgParams   = 2
	nfqaCfgQueueMax = 3
	nfqaCfgMask     = 4
	nfqaCfgFlags    = 5

	nfqnlCfgCmdBind = 1
	nfqnlCopyMeta   = 1
	nfqaCfgFGSO     = 1 << 2
	nfAccept        = 1

	delayQueueMax = 20000
)

// delayer holds the packets of one NFQUEUE for a fixed time.
type delayer struct {
	fd    int
	queue uint16
	delay time.Duration

	in     chan held
	done   chan struct{}
	closed sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

type held struct {
	id  uint32
	due time.Time
}

// startDelay binds NFQUEUE number queue in namespace ns and starts holding
// its packets for d.
func startDelay(ns string, queue uint16, d time.Duration) (*delayer, error) {
	var fd int
	err := inNSGoroutine(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	})
	if err != nil {
		if fd > 0 {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("netlab: NFQUEUE socket: %w", err)
	}
	q := &delayer{fd: fd, queue: queue, delay: d, in: make(chan held, delayQueueMax), done: make(chan struct{})}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_NO_ENOBUFS, 1)
	tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, err
	}
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	cfg := [][]byte{
		attr(nfqaCfgCmd, []byte{nfqnlCfgCmdBind, 0, 0, unix.AF_INET}),
		attr(nfqaCfgParams, append(be32(0), nfqnlCopyMeta)),
		attr(nfqaCfgQueueMax, be32(delayQueueMax)),
		append(attr(nfqaCfgFlags, be32(nfqaCfgFGSO)), attr(nfqaCfgMask, be32(nfqaCfgFGSO))...),
	}
	for i, a := range cfg {
		if err := q.request(nfqnlMsgConfig, a, uint32(i+1)); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("netlab: NFQUEUE %d config: %w", queue, err)
		}
	}
	q.wg.Add(2)
	go q.readLoop()
	go q.verdictLoop()
	return q, nil
}

func attr(typ uint16, payload []byte) []byte {
	n := 4 + len(payload)
	b := make([]byte, 4, (n+3)&^3)
	binary.NativeEndian.PutUint16(b[0:], uint16(n))
	binary.NativeEndian.PutUint16(b[2:], typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// message builds a netfilter netlink message for the queue subsystem.
func (q *delayer) message(msgType uint16, flags uint16, seq uint32, attrs []byte) []byte {
	b := make([]byte, 20, 20+len(attrs))
	binary.NativeEndian.PutUint32(b[0:], uint32(20+len(attrs)))
	binary.NativeEndian.PutUint16(b[4:], nfnlSubsysQueue<<8|msgType)
	binary.NativeEndian.PutUint16(b[6:], flags)
	binary.NativeEndian.PutUint32(b[8:], seq)
	// nfgenmsg: family, version, res_id (queue number, big-endian)
	b[16], b[17] = unix.AF_UNSPEC, 0
	binary.BigEndian.PutUint16(b[18:], q.queue)
	return append(b, attrs...)
}

// request sends a config message and waits for its acknowledgement.
func (q *delayer) request(msgType uint16, attrs []byte, seq uint32) error {
	msg := q.message(msgType, unix.NLM_F_REQUEST|unix.NLM_F_ACK, seq, attrs)
	if err := unix.Sendto(q.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for range 10 {
		n, _, err := unix.Recvfrom(q.fd, buf, 0)
		if err != nil {
			return err
		}
		for b := buf[:n]; len(b) >= 16; {
			l := int(binary.NativeEndian.Uint32(b[0:]))
			if l < 16 || l > len(b) {
				break
			}
			if binary.NativeEndian.Uint16(b[4:]) == unix.NLMSG_ERROR && binary.NativeEndian.Uint32(b[8:]) == seq && l >= 20 {
				if code := int32(binary.NativeEndian.Uint32(b[16:])); code != 0 {
					return syscall.Errno(-code)
				}
				return nil
			}
			b = b[(l+3)&^3:]
		}
	}
	return errors.New("no acknowledgement")
}

func (q *delayer) readLoop() {
	defer q.wg.Done()
	defer close(q.in)
	routerThread()
	buf := make([]byte, 1<<16)
	for {
		select {
		case <-q.done:
			return
		default:
		}
		n, _, err := unix.Recvfrom(q.fd, buf, 0)
		now := time.Now()
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOBUFS) {
				continue
			}
			q.setErr(err)
			return
		}
		for b := buf[:n]; len(b) >= 16; {
			l := int(binary.NativeEndian.Uint32(b[0:]))
			if l < 16 || l > len(b) {
				break
			}
			if binary.NativeEndian.Uint16(b[4:]) == nfnlSubsysQueue<<8|nfqnlMsgPacket {
				if id, ok := packetID(b[16:l]); ok {
					select {
					case q.in <- held{id: id, due: now.Add(q.delay)}:
					case <-q.done:
						return
					}
				}
			}
			b = b[min((l+3)&^3, len(b)):]
		}
	}
}

// packetID finds NFQA_PACKET_HDR's packet id in a packet message's body
// (after the netlink header).
func packetID(body []byte) (uint32, bool) {
	if len(body) < 4 {
		return 0, false
	}
	for a := body[4:]; len(a) >= 4; {
		l := int(binary.NativeEndian.Uint16(a[0:]))
		typ := binary.NativeEndian.Uint16(a[2:]) & 0x3fff
		if l < 4 || l > len(a) {
			return 0, false
		}
		if typ == nfqaPacketHdr && l >= 8 {
			return binary.BigEndian.Uint32(a[4:]), true
		}
		a = a[min((l+3)&^3, len(a)):]
	}
	return 0, false
}

// routerThread gives the calling goroutine an OS thread of its own at the
// highest CPU priority (nice -20; the thread ends with the goroutine). A
// router has a CPU of its own: without this, a packet due to leave waited
// while the lab's services used both cores (the delayer waited 3-58 s for
// a CPU per run), and that wait was WAN latency and jitter that the
// systems under test saw and reacted to (SMSTorrent's yield took it for a
// queue). It needs root, which the lab has; without it the thread keeps
// the normal priority.
func routerThread() {
	runtime.LockOSThread()
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), -20)
}

// delayProcs is the GOMAXPROCS the lab's process runs with while it delays
// packets: two slots per delayer thread, and the rest.
const delayProcs = 8

// delayBatch is the window of due times one verdict covers: the loop wakes
// half of it after a packet's due time and lets every packet due up to half
// of it later go too, so a packet leaves at most half the window early or
// late (a packet alone is never early), with one verdict (a syscall) and one
// wake-up for every packet in the window instead of one per packet.
const delayBatch = time.Millisecond

// verdictLoop lets the held packets go, in arrival order, once they are due
// (see delayBatch).
func (q *delayer) verdictLoop() {
	defer q.wg.Done()
	routerThread()
	var seq uint32 = 1000
	const half = delayBatch / 2
	// wait sleeps for d (nothing if d is not positive) in the kernel, on
	// this thread, not on a Go timer (which another, ordinary thread of
	// this process would have to fire); false when closing.
	wait := func(d time.Duration) bool {
		if d > 0 {
			ts := unix.NsecToTimespec(d.Nanoseconds())
			for unix.Nanosleep(&ts, &ts) == unix.EINTR {
			}
		}
		select {
		case <-q.done:
			return false
		default:
			return true
		}
	}
	for h := range q.in {
		if !wait(time.Until(h.due) + half) {
			return
		}
		last := h.id
	more:
		for {
			select {
			case n, ok := <-q.in:
				if !ok {
					break more
				}
				if d := time.Until(n.due); d > half {
					// Not due yet: let the batch so far go, and wait.
					q.send(&seq, last)
					if !wait(d + half) {
						return
					}
				}
				last = n.id
			default:
				break more
			}
		}
		q.send(&seq, last)
	}
}

func (q *delayer) send(seq *uint32, id uint32) {
	*seq++
	v := binary.BigEndian.AppendUint32(nil, nfAccept)
	v = binary.BigEndian.AppendUint32(v, id)
	msg := q.message(nfqnlMsgVerdBatch, unix.NLM_F_REQUEST, *seq, attr(nfqaVerdictHdr, v))
	if err := unix.Sendto(q.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		q.setErr(err)
	}
}

func (q *delayer) setErr(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err == nil {
		q.err = err
	}
}

// Close stops holding packets and closes the socket.
func (q *delayer) Close() error {
	q.closed.Do(func() {
		close(q.done)
		q.wg.Wait()
		unix.Close(q.fd)
	})
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// setupDelay queues forwarded packets in the core: queue 0 for hq<->branch
// (one WAN link), queue 1 for branch<->branch (two links).
func (l *Lab) setupDelay(ctx context.Context) error {
	d := l.Topo.WANDelay
	// A delayer thread back from a system call needs a P (one of the Go
	// runtime's GOMAXPROCS slots) to go on; with one per core, both may be
	// held by this process's ordinary goroutines (the watchers, counters)
	// whose threads wait for a CPU. Spare slots let the router threads
	// (routerThread) go on at once.
	if runtime.GOMAXPROCS(0) < delayProcs {
		runtime.GOMAXPROCS(delayProcs)
	}
	for i, spec := range []struct {
		queue uint16
		delay time.Duration
		match []string
	}{
		{1, 2 * d, []string{"-i", "wan+", "-o", "wan+"}},
		{0, d, nil},
	} {
		q, err := startDelay(l.CoreNS, spec.queue, spec.delay)
		if err != nil {
			return err
		}
		l.mu.Lock()
		l.delayers = append(l.delayers, q)
		l.mu.Unlock()
		args := append([]string{"netns", "exec", l.CoreNS, "iptables", "-w", "5", "-A", "FORWARD"}, spec.match...)
		args = append(args, "-j", "NFQUEUE", "--queue-num", fmt.Sprint(spec.queue), "--queue-bypass")
		if err := run(ctx, "ip", args...); err != nil {
			return fmt.Errorf("delay rule %d: %w", i, err)
		}
	}
	return nil
}
