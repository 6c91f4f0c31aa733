package playbooks

import (
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

// ParsePS reads the output of
//
//	LC_ALL=C ps -eo pid:10=,ppid:10=,user:32=,rss:12=,comm:15=,args=
//
// comm, the kernel's task name, can hold spaces (prctl(PR_SET_NAME) gives "my
// worker 1"), so it cannot be cut at whitespace. With these widths no column can
// overflow (ps otherwise eats into the next column's padding when, say, rss passes
// 99999 or a pid 5 digits): comm is then exactly the 15 bytes after the single space
// that follows rss, and args the rest. user:32 makes ps print a long name as a
// numeric uid rather than cut it; LC_ALL=C makes it print a non-ASCII byte as one
// "?". Output of other ps widths is read too, cutting comm at the first run of
// two spaces, else at the first space.
func ParsePS(out []byte) ([]knowledge.Process, error) {
	p := newProblems("ps")
	var ps []knowledge.Process
	eachLine(out, func(n int, line string) {
		if strings.TrimSpace(line) == "" {
			return
		}
		var f [4]string
		rest := line
		for k := range f {
			rest = strings.TrimLeft(rest, " ")
			i := strings.IndexByte(rest, ' ')
			if i < 0 {
				p.add(n, "want pid, ppid, user, rss, comm and args, got %q", line)
				return
			}
			// rest starts right after the one space that separates columns.
			f[k], rest = rest[:i], rest[i+1:]
		}
		if f[0] == "PID" {
			return // a header: ps was run without the "=" that drops it
		}
		pid, ok1 := atoiField(f[0])
		ppid, ok2 := atoiField(f[1])
		rss, ok3 := atoiField(f[3])
		if !ok1 || !ok2 || !ok3 {
			p.add(n, "pid, ppid and rss must be numbers in %q", line)
			return
		}
		comm, args := splitComm(rest)
		ps = append(ps, knowledge.Process{PID: pid, PPID: ppid, User: f[2], RSSKB: rss, Comm: comm, Args: args})
	})
	return ps, p.err()
}

// splitComm cuts "comm-padded-to-15 args".
func splitComm(rest string) (comm, args string) {
	if len(rest) > 15 && rest[15] == ' ' && rest[0] != ' ' {
		return strings.TrimRight(rest[:15], " "), strings.TrimSpace(rest[16:])
	}
	head := rest
	if len(head) > 16 {
		head = head[:16]
	}
	if i := strings.Index(head, "  "); i > 0 {
		return rest[:i], strings.TrimSpace(rest[i:])
	}
	rest = strings.TrimLeft(rest, " ")
	if i := strings.IndexByte(rest, ' '); i >= 0 {
		return rest[:i], strings.TrimSpace(rest[i:])
	}
	return rest, ""
}
