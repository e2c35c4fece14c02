package yield

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/smstorrent/smstorrent/lab/netlab"
)

// Report is the scenario's result (lab/results/yield.json).
type Report struct {
	Generated    time.Time          `json:"generated"`
	Quick        bool               `json:"quick,omitempty"`
	LabID        string             `json:"lab_id"`
	WANRateBits  int64              `json:"wan_rate_bits"`
	WANDelayMS   float64            `json:"wan_delay_ms"`
	PackageBytes int64              `json:"package_bytes"`
	Phases       map[string]float64 `json:"phases_s"`
	Targets      Targets            `json:"targets"`
	// ServiceBinary is the smstorrent-service the run copied and used.
	ServiceBinary *BinaryInfo `json:"service_binary,omitempty"`
	Cases         []Case      `json:"cases"`
}

// BinaryInfo identifies an executable the run used.
type BinaryInfo struct {
	Path     string    `json:"path"`
	Modified time.Time `json:"modified"`
	SHA256   string    `json:"sha256"`
}

// Targets are issue 7's.
type Targets struct {
	FgRatioMin   float64 `json:"fg_ratio_min"`
	IdleShareMin float64 `json:"idle_share_min"`
	AddedDelayMS float64 `json:"added_delay_max_ms"`
	GiveWayS     float64 `json:"give_way_max_s"`
	TakeBackS    float64 `json:"take_back_max_s"`
}

// DefaultTargets are the targets.
func DefaultTargets() Targets {
	return Targets{FgRatioMin: 0.90, IdleShareMin: 0.90, AddedDelayMS: 30, GiveWayS: 3, TakeBackS: 5}
}

// Case is one queue depth and foreground congestion control.
type Case struct {
	QueueMS float64 `json:"queue_ms"`
	CC      string  `json:"cc"`
	// The foreground alone: its rate after Settle, seconds to 90 % of it,
	// the idle RTT before it and the queueing delay it built.
	FgAloneMbit float64 `json:"fg_alone_mbit"`
	// FgAlonePortMbit is the same, unscaled: the ratio's denominator.
	FgAlonePortMbit float64 `json:"fg_alone_port_mbit"`
	fgAlonePort     float64
	FgAloneRampS    float64 `json:"fg_alone_ramp_s"`
	IdleRTTMS       float64 `json:"idle_rtt_ms"`
	FgAloneQueueMS  float64 `json:"fg_alone_queue_ms"`
	// CounterScale: WAN shaper bytes ÷ router port bytes over the phase.
	CounterScale float64     `json:"counter_scale"`
	Error        string      `json:"error,omitempty"`
	Runs         []SystemRun `json:"runs"`
}

// SystemRun is one background system's timeline in one case. Rates are wire
// rates (Ethernet frames, as the WAN shaper meters them) in Mbit/s; times
// in seconds; -1 means never (or not measurable).
type SystemRun struct {
	System string `json:"system"`
	Label  string `json:"label"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	// Note says what was unusual about a run that still measured.
	Note string `json:"note,omitempty"`
	// FgRatio: foreground rate next to the background (after Settle) ÷ alone.
	FgRatio         float64 `json:"fg_ratio"`
	FgWithMbit      float64 `json:"fg_with_mbit"`
	FgWithWholeMbit float64 `json:"fg_with_whole_phase_mbit"`
	BgDuringFgMbit  float64 `json:"bg_during_fg_mbit"`
	// IdleShare: the background alone (after Settle) ÷ the line rate.
	IdleShare float64 `json:"idle_share"`
	AloneMbit float64 `json:"alone_mbit"`
	AfterMbit float64 `json:"after_mbit"`
	// FlowWaitS: from the add until the first MiB had arrived (the alone
	// phase starts then).
	FlowWaitS float64 `json:"flow_wait_s"`
	// RampS: from the first MiB to ≥ 90 % of the line, held 1 s.
	RampS float64 `json:"ramp_s"`
	// Delay from the probe client: idle RTT; median and p95 added by the
	// background alone; RTT while both run.
	IdleRTTMS       float64 `json:"idle_rtt_ms"`
	AddedDelayMS    float64 `json:"added_delay_ms"`
	AddedDelayP95MS float64 `json:"added_delay_p95_ms"`
	FgRTTMS         float64 `json:"fg_rtt_ms"`
	FgRTTP95MS      float64 `json:"fg_rtt_p95_ms"`
	// GiveWayS: foreground start to ≥ 90 % of its solo rate, held 1 s.
	// TakeBackS: foreground stop to background ≥ 90 % of the line, held 1 s.
	GiveWayS  float64 `json:"give_way_s"`
	TakeBackS float64 `json:"take_back_s"`
	// CounterScale: WAN shaper bytes ÷ router port bytes over the run.
	CounterScale float64 `json:"counter_scale"`
	FgStartS     float64 `json:"fg_start_s"`
	FgStopS      float64 `json:"fg_stop_s"`
	// Summary of the client's own view by phase.
	Summary map[string]PhaseSummary `json:"summary,omitempty"`
	Status  []StatusSample          `json:"status,omitempty"`
	Series  []SeriesPoint           `json:"series,omitempty"`
}

// StatusSample is the background client's own view at T seconds after the add.
type StatusSample struct {
	T float64 `json:"t"`
	// SMSTorrent: status.bandwidth.
	Reason        string `json:"reason,omitempty"`
	Yielding      bool   `json:"yielding,omitempty"`
	QueueDelayMS  int64  `json:"queue_delay_ms,omitempty"`
	BaseDelayMS   int64  `json:"base_delay_ms,omitempty"`
	EffectiveDown int64  `json:"effective_down,omitempty"`
	DownRate      int64  `json:"down_rate"`
	// Transmission: peers by transport.
	UTPPeers int `json:"utp_peers,omitempty"`
	TCPPeers int `json:"tcp_peers,omitempty"`
}

// PhaseSummary condenses the status samples of one phase.
type PhaseSummary struct {
	Samples           int            `json:"samples"`
	Reasons           map[string]int `json:"reasons,omitempty"`
	YieldingShare     float64        `json:"yielding_share"`
	QueueDelayMedMS   float64        `json:"queue_delay_median_ms"`
	BaseDelayMedMS    float64        `json:"base_delay_median_ms"`
	EffectiveDownMedK float64        `json:"effective_down_median_kib"`
	UTPPeersMax       int            `json:"utp_peers_max,omitempty"`
	TCPPeersMax       int            `json:"tcp_peers_max,omitempty"`
}

// SeriesPoint is the rates at T seconds after the add (smoothed over ±250 ms).
type SeriesPoint struct {
	T      float64 `json:"t"`
	BgMbit float64 `json:"bg"`
	FgMbit float64 `json:"fg"`
}

func (r *SystemRun) summarize(ph Phases, flow, fgStart, fgStop float64) {
	phases := []struct {
		name     string
		from, to float64
	}{
		{"alone", flow + ph.Settle.Seconds(), fgStart},
		{"fg", fgStart, fgStop},
		{"after", fgStop, 1e9},
	}
	r.Summary = map[string]PhaseSummary{}
	for _, p := range phases {
		var s PhaseSummary
		var qd, base, eff []float64
		for _, st := range r.Status {
			if st.T < p.from || st.T >= p.to {
				continue
			}
			s.Samples++
			if st.Reason != "" {
				if s.Reasons == nil {
					s.Reasons = map[string]int{}
				}
				s.Reasons[st.Reason]++
			}
			if st.Yielding {
				s.YieldingShare++
			}
			qd = append(qd, float64(st.QueueDelayMS))
			base = append(base, float64(st.BaseDelayMS))
			eff = append(eff, float64(st.EffectiveDown)/1024)
			s.UTPPeersMax = max(s.UTPPeersMax, st.UTPPeers)
			s.TCPPeersMax = max(s.TCPPeersMax, st.TCPPeers)
		}
		if s.Samples == 0 {
			continue
		}
		s.YieldingShare = round(s.YieldingShare/float64(s.Samples), 2)
		for _, x := range []struct {
			v   []float64
			dst *float64
		}{{qd, &s.QueueDelayMedMS}, {base, &s.BaseDelayMedMS}, {eff, &s.EffectiveDownMedK}} {
			slices.Sort(x.v)
			*x.dst = round(quantile(x.v, 0.5), 1)
		}
		r.Summary[p.name] = s
	}
}

// WriteJSON writes the report (creating its folder).
func (r *Report) WriteJSON(path string) error { return netlab.WriteJSON(path, r) }

// ReadReport reads a report written by WriteJSON.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Markers around the yield section of docs/BENCHMARKS.md.
const (
	BeginMarker = "<!-- BEGIN yield lab -->"
	EndMarker   = "<!-- END yield lab -->"
)

// UpdateMarkdownFile replaces the text between the yield markers in path
// with section, or appends the section with its markers; everything else
// in the file stays as it is.
func UpdateMarkdownFile(path, section string) error {
	return netlab.UpdateMarkdownSection(path, BeginMarker, EndMarker, section)
}
