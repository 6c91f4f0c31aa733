package playbooks

import (
	"strconv"
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

// systemdStates are the words systemctl is-active answers with.
var systemdStates = map[string]bool{
	"active": true, "inactive": true, "failed": true, "activating": true,
	"deactivating": true, "reloading": true, "refreshing": true, "maintenance": true,
	"unknown": true,
}

// ParseSystemctl reads the output of
//
//	for u in $UNITS; do echo "# unit: $u"; LC_ALL=C systemctl is-active "$u" 2>&1; done
//
// A marker line per unit, because systemctl's excuse when it cannot answer
// spans two lines on a host without systemd as PID 1 (containers, WSL):
//
//	System has not been booted with systemd as init system (PID 1). Can't operate.
//	Failed to connect to bus: Host is down
//
// which gives Active "unknown" with that text as Detail. The one-line-per-unit form
// `printf '%s ' "$u"; systemctl is-active "$u" 2>&1` ("nginx active") is read too,
// with "Failed to …" lines taken as the previous unit's continuation.
func ParseSystemctl(out []byte) ([]knowledge.ServiceState, error) {
	p := newProblems("systemctl_is_active")
	var ss []knowledge.ServiceState
	marked := false // inside a "# unit:" block
	note := func(s *knowledge.ServiceState, text string) {
		if s.Detail != "" {
			s.Detail += " "
		}
		s.Detail += text
		if !systemdStates[s.Active] || s.Active == "" {
			s.Active = "unknown"
		}
	}
	eachLine(out, func(n int, line string) {
		t := strings.TrimSpace(line)
		if t == "" {
			return
		}
		if name, ok := strings.CutPrefix(t, "# unit:"); ok {
			ss = append(ss, knowledge.ServiceState{Name: strings.TrimSpace(name)})
			marked = true
			return
		}
		if marked {
			s := &ss[len(ss)-1]
			if s.Active == "" && s.Detail == "" && systemdStates[t] {
				s.Active = t
				return
			}
			note(s, t)
			return
		}
		if len(ss) > 0 && strings.HasPrefix(t, "Failed to ") && ss[len(ss)-1].Active == "unknown" {
			note(&ss[len(ss)-1], t)
			return
		}
		name, rest, ok := strings.Cut(t, " ")
		if !ok {
			p.add(n, "want a unit name and its state, got %q", line)
			return
		}
		rest = strings.TrimSpace(rest)
		s := knowledge.ServiceState{Name: name, Active: rest}
		if !systemdStates[rest] {
			s.Active, s.Detail = "unknown", rest
		}
		ss = append(ss, s)
	})
	for i := range ss {
		if ss[i].Active == "" {
			// The marker came with no answer at all (stderr lost, or a timeout).
			ss[i].Active = "unknown"
		}
	}
	return ss, p.err()
}

// ParseFree reads the output of
//
//	LC_ALL=C free -m
//
// in all its shapes, by the header's column names:
//
//	procps-ng ≥ 3.3.10 (Debian ≥ 9, RHEL ≥ 7.1): total used free shared buff/cache available
//	free -w:                                     total used free shared buffers cache available
//	procps 3.2 (RHEL 6), procps-ng < 3.3.10:     total used free shared buffers cached
//	                                             plus a "-/+ buffers/cache:" row
//
// On the old shape "used" includes the cache; UsedMB is taken from the -/+ row
// instead so it means the same everywhere, and AvailableMB is that row's free
// (free + buffers + cache), marked AvailableEstimated.
func ParseFree(out []byte) (knowledge.Memory, error) {
	p := newProblems("free")
	var m knowledge.Memory
	var cols []string
	sawMem, sawAvail, sawMinus := false, false, false
	eachLine(out, func(n int, line string) {
		f := strings.Fields(line)
		if len(f) == 0 {
			return
		}
		if cols == nil && f[0] == "total" {
			cols = f
			return
		}
		label := f[0]
		vals := f[1:]
		if label == "-/+" && len(f) >= 2 && f[1] == "buffers/cache:" {
			label, vals = "-/+", f[2:]
		}
		nums := make([]int, len(vals))
		for i, v := range vals {
			x, ok := atoiField(v)
			if !ok {
				p.add(n, "%q is not a number in %q", v, line)
				return
			}
			nums[i] = x
		}
		get := func(name string) (int, bool) {
			for i, c := range cols {
				if c == name && i < len(nums) {
					return nums[i], true
				}
			}
			return 0, false
		}
		switch label {
		case "Mem:":
			if cols == nil {
				p.add(n, "a Mem: row before the header")
				return
			}
			sawMem = true
			m.TotalMB, _ = get("total")
			m.UsedMB, _ = get("used")
			m.FreeMB, _ = get("free")
			m.SharedMB, _ = get("shared")
			if v, ok := get("buff/cache"); ok {
				m.BuffCacheMB = v
			} else {
				b, _ := get("buffers")
				c, ok := get("cache")
				if !ok {
					c, _ = get("cached")
				}
				m.BuffCacheMB = b + c
			}
			if v, ok := get("available"); ok {
				m.AvailableMB, sawAvail = v, true
			}
		case "-/+":
			// procps 3.2: used and free without buffers/cache.
			if len(nums) >= 2 {
				sawMinus = true
				m.UsedMB = nums[0]
				if !sawAvail {
					m.AvailableMB, m.AvailableEstimated = nums[1], true
				}
			}
		case "Swap:":
			if len(nums) >= 3 {
				m.SwapTotalMB, m.SwapUsedMB, m.SwapFreeMB = nums[0], nums[1], nums[2]
			}
		case "Low:", "High:", "Total:":
			// free -l and -t rows: nothing a 502 depends on.
		default:
			p.add(n, "unexpected row %q", line)
		}
	})
	if !sawMem {
		p.add(0, "no Mem: row: not the output of free -m")
	} else if !sawAvail && !sawMinus {
		// Old procps with -o hides the -/+ row: its used still counts the cache.
		m.UsedMB -= m.BuffCacheMB
		m.AvailableMB, m.AvailableEstimated = m.FreeMB+m.BuffCacheMB, true
	}
	return m, p.err()
}

// ParseLimits reads the output of
//
//	for p in $PIDS; do echo "# file: /proc/$p/limits"; cat "/proc/$p/limits"; done
//
// one Limits per file; the PID is taken from the path. The "==> /proc/PID/limits
// <==" headers of `head -n 100 /proc/P1/limits /proc/P2/limits` work too, and a
// single bare /proc/PID/limits gives one Limits with PID 0.
//
//	Limit                     Soft Limit           Hard Limit           Units
//	Max processes             63704                63704                processes
//	Max open files            1024                 524288               files
func ParseLimits(out []byte) ([]knowledge.Limits, error) {
	p := newProblems("limits")
	var ls []knowledge.Limits
	cur := -1
	start := func(pid int) {
		ls = append(ls, knowledge.Limits{PID: pid})
		cur = len(ls) - 1
	}
	eachLine(out, func(n int, line string) {
		if name, ok := fileMarker(line); ok {
			pid := 0
			if s, ok := strings.CutPrefix(name, "/proc/"); ok {
				s, _, _ = strings.Cut(s, "/")
				pid, _ = atoiField(s)
			}
			start(pid)
			return
		}
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "Limit ") {
			return
		}
		if strings.HasPrefix(t, "cat: ") {
			// The process went away between listing and reading: no limits for it.
			return
		}
		var soft, hard *int64
		var rest string
		switch {
		case strings.HasPrefix(t, "Max open files "):
			if cur < 0 {
				start(0)
			}
			soft, hard, rest = &ls[cur].NoFileSoft, &ls[cur].NoFileHard, t[len("Max open files "):]
		case strings.HasPrefix(t, "Max processes "):
			if cur < 0 {
				start(0)
			}
			soft, hard, rest = &ls[cur].NProcSoft, &ls[cur].NProcHard, t[len("Max processes "):]
		case strings.HasPrefix(t, "Max "):
			return
		default:
			p.add(n, "not a /proc/PID/limits row: %q", line)
			return
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			p.add(n, "want soft and hard values in %q", line)
			return
		}
		s, ok1 := limitValue(f[0])
		h, ok2 := limitValue(f[1])
		if !ok1 || !ok2 {
			p.add(n, "values are neither numbers nor \"unlimited\" in %q", line)
			return
		}
		*soft, *hard = s, h
	})
	return ls, p.err()
}

func limitValue(s string) (int64, bool) {
	if s == "unlimited" {
		return -1, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// ParseGetenforce reads the output of
//
//	LC_ALL=C getenforce 2>&1 || true
//
// "Enforcing", "Permissive" or "Disabled"; a shell's "getenforce: not found" /
// "command not found" (Debian, Ubuntu: SELinux not installed) or no output gives
// Mode "".
func ParseGetenforce(out []byte) (knowledge.SELinux, error) {
	p := newProblems("getenforce")
	var s knowledge.SELinux
	done := false
	eachLine(out, func(n int, line string) {
		t := strings.TrimSpace(line)
		if t == "" || done {
			return
		}
		done = true
		switch {
		case t == "Enforcing" || t == "Permissive" || t == "Disabled":
			s.Mode = t
		case strings.HasSuffix(t, "not found") || strings.Contains(t, "No such file or directory"):
		default:
			p.add(n, "unexpected getenforce answer %q", t)
		}
	})
	return s, p.err()
}
