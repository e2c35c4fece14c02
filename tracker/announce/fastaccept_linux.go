package announce

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// deferAccept is TCP_DEFER_ACCEPT's wait in seconds: the kernel hands a
// connection to accept once its first bytes have arrived (or after this),
// so that the accepting goroutine finds a plain announce already there.
const deferAccept = 2

// rawListener prepares acceptLoop for a TCP listener: a duplicate of its
// descriptor as an *os.File, whose raw Read waits on Go's poller (a
// listener's own raw connection has no Read). Close closes it with the
// listener. It returns nil when ln is not such a listener.
func rawListener(ln net.Listener) *os.File {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return nil
	}
	dup := -1
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, deferAccept)
		dup, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	})
	if err != nil || dup < 0 {
		return nil
	}
	return os.NewFile(uintptr(dup), "listener")
}

// acceptLoop is run's loop on Linux for a TCP listener (l.raw): it
// accepts with accept4 and answers a plain announce whose head has already
// arrived right there, with non-blocking read, write and close and no
// registration with Go's poller, no goroutine and no timer: opentracker's
// syscalls per announce. Any other connection (head not there yet or not
// plain, answer not written at once) becomes a net.Conn for serve. It
// returns false when there is no l.raw.
func (l *fastListener) acceptLoop() bool {
	if l.raw == nil {
		return false
	}
	rc, err := l.raw.SyscallConn()
	if err != nil {
		l.fail(err)
		return true
	}
	buf := make([]byte, fastHeadSize)
	var backoff time.Duration
	for {
		var nfd int
		var sa unix.RawSockaddrAny
		var alen uint32
		var aerr error
		err := rc.Read(func(fd uintptr) bool {
			nfd, alen, aerr = rawAccept(fd, &sa)
			return aerr != unix.EAGAIN
		})
		if err != nil { // the listener is closed
			l.fail(net.ErrClosed)
			return true
		}
		if aerr != nil {
			if errors.Is(aerr, unix.ECONNABORTED) || errors.Is(aerr, unix.EINTR) {
				continue
			}
			// Out of descriptors or memory: wait as net/http does, then retry.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		from, ok := rawAddrPort(&sa, alen)
		l.answerFD(nfd, from.Addr().Unmap(), ok, buf)
	}
}

// answerFD answers a plain announce already read from nfd (from a
// client at from, if known), or hands the connection to serve.
func (l *fastListener) answerFD(nfd int, from netip.Addr, known bool, buf []byte) {
	n, err := rawIO(unix.SYS_READ, nfd, buf)
	end := bytes.Index(buf[:n], []byte("\r\n\r\n"))
	path, query, ok := fastRequest(buf[:max(end, 0)])
	if err != nil || end < 0 || !ok || !known {
		l.toConn(nfd, buf[:n])
		return
	}
	out := bufPool.Get().(*[]byte)
	defer bufPool.Put(out)
	body := l.h.answer(path, query, from, (*out)[:0])
	*out = body
	resp := l.response(buf[:0], body)
	w, err := rawIO(unix.SYS_WRITE, nfd, resp)
	if err == nil && w == len(resp) {
		rawClose(nfd)
		return
	}
	// The socket took less than the answer: write the rest from a goroutine.
	rest := append([]byte(nil), resp[w:]...)
	c, cerr := fdConn(nfd)
	if cerr != nil {
		return
	}
	go func() {
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(fastDeadline))
		_, _ = c.Write(rest)
	}()
}

// The system calls of the accepting goroutine, on non-blocking sockets:
// each returns at once, so they are made raw, without the runtime's
// bookkeeping for a blocking call (which woke its monitor thread whenever
// the tracker became busy after being idle).

// rawAccept is accept4 of a non-blocking, close-on-exec socket.
func rawAccept(lfd uintptr, sa *unix.RawSockaddrAny) (int, uint32, error) {
	alen := uint32(unix.SizeofSockaddrAny)
	r, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, lfd, uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(&alen)),
		unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, 0, e
	}
	return int(r), alen, nil
}

// rawIO is read or write (trap) of b on fd; n is never negative.
func rawIO(trap uintptr, fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// rawClose closes fd (no linger is set: close does not wait).
func rawClose(fd int) { _, _, _ = unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

// toConn turns a descriptor into a net.Conn and serves it on a goroutine
// of its own with the bytes already read.
func (l *fastListener) toConn(nfd int, read []byte) {
	c, err := fdConn(nfd)
	if err != nil {
		return
	}
	go l.serve(c, append([]byte(nil), read...))
}

// fdConn makes a net.Conn of a connected socket and closes nfd.
func fdConn(nfd int) (net.Conn, error) {
	f := os.NewFile(uintptr(nfd), "tcp")
	defer f.Close()
	return net.FileConn(f)
}
