package core

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"go.etcd.io/bbolt"
)

// completion is the engine's piece-completion store. It writes a piece's
// "complete" mark to a bbolt database as soon as the engine verifies the
// piece, and never persists "incomplete": after a restart, a piece is either
// known complete or unknown, and unknown pieces are hashed against the disk
// before anything is requested. So a crash or kill -9 never makes the
// service download a verified piece again. (The library's own bolt store
// buffers marks and persists "incomplete", which loses pieces on a kill.)
//
// bbolt runs without fsync per piece: marks survive a process crash at
// once; against power loss, the service re-verifies every package after an
// unclean shutdown (see cleanMarker).
type completion struct {
	db *bbolt.DB

	mu         sync.Mutex
	incomplete map[metainfo.PieceKey]bool // this run's "not complete" marks
}

var (
	_ storage.PieceCompletion             = (*completion)(nil)
	_ storage.PieceCompletionPersistenter = (*completion)(nil)
)

var completeBucket = []byte("complete")

func openCompletion(dir string) (*completion, error) {
	db, err := bbolt.Open(filepath.Join(dir, "pieces.db"), 0o644, &bbolt.Options{Timeout: 5 * time.Second, NoSync: true})
	if err != nil {
		return nil, fmt.Errorf("opening piece database (is another service running on this data folder?): %w", err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(completeBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	return &completion{db: db, incomplete: map[metainfo.PieceKey]bool{}}, nil
}

func pieceKey(pk metainfo.PieceKey) []byte {
	k := make([]byte, 24)
	copy(k, pk.InfoHash[:])
	binary.BigEndian.PutUint32(k[20:], uint32(pk.Index))
	return k
}

// Persistent tells the engine that marks survive restarts.
func (c *completion) Persistent() bool { return true }

// Get returns a piece's completion; Ok is false when it is unknown.
func (c *completion) Get(pk metainfo.PieceKey) (storage.Completion, error) {
	c.mu.Lock()
	inc := c.incomplete[pk]
	c.mu.Unlock()
	if inc {
		return storage.Completion{Ok: true, Complete: false}, nil
	}
	var done bool
	err := c.db.View(func(tx *bbolt.Tx) error {
		done = tx.Bucket(completeBucket).Get(pieceKey(pk)) != nil
		return nil
	})
	if err != nil {
		return storage.Completion{}, err
	}
	if done {
		return storage.Completion{Ok: true, Complete: true}, nil
	}
	return storage.Completion{}, nil
}

// Set records a piece's completion.
func (c *completion) Set(pk metainfo.PieceKey, complete g.Option[bool]) error {
	c.mu.Lock()
	if complete.Ok && !complete.Value {
		c.incomplete[pk] = true
	} else {
		delete(c.incomplete, pk)
	}
	c.mu.Unlock()
	return c.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(completeBucket)
		if complete.Ok && complete.Value {
			return b.Put(pieceKey(pk), []byte{1})
		}
		return b.Delete(pieceKey(pk))
	})
}

// forget drops every mark of a torrent (its package was removed).
func (c *completion) forget(ih metainfo.Hash) {
	c.mu.Lock()
	for k := range c.incomplete {
		if k.InfoHash == ih {
			delete(c.incomplete, k)
		}
	}
	c.mu.Unlock()
	_ = c.db.Update(func(tx *bbolt.Tx) error {
		cur := tx.Bucket(completeBucket).Cursor()
		for k, _ := cur.Seek(ih[:]); len(k) == 24 && string(k[:20]) == string(ih[:]); k, _ = cur.Next() {
			if err := cur.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// sync flushes the database to disk.
func (c *completion) sync() error { return c.db.Sync() }

// Close closes the database.
func (c *completion) Close() error { return c.db.Close() }
