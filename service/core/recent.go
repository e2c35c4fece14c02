package core

import (
	"context"
	"log/slog"
	"sync"

	"github.com/smstorrent/smstorrent/service/api"
)

// RecentLog is an slog.Handler that keeps the last warnings and errors for
// the status page, and passes every record on to the next handler.
type RecentLog struct {
	next  slog.Handler
	ring  *ring
	attrs []slog.Attr
}

type ring struct {
	mu      sync.Mutex
	entries []api.LogEntry
	max     int
}

// NewRecentLog wraps next, keeping the last max warnings and errors.
func NewRecentLog(next slog.Handler, max int) *RecentLog {
	return &RecentLog{next: next, ring: &ring{max: max}}
}

// Enabled implements slog.Handler.
func (h *RecentLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *RecentLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		e := api.LogEntry{Time: r.Time, Level: r.Level.String(), Message: r.Message}
		add := func(a slog.Attr) bool {
			switch a.Key {
			case "job":
				e.Job = a.Value.String()
			case "err", "error":
				e.Message += ": " + a.Value.String()
			}
			return true
		}
		for _, a := range h.attrs {
			add(a)
		}
		r.Attrs(add)
		h.ring.mu.Lock()
		h.ring.entries = append(h.ring.entries, e)
		if len(h.ring.entries) > h.ring.max {
			h.ring.entries = h.ring.entries[len(h.ring.entries)-h.ring.max:]
		}
		h.ring.mu.Unlock()
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

// WithAttrs implements slog.Handler.
func (h *RecentLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &RecentLog{next: h.next.WithAttrs(as), ring: h.ring, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

// WithGroup implements slog.Handler.
func (h *RecentLog) WithGroup(name string) slog.Handler {
	return &RecentLog{next: h.next.WithGroup(name), ring: h.ring, attrs: h.attrs}
}

// Entries returns the kept entries, newest last.
func (h *RecentLog) Entries() []api.LogEntry {
	if h == nil {
		return nil
	}
	h.ring.mu.Lock()
	defer h.ring.mu.Unlock()
	return append([]api.LogEntry(nil), h.ring.entries...)
}
