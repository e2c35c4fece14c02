package netlab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's times:
// 100 on every Linux the lab runs on (x86-64 and arm64 fix it at 100).
const clockTicks = 100

// ProcCPU returns the CPU time (user + system) that process pid has used,
// with that of its children it has waited for: utime + stime + cutime +
// cstime of /proc/<pid>/stat.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU reads fields 14-17 of a /proc/<pid>/stat line. The command
// name (field 2) is in parentheses and may hold spaces and parentheses, so
// the fields are counted from the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("netlab: /proc stat without a command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime..cstime are fields 14..17.
	if len(f) < 15 {
		return 0, fmt.Errorf("netlab: /proc stat has %d fields", len(f)+2)
	}
	var ticks int64
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("netlab: /proc stat time %q", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// ProcRunWait returns how long the threads of process pid that still exist
// have waited on a run queue for a CPU (the second field of each
// /proc/<pid>/task/<tid>/schedstat): time the process was ready to run and
// did not.
func ProcRunWait(pid int) time.Duration {
	dirs, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	var wait time.Duration
	for _, d := range dirs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, d.Name()))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			if ns, err := strconv.ParseInt(f[1], 10, 64); err == nil && ns > 0 {
				wait += time.Duration(ns)
			}
		}
	}
	return wait
}

// CPU returns the CPU time the process has used, with its waited-for
// children: from /proc while it runs, from its exit status once it has
// exited (0 if neither can be read).
func (p *Proc) CPU() time.Duration {
	if !p.Running() {
		if st := p.cmd.ProcessState; st != nil {
			return st.UserTime() + st.SystemTime()
		}
		return 0
	}
	d, err := ProcCPU(p.PID())
	if err != nil {
		// It exited between the two looks (or /proc cannot be read: then
		// nothing is known).
		select {
		case <-p.done:
			if st := p.cmd.ProcessState; st != nil {
				return st.UserTime() + st.SystemTime()
			}
		case <-time.After(time.Second):
		}
		return 0
	}
	return d
}

// CPUSample is one look at where the machine's CPU time went.
type CPUSample struct {
	At time.Time
	// Procs is the CPU time of every process the lab started, by PID.
	Procs map[int]ProcSample
	// Self and Children are this process's own CPU time (the lab: its
	// NFQUEUE delayer, its polling, an in-process server) and that of its
	// children it has waited for (one-off commands: ctl, ip, tc, and lab
	// processes that have exited).
	Self, Children time.Duration
	// SelfRunWait is how long this process's threads waited for a CPU.
	SelfRunWait time.Duration
	// MachineBusy and MachineTotal are /proc/stat's CPU times of the whole
	// machine (all cores): not idle, and everything.
	MachineBusy, MachineTotal time.Duration
	// Load is /proc/loadavg's 1-minute load average.
	Load float64
}

// ProcSample is one process's CPU time at a sample.
type ProcSample struct {
	Label   string
	Helper  bool
	Exited  bool
	CPUTime time.Duration
	// RunWait is ProcRunWait while it runs (0 once it has exited).
	RunWait time.Duration
}

// CPU samples the CPU time of every process the lab has started and of the
// machine. Two samples' difference (CPUDelta) splits a run's CPU between the
// system under test, the lab's helpers and everything else on the machine.
func (l *Lab) CPU() CPUSample {
	l.mu.Lock()
	procs := append([]*Proc(nil), l.started...)
	l.mu.Unlock()
	s := CPUSample{At: time.Now(), Procs: map[int]ProcSample{}}
	for _, p := range procs {
		ps := ProcSample{Label: p.Label, Helper: p.Helper, Exited: !p.Running(), CPUTime: p.CPU()}
		if !ps.Exited {
			ps.RunWait = ProcRunWait(p.PID())
		}
		s.Procs[p.PID()] = ps
	}
	s.Self, s.Children = rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
	s.SelfRunWait = ProcRunWait(os.Getpid())
	s.MachineBusy, s.MachineTotal = machineCPU()
	s.Load = loadAvg()
	return s
}

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU reads the first line of /proc/stat: user nice system idle
// iowait irq softirq steal ..., in USER_HZ ticks.
func machineCPU() (busy, total time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	return parseMachineCPU(string(line))
}

func parseMachineCPU(line string) (busy, total time.Duration) {
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	var idle, all int64
	// Fields 1..8: user nice system idle iowait irq softirq steal (guest
	// times are already inside user and nice).
	for i, s := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0
		}
		all += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	tick := time.Second / clockTicks
	return time.Duration(all-idle) * tick, time.Duration(all) * tick
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// CPUDelta is where CPU time went between two samples.
type CPUDelta struct {
	Wall time.Duration
	// System is the CPU time of the processes of the system under test
	// (every lab process not marked Helper), by label.
	System map[string]time.Duration
	// SystemRunWait is how long the system's processes (those running at
	// both samples) waited for a CPU, by label.
	SystemRunWait map[string]time.Duration
	// Helpers is the lab's own: helper processes, this process (the
	// delayer, polling) and one-off commands.
	HelperProcs, Self, Commands time.Duration
	// SelfRunWait is how long the lab's own process (its delayer) waited
	// for a CPU: the time packets sat in the NFQUEUE beyond their delay, at
	// most.
	SelfRunWait time.Duration
	// Others is what the rest of the machine used meanwhile (other users'
	// builds): the machine's busy time minus all of the above.
	Others time.Duration
	// Capacity is the machine's CPU capacity over the interval, in CPU time.
	Capacity time.Duration
	// LoadStart and LoadEnd are the 1-minute load averages.
	LoadStart, LoadEnd float64
}

// SystemTotal is the system under test's CPU time.
func (d CPUDelta) SystemTotal() time.Duration {
	var t time.Duration
	for _, v := range d.System {
		t += v
	}
	return t
}

// LabTotal is the lab's own CPU time.
func (d CPUDelta) LabTotal() time.Duration { return d.HelperProcs + d.Self + d.Commands }

// Sub returns what happened between a (earlier) and b.
func (b CPUSample) Sub(a CPUSample) CPUDelta {
	d := CPUDelta{Wall: b.At.Sub(a.At), System: map[string]time.Duration{}, SystemRunWait: map[string]time.Duration{},
		LoadStart: a.Load, LoadEnd: b.Load}
	d.Self = b.Self - a.Self
	d.SelfRunWait = max(b.SelfRunWait-a.SelfRunWait, 0)
	children := b.Children - a.Children
	for pid, pb := range b.Procs {
		used := pb.CPUTime - a.Procs[pid].CPUTime // 0 before a process started
		if used < 0 {
			used = 0
		}
		if pa, seen := a.Procs[pid]; pb.Exited && (!seen || !pa.Exited) {
			// Waited for in the interval: its whole life is inside the
			// children figure.
			children -= pb.CPUTime
		}
		if pb.Helper {
			d.HelperProcs += used
		} else {
			d.System[pb.Label] += used
			if pa, seen := a.Procs[pid]; seen && !pb.Exited && pb.RunWait > pa.RunWait {
				d.SystemRunWait[pb.Label] += pb.RunWait - pa.RunWait
			}
		}
	}
	d.Commands = max(children, 0)
	d.Capacity = b.MachineTotal - a.MachineTotal
	d.Others = max((b.MachineBusy-a.MachineBusy)-d.SystemTotal()-d.LabTotal(), 0)
	return d
}
