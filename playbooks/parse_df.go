package playbooks

import (
	"strconv"
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

// ParseDF reads the output of
//
//	LC_ALL=C df -kP; LC_ALL=C df -iP; cat /proc/mounts
//
// -P keeps a filesystem on one line (plain df wraps long device names) under
// fixed headers, -k gives exact KiB rather than -h's rounded "1.5G", LC_ALL=C keeps
// the headers English. The three parts need no markers between them: each df
// starts with its header ("1024-blocks" or "Inodes" as second column) and every
// /proc/mounts row has six fields ending in two numbers, where a df row has a
// percentage. /proc/mounts gives ReadOnly and Type. Device and mount point may
// hold spaces (df prints them raw, /proc/mounts as \040).
//
// RHEL's df prints the same headers; so do busybox's with -P.
func ParseDF(out []byte) ([]knowledge.Filesystem, error) {
	p := newProblems("df")
	var fss []knowledge.Filesystem
	byMount := map[string]int{}
	type mountInfo struct {
		ro    bool
		fstyp string
	}
	mounts := map[string]mountInfo{}
	mode := ""       // "blocks", "inodes"
	unit := int64(1) // KiB per block in the blocks part
	get := func(mount, dev string) *knowledge.Filesystem {
		if i, ok := byMount[mount]; ok {
			return &fss[i]
		}
		fss = append(fss, knowledge.Filesystem{Device: dev, Mount: mount, IUsePercent: -1})
		byMount[mount] = len(fss) - 1
		return &fss[len(fss)-1]
	}
	eachLine(out, func(n int, line string) {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(line, "df: ") {
			return // df's complaints about single mounts (stale NFS, fuse) go on stderr
		}
		if f[0] == "Filesystem" && len(f) >= 2 {
			switch {
			case f[1] == "Inodes":
				mode = "inodes"
			case strings.HasSuffix(f[1], "-blocks"):
				mode, unit = "blocks", blockUnit(f[1])
				if unit == 0 {
					p.add(n, "unknown block size %q (run df -kP)", f[1])
					mode = ""
				}
			default:
				p.add(n, "unsupported df header %q (run df -kP and df -iP)", line)
				mode = ""
			}
			return
		}
		if len(f) == 6 && isDigits(f[4]) && isDigits(f[5]) {
			// /proc/mounts: the last mount on a path is the one in effect.
			opts, _, _ := strings.Cut(f[3], ",")
			mounts[unescapeMount(f[1])] = mountInfo{ro: opts == "ro", fstyp: f[2]}
			return
		}
		// Find the three numbers and the percentage; what is left of them is the
		// device, what is right the mount point, both possibly with spaces.
		at := -1
		for i := 1; i+4 < len(f); i++ {
			if dfNumber(f[i]) && dfNumber(f[i+1]) && dfNumber(f[i+2]) && dfPercent(f[i+3]) {
				at = i
				break
			}
		}
		if at < 0 || mode == "" {
			p.add(n, "not a df -kP/-iP row: %q", line)
			return
		}
		dev := strings.Join(f[:at], " ")
		mount := strings.Join(f[at+4:], " ")
		a, b, c := dfValue(f[at]), dfValue(f[at+1]), dfValue(f[at+2])
		pct := dfPct(f[at+3])
		fs := get(mount, dev)
		if mode == "blocks" {
			fs.SizeKB, fs.UsedKB, fs.AvailKB = scaleKB(a, unit), scaleKB(b, unit), scaleKB(c, unit)
			fs.UsePercent = pct
		} else {
			fs.Inodes, fs.IUsed, fs.IFree = a, b, c
			fs.IUsePercent = pct
		}
	})
	for i := range fss {
		if m, ok := mounts[fss[i].Mount]; ok {
			fss[i].ReadOnly, fss[i].Type = m.ro, m.fstyp
		}
	}
	if len(fss) == 0 && len(p.e.Problems) == 0 {
		p.add(0, "no filesystem rows: not the output of df -kP")
	}
	return fss, p.err()
}

// blockUnit reads "1024-blocks", "1K-blocks", "512-blocks" as KiB per block
// (512-byte blocks: 0.5, returned as the negative divisor -2); 0 when unknown.
func blockUnit(h string) int64 {
	switch strings.TrimSuffix(h, "-blocks") {
	case "1024", "1K", "1k":
		return 1
	case "512":
		return -2
	}
	return 0
}

func scaleKB(v, unit int64) int64 {
	if v < 0 {
		return v
	}
	if unit < 0 {
		return v / -unit
	}
	return v * unit
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func dfNumber(s string) bool { return s == "-" || isDigits(s) }
func dfPercent(s string) bool {
	return s == "-" || (len(s) > 1 && s[len(s)-1] == '%' && isDigits(s[:len(s)-1]))
}

// dfValue is -1 for df's "-" (no such figure for this filesystem).
func dfValue(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func dfPct(s string) int {
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if err != nil {
		return -1
	}
	return n
}

// unescapeMount undoes /proc/mounts' octal escapes (\040 space, \011 tab, \012, \134).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
