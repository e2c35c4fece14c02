// Package cli implements the smstorrent-tracker command line: serve,
// keygen, create and publish. The executable's main only sets up signals
// and calls Run, so tests drive the same code in-process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/internal/atomicfile"
	"github.com/smstorrent/smstorrent/internal/cmdline"
	"github.com/smstorrent/smstorrent/internal/pkgsign"
	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/tracker/config"
	"github.com/smstorrent/smstorrent/tracker/server"
)

const usage = `usage: smstorrent-tracker <command> [flags]

commands:
  serve    --config PATH                  run the tracker and the repository
  keygen   [--out NAME] [--force]         write an ed25519 key pair NAME.key / NAME.pub
  create   --id ID --source DIR --key FILE -o FILE.torrent
           [--version V] [--name "Display name"] [--previous V] [--align=false]
           [--piece-length N] [--webseed URL]... [--announce URL | --config PATH]
                                          make a signed private torrent of a package folder
  publish  FILE.torrent --repository URL (--token T | --token-file F)
                                          upload a signed torrent to the repository
Run "smstorrent-tracker <command> --help" for a command's flags.
`

// ErrUsage is returned for a wrong command line; the message says what.
var ErrUsage = errors.New("usage")

// Run runs one command.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", ErrUsage)
	}
	err := run(ctx, args[0], args[1:], stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the flag package printed the command's help
	}
	return err
}

func run(ctx context.Context, cmd string, rest []string, stdout, stderr io.Writer) error {
	switch cmd {
	case "serve":
		return serve(ctx, rest, stderr)
	case "keygen":
		return keygen(rest, stdout, stderr)
	case "create":
		return create(rest, stdout, stderr)
	case "publish":
		return publish(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", ErrUsage, cmd)
}

// parse parses flags and positional arguments in any order (package
// cmdline) and refuses more than max positional arguments. -h prints the
// command's flags.
func parse(fs *flag.FlagSet, args []string, max int) ([]string, error) {
	w := fs.Output()
	fs.SetOutput(io.Discard)
	defer fs.SetOutput(w)
	usage := fs.Name() + " [flags]"
	pos, err := cmdline.Parse(fs, args, usage)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(w)
		fmt.Fprintf(w, "usage: %s\n", usage)
		fs.PrintDefaults()
		return nil, err
	}
	if err == nil {
		err = cmdline.Args(pos, 0, max, usage)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return pos, nil
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("smstorrent-tracker "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parse prints the flags for -h
	return fs
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	cfgFile := fs.String("config", "", "configuration file (JSON); see docs/TRACKER.md")
	verbose := fs.Bool("verbose", false, "log debug messages")
	pos, err := parse(fs, args, -1)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: serve takes no arguments (got %q)", ErrUsage, pos[0])
	}
	cfg, err := config.Load(*cfgFile)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	srv, err := server.New(cfg, log)
	if err != nil {
		return fmt.Errorf("starting tracker: %w", err)
	}
	return srv.Serve(ctx)
}

func keygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", stderr)
	out := fs.String("out", "smstorrent-signing", "file name prefix: writes PREFIX.key (private, mode 0600) and PREFIX.pub")
	force := fs.Bool("force", false, "overwrite existing files")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	priv, pub := *out+".key", *out+".pub"
	if !*force {
		for _, f := range []string{priv, pub} {
			if _, err := os.Stat(f); err == nil {
				return fmt.Errorf("%s exists; use --force to overwrite it", f)
			}
		}
	}
	k, err := pkgsign.GenerateKey()
	if err != nil {
		return fmt.Errorf("generating key: %w", err)
	}
	if err := os.WriteFile(priv, pkgsign.MarshalPrivateKey(k), 0o600); err != nil {
		return fmt.Errorf("writing private key: %w", err)
	}
	if err := os.WriteFile(pub, []byte(k.Public().String()+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing public key: %w", err)
	}
	fmt.Fprintf(stdout, "private key: %s (keep it secret)\npublic key:  %s\n%s\nadd the public key to trusted_keys of the tracker and of every service\n", priv, pub, k.Public())
	return nil
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// trackerURLs checks the announce URL (from --announce, else from the
// tracker configuration) and the web seeds of a new torrent.
func trackerURLs(announceURL, cfgFile string, webseeds []string) (string, error) {
	ann := announceURL
	if ann == "" {
		if cfgFile == "" {
			return "", fmt.Errorf("%w: give --announce URL or --config PATH", ErrUsage)
		}
		cfg, err := config.Load(cfgFile)
		if err != nil {
			return "", err
		}
		ann = server.AnnounceURL(cfg)
	}
	if u, err := url.Parse(ann); err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "udp") {
		return "", fmt.Errorf("announce URL %q must be an http, https or udp URL", ann)
	}
	for _, w := range webseeds {
		if u, err := url.Parse(w); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return "", fmt.Errorf("web seed %q must be an http or https URL", w)
		}
	}
	return ann, nil
}

func create(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("create", stderr)
	id := fs.String("id", "", "package ID (also the torrent's name), e.g. PS100012")
	src := fs.String("source", "", "package folder")
	version := fs.String("version", "", "package version (default: the creation time, e.g. 20261121.064500)")
	pieceLen := fs.Int64("piece-length", 0, "piece length in bytes, a power of two ≥ 16384 (default 262144)")
	var webseeds stringList
	fs.Var(&webseeds, "webseed", "web seed URL (BEP 19); repeatable")
	keyFile := fs.String("key", "", "private key file written by keygen")
	announceURL := fs.String("announce", "", "announce URL (default: from --config)")
	cfgFile := fs.String("config", "", "tracker configuration, for the announce URL")
	out := fs.String("o", "", "output .torrent file")
	name := fs.String("name", "", "display name shown beside the ID, e.g. \"Office 2024\" (signed)")
	previous := fs.String("previous", "", "the version this one follows (signed; the repository shows what changed)")
	align := fs.Bool("align", true, "start every file on a piece boundary (BEP 47 padding), so PCs reuse unchanged files and pieces of cached versions")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	switch {
	case *id == "":
		return fmt.Errorf("%w: --id is required", ErrUsage)
	case *src == "":
		return fmt.Errorf("%w: --source is required", ErrUsage)
	case *keyFile == "":
		return fmt.Errorf("%w: --key is required", ErrUsage)
	case *out == "":
		return fmt.Errorf("%w: -o is required", ErrUsage)
	}
	if err := pkgsign.ValidID(*id); err != nil {
		return err
	}
	ann, err := trackerURLs(*announceURL, *cfgFile, webseeds)
	if err != nil {
		return err
	}
	key, err := pkgsign.LoadPrivateKey(*keyFile)
	if err != nil {
		return err
	}
	v := *version
	if v == "" {
		v = time.Now().UTC().Format("20060102.150405")
	}
	if err := pkgsign.ValidName(*name); err != nil {
		return err
	}
	opts := pkgsign.CreateOptions{PieceLength: *pieceLen, Announce: ann, WebSeeds: webseeds, Align: *align}
	if *align {
		opts.Version = v // the same content as another version gets its own info-hash
	}
	mi, err := pkgsign.CreateWith(*src, *id, opts)
	if err != nil {
		return fmt.Errorf("creating torrent: %w", err)
	}
	mi.CreationDate = time.Now().Unix()
	b, err := pkgsign.SignMeta(mi, pkgsign.Meta{ID: *id, Version: v, Name: *name, Previous: *previous}, key)
	if err != nil {
		return fmt.Errorf("signing torrent: %w", err)
	}
	// Check what we wrote the way the service will.
	p, err := pkgsign.Verify(b, []pkgsign.PublicKey{key.Public()})
	if err != nil {
		return fmt.Errorf("checking the new torrent: %w", err)
	}
	if err := atomicfile.Write(*out, b, 0o644); err != nil {
		return err
	}
	label := p.ID
	if p.Name != "" {
		label += " (" + p.Name + ")"
	}
	fmt.Fprintf(stdout, "%s: package %s version %s, %d files, %s, info-hash %s, signed by %s\n",
		*out, label, p.Version, len(p.ContentFiles()), units.Bytes(p.ContentSize()), p.InfoHash.HexString(), p.Signer)
	return nil
}

func publish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("publish", stderr)
	repoURL := fs.String("repository", "", "repository base URL, e.g. http://tracker:6969")
	token := fs.String("token", "", "admin token (or set SMSTORRENT_ADMIN_TOKEN)")
	tokenFile := fs.String("token-file", "", "file holding the admin token")
	pos, err := parse(fs, args, -1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: publish takes one .torrent file", ErrUsage)
	}
	if *repoURL == "" {
		return fmt.Errorf("%w: --repository is required", ErrUsage)
	}
	tok := *token
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("reading token: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		tok = os.Getenv("SMSTORRENT_ADMIN_TOKEN")
	}
	if tok == "" {
		return fmt.Errorf("%w: give --token, --token-file or SMSTORRENT_ADMIN_TOKEN", ErrUsage)
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		return fmt.Errorf("reading torrent: %w", err)
	}
	res, err := Publish(ctx, http.DefaultClient, *repoURL, tok, b)
	if err != nil {
		return err
	}
	switch res.Status {
	case repoapi.StatusUnchanged:
		fmt.Fprintf(stdout, "%s version %s is already the current version (info-hash %s)\n", res.ID, res.Version, res.InfoHash)
	default:
		fmt.Fprintf(stdout, "published %s version %s (info-hash %s)", res.ID, res.Version, res.InfoHash)
		if res.Replaced != "" {
			fmt.Fprintf(stdout, "; version %s is now listed as previous", res.Replaced)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

// Publish uploads a signed torrent to a repository.
func Publish(ctx context.Context, hc *http.Client, repository, token string, torrent []byte) (*repoapi.PublishResult, error) {
	c := &repoapi.Client{BaseURL: repository, HTTPClient: hc, Token: token}
	return c.Publish(ctx, torrent)
}
