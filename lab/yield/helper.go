package yield

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// HelperArg is the first argument that makes a program built with this
// package run one of the scenario's helper processes instead of its own
// main (see HelperMain). The scenario starts helpers by running its own
// executable inside a lab namespace.
const HelperArg = "__yield-helper"

// HelperMain runs a helper process: args are what follows HelperArg.
//
//	fg-server -listen ADDR -probe ADDR   hq: endless HTTP stream, the sender's congestion control set per request (?cc=)
//	fg-client -url URL -cc NAME -for D  a client: bulk download, bytes logged every 100 ms
//	rtt -addr ADDR -every D              a client: TCP handshake times to ADDR
func HelperMain(args []string) error {
	if len(args) == 0 {
		return errors.New("helper: missing subcommand")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "fg-server":
		return fgServer(ctx, args[1:])
	case "fg-client":
		return fgClient(ctx, args[1:])
	case "rtt":
		return rttProbe(ctx, args[1:])
	}
	return fmt.Errorf("helper: unknown subcommand %q", args[0])
}

// setCC sets TCP_CONGESTION on a socket and reads it back.
func setCC(rc syscall.RawConn, cc string) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		if serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, cc); serr != nil {
			return
		}
		got, err := unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION)
		if err != nil {
			serr = err
			return
		}
		if got = strings.TrimRight(got, "\x00"); got != cc {
			serr = fmt.Errorf("TCP_CONGESTION is %q after setting %q", got, cc)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

type connKey struct{}

// fgServer serves /stream: an endless body. The download's congestion
// control is the sender's, so the server sets ?cc= on the accepted socket.
// A second listener (-probe) accepts and closes at once, for RTT probes.
func fgServer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fg-server", flag.ContinueOnError)
	listen := fs.String("listen", "", "address of the stream server")
	probe := fs.String("probe", "", "address of the accept-and-close listener for RTT probes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	pl, err := net.Listen("tcp", *probe)
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := pl.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	buf := make([]byte, 256<<10)
	for i := range buf {
		buf[i] = byte(i*7919 + i>>8)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		cc := r.URL.Query().Get("cc")
		if c, ok := r.Context().Value(connKey{}).(*net.TCPConn); ok && cc != "" {
			rc, err := c.SyscallConn()
			if err == nil {
				err = setCC(rc, cc)
			}
			if err != nil {
				http.Error(w, "congestion control: "+err.Error(), http.StatusBadRequest)
				return
			}
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		fmt.Fprintf(os.Stderr, "%s stream to %s, cc %s\n", time.Now().UTC().Format(time.RFC3339Nano), r.RemoteAddr, cc)
		for {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	go func() {
		<-ctx.Done()
		pl.Close()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// fgClient downloads -url for -for, with TCP_CONGESTION set on its own
// socket too, and prints "ms_since_epoch bytes_total" every 100 ms, with
// "start" and "stop" lines around the transfer.
func fgClient(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fg-client", flag.ContinueOnError)
	url := fs.String("url", "", "stream URL")
	cc := fs.String("cc", "cubic", "TCP congestion control (both ends)")
	dur := fs.Duration("for", 20*time.Second, "how long to download")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error { return setCC(rc, *cc) }}
	tr := &http.Transport{DialContext: d.DialContext, Proxy: nil, DisableCompression: true}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url+"?cc="+*cc, nil)
	if err != nil {
		return err
	}
	fmt.Printf("start %d\n", time.Now().UnixMilli())
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	var total int64
	done := make(chan error, 1)
	counts := make(chan int, 1024)
	go func() {
		buf := make([]byte, 256<<10)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				counts <- n
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case n := <-counts:
			total += int64(n)
		case <-tick.C:
			fmt.Printf("%d %d\n", time.Now().UnixMilli(), total)
		case err := <-done:
			fmt.Printf("stop %d %d\n", time.Now().UnixMilli(), total)
			if ctx.Err() != nil {
				return nil // the planned end
			}
			return err
		}
	}
}

// rttProbe prints "ms_since_epoch rtt_us" for a TCP handshake to -addr
// every -every (-1 when the handshake failed within a second).
func rttProbe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rtt", flag.ContinueOnError)
	addr := fs.String("addr", "", "host:port to connect to")
	every := fs.Duration("every", 100*time.Millisecond, "interval")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t := time.NewTicker(*every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		var d net.Dialer
		start := time.Now()
		c, err := d.DialContext(dctx, "tcp", *addr)
		rtt := time.Since(start)
		cancel()
		if err != nil {
			fmt.Printf("%d -1\n", start.UnixMilli())
			continue
		}
		c.Close()
		fmt.Printf("%d %d\n", start.UnixMilli(), rtt.Microseconds())
	}
}
