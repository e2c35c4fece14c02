package pkgsign

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/anacrolix/torrent/metainfo"
)

// Meta is what the publisher signs besides the content: the package ID and
// version, and optionally a display name and the version this one follows.
type Meta struct {
	ID       string
	Version  string
	Name     string // display name, e.g. "Office 2024"; see ValidName
	Previous string // the version the creator compared against
}

// MaxNameLength bounds a display name, in characters.
const MaxNameLength = 100

// ValidName checks a display name: at most MaxNameLength printable
// characters of valid UTF-8 ("" is allowed: no name).
func ValidName(name string) error {
	if name == "" {
		return nil
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength || strings.TrimSpace(name) != name {
		return fmt.Errorf("%w: display name %q must be 1-%d characters of text without leading or trailing spaces", ErrUnsafe, clipName(name), MaxNameLength)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: display name %q has control or invisible characters", ErrUnsafe, clipName(name))
		}
	}
	return nil
}

func clipName(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// signedMessage is the byte string a signature covers: Message, and the
// optional fields when any is present, so that a torrent signed without
// them verifies as before and none can be added, changed or removed
// without breaking the signature.
func signedMessage(ih metainfo.Hash, s *signature) []byte {
	m := Message(ih, s.ID, s.Version)
	if s.Name == "" && s.Previous == "" {
		return m
	}
	return append(m, []byte("\x00ext1\x00name\x00"+s.Name+"\x00previous\x00"+s.Previous)...)
}

// IsPadding reports whether a file of a torrent is a BEP 47 padding file:
// zeros that align the next file to a piece boundary, not content.
func IsPadding(fi metainfo.FileInfo) bool { return strings.Contains(fi.Attr, "p") }

// ContentSize is the length of the package's files without padding.
func (p *Package) ContentSize() int64 {
	var n int64
	for _, f := range p.Info.UpvertedFiles() {
		if !IsPadding(f) {
			n += f.Length
		}
	}
	return n
}

// ContentFiles lists the package's files without padding.
func (p *Package) ContentFiles() []metainfo.FileInfo {
	var out []metainfo.FileInfo
	for _, f := range p.Info.UpvertedFiles() {
		if !IsPadding(f) {
			out = append(out, f)
		}
	}
	return out
}
