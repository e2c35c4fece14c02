package bench

import (
	"strings"
	"testing"
)

// whyCase is the 2 × 12 case of issue 16: one copy from the origin into
// each branch, exactly, yet time well above the bound.
func whyCase(originB1 int64) SystemResult {
	const mib = 1 << 20
	s := SystemResult{
		System: "smstorrent", OK: true, TimeToAllS: 30.8, RatioToBound: 1.53, BoundS: 20.1,
		WAN: []WANLink{
			{Branch: "b1", RateBits: 20e6, BoundS: 20.1, DoneS: 30.8, Ratio: 1.53, InCopies: 1.048},
			{Branch: "b2", RateBits: 20e6, BoundS: 20.1, DoneS: 26.3, Ratio: 1.31, InCopies: 1.047},
		},
		MaxWANInCopies: 1.048, HQSentCopies: 2.1,
		SourcesByClient: map[string]map[string]int64{
			"b1c1": {"server": originB1}, "b1c2": {"site": 48 * mib},
			"b2c1": {"server": 48 * mib}, "b2c2": {"site": 48 * mib},
		},
		CPU: &CPUFigures{SystemS: 20, LabS: 10, OthersS: 25, CapacityS: 61.6, LoadStart: 2, LoadEnd: 5.5},
	}
	s.Targets = Targets{TimeRatioMax: 1.25, WANInCopiesMax: 1.05, WANInOK: true, HQCopiesMax: 2.2, HQOK: true, BetweenBranchesOK: true}
	return s
}

func TestWhyFollowsFigures(t *testing.T) {
	r := &Report{PackageBytes: 48 << 20}
	// Exactly one copy from the origin: the text must not blame overlapping pieces.
	text := r.why(whyCase(48 << 20))
	for _, bad := range []string{"overlapping", "retransmissions", "hq sent"} {
		if strings.Contains(text, bad) {
			t.Errorf("the text claims %q against its figures:\n%s", bad, text)
		}
	}
	for _, want := range []string{"Branch b1 was last against its bound (30.8 s, 1.53 × its 20.1 s)", "would take 21.1 s", "9.7 s are not bytes",
		"4.5 s apart", "89% busy", "the lab 16%", "part of the waiting is the lab's"} {
		if !strings.Contains(text, want) {
			t.Errorf("the text lacks %q:\n%s", want, text)
		}
	}
	// 1.40 copies from the origin into b1: now the overlap is the figure's.
	text = r.why(whyCase(48 << 20 * 14 / 10))
	if !strings.Contains(text, "overlapping pieces into a branch (from servers, in copies: b1 1.40)") {
		t.Errorf("the text does not name b1's 1.40 copies from the origin:\n%s", text)
	}
	// WAN in over target with one origin copy: headers and retransmissions.
	s := whyCase(48 << 20)
	s.Targets.WANInOK, s.MaxWANInCopies = false, 1.08
	if text := r.why(s); !strings.Contains(text, "not repeated pieces but headers and retransmissions") {
		t.Errorf("no header/retransmission account for 1.08 copies in:\n%s", text)
	}
	// With the first payload's time, the waiting is split.
	s = whyCase(48 << 20)
	s.WAN[0].FirstByteS = 3.2
	if text := r.why(s); !strings.Contains(text, "first payload arrived 3.2 s after the start") || !strings.Contains(text, "leaves 6.5 s of the waiting after it") {
		t.Errorf("the first byte is not used:\n%s", text)
	}
	// A quiet machine: CPU is not blamed.
	s = whyCase(48 << 20)
	s.CPU.OthersS = 0
	if text := r.why(s); !strings.Contains(text, "CPU was not the limit") || strings.Contains(text, "part of the waiting") {
		t.Errorf("a 49%% busy machine is blamed:\n%s", text)
	}
}

func TestSuiteMarkdown(t *testing.T) {
	sms := whyCase(48 << 20)
	tr := SystemResult{System: "transmission", OK: true, RatioToBound: 4.05, MaxWANInCopies: 2.4, HQSentCopies: 3.4,
		WAN: []WANLink{{Branch: "b1", RateBits: 20e6, Ratio: 4.05}}, CPU: &CPUFigures{DeliveredGiB: 1, SystemSPerGiB: 49}}
	sms.CPU.DeliveredGiB, sms.CPU.SystemSPerGiB = 1.125, 38.4
	unequal := SystemResult{System: "smstorrent", OK: true, RatioToBound: 1.37, WAN: []WANLink{
		{Branch: "b1", RateBits: 5e6, Ratio: 1.08}, {Branch: "b2", RateBits: 20e6, Ratio: 1.22}, {Branch: "b3", RateBits: 50e6, Ratio: 1.37}}}
	r := &SuiteReport{Seconds: 1200, Cases: []SuiteCase{
		{Shape: SuiteShapes[0], Report: &Report{PackageBytes: 48 << 20, BoundSeconds: 20.1, Systems: []SystemResult{sms, tr}}},
		{Shape: SuiteShapes[5], Report: &Report{PackageBytes: 48 << 20, BoundSeconds: 80.5, Systems: []SystemResult{unequal}}},
		{Shape: SuiteShapes[1], Error: "boom"},
	}}
	md := r.Markdown()
	for _, want := range []string{
		"| 2 branches × 12 PCs | 20.1 | 1.53 | 1.048 | 2.10 | 38.4 (8.9) | 9.7 | 4.05 | 2.400 | 3.40 | 49.0 (0.0) | 89% (system 32%, lab 16%, others 41%); 18%; 2.0 → 5.5 |",
		"| 1.08 / 1.22 / 1.37 |", "| 5 branches × 4 PCs | failed: boom |", "- **2 branches × 12 PCs**, SMSTorrent: Branch b1 was last",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("suite markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestWhyIgnoresTickSizedSpreadAndNamesOriginWait(t *testing.T) {
	r := &Report{PackageBytes: 48 << 20}
	s := whyCase(48 << 20)
	s.WAN[1].DoneS = s.WAN[0].DoneS - 1.0 // one service tick apart
	s.CPU.OthersS = 0
	s.CPU.SystemRunWaitS = map[string]float64{"hq-service": 9.5}
	text := r.why(s)
	if strings.Contains(text, "apart") {
		t.Errorf("a 1 s spread (the completion tick) is read as a wait:\n%s", text)
	}
	if !strings.Contains(text, "origin's threads waited 9.5 s") || strings.Contains(text, "CPU was not the limit") {
		t.Errorf("the origin's wait for a CPU is not weighed:\n%s", text)
	}
}

func TestWhyNamesClientsThatNeverStarted(t *testing.T) {
	r := &Report{PackageBytes: 48 << 20}
	s := whyCase(48 << 20)
	s.ClientDoneS = map[string]float64{"b1c1": 30, "b2c1": 26, "b2c2": 26}
	s.FirstByteS = map[string]float64{"b1c1": 1.2, "b2c1": 1.3, "b2c2": 1.4}
	if text := r.why(s); !strings.Contains(text, "b1c2 never had a byte") {
		t.Errorf("the stuck client is not named:\n%s", text)
	}
	s.FirstByteS["b1c2"] = 2
	if text := r.why(s); strings.Contains(text, "never had a byte") {
		t.Errorf("a client that had bytes is called stuck:\n%s", text)
	}
}
