// Package pkgsign defines how SMSTorrent packages are signed and checked.
//
// A package is a private BitTorrent v1 torrent whose info name is the package
// ID. The publisher signs it with an ed25519 key; the signature travels inside
// the .torrent file as a top-level dictionary under the key "smstorrent",
// outside "info", so the info-hash is the same with or without it:
//
//	smstorrent: {
//	  v:       2
//	  id:      "PS100012"          package ID (also the info name)
//	  version: "1.0"               publisher's version string (may be empty)
//	  signer:  <32 bytes>          ed25519 public key
//	  sig:     <64 bytes>          ed25519 signature over messageV2: infohash, id, version, name, previous, announce, trackers, web seeds
//	}
//
// Version 2 signatures also cover the torrent's trackers (announce and
// announce-list) and web seeds (url-list); version 1 signatures cover only
// the info-hash, ID and version, so a v1 torrent's trackers and web seeds are
// not the publisher's word: Verify leaves them out of the Package (see
// Package.Trackers).
//
// The tracker's creator signs (Sign); the service verifies (Verify) before
// anything is written to disk, and refuses unsigned torrents, unknown signers,
// torrents over the size limits, and torrents whose names could leave the
// package's folder, checked exactly as the engine's file storage uses them
// (StoragePath).
package pkgsign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgid"
)

// Limits on a package. A torrent over any of them is refused with
// ErrTooLarge before anything reaches the engine.
const (
	// MaxTorrentSize bounds a .torrent file read from disk or the network.
	MaxTorrentSize = 16 << 20
	// MaxFiles bounds the files of one package: the engine keeps per-file
	// state for each (see docs/SECURITY.md for the memory it costs).
	MaxFiles = 50_000
	// MaxTotalLength bounds a package's content (1 TiB).
	MaxTotalLength = 1 << 40
	// MaxPieceLength bounds the piece length (the engine hashes a piece at a time).
	MaxPieceLength = 64 << 20
	// MaxSources bounds the trackers plus web seeds of one torrent.
	MaxSources = 32
	// maxURL bounds one tracker or web seed URL.
	maxURL = 2048
)

// Errors returned by Verify. Test with errors.Is.
var (
	ErrMalformed     = errors.New("malformed torrent")
	ErrUnsigned      = errors.New("torrent is not signed")
	ErrUnknownSigner = errors.New("torrent is signed by a key that is not trusted")
	ErrBadSignature  = errors.New("torrent signature does not match its content")
	ErrUnsafe        = pkgid.ErrUnsafe
	ErrTooLarge      = errors.New("torrent is over SMSTorrent's limits")
)

// Package is what a verified torrent says about itself.
type Package struct {
	ID       string
	Version  string
	Name     string // display name ("" if none)
	Previous string // the version the creator made this one against ("" if none)
	Signer   PublicKey
	InfoHash metainfo.Hash
	// Meta is the parsed .torrent. After Verify its announce, announce-list
	// and url-list hold only what the signature covers (Trackers and
	// WebSeeds); for a v1 signature they are empty.
	Meta *metainfo.MetaInfo
	Info metainfo.Info
	// SignedSources is true for a v2 signature, which covers Trackers and
	// WebSeeds.
	SignedSources bool
	// Trackers are the signed announce URLs in tiers; WebSeeds the signed
	// web seeds (BEP 19). Both are empty for a v1 signature.
	Trackers [][]string
	WebSeeds []string
	// UnsignedTrackers are a v1 torrent's announce URLs, which its signature
	// does not cover: use one only after checking it against the
	// configuration (the service keeps those on the repository's host).
	UnsignedTrackers [][]string
}

// Size is the total length of the package's files.
func (p *Package) Size() int64 { return p.Info.TotalLength() }

// PublicKey is an ed25519 public key, written as "ed25519:<base64>".
type PublicKey ed25519.PublicKey

const keyPrefix = "ed25519:"

func (k PublicKey) String() string {
	return keyPrefix + base64.StdEncoding.EncodeToString(k)
}

// Equal reports whether two keys are the same.
func (k PublicKey) Equal(o PublicKey) bool { return bytes.Equal(k, o) }

// ParsePublicKey parses "ed25519:<base64>" (the prefix may be omitted).
func ParsePublicKey(s string) (PublicKey, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), keyPrefix))
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("public key: not base64: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key: %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return PublicKey(b), nil
}

// PrivateKey is an ed25519 private key.
type PrivateKey ed25519.PrivateKey

// Public returns the matching public key.
func (k PrivateKey) Public() PublicKey {
	return PublicKey(ed25519.PrivateKey(k).Public().(ed25519.PublicKey))
}

const privPrefix = "smstorrent-ed25519-private:"

// GenerateKey makes a new key pair.
func GenerateKey() (PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	return PrivateKey(priv), err
}

// MarshalPrivateKey encodes a private key as one text line.
func MarshalPrivateKey(k PrivateKey) []byte {
	return []byte(privPrefix + base64.StdEncoding.EncodeToString(ed25519.PrivateKey(k).Seed()) + "\n")
}

// ParsePrivateKey decodes what MarshalPrivateKey wrote.
func ParsePrivateKey(b []byte) (PrivateKey, error) {
	s := strings.TrimSpace(string(b))
	if !strings.HasPrefix(s, privPrefix) {
		return nil, errors.New("private key: not an SMSTorrent private key file")
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, privPrefix))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("private key: damaged key file")
	}
	return PrivateKey(ed25519.NewKeyFromSeed(seed)), nil
}

// LoadPrivateKey reads a private key file.
func LoadPrivateKey(file string) (PrivateKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading private key: %w", err)
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return k, nil
}

// LoadPublicKey reads a public key file (or accepts the key itself).
func LoadPublicKey(fileOrKey string) (PublicKey, error) {
	if k, err := ParsePublicKey(fileOrKey); err == nil {
		return k, nil
	}
	b, err := os.ReadFile(fileOrKey)
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	k, err := ParsePublicKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fileOrKey, err)
	}
	return k, nil
}

// Message is the byte string that a v1 signature signs. Verify still
// accepts v1 signatures, but a v1 torrent's trackers and web seeds are not
// signed and are left out of the Package.
func Message(ih metainfo.Hash, id, version string) []byte {
	return []byte("SMSTorrent package signature v1\x00" + ih.HexString() + "\x00" + id + "\x00" + version)
}

// messageV2 is the byte string that a v2 signature signs: the info-hash,
// ID, version, display name and previous version, the announce field, the
// trackers in tiers and the web seeds, bencoded as one list so that no
// field can run into the next.
func messageV2(ih metainfo.Hash, s *signature, announce string, trackers [][]string, webseeds []string) []byte {
	if trackers == nil {
		trackers = [][]string{}
	}
	if webseeds == nil {
		webseeds = []string{}
	}
	b, err := bencode.Marshal([]any{ih.HexString(), s.ID, s.Version, s.Name, s.Previous, announce, trackers, webseeds})
	if err != nil {
		// Strings and lists of strings always encode.
		panic(err)
	}
	return append([]byte("SMSTorrent package signature v2\x00"), b...)
}

// sources returns a .torrent's trackers (announce-list, or announce alone)
// and web seeds as the signature covers them: empty URLs and tiers dropped.
func sources(announce string, list metainfo.AnnounceList, urls metainfo.UrlList) ([][]string, []string) {
	var tiers [][]string
	if len(list) == 0 && announce != "" {
		list = metainfo.AnnounceList{{announce}}
	}
	for _, tier := range list {
		var t []string
		for _, u := range tier {
			if u != "" {
				t = append(t, u)
			}
		}
		if len(t) > 0 {
			tiers = append(tiers, t)
		}
	}
	var ws []string
	for _, u := range urls {
		if u != "" {
			ws = append(ws, u)
		}
	}
	return tiers, ws
}

// checkSources refuses tracker and web seed URLs the service must not fetch.
func checkSources(trackers [][]string, webseeds []string) error {
	n := len(webseeds)
	for _, t := range trackers {
		n += len(t)
	}
	if n > MaxSources {
		return fmt.Errorf("%w: %d trackers and web seeds, more than %d", ErrTooLarge, n, MaxSources)
	}
	for _, t := range trackers {
		for _, u := range t {
			if err := checkURL(u, "http", "https", "udp"); err != nil {
				return fmt.Errorf("%w: tracker %v", ErrUnsafe, err)
			}
		}
	}
	for _, u := range webseeds {
		if err := checkURL(u, "http", "https"); err != nil {
			return fmt.Errorf("%w: web seed %v", ErrUnsafe, err)
		}
	}
	return nil
}

func checkURL(s string, schemes ...string) error {
	if len(s) > maxURL {
		return fmt.Errorf("URL of %d bytes is too long", len(s))
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if !slices.Contains(schemes, u.Scheme) || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q must be a %s URL with a host and no user name", s, strings.Join(schemes, ", "))
	}
	return nil
}

type signature struct {
	V        int    `bencode:"v"`
	ID       string `bencode:"id"`
	Version  string `bencode:"version"`
	Name     string `bencode:"name,omitempty"`     // display name; see signedMessage
	Previous string `bencode:"previous,omitempty"` // the version this one follows
	Signer   []byte `bencode:"signer"`
	Sig      []byte `bencode:"sig"`
}

// wire is the .torrent as SMSTorrent writes it: the usual keys plus ours.
type wire struct {
	Announce     string                `bencode:"announce,omitempty"`
	AnnounceList metainfo.AnnounceList `bencode:"announce-list,omitempty"`
	Comment      string                `bencode:"comment,omitempty"`
	CreatedBy    string                `bencode:"created by,omitempty"`
	CreationDate int64                 `bencode:"creation date,omitempty"`
	Info         bencode.Bytes         `bencode:"info"`
	Smstorrent   *signature            `bencode:"smstorrent,omitempty"`
	UrlList      metainfo.UrlList      `bencode:"url-list,omitempty"`
}

// Sign returns the bencoded .torrent for mi with a signature for package id
// and version. mi.InfoBytes must already hold the bencoded info.
func Sign(mi *metainfo.MetaInfo, id, version string, key PrivateKey) ([]byte, error) {
	return SignMeta(mi, Meta{ID: id, Version: version}, key)
}

// SignMeta is Sign with the optional signed fields of Meta.
func SignMeta(mi *metainfo.MetaInfo, m Meta, key PrivateKey) ([]byte, error) {
	id, version := m.ID, m.Version
	if err := ValidID(id); err != nil {
		return nil, err
	}
	if err := ValidName(m.Name); err != nil {
		return nil, err
	}
	ih := mi.HashInfoBytes()
	trackers, webseeds := sources(mi.Announce, mi.AnnounceList, mi.UrlList)
	if err := checkSources(trackers, webseeds); err != nil {
		return nil, err
	}
	w := wire{
		Announce:     mi.Announce,
		AnnounceList: mi.AnnounceList,
		Comment:      mi.Comment,
		CreatedBy:    mi.CreatedBy,
		CreationDate: mi.CreationDate,
		Info:         mi.InfoBytes,
		UrlList:      mi.UrlList,
		Smstorrent: &signature{
			V:       2,
			ID:      id,
			Version: version,
			Signer:  key.Public(),
		},
	}
	w.Smstorrent.Name, w.Smstorrent.Previous = m.Name, m.Previous
	w.Smstorrent.Sig = ed25519.Sign(ed25519.PrivateKey(key), messageV2(ih, w.Smstorrent, mi.Announce, trackers, webseeds))
	return bencode.Marshal(w)
}

// Inspect parses a signed .torrent without checking who signed it. Use it
// only for display; trust decisions need Verify.
func Inspect(b []byte) (*Package, error) {
	return parse(b, nil, false)
}

// Verify parses a .torrent, checks that it is a safe SMSTorrent package and
// that it carries a valid signature by one of the trusted keys.
func Verify(b []byte, trusted []PublicKey) (*Package, error) {
	return parse(b, trusted, true)
}

func parse(b []byte, trusted []PublicKey, check bool) (_ *Package, err error) {
	defer func() {
		// The bencode decoder is hardened in torrent v1.62.0; this is a
		// last line of defence for input from the network.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: decoder failed: %v", ErrMalformed, r)
		}
	}()
	w, mi, info, err := decode(b)
	if err != nil {
		return nil, err
	}
	p := &Package{InfoHash: mi.HashInfoBytes(), Meta: mi, Info: info}
	s := w.Smstorrent
	if s == nil {
		if check {
			return nil, ErrUnsigned
		}
		return p, nil
	}
	p.ID, p.Version, p.Signer = s.ID, s.Version, PublicKey(s.Signer)
	p.Name, p.Previous = s.Name, s.Previous
	if err := ValidName(p.Name); err != nil {
		return nil, err
	}
	if err := checkSafe(p); err != nil {
		return nil, err
	}
	if !check {
		return p, nil
	}
	if err := verifySigned(p, &w, trusted); err != nil {
		return nil, err
	}
	return p, nil
}

// decode reads a .torrent's bytes twice: as our wire form (for the
// smstorrent key and the sources as written) and as the engine's metainfo.
func decode(b []byte) (wire, *metainfo.MetaInfo, metainfo.Info, error) {
	var w wire
	if len(b) == 0 {
		return w, nil, metainfo.Info{}, fmt.Errorf("%w: empty file", ErrMalformed)
	}
	if len(b) > MaxTorrentSize {
		return w, nil, metainfo.Info{}, fmt.Errorf("%w: %d bytes is larger than the %d byte limit", ErrMalformed, len(b), MaxTorrentSize)
	}
	if err := bencode.Unmarshal(b, &w); err != nil {
		return w, nil, metainfo.Info{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(w.Info) == 0 {
		return w, nil, metainfo.Info{}, fmt.Errorf("%w: no info dictionary", ErrMalformed)
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		return w, nil, metainfo.Info{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return w, nil, metainfo.Info{}, fmt.Errorf("%w: info: %v", ErrMalformed, err)
	}
	return w, mi, info, nil
}

// verifySigned checks p's signature by a trusted key and then leaves in
// p.Meta only the sources the signature covers: what the engine may use
// from outside info is what the signature covers, and nothing else.
func verifySigned(p *Package, w *wire, trusted []PublicKey) error {
	s := w.Smstorrent
	if s.V != 1 && s.V != 2 {
		return fmt.Errorf("%w: signature format v%d is not supported", ErrMalformed, s.V)
	}
	if len(s.Signer) != ed25519.PublicKeySize || len(s.Sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature fields have the wrong length", ErrMalformed)
	}
	known := false
	for _, k := range trusted {
		if k.Equal(p.Signer) {
			known = true
			break
		}
	}
	if !known {
		return fmt.Errorf("%w (%s); add it to trusted_keys if this publisher is yours", ErrUnknownSigner, p.Signer)
	}
	trackers, webseeds := sources(w.Announce, w.AnnounceList, w.UrlList)
	msg := signedMessage(p.InfoHash, s)
	if s.V == 2 {
		msg = messageV2(p.InfoHash, s, w.Announce, trackers, webseeds)
	}
	if !ed25519.Verify(ed25519.PublicKey(s.Signer), msg, s.Sig) {
		return ErrBadSignature
	}
	mi := p.Meta
	mi.Announce, mi.AnnounceList, mi.UrlList = "", nil, nil
	if s.V != 2 {
		p.UnsignedTrackers = trackers
		return nil
	}
	if err := checkSources(trackers, webseeds); err != nil {
		return err
	}
	p.SignedSources, p.Trackers, p.WebSeeds = true, trackers, webseeds
	mi.AnnounceList, mi.UrlList = trackers, webseeds
	if len(trackers) > 0 {
		mi.Announce = trackers[0][0]
	}
	return nil
}

// ValidID checks a package ID; see pkgid.ValidID.
func ValidID(id string) error { return pkgid.ValidID(id) }

// checkSafe checks what the engine will use from info: the limits, the
// piece layout it would otherwise refuse, and every name and path exactly
// as its file storage joins them (StoragePath).
func checkSafe(p *Package) error {
	if err := ValidID(p.ID); err != nil {
		return err
	}
	info := &p.Info
	if info.Name != p.ID {
		return fmt.Errorf("%w: torrent name %q is not the package ID %q", ErrUnsafe, info.Name, p.ID)
	}
	if info.NameUtf8 != "" && info.NameUtf8 != info.Name {
		// The engine's storage prefers name.utf-8 (BestName).
		return fmt.Errorf("%w: name.utf-8 %q differs from the package ID %q", ErrUnsafe, info.NameUtf8, p.ID)
	}
	if info.Private == nil || !*info.Private {
		return fmt.Errorf("%w: torrent is not marked private", ErrUnsafe)
	}
	if (info.MetaVersion != 0 && info.MetaVersion != 1) || len(info.FileTree.Dir) > 0 || info.FileTree.File.Length != 0 || !info.HasV1() {
		return fmt.Errorf("%w: not a v1 torrent (v2 and hybrid torrents are not supported)", ErrUnsafe)
	}
	if len(info.Files) == 0 {
		return fmt.Errorf("%w: a package is a folder of files, not a single file", ErrUnsafe)
	}
	if len(info.Files) > MaxFiles {
		return fmt.Errorf("%w: %d files, more than %d", ErrTooLarge, len(info.Files), MaxFiles)
	}
	if info.PieceLength <= 0 || info.PieceLength > MaxPieceLength {
		return fmt.Errorf("%w: piece length %d must be between 1 and %d", ErrUnsafe, info.PieceLength, MaxPieceLength)
	}
	var total int64
	files := map[string]bool{} // lower-cased paths: Windows folds case
	dirs := map[string]bool{}
	for i := range info.Files {
		f := &info.Files[i]
		if f.Length < 0 || f.Length > MaxTotalLength {
			return fmt.Errorf("%w: file length %d", ErrUnsafe, f.Length)
		}
		if total += f.Length; total > MaxTotalLength {
			return fmt.Errorf("%w: more than %d bytes of content", ErrTooLarge, int64(MaxTotalLength))
		}
		if len(f.PathUtf8) > 0 && !slices.Equal(f.PathUtf8, f.Path) {
			// The engine's storage prefers path.utf-8 (BestPath).
			return fmt.Errorf("%w: path.utf-8 %q differs from path %q", ErrUnsafe, f.PathUtf8, f.Path)
		}
		if strings.Contains(f.Attr, "l") || len(f.SymlinkPath) > 0 {
			return fmt.Errorf("%w: file %q is a symbolic link", ErrUnsafe, f.BestPath())
		}
		if _, err := StoragePath(info, f); err != nil {
			return err
		}
		name := strings.ToLower(strings.Join(f.BestPath(), "/"))
		if files[name] {
			return fmt.Errorf("%w: file %q appears twice (names differ only in case on Windows)", ErrUnsafe, name)
		}
		if dirs[name] {
			return fmt.Errorf("%w: %q is both a file and a folder", ErrUnsafe, name)
		}
		files[name] = true
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if files[d] {
				return fmt.Errorf("%w: %q is both a file and a folder", ErrUnsafe, d)
			}
			dirs[d] = true
		}
	}
	if len(info.Pieces)%20 != 0 {
		return fmt.Errorf("%w: piece hashes of %d bytes are not a whole number of SHA-1 hashes", ErrMalformed, len(info.Pieces))
	}
	if want := (total + info.PieceLength - 1) / info.PieceLength; int64(len(info.Pieces)/20) != want {
		return fmt.Errorf("%w: %d piece hashes for %d bytes in pieces of %d (want %d)", ErrMalformed, len(info.Pieces)/20, total, info.PieceLength, want)
	}
	return nil
}

// StoragePath is where the engine's file storage keeps file fi of info,
// relative to the cache folder: BestName() and then BestPath(), joined the
// way anacrolix/torrent's default FilePathMaker joins them, after checking
// each element (a package ID, then safe file names). The service installs
// it as its storage's FilePathMaker, so the check and the use are one
// function.
func StoragePath(info *metainfo.Info, fi *metainfo.FileInfo) (string, error) {
	name := info.BestName()
	if err := ValidID(name); err != nil {
		return "", err
	}
	rel, err := SafeRelPath(fi.BestPath())
	if err != nil {
		return "", err
	}
	return filepath.Join(name, filepath.FromSlash(rel)), nil
}

// SafeRelPath joins torrent path components safely; see pkgid.SafeRelPath.
func SafeRelPath(comps []string) (string, error) { return pkgid.SafeRelPath(comps) }

// Create builds a private torrent of the folder src for package id. The
// folder's content becomes the torrent's files; the torrent's name is id.
func Create(src, id string, pieceLength int64, announce string, webseeds []string) (*metainfo.MetaInfo, error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("source folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("source %s is not a folder", src)
	}
	if pieceLength == 0 {
		pieceLength = 256 << 10
	}
	if pieceLength < 16<<10 || pieceLength&(pieceLength-1) != 0 {
		return nil, fmt.Errorf("piece length %d must be a power of two of at least 16 KiB", pieceLength)
	}
	yes := true
	info := metainfo.Info{PieceLength: pieceLength, Private: &yes}
	if err := info.BuildFromFilePath(src); err != nil {
		return nil, fmt.Errorf("hashing %s: %w", src, err)
	}
	info.Name = id
	if len(info.Files) == 0 {
		// A single file or an empty folder: SMSTorrent packages are folders.
		return nil, fmt.Errorf("source %s has no files", src)
	}
	for _, f := range info.Files {
		if _, err := SafeRelPath(f.BestPath()); err != nil {
			return nil, err
		}
	}
	mi := &metainfo.MetaInfo{Announce: announce, CreatedBy: "SMSTorrent"}
	if announce != "" {
		mi.AnnounceList = [][]string{{announce}}
	}
	mi.UrlList = webseeds
	mi.InfoBytes, err = bencode.Marshal(info)
	if err != nil {
		return nil, err
	}
	return mi, nil
}
