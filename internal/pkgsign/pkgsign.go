// Package pkgsign defines how SMSTorrent packages are signed and checked.
//
// A package is a private BitTorrent v1 torrent whose info name is the package
// ID. The publisher signs it with an ed25519 key; the signature travels inside
// the .torrent file as a top-level dictionary under the key "smstorrent",
// outside "info", so the info-hash is the same with or without it:
//
//	smstorrent: {
//	  v:       1
//	  id:      "PS100012"          package ID (also the info name)
//	  version: "1.0"               publisher's version string (may be empty)
//	  signer:  <32 bytes>          ed25519 public key
//	  sig:     <64 bytes>          ed25519 signature over Message(infohash, id, version)
//	}
//
// The tracker's creator signs (Sign); the service verifies (Verify) before
// anything is written to disk, and refuses unsigned torrents, unknown signers,
// and torrents whose file names could leave the package's folder.
package pkgsign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgid"
)

// MaxTorrentSize bounds a .torrent file read from disk or the network.
const MaxTorrentSize = 16 << 20

// Errors returned by Verify. Test with errors.Is.
var (
	ErrMalformed     = errors.New("malformed torrent")
	ErrUnsigned      = errors.New("torrent is not signed")
	ErrUnknownSigner = errors.New("torrent is signed by a key that is not trusted")
	ErrBadSignature  = errors.New("torrent signature does not match its content")
	ErrUnsafe        = pkgid.ErrUnsafe
)

// Package is what a verified torrent says about itself.
type Package struct {
	ID       string
	Version  string
	Name     string // display name ("" if none)
	Previous string // the version the creator made this one against ("" if none)
	Signer   PublicKey
	InfoHash metainfo.Hash
	Meta     *metainfo.MetaInfo
	Info     metainfo.Info
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

// Message is the byte string that is signed.
func Message(ih metainfo.Hash, id, version string) []byte {
	return []byte("SMSTorrent package signature v1\x00" + ih.HexString() + "\x00" + id + "\x00" + version)
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
	w := wire{
		Announce:     mi.Announce,
		AnnounceList: mi.AnnounceList,
		Comment:      mi.Comment,
		CreatedBy:    mi.CreatedBy,
		CreationDate: mi.CreationDate,
		Info:         mi.InfoBytes,
		UrlList:      mi.UrlList,
		Smstorrent: &signature{
			V:       1,
			ID:      id,
			Version: version,
			Signer:  key.Public(),
		},
	}
	w.Smstorrent.Name, w.Smstorrent.Previous = m.Name, m.Previous
	w.Smstorrent.Sig = ed25519.Sign(ed25519.PrivateKey(key), signedMessage(ih, w.Smstorrent))
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
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrMalformed)
	}
	if len(b) > MaxTorrentSize {
		return nil, fmt.Errorf("%w: %d bytes is larger than the %d byte limit", ErrMalformed, len(b), MaxTorrentSize)
	}
	var w wire
	if err := bencode.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(w.Info) == 0 {
		return nil, fmt.Errorf("%w: no info dictionary", ErrMalformed)
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return nil, fmt.Errorf("%w: info: %v", ErrMalformed, err)
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
	if s.V != 1 {
		return nil, fmt.Errorf("%w: signature format v%d is not supported", ErrMalformed, s.V)
	}
	if len(s.Signer) != ed25519.PublicKeySize || len(s.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature fields have the wrong length", ErrMalformed)
	}
	known := false
	for _, k := range trusted {
		if k.Equal(p.Signer) {
			known = true
			break
		}
	}
	if !known {
		return nil, fmt.Errorf("%w (%s); add it to trusted_keys if this publisher is yours", ErrUnknownSigner, p.Signer)
	}
	if !ed25519.Verify(ed25519.PublicKey(s.Signer), signedMessage(p.InfoHash, s), s.Sig) {
		return nil, ErrBadSignature
	}
	return p, nil
}

// ValidID checks a package ID; see pkgid.ValidID.
func ValidID(id string) error { return pkgid.ValidID(id) }

func checkSafe(p *Package) error {
	if err := ValidID(p.ID); err != nil {
		return err
	}
	if p.Info.Name != p.ID {
		return fmt.Errorf("%w: torrent name %q is not the package ID %q", ErrUnsafe, p.Info.Name, p.ID)
	}
	if p.Info.Private == nil || !*p.Info.Private {
		return fmt.Errorf("%w: torrent is not marked private", ErrUnsafe)
	}
	if !p.Info.HasV1() || p.Info.PieceLength <= 0 {
		return fmt.Errorf("%w: not a v1 torrent", ErrUnsafe)
	}
	if p.Info.TotalLength() < 0 {
		return fmt.Errorf("%w: negative length", ErrUnsafe)
	}
	seen := map[string]bool{}
	for _, f := range p.Info.Files {
		if f.Length < 0 {
			return fmt.Errorf("%w: negative file length", ErrUnsafe)
		}
		name, err := SafeRelPath(f.BestPath())
		if err != nil {
			return err
		}
		key := strings.ToLower(name)
		if seen[key] {
			return fmt.Errorf("%w: file %q appears twice (names differ only in case on Windows)", ErrUnsafe, name)
		}
		seen[key] = true
	}
	return nil
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
