package playbooks

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Parser turns one command's stdout into facts (a knowledge.* value). Every parser
// here runs in time linear in len(out), never panics, and on lines it cannot use
// returns what it did understand together with a *ParseError naming those lines.
type Parser func(out []byte) (any, error)

// Parsers by the name a step's `parse:` gives. Each parser's doc comment says the
// exact command whose output it reads; Commands holds the same commands.
var Parsers = map[string]Parser{
	"nginx_t":             wrapParser(ParseNginxT),      // knowledge.NginxConfig
	"ss_listen":           wrapParser(ParseSSListen),    // []knowledge.Listener
	"ps":                  wrapParser(ParsePS),          // []knowledge.Process
	"systemctl_is_active": wrapParser(ParseSystemctl),   // []knowledge.ServiceState
	"df":                  wrapParser(ParseDF),          // []knowledge.Filesystem
	"free":                wrapParser(ParseFree),        // knowledge.Memory
	"limits":              wrapParser(ParseLimits),      // []knowledge.Limits
	"getenforce":          wrapParser(ParseGetenforce),  // knowledge.SELinux
	"fpm_pool":            wrapParser(ParseFPMConfig),   // knowledge.FPMConfig
	"stat_socket":         wrapParser(ParseStatSockets), // []knowledge.SocketStat
}

// Commands is, per parser, the shell command to run for it. Words in capitals
// ($UNITS, $PIDS, $FILES, $PATHS) are the playbook's to fill with quoted values.
// Where stderr carries facts (nginx's verdict, "not found", systemd's excuses) the
// command sends it to stdout, since parsers only see stdout; `|| true` marks
// commands whose non-zero exit is an answer, not a failure.
var Commands = map[string]string{
	"nginx_t":             "nginx -T 2>&1",
	"ss_listen":           "ss -ltnpx",
	"ps":                  "LC_ALL=C ps -eo pid:10=,ppid:10=,user:32=,rss:12=,comm:15=,args=",
	"systemctl_is_active": `for u in $UNITS; do echo "# unit: $u"; LC_ALL=C systemctl is-active "$u" 2>&1; done; true`,
	"df":                  "LC_ALL=C df -kP; LC_ALL=C df -iP; cat /proc/mounts",
	"free":                "LC_ALL=C free -m",
	"limits":              `for p in $PIDS; do echo "# file: /proc/$p/limits"; cat "/proc/$p/limits"; done`,
	"getenforce":          "LC_ALL=C getenforce 2>&1 || true",
	"fpm_pool":            `for f in $FILES; do [ -f "$f" ] || continue; echo "# file: $f"; cat "$f"; echo; done; true`,
	"stat_socket":         `LC_ALL=C stat -L -c '%n|%F|%U|%G|%a' -- $PATHS 2>&1 || true`,
}

// FPMConfigFiles is the $FILES glob list for Commands["fpm_pool"]: the main
// config and pool directories of Debian/Ubuntu, RHEL (base and Remi), BaoTa and
// source builds. Globs that match nothing stay literal and are skipped by [ -f ].
const FPMConfigFiles = "/etc/php/*/fpm/php-fpm.conf /etc/php/*/fpm/pool.d/*.conf " +
	"/etc/php-fpm.conf /etc/php-fpm.d/*.conf " +
	"/etc/opt/remi/*/php-fpm.conf /etc/opt/remi/*/php-fpm.d/*.conf " +
	"/www/server/php/*/etc/php-fpm.conf /www/server/php/*/etc/php-fpm.d/*.conf " +
	"/usr/local/etc/php-fpm.conf /usr/local/etc/php-fpm.d/*.conf"

func wrapParser[T any](f func([]byte) (T, error)) Parser {
	return func(out []byte) (any, error) {
		v, err := f(out)
		return v, err
	}
}

// ParseError lists the lines a parser could not use.
type ParseError struct {
	Parser   string
	Problems []LineProblem // the first maxProblems, in output order
	More     int           // how many more were left out
}

// LineProblem is one complaint about the output. Line counts output lines from 1
// (0: the output as a whole). File and FileLine are set when the output quotes
// files (nginx -T, the fpm_pool loop) and say where in that file.
type LineProblem struct {
	Line     int
	File     string
	FileLine int
	Msg      string
}

func (lp LineProblem) String() string {
	switch {
	case lp.File != "" && lp.Line > 0:
		return fmt.Sprintf("%s:%d (output line %d): %s", lp.File, lp.FileLine, lp.Line, lp.Msg)
	case lp.File != "":
		return fmt.Sprintf("%s: %s", lp.File, lp.Msg)
	case lp.Line > 0:
		return fmt.Sprintf("line %d: %s", lp.Line, lp.Msg)
	}
	return lp.Msg
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Parser)
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "; and %d more", e.More)
	}
	return b.String()
}

// maxProblems keeps the error readable, and small however bad the input.
const maxProblems = 10

type problems struct {
	e ParseError
}

func newProblems(parser string) *problems { return &problems{e: ParseError{Parser: parser}} }

func (p *problems) addProblem(lp LineProblem) {
	if len(p.e.Problems) >= maxProblems {
		p.e.More++
		return
	}
	p.e.Problems = append(p.e.Problems, lp)
}

func (p *problems) add(line int, format string, args ...any) {
	p.addProblem(LineProblem{Line: line, Msg: fmt.Sprintf(format, args...)})
}

// err is nil (untyped) when nothing went wrong.
func (p *problems) err() error {
	if len(p.e.Problems) == 0 && p.e.More == 0 {
		return nil
	}
	e := p.e
	return &e
}

// eachLine calls fn with every line of out (without "\n" or a trailing "\r"),
// numbered from 1.
func eachLine(out []byte, fn func(n int, line string)) {
	n := 0
	for len(out) > 0 {
		n++
		var line []byte
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			line, out = out[:i], out[i+1:]
		} else {
			line, out = out, nil
		}
		if k := len(line); k > 0 && line[k-1] == '\r' {
			line = line[:k-1]
		}
		fn(n, string(line))
	}
}

// fileMarker recognises the line our loops print before each file's content,
// "# file: PATH", and the "==> PATH <==" that head/tail print for several files.
func fileMarker(line string) (string, bool) {
	if rest, ok := strings.CutPrefix(line, "# file: "); ok {
		return strings.TrimSpace(rest), true
	}
	if strings.HasPrefix(line, "==> ") && strings.HasSuffix(line, " <==") && len(line) >= 8 {
		return line[4 : len(line)-4], true
	}
	return "", false
}

// atoiField parses a decimal count; ok is false for anything else.
func atoiField(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func atoi64Field(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
