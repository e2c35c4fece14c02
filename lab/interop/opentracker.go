package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// OpentrackerBin is the Debian package opentracker's executable.
const OpentrackerBin = "/usr/bin/opentracker"

// Opentracker is an opentracker on loopback. Debian builds it
// whitelist-only: it serves the info-hashes given to Start.
type Opentracker struct {
	Announce string // http://ip:port/announce
	ip       string
	port     int
	dir      string
	proc     *proc
}

// NewOpentracker chooses its port on ip, so that torrents can name its
// announce URL before Start.
func NewOpentracker(ip, dir string) (*Opentracker, error) {
	port, err := FreePort(ip)
	if err != nil {
		return nil, err
	}
	return &Opentracker{Announce: fmt.Sprintf("http://%s:%d/announce", ip, port), ip: ip, port: port, dir: dir}, nil
}

// Start runs it, serving the info-hashes hashes, and waits until it
// answers a scrape.
func (o *Opentracker) Start(hashes ...[20]byte) error {
	if _, err := os.Stat(OpentrackerBin); err != nil {
		return fmt.Errorf("%s is not installed (Debian package opentracker): %w", OpentrackerBin, err)
	}
	// It drops to user nobody, who must read its folder.
	if err := os.Chmod(o.dir, 0o755); err != nil {
		return err
	}
	var wl bytes.Buffer
	for _, h := range hashes {
		wl.WriteString(hex.EncodeToString(h[:]) + "\n")
	}
	if err := os.WriteFile(filepath.Join(o.dir, "whitelist.txt"), wl.Bytes(), 0o644); err != nil {
		return err
	}
	conf := "access.whitelist whitelist.txt\ntracker.rootdir " + o.dir + "\n"
	cf := filepath.Join(o.dir, "opentracker.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return err
	}
	p := strconv.Itoa(o.port)
	args := []string{"-f", cf, "-i", o.ip, "-p", p} // TCP only: the port was checked free for TCP
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	var err error
	if o.proc, err = startProc(OpentrackerBin, filepath.Join(o.dir, "opentracker.log"), o.dir, nil, args...); err != nil {
		return err
	}
	if len(hashes) == 0 {
		return nil
	}
	// It reads its whitelist on a thread of its own after it starts
	// listening: until then it answers scrapes but refuses announces, and
	// an origin that announced then would wait for the engine's retry.
	return o.proc.waitReady("opentracker", 30*time.Second, func(context.Context) error {
		for _, h := range hashes {
			if err := o.serves(h); err != nil {
				return err
			}
		}
		return nil
	})
}

// serves reports an error unless opentracker takes announces of ih: it
// sends a stopped event for a peer it never saw, which changes nothing.
func (o *Opentracker) serves(ih [20]byte) error {
	q := url.Values{"peer_id": {"-SMSTORRENT-readycheck"[:20]}, "port": {"1"}, "left": {"0"}, "uploaded": {"0"},
		"downloaded": {"0"}, "event": {"stopped"}, "compact": {"1"}}
	u := fmt.Sprintf("http://%s:%d/announce?info_hash=%s&%s", o.ip, o.port, url.QueryEscape(string(ih[:])), q.Encode())
	var r struct {
		Failure string `bencode:"failure reason"`
	}
	if err := o.get(u, &r); err != nil {
		return err
	}
	if r.Failure != "" {
		return fmt.Errorf("opentracker refuses %x: %s", ih, r.Failure)
	}
	return nil
}

// Peers scrapes the number of peers (seeders and leechers) of ih.
func (o *Opentracker) Peers(ih [20]byte) (int, error) {
	u := fmt.Sprintf("http://%s:%d/scrape?info_hash=%s", o.ip, o.port, url.QueryEscape(string(ih[:])))
	var r struct {
		Files map[string]struct {
			Complete   int `bencode:"complete"`
			Incomplete int `bencode:"incomplete"`
		} `bencode:"files"`
	}
	if err := o.get(u, &r); err != nil {
		return 0, err
	}
	f := r.Files[string(ih[:])]
	return f.Complete + f.Incomplete, nil
}

// get decodes opentracker's bencoded answer to the GET of u into v.
func (o *Opentracker) get(u string, v any) error {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return err
	}
	if err := bencode.Unmarshal(b, v); err != nil {
		return fmt.Errorf("opentracker %s: %q: %w", strings.SplitN(u, "?", 2)[0], b, err)
	}
	return nil
}

// State says whether it still runs, with the end of its output.
func (o *Opentracker) State() string { return o.proc.state() }

// Stop ends it.
func (o *Opentracker) Stop() { o.proc.stop() }
