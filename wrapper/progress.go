package wrapper

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/internal/units"
	"github.com/smstorrent/smstorrent/service/api"
)

// progress prints a job's progress as lines, at most about once a second
// unless the state changes.
type progress struct {
	w         io.Writer
	last      string
	lastState api.State
	lastTime  time.Time
}

func (p *progress) show(j *api.Job) {
	if j == nil {
		return
	}
	line := describe(j)
	now := time.Now()
	if line == p.last || (j.State == p.lastState && now.Sub(p.lastTime) < time.Second) {
		return
	}
	p.last, p.lastState, p.lastTime = line, j.State, now
	fmt.Fprintf(p.w, "%s %s: %s\n", now.Format("15:04:05"), j.ID, line)
}

// describe says how far a job is, in one line.
func describe(j *api.Job) string {
	if j == nil {
		return "unknown"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %.1f%%", j.State, 100*j.Progress())
	if j.BytesTotal > 0 {
		fmt.Fprintf(&b, " (%s of %s", units.Bytes(j.BytesDone), units.Bytes(j.BytesTotal))
		if j.FilesTotal > 0 {
			fmt.Fprintf(&b, ", %d of %d files", j.FilesDone, j.FilesTotal)
		}
		b.WriteString(")")
	}
	if j.DownRate > 0 {
		fmt.Fprintf(&b, ", %s", units.Rate(j.DownRate))
	}
	if j.PeersSite+j.PeersServer > 0 {
		fmt.Fprintf(&b, ", peers: %d in the site, %d servers", j.PeersSite, j.PeersServer)
	}
	if j.ETASeconds > 0 && j.State != api.StateTransferred {
		fmt.Fprintf(&b, ", about %s left", (time.Duration(j.ETASeconds) * time.Second).String())
	}
	if j.Error != "" && (j.State == api.StateError || j.State == api.StateTransientError) {
		fmt.Fprintf(&b, ": %s", j.Error)
	}
	return b.String()
}
