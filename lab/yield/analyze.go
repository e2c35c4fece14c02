package yield

import (
	"bufio"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// point is one value at one moment.
type point struct {
	At time.Time
	V  float64
}

// rates turns cumulative byte samples into rates (bytes/s, scaled by k),
// one per sample interval, stamped at the interval's middle.
func rates(s []sample, pick func(sample) uint64, k float64) []point {
	var r []point
	for i := 1; i < len(s); i++ {
		dt := s[i].At.Sub(s[i-1].At).Seconds()
		if dt <= 0 {
			continue
		}
		d := float64(pick(s[i]) - pick(s[i-1]))
		r = append(r, point{s[i-1].At.Add(s[i].At.Sub(s[i-1].At) / 2), k * d / dt})
	}
	return r
}

// smooth averages each point with its neighbours within ±half.
func smooth(ps []point, half time.Duration) []point {
	r := make([]point, len(ps))
	lo := 0
	sum, n := 0.0, 0
	hi := 0
	for i, p := range ps {
		for hi < len(ps) && ps[hi].At.Sub(p.At) <= half {
			sum += ps[hi].V
			n++
			hi++
		}
		for lo < hi && p.At.Sub(ps[lo].At) > half {
			sum -= ps[lo].V
			n--
			lo++
		}
		r[i] = point{p.At, sum / float64(max(n, 1))}
	}
	return r
}

// meanRate is the average rate over [from, to] from cumulative samples
// (the nearest samples inside the window), scaled by k; NaN without two samples.
func meanRate(s []sample, pick func(sample) uint64, k float64, from, to time.Time) float64 {
	var first, last *sample
	for i := range s {
		if s[i].At.Before(from) || s[i].At.After(to) {
			continue
		}
		if first == nil {
			first = &s[i]
		}
		last = &s[i]
	}
	if first == nil || last == first {
		return math.NaN()
	}
	return k * float64(pick(*last)-pick(*first)) / last.At.Sub(first.At).Seconds()
}

// sustained returns the seconds from `from` to the start of the first
// stretch of at least hold in which every point (at or after from) is >= thr,
// or -1 when there is none before the end of ps (or `until`).
func sustained(ps []point, from, until time.Time, thr float64, hold time.Duration) float64 {
	var start time.Time
	in := false
	for _, p := range ps {
		if p.At.Before(from) {
			continue
		}
		if p.At.After(until) {
			break
		}
		if p.V >= thr {
			if !in {
				start, in = p.At, true
			}
			if p.At.Sub(start) >= hold {
				return start.Sub(from).Seconds()
			}
		} else {
			in = false
		}
	}
	return -1
}

// rttSample is one TCP handshake time from the probe host.
type rttSample struct {
	At  time.Time
	RTT time.Duration // < 0: failed
}

// readRTTLog parses the rtt helper's output.
func readRTTLog(path string) ([]rttSample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r []rttSample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 2 {
			continue
		}
		ms, err1 := strconv.ParseInt(fs[0], 10, 64)
		us, err2 := strconv.ParseInt(fs[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		d := time.Duration(us) * time.Microsecond
		if us < 0 {
			d = -1
		}
		r = append(r, rttSample{time.UnixMilli(ms), d})
	}
	return r, sc.Err()
}

// fgTimes reads the foreground client's "start" and "stop" stamps.
func fgTimes(path string) (start, stop time.Time, bytes int64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) >= 2 && fs[0] == "start" {
			if ms, err := strconv.ParseInt(fs[1], 10, 64); err == nil {
				start = time.UnixMilli(ms)
			}
		}
		if len(fs) >= 3 && fs[0] == "stop" {
			if ms, err := strconv.ParseInt(fs[1], 10, 64); err == nil {
				stop = time.UnixMilli(ms)
			}
			bytes, _ = strconv.ParseInt(fs[2], 10, 64)
		}
	}
	return start, stop, bytes, !start.IsZero() && !stop.IsZero()
}

// rttStats returns the median and 95th percentile (ms) of the successful
// handshakes in [from, to], and how many there were.
func rttStats(rs []rttSample, from, to time.Time) (median, p95 float64, n int) {
	var v []float64
	for _, r := range rs {
		if r.RTT >= 0 && !r.At.Before(from) && !r.At.After(to) {
			v = append(v, float64(r.RTT)/float64(time.Millisecond))
		}
	}
	if len(v) == 0 {
		return math.NaN(), math.NaN(), 0
	}
	slices.Sort(v)
	return quantile(v, 0.5), quantile(v, 0.95), len(v)
}

// quantile of sorted values, linear between ranks.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}

func round(x float64, places int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return -1
	}
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}
