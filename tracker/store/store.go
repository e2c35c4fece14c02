// Package store keeps the tracker's durable state in one embedded bbolt
// database file: the package catalogue (current and previous versions of
// every package), the signed .torrent files, and the per-site swarm
// counters and the services' savings reports (the latest per PC and
// version). Peer lists are not stored: clients rebuild them by announcing.
package store

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smstorrent/smstorrent/internal/repoapi"
	"github.com/smstorrent/smstorrent/tracker/savings"
	"github.com/smstorrent/smstorrent/tracker/swarm"
)

var (
	bucketPackages = []byte("packages")
	bucketTorrents = []byte("torrents")
	bucketCounters = []byte("counters")
	bucketReports  = []byte("reports")
)

// Errors from Publish. Test with errors.Is.
var (
	ErrConflict    = errors.New("version conflict")
	ErrNotFound    = errors.New("not found")
	ErrRepublished = errors.New("already published")
)

// File is one file of a package.
type File = repoapi.File

// Version is one published version of a package; the wire type is stored
// as it is served.
type Version = repoapi.Version

// Package is a catalogue entry.
type Package struct {
	ID       string    `json:"id"`
	Current  Version   `json:"current"`
	Previous []Version `json:"previous,omitempty"` // newest first
}

// Store is the database. It is safe for concurrent use.
type Store struct{ db *bolt.DB }

// Open opens or creates the database file.
func Open(file string) (*Store, error) {
	db, err := bolt.Open(file, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", file, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketPackages, bucketTorrents, bucketCounters, bucketReports} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("initialising database %s: %w", file, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Publish makes v the current version of package id and stores its
// torrent. The replaced current version moves to the front of Previous.
// Publishing the current version again returns ErrRepublished; a version
// string or info-hash that was published before for this package returns
// ErrConflict.
func (s *Store) Publish(id string, v Version, torrent []byte) (*Package, error) {
	var out Package
	err := s.db.Update(func(tx *bolt.Tx) error {
		pb := tx.Bucket(bucketPackages)
		var p Package
		if raw := pb.Get([]byte(id)); raw != nil {
			if err := json.Unmarshal(raw, &p); err != nil {
				return fmt.Errorf("decoding package %s: %w", id, err)
			}
			if p.Current.InfoHash == v.InfoHash {
				out = p
				return ErrRepublished
			}
			for _, old := range append([]Version{p.Current}, p.Previous...) {
				if old.InfoHash == v.InfoHash {
					return fmt.Errorf("%w: this torrent was published before as version %q", ErrConflict, old.Version)
				}
				if old.Version == v.Version {
					return fmt.Errorf("%w: version %q of %s is already published with other content; give the new one another version", ErrConflict, v.Version, id)
				}
			}
			p.Previous = append([]Version{p.Current}, p.Previous...)
		}
		p.ID, p.Current = id, v
		raw, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if err := pb.Put([]byte(id), raw); err != nil {
			return err
		}
		if err := tx.Bucket(bucketTorrents).Put([]byte(v.InfoHash), torrent); err != nil {
			return err
		}
		out = p
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrRepublished) {
			return &out, err
		}
		return nil, fmt.Errorf("publishing %s: %w", id, err)
	}
	return &out, nil
}

// Packages lists the catalogue sorted by ID.
func (s *Store) Packages() ([]Package, error) {
	var ps []Package
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPackages).ForEach(func(k, raw []byte) error {
			var p Package
			if err := json.Unmarshal(raw, &p); err != nil {
				return fmt.Errorf("decoding package %s: %w", k, err)
			}
			ps = append(ps, p)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing packages: %w", err)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	return ps, nil
}

// Package returns one catalogue entry, or ErrNotFound.
func (s *Store) Package(id string) (*Package, error) {
	var p Package
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketPackages).Get([]byte(id))
		if raw == nil {
			return ErrNotFound
		}
		return json.Unmarshal(raw, &p)
	})
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", id, err)
	}
	return &p, nil
}

// Torrent returns the stored .torrent of an info-hash (hex), or ErrNotFound.
func (s *Store) Torrent(infoHash string) ([]byte, error) {
	var b []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTorrents).Get([]byte(infoHash))
		if v == nil {
			return ErrNotFound
		}
		b = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("torrent %s: %w", infoHash, err)
	}
	return b, nil
}

// Hashes returns the info-hashes of every published version.
func (s *Store) Hashes() ([]swarm.Hash, error) {
	var hs []swarm.Hash
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTorrents).ForEach(func(k, _ []byte) error {
			var h swarm.Hash
			if n, err := hex.Decode(h[:], k); err != nil || n != 20 {
				return fmt.Errorf("bad info-hash key %q in database", k)
			}
			hs = append(hs, h)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing info-hashes: %w", err)
	}
	return hs, nil
}

type counterJSON struct {
	InfoHash string         `json:"info_hash"`
	Site     string         `json:"site"`
	Counters swarm.Counters `json:"counters"`
}

// SaveCounters replaces the stored counters.
func (s *Store) SaveCounters(recs []swarm.CounterRecord) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		for _, r := range recs {
			ih := hex.EncodeToString(r.InfoHash[:])
			raw, err := json.Marshal(counterJSON{ih, r.Site, r.Counters})
			if err != nil {
				return err
			}
			if err := b.Put([]byte(ih+"/"+r.Site), raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("saving counters: %w", err)
	}
	return nil
}

// LoadCounters returns the stored counters.
func (s *Store) LoadCounters() ([]swarm.CounterRecord, error) {
	var recs []swarm.CounterRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCounters).ForEach(func(k, raw []byte) error {
			var c counterJSON
			if err := json.Unmarshal(raw, &c); err != nil {
				return fmt.Errorf("decoding counter %s: %w", k, err)
			}
			var r swarm.CounterRecord
			if n, err := hex.Decode(r.InfoHash[:], []byte(c.InfoHash)); err != nil || n != 20 {
				return fmt.Errorf("bad info-hash in counter %s", k)
			}
			r.Site, r.Counters = c.Site, c.Counters
			recs = append(recs, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("loading counters: %w", err)
	}
	return recs, nil
}

func reportKey(ih, id swarm.Hash) []byte {
	return []byte(hex.EncodeToString(ih[:]) + "/" + hex.EncodeToString(id[:]))
}

// SaveReports writes changed savings records and deletes dropped ones
// (info-hash, peer ID).
func (s *Store) SaveReports(changed []savings.Record, dropped [][2]swarm.Hash) error {
	if len(changed) == 0 && len(dropped) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReports)
		for _, d := range dropped {
			if err := b.Delete(reportKey(d[0], d[1])); err != nil {
				return err
			}
		}
		for _, r := range changed {
			raw, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := b.Put(reportKey(r.InfoHash, r.PeerID), raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("saving reports: %w", err)
	}
	return nil
}

// LoadReports returns the stored savings records.
func (s *Store) LoadReports() ([]savings.Record, error) {
	var recs []savings.Record
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReports).ForEach(func(k, raw []byte) error {
			var r savings.Record
			ih, id, ok := strings.Cut(string(k), "/")
			if n, err := hex.Decode(r.InfoHash[:], []byte(ih)); !ok || err != nil || n != 20 {
				return fmt.Errorf("bad report key %q", k)
			}
			if n, err := hex.Decode(r.PeerID[:], []byte(id)); err != nil || n != 20 {
				return fmt.Errorf("bad report key %q", k)
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("decoding report %s: %w", k, err)
			}
			recs = append(recs, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("loading reports: %w", err)
	}
	return recs, nil
}
