// Package viewmodel is the plain-Go logic behind SMSTorrent's window and
// tray: it folds the service's event stream into a picture of the service
// (Store) and turns jobs, bandwidth and diagnostics into the strings and
// flags the views show. It imports no GUI toolkit, so tests drive it without
// a display and the tray can use it without linking Fyne.
package viewmodel

import (
	"slices"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/service/api"
)

// Store is what the client knows about the service, built only from events
// (api.Client.Watch). It is not safe for concurrent use: apply events and read
// it on one goroutine (the window does both inside fyne.Do).
type Store struct {
	// Connected is true from a snapshot until the stream breaks.
	Connected bool
	// EverConnected is true once any snapshot arrived.
	EverConnected bool
	// LastError is the reason the stream last broke.
	LastError string
	// Since is when Connected last changed (or the first event arrived).
	Since time.Time
	// Status is the service status from the latest snapshot or status event;
	// nil before the first.
	Status *api.Status
	// ServiceVersion is the version the service reported last.
	ServiceVersion string
	// Reconnects counts snapshots after the first: service restarts or
	// broken connections.
	Reconnects int
	// History keeps recent total rates for the bandwidth chart.
	History *History

	jobs map[string]api.Job
}

// NewStore makes an empty store whose rate history covers the given span.
func NewStore(span time.Duration) *Store {
	return &Store{jobs: map[string]api.Job{}, History: NewHistory(span)}
}

// Apply folds one event into the store and reports whether anything visible
// changed.
func (s *Store) Apply(ev api.Event) bool {
	at := ev.Time
	if at.IsZero() {
		at = time.Now()
	}
	switch ev.Type {
	case api.EventSnapshot:
		if s.EverConnected {
			s.Reconnects++
		}
		s.jobs = make(map[string]api.Job, len(ev.Jobs))
		for _, j := range ev.Jobs {
			s.jobs[j.ID] = j
		}
		if !s.Connected {
			s.Since = at
		}
		s.Connected, s.EverConnected, s.LastError = true, true, ""
		if ev.Status != nil {
			s.setStatus(ev.Status, at)
		}
	case api.EventJob, api.EventJobTransferred, api.EventJobError:
		if ev.Job == nil {
			return false
		}
		s.jobs[ev.Job.ID] = *ev.Job
	case api.EventJobRemoved:
		if _, ok := s.jobs[ev.JobID]; !ok {
			return false
		}
		delete(s.jobs, ev.JobID)
	case api.EventStatus:
		if ev.Status == nil {
			return false
		}
		s.setStatus(ev.Status, at)
	case api.EventDisconnected:
		if s.Connected || s.Since.IsZero() {
			s.Since = at
		}
		s.Connected = false
		s.LastError = ev.Error
		s.History.Add(at, 0, 0)
	default:
		return false
	}
	return true
}

func (s *Store) setStatus(st *api.Status, at time.Time) {
	s.Status = st
	if st.Version != "" {
		s.ServiceVersion = st.Version
	}
	s.History.Add(at, st.DownRate, st.UpRate)
}

// CanControl reports whether the user may change jobs and bandwidth now:
// connected with the control token.
func (s *Store) CanControl() bool {
	return s.Connected && s.Status != nil && s.Status.Access == api.AccessControl
}

// Job returns one job.
func (s *Store) Job(id string) (api.Job, bool) {
	j, ok := s.jobs[id]
	return j, ok
}

// Jobs returns every job: unfinished ones first, then by priority (highest
// first), then the oldest first.
func (s *Store) Jobs() []api.Job {
	js := make([]api.Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		js = append(js, j)
	}
	slices.SortFunc(js, func(a, b api.Job) int {
		if fa, fb := a.State.Final(), b.State.Final(); fa != fb {
			if fa {
				return 1
			}
			return -1
		}
		if ra, rb := a.Priority.Rank(), b.Priority.Rank(); ra != rb {
			return rb - ra
		}
		if c := a.Added.Compare(b.Added); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return js
}

// Downloads returns the jobs of the Downloads tab: every job that is not
// transferred.
func (s *Store) Downloads() []api.Job {
	return slices.DeleteFunc(s.Jobs(), func(j api.Job) bool { return j.State == api.StateTransferred })
}

// Seeding returns the packages in the cache: transferred jobs, the most
// recently used first.
func (s *Store) Seeding() []api.Job {
	js := slices.DeleteFunc(s.Jobs(), func(j api.Job) bool { return j.State != api.StateTransferred })
	slices.SortStableFunc(js, func(a, b api.Job) int { return b.LastUsed.Compare(a.LastUsed) })
	return js
}

// Sample is the total rate at one moment.
type Sample struct {
	At       time.Time
	Down, Up int64
}

// History keeps the samples of the last Span.
type History struct {
	Span    time.Duration
	samples []Sample
}

// NewHistory makes an empty history of the given span.
func NewHistory(span time.Duration) *History { return &History{Span: span} }

// Add records a sample and forgets those older than Span before it.
func (h *History) Add(at time.Time, down, up int64) {
	if n := len(h.samples); n > 0 && at.Before(h.samples[n-1].At) {
		at = h.samples[n-1].At // clocks of events are the service's; keep order
	}
	h.samples = append(h.samples, Sample{at, down, up})
	cut := 0
	for cut < len(h.samples) && at.Sub(h.samples[cut].At) > h.Span {
		cut++
	}
	if cut > 0 {
		h.samples = append(h.samples[:0], h.samples[cut:]...)
	}
}

// Samples returns the recorded samples, oldest first.
func (h *History) Samples() []Sample { return h.samples }

// Peak returns the largest rate in the history, down or up.
func (h *History) Peak() int64 {
	var p int64
	for _, s := range h.samples {
		p = max(p, s.Down, s.Up)
	}
	return p
}
