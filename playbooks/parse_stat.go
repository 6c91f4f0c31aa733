package playbooks

import (
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

// ParseStatSockets reads the output of
//
//	LC_ALL=C stat -L -c '%n|%F|%U|%G|%a' -- $PATHS 2>&1 || true
//
// one "path|type|owner|group|mode" line per path that exists (-L: a symlinked
// socket is judged by what nginx reaches through it), and stat's complaint for
// each one that does not, in any of its spellings:
//
//	stat: cannot statx '/run/php/x.sock': No such file or directory   (coreutils ≥ 8.32, Debian 12)
//	stat: cannot stat '/run/php/x.sock': No such file or directory    (older, C locale)
//	stat: cannot stat ‘/run/php/x.sock’: No such file or directory    (RHEL 7, UTF-8 locale)
//
// stat buffers stdout but not stderr, so complaints may come first; order does
// not matter. A path holding "|" still parses: the last four fields are fixed.
func ParseStatSockets(out []byte) ([]knowledge.SocketStat, error) {
	p := newProblems("stat_socket")
	var ss []knowledge.SocketStat
	eachLine(out, func(n int, line string) {
		if strings.TrimSpace(line) == "" {
			return
		}
		if rest, ok := strings.CutPrefix(line, "stat: "); ok {
			s, ok := statComplaint(rest)
			if !ok {
				p.add(n, "unexpected stat message %q", line)
				return
			}
			ss = append(ss, s)
			return
		}
		f := strings.Split(line, "|")
		if len(f) < 5 {
			p.add(n, "want path|type|owner|group|mode, got %q", line)
			return
		}
		k := len(f) - 4
		mode, ok := octalMode(f[k+3])
		if !ok {
			p.add(n, "mode %q is not octal in %q", f[k+3], line)
			return
		}
		ss = append(ss, knowledge.SocketStat{
			Path: strings.Join(f[:k], "|"), Exists: true,
			Type: f[k], Owner: f[k+1], Group: f[k+2], Mode: mode,
		})
	})
	return ss, p.err()
}

// statComplaint reads "cannot stat[x] 'PATH': REASON" (quotes ' or ‘’).
func statComplaint(rest string) (knowledge.SocketStat, bool) {
	for _, pre := range []string{"cannot statx ", "cannot stat "} {
		if r, ok := strings.CutPrefix(rest, pre); ok {
			rest = r
			i := strings.LastIndex(rest, ": ")
			if i < 0 {
				return knowledge.SocketStat{}, false
			}
			name, reason := rest[:i], rest[i+2:]
			for _, q := range [][2]string{{"'", "'"}, {"‘", "’"}, {`"`, `"`}} {
				if strings.HasPrefix(name, q[0]) && strings.HasSuffix(name, q[1]) && len(name) >= len(q[0])+len(q[1]) {
					name = name[len(q[0]) : len(name)-len(q[1])]
					break
				}
			}
			return knowledge.SocketStat{Path: name, Error: reason}, true
		}
	}
	return knowledge.SocketStat{}, false
}

// octalMode gives %a ("660", "4755") as four digits ("0660", "4755").
func octalMode(s string) (string, bool) {
	if s == "" || len(s) > 4 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if !isOctal(s[i]) {
			return "", false
		}
	}
	return strings.Repeat("0", 4-len(s)) + s, true
}
