package core

import (
	"reflect"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
)

// eventHub fans events out to the API's subscribers (the tray, the window,
// ctl watch) and remembers what it last published of each job, so that only
// changes are sent. It has its own lock; the service may call it while
// holding the job lock (never the other way round).
type eventHub struct {
	mu        sync.Mutex
	subs      map[chan api.Event]struct{}
	published map[string]api.Job
	closed    bool
}

func newEventHub() *eventHub {
	return &eventHub{subs: map[chan api.Event]struct{}{}, published: map[string]api.Job{}}
}

// subscribe registers a subscriber whose first event is snapshot. The
// channel is closed by cancel, by close, or when the subscriber falls too
// far behind (it should then reconnect).
func (h *eventHub) subscribe(snapshot api.Event) (<-chan api.Event, func()) {
	ch := make(chan api.Event, 256)
	ch <- snapshot
	h.mu.Lock()
	if h.closed {
		close(ch)
	} else {
		h.subs[ch] = struct{}{}
	}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// diff returns the events that tell subscribers what changed since the last
// call: the jobs that changed, transferred and error events, removed jobs,
// and the status.
func (h *eventHub) diff(now time.Time, jobs []api.Job, st api.Status) []api.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var evs []api.Event
	seen := map[string]bool{}
	for _, j := range jobs {
		seen[j.ID] = true
		prev, had := h.published[j.ID]
		if had && reflect.DeepEqual(prev, j) {
			continue
		}
		jj := j
		evs = append(evs, api.Event{Type: api.EventJob, Time: now, Job: &jj})
		if j.State != prev.State {
			switch j.State {
			case api.StateTransferred:
				if had {
					evs = append(evs, api.Event{Type: api.EventJobTransferred, Time: now, Job: &jj})
				}
			case api.StateError, api.StateTransientError:
				evs = append(evs, api.Event{Type: api.EventJobError, Time: now, Job: &jj})
			}
		}
		h.published[j.ID] = j
	}
	for id := range h.published {
		if !seen[id] {
			delete(h.published, id)
			evs = append(evs, api.Event{Type: api.EventJobRemoved, Time: now, JobID: id})
		}
	}
	evs = append(evs, api.Event{Type: api.EventStatus, Time: now, Status: &st})
	return evs
}

// broadcast sends events to every subscriber; a subscriber whose buffer is
// full is dropped (its stream ends and its client reconnects).
func (h *eventHub) broadcast(evs []api.Event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		for _, ev := range evs {
			select {
			case ch <- ev:
			default:
				delete(h.subs, ch)
				close(ch)
				goto next
			}
		}
	next:
	}
}

// close ends every subscriber's stream; later subscribers get only their
// snapshot.
func (h *eventHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		close(ch)
		delete(h.subs, ch)
	}
}
