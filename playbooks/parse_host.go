package playbooks

import (
	"strconv"
	"strings"
	"time"

	"github.com/badgateway/badgateway/knowledge"
)

func init() { Parsers["host_info"] = wrapParser(ParseHostInfo) }

// ParseHostInfo reads the key=value lines of the nginx-502 playbook's `host` step.
func ParseHostInfo(out []byte) (knowledge.HostInfo, error) {
	var h knowledge.HostInfo
	p := newProblems("host_info")
	eachLine(out, func(n int, line string) {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			if strings.TrimSpace(line) != "" {
				p.add(n, "not key=value: %q", line)
			}
			return
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch k {
		case "hostname":
			h.Hostname = v
		case "now":
			t, err := time.ParseInLocation("2006-01-02T15:04:05", v, time.UTC)
			if err != nil {
				p.add(n, "clock: %v", err)
				return
			}
			h.Now = t
		case "tz":
			off, ok := parseOffset(v)
			if !ok {
				p.add(n, "time zone offset %q is not ±hhmm", v)
				return
			}
			h.UTCOffset = &off
		case "nproc":
			h.CPUs, _ = strconv.Atoi(v)
		case "loadavg":
			f := strings.Fields(v)
			if len(f) >= 3 {
				h.Load1, _ = strconv.ParseFloat(f[0], 64)
				h.Load5, _ = strconv.ParseFloat(f[1], 64)
				h.Load15, _ = strconv.ParseFloat(f[2], 64)
			}
		case "os_ID":
			h.OSID = v
		case "os_ID_LIKE":
			h.OSLike = v
		case "os_VERSION_ID":
			h.OSVersion = v
		case "os_PRETTY_NAME":
			h.OSName = v
		case "baota":
			h.BaoTa = v == "1"
		case "container":
			h.Container = v
		case "user":
			h.User = v
		case "uid":
			if uid, err := strconv.Atoi(v); err == nil {
				h.UID = &uid
			}
		}
	})
	return h, p.err()
}

// parseOffset reads date +%z: "+0800", "-0530".
func parseOffset(v string) (int, bool) {
	if len(v) != 5 || (v[0] != '+' && v[0] != '-') {
		return 0, false
	}
	hh, err1 := strconv.Atoi(v[1:3])
	mm, err2 := strconv.Atoi(v[3:5])
	if err1 != nil || err2 != nil || hh > 14 || mm > 59 {
		return 0, false
	}
	off := (hh*60 + mm) * 60
	if v[0] == '-' {
		off = -off
	}
	return off, true
}
