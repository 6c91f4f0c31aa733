package knowledge

import (
	"strings"
	"time"
)

// Times without a zone (nginx, php-fpm, dmesg -T, zone-less ISO) are the server's
// wall clock; they are parsed as if they were UTC so that lines of one log compare
// correctly whatever the machine running badgateway uses as its zone. Times that
// carry a zone (CRI, RFC 3339 syslog, audit epochs) keep it. Syslog's "Nov 25
// 10:02:11" has no year, so such lines keep a zero Time rather than a guessed one.

// Instant is the location of times that name a true instant in UTC (audit epochs,
// RFC 3339 "Z"), as opposed to time.UTC, which marks a zone-less wall clock.
var Instant = time.FixedZone("UTC", 0)

// maxWrap bounds how many prefixes (container, syslog, grep) are peeled off a line,
// which keeps the work per line a small multiple of its length.
const maxWrap = 4

// maxTailTries bounds the ", client: " candidates checked in full, for the same reason.
const maxTailTries = 4

// ParseLine splits one log line into a Line. It never panics and does work linear
// in the line's length. A line it does not recognise is KindOther with the whole
// trimmed line as Message; nginx context fields are still extracted from it.
func ParseLine(raw []byte) Line {
	end := len(raw)
	for end > 0 && (raw[end-1] == '\n' || raw[end-1] == '\r') {
		end--
	}
	rawS := string(raw[:end])
	s := strings.TrimSpace(rawS)
	var p parser
	var l Line
	if !p.any(&l, s, 0) {
		l = Line{Kind: KindOther, Message: s, Time: p.fallback}
		nginxTail(&l, s)
	}
	l.Raw = rawS
	return l
}

type parser struct {
	// fallback is an absolute time read from a wrapper whose inner text is unknown.
	fallback time.Time
}

// any parses s as a known format, possibly behind wrappers; it writes l only on success.
func (p *parser) any(l *Line, s string, depth int) bool {
	if s == "" {
		return false
	}
	if direct(l, s) {
		return true
	}
	if depth < maxWrap && p.wrapped(l, s, depth) {
		return true
	}
	return bare(l, s)
}

// direct recognises the formats by their own leading prefix.
func direct(l *Line, s string) bool {
	if s == "" {
		return false
	}
	switch c := s[0]; {
	case isDigit(c):
		if t, shape := nginxTime(s); shape && strings.HasPrefix(s[19:], " [") {
			if lvl, n := nginxLevel(s[20:]); n > 0 {
				nginxFrom(l, s[20+n:], t, lvl)
				return true
			}
		}
		if _, _, n := pidTID(s); n > 0 {
			nginxFrom(l, s, time.Time{}, "")
			return true
		}
	case c == '[':
		return bracketed(l, s)
	case c == '*':
		if n := digitsEnd(s, 1); n > 1 && n < len(s) && s[n] == ' ' {
			nginxFrom(l, s, time.Time{}, "")
			return true
		}
	case strings.HasPrefix(s, "nginx: "):
		rest := s[len("nginx: "):]
		lvl := ""
		if strings.HasPrefix(rest, "[") {
			if v, n := nginxLevel(rest); n > 0 {
				lvl, rest = v, rest[n:]
			}
		}
		*l = Line{Kind: KindNginx, Level: lvl}
		nginxBody(l, rest)
		return true
	case strings.HasPrefix(s, "type=") || strings.HasPrefix(s, "node="):
		auditFrom(l, s, time.Time{})
		return true
	default:
		// php-fpm child lines carry no time: "WARNING: [pool www] …".
		if lvl, n := fpmLevel(s, ": "); n > 0 && strings.HasPrefix(s[n:], "[pool ") {
			fpmFrom(l, s[n:], time.Time{}, lvl)
			return true
		}
	}
	return false
}

// bracketed handles lines that start with '[': nginx without its date, php-fpm,
// php-fpm through syslog, and dmesg.
func bracketed(l *Line, s string) bool {
	if lvl, n := nginxLevel(s); n > 0 {
		if _, _, m := pidTID(s[n:]); m > 0 {
			nginxFrom(l, s[n:], time.Time{}, lvl)
			return true
		}
	}
	if t, n := fpmTime(s); n > 0 {
		rest := strings.TrimLeft(s[n:], " ")
		lvl, m := fpmLevel(rest, ": ")
		fpmFrom(l, rest[m:], t, lvl)
		return true
	}
	// php-fpm with error_log = syslog writes "[WARNING] [pool www] …".
	if lvl, n := fpmLevel(s[1:], "] "); n > 0 {
		fpmFrom(l, s[1+n:], time.Time{}, lvl)
		return true
	}
	if n := uptimeEnd(s); n > 0 {
		kernelFrom(l, strings.TrimLeft(s[n:], " "), time.Time{})
		return true
	}
	// dmesg -T: "[Wed Nov 25 10:02:11 2026] …". Apache's error log starts the same
	// way but has microseconds (2.4) or a "[level]" next (2.2).
	if len(s) > 26 && s[25] == ']' && isLetter(s[1]) {
		rest := strings.TrimLeft(s[26:], " ")
		if _, n := nginxLevel(rest); n == 0 {
			if t, err := time.ParseInLocation("Mon Jan _2 15:04:05 2006", s[1:25], time.UTC); err == nil {
				kernelFrom(l, rest, t)
				return true
			}
		}
	}
	return false
}

// wrapped peels one prefix added by a container runtime, syslog, journald or grep.
func (p *parser) wrapped(l *Line, s string, depth int) bool {
	if t, n, ok := isoTime(s); ok {
		rest := strings.TrimLeft(s[n:], " ")
		// CRI (containerd, CRI-O): "<time> stderr F <line>"
		if len(rest) > 9 && (strings.HasPrefix(rest, "stdout ") || strings.HasPrefix(rest, "stderr ")) &&
			(rest[7] == 'F' || rest[7] == 'P') && rest[8] == ' ' {
			return p.inner(l, rest[9:], t, depth)
		}
		// Syslog is tried before "docker logs -t" so that a syslog line whose message
		// looks like nginx is not taken for a bare nginx message with a host in front.
		if p.syslog(l, rest, t, depth) {
			return true
		}
		return p.inner(l, rest, t, depth)
	}
	if n := bsdSyslogEnd(s); n > 0 {
		return p.syslog(l, s[n:], time.Time{}, depth)
	}
	if s[0] == '<' { // syslog priority "<13>"
		if n := digitsEnd(s, 1); n > 1 && n < len(s) && s[n] == '>' {
			return p.inner(l, strings.TrimLeft(s[n+1:], " "), time.Time{}, depth)
		}
	}
	if strings.HasPrefix(s, "[pod/") { // kubectl logs --prefix
		if e := strings.Index(s, "] "); e > 0 {
			return p.inner(l, s[e+2:], time.Time{}, depth)
		}
	}
	if n := composeEnd(s); n > 0 {
		return p.inner(l, s[n:], time.Time{}, depth)
	}
	if n := grepEnd(s); n > 0 {
		return p.inner(l, s[n:], time.Time{}, depth)
	}
	return false
}

// inner parses what a wrapper carried; the wrapper's time stands in when the inner
// line has none.
func (p *parser) inner(l *Line, s string, t time.Time, depth int) bool {
	var in Line
	if p.any(&in, s, depth+1) {
		if in.Time.IsZero() {
			in.Time = t
		}
		*l = in
		return true
	}
	if p.fallback.IsZero() {
		p.fallback = t
	}
	return false
}

// syslog parses "host tag[pid]: message" after a syslog or journald timestamp.
func (p *parser) syslog(l *Line, s string, t time.Time, depth int) bool {
	sp := strings.IndexByte(s, ' ')
	if sp <= 0 {
		return false
	}
	r := s[sp+1:]
	i := 0
	for i < len(r) && isTagChar(r[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	tag, pid := r[:i], 0
	if i < len(r) && r[i] == '[' {
		e := digitsEnd(r, i+1)
		if e == i+1 || e >= len(r) || r[e] != ']' {
			return false
		}
		pid = atoi(r[i+1 : e])
		i = e + 1
	}
	if !strings.HasPrefix(r[i:], ": ") {
		return false
	}
	msg := strings.TrimLeft(r[i+2:], " ")
	switch tag {
	case "kernel":
		kernelFrom(l, msg, t)
		return true
	case "audit":
		auditFrom(l, msg, t)
		return true
	}
	var in Line
	if !p.inner(&in, msg, t, depth) {
		return false
	}
	if in.PID == 0 && (in.Kind == KindNginx || in.Kind == KindFPM) {
		in.PID = pid
	}
	*l = in
	return true
}

// bare recognises messages pasted without any prefix by what they say.
func bare(l *Line, s string) bool {
	switch {
	case kernelSignature(s):
		kernelFrom(l, s, time.Time{})
		return true
	case strings.HasPrefix(s, "avc:"):
		auditFrom(l, s, time.Time{})
		return true
	}
	// ", client: ADDR, server: NAME" is written by nginx and nothing else.
	var in Line
	if start, strong := nginxTail(&in, s); strong {
		in.Kind, in.Message = KindNginx, s[:start]
		*l = in
		return true
	}
	return false
}

// ---- nginx ----

var nginxLevels = [...]string{"debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"}

// nginxLevel reads "[error] " at the start of s and returns the level and the bytes used.
func nginxLevel(s string) (string, int) {
	if len(s) < 3 || s[0] != '[' {
		return "", 0
	}
	for _, v := range nginxLevels {
		if len(s) >= len(v)+3 && s[1:1+len(v)] == v && s[1+len(v)] == ']' && s[2+len(v)] == ' ' {
			return s[1 : 1+len(v)], len(v) + 3
		}
	}
	return "", 0
}

// nginxTime reads "2006/01/02 15:04:05". shape reports the layout matched; an
// impossible date still matches, with a zero time.
func nginxTime(s string) (t time.Time, shape bool) {
	if len(s) < 19 || s[4] != '/' || s[7] != '/' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return t, false
	}
	y, ok1 := fixedNum(s[0:4])
	mo, ok2 := fixedNum(s[5:7])
	d, ok3 := fixedNum(s[8:10])
	h, ok4 := fixedNum(s[11:13])
	mi, ok5 := fixedNum(s[14:16])
	sec, ok6 := fixedNum(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return t, false
	}
	return mkTime(y, mo, d, h, mi, sec, 0), true
}

// pidTID reads nginx's "812#812: ".
func pidTID(s string) (pid, tid, n int) {
	a := digitsEnd(s, 0)
	if a == 0 || a >= len(s) || s[a] != '#' {
		return 0, 0, 0
	}
	b := digitsEnd(s, a+1)
	if b == a+1 || !strings.HasPrefix(s[b:], ": ") {
		return 0, 0, 0
	}
	return atoi(s[:a]), atoi(s[a+1 : b]), b + 2
}

// nginxFrom parses from "pid#tid: " (optional) onwards.
func nginxFrom(l *Line, s string, t time.Time, lvl string) {
	*l = Line{Kind: KindNginx, Time: t, Level: lvl}
	if pid, tid, n := pidTID(s); n > 0 {
		l.PID, l.TID = pid, tid
		s = s[n:]
	}
	if len(s) > 1 && s[0] == '*' {
		if e := digitsEnd(s, 1); e > 1 && e < len(s) && s[e] == ' ' {
			l.Conn = int64(atoi(s[1:e]))
			s = s[e+1:]
		}
	}
	nginxBody(l, s)
}

func nginxBody(l *Line, s string) {
	l.Message = s
	if start, _ := nginxTail(l, s); start >= 0 {
		l.Message = s[:start]
	}
}

// Context keys in the order ngx_http_log_error writes them.
const (
	kClient = iota
	kServer
	kRequest
	kSubrequest
	kUpstream
	kHost
	kReferrer
	nKeys
)

var ctxKeys = [nKeys]string{"client", "server", "request", "subrequest", "upstream", "host", "referrer"}

// quotedMarkers are ", request: \"" and the like, for the search in partial lines.
var quotedMarkers = func() (m [nKeys]string) {
	for k := kRequest; k < nKeys; k++ {
		m[k] = ", " + ctxKeys[k] + `: "`
	}
	return m
}()

// nginxTail stores nginx's context fields found in s in l and returns where they
// start, or -1. nginx copies
// the request line, Host and Referer into the log unescaped (%V in
// ngx_http_log_error_handler) and messages may quote a decoded URI, so any of
// ", client: " could be forged. It takes the first candidate whose fields parse to
// the end of the line, else the first whose client and server values are plain
// tokens; strong reports such a candidate. Without one it falls back to the first
// quoted field (", upstream: \"…") for partial pastes.
func nginxTail(l *Line, s string) (start int, strong bool) {
	first, tries := -1, 0
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "client: ")
		if j < 0 {
			break
		}
		j += i
		i = j + len("client: ")
		c := -1
		switch {
		case j == 0:
			c = 0
		case j >= 2 && s[j-2:j] == ", ":
			c = j - 2
		case j >= 6 && s[j-6:j] == ", udp ": // stream module, UDP
			c = j - 6
		}
		if c < 0 || !plainClientServer(s[i:]) {
			continue
		}
		if first < 0 {
			first = c
		}
		if tries++; tries > maxTailTries {
			break
		}
		var ctx Line
		if parseTail(&ctx, s[c:]) {
			l.Client, l.Server, l.Request, l.Upstream, l.Host = ctx.Client, ctx.Server, ctx.Request, ctx.Upstream, ctx.Host
			return c, true
		}
	}
	if first >= 0 {
		parseTail(l, s[first:])
		return first, true
	}
	best := -1
	for k := kRequest; k < nKeys; k++ {
		if strings.HasPrefix(s, quotedMarkers[k][2:]) {
			best = 0
			break
		}
		lim := len(s)
		if best >= 0 {
			lim = best
		}
		if j := strings.Index(s[:lim], quotedMarkers[k]); j >= 0 {
			best = j
		}
	}
	if best >= 0 {
		parseTail(l, s[best:])
	}
	return best, false
}

// plainClientServer reports whether s starts "ADDR, server: NAME" with both values
// free of spaces and quotes, NAME ending the line or followed by ", ".
func plainClientServer(s string) bool {
	e := 0
	for e < len(s) && s[e] != ' ' && s[e] != ',' && s[e] != '"' {
		e++
	}
	if e == 0 {
		return false
	}
	if e == len(s) {
		return true // the line ends (or was cut) after the client
	}
	if !strings.HasPrefix(s[e:], ", server: ") {
		return false
	}
	s = s[e+len(", server: "):]
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '"':
			return false
		case ',':
			return i+1 < len(s) && s[i+1] == ' '
		}
	}
	return true
}

// parseTail reads the context fields at the start of t into l and reports whether
// they account for the whole of t.
func parseTail(l *Line, t string) bool {
	pos, next := 0, kClient
	for pos < len(t) {
		k, v := markerAt(t, pos, next)
		if k < 0 {
			return false
		}
		var val string
		if k <= kServer {
			e := strings.Index(t[v:], ", ")
			if e < 0 {
				e = len(t) - v
			}
			val, pos = t[v:v+e], v+e
		} else {
			q := quotedEnd(t, v, k)
			val, pos = t[v:q], q+1
		}
		switch k {
		case kClient:
			l.Client = val
		case kServer:
			l.Server = val
		case kRequest:
			l.Request = val
		case kUpstream:
			l.Upstream = val
		case kHost:
			l.Host = val
		}
		next = k + 1
	}
	return true
}

// markerAt reports which context key with index >= from is introduced at t[i:]
// (", key: " or, at the very start, "key: ") and where its value starts.
func markerAt(t string, i, from int) (k, v int) {
	r := t[i:]
	if strings.HasPrefix(r, ", ") {
		r = r[2:]
	} else if i != 0 {
		return -1, 0
	}
	if from == kClient && strings.HasPrefix(r, "udp client: ") {
		r = r[len("udp "):]
	}
	for k := from; k < nKeys; k++ {
		name := ctxKeys[k]
		if len(r) < len(name)+2 || r[:len(name)] != name || r[len(name)] != ':' || r[len(name)+1] != ' ' {
			continue
		}
		v := len(t) - len(r) + len(name) + 2
		if k >= kRequest {
			if v >= len(t) || t[v] != '"' {
				return -1, 0
			}
			v++
		}
		return k, v
	}
	return -1, 0
}

// quotedEnd finds the closing quote of key k's value starting at v. nginx does not
// escape '"' inside values, so a closing quote is one followed by a later key or by
// the end of the line; a request value should also end in " HTTP/x.y", which
// defeats a request line carrying a forged `", upstream: "`. A line cut short has
// no closing quote: the value then runs to the end.
func quotedEnd(t string, v, k int) int {
	strong, weak := -1, -1
	for q := v; q < len(t); q++ {
		j := strings.IndexByte(t[q:], '"')
		if j < 0 {
			break
		}
		q += j
		if q == len(t)-1 || laterKeyAt(t, q+1, k+1) {
			if k != kRequest || httpVersionSuffix(t[v:q]) {
				return q
			}
			if strong < 0 {
				strong = q
			}
		} else if weak < 0 && strings.HasPrefix(t[q+1:], ", ") {
			weak = q // e.g. the stream module's ", bytes from/to …" after upstream
		}
	}
	switch {
	case strong >= 0:
		return strong
	case weak >= 0:
		return weak
	}
	return len(t)
}

func laterKeyAt(t string, i, from int) bool {
	if from >= nKeys {
		return false
	}
	k, _ := markerAt(t, i, from)
	return k >= 0
}

// httpVersionSuffix reports whether s ends in " HTTP/d.d".
func httpVersionSuffix(s string) bool {
	n := len(s)
	return n >= 9 && s[n-9:n-3] == " HTTP/" && isDigit(s[n-3]) && s[n-2] == '.' && isDigit(s[n-1])
}

// ---- php-fpm ----

var fpmLevels = [...]string{"DEBUG", "NOTICE", "WARNING", "ERROR", "ALERT"}

// fpmLevel reads a php-fpm level name followed by sep at the start of s.
func fpmLevel(s, sep string) (string, int) {
	for _, v := range fpmLevels {
		if strings.HasPrefix(s, v) && strings.HasPrefix(s[len(v):], sep) {
			return s[:len(v)], len(v) + len(sep)
		}
	}
	return "", 0
}

// fpmTime reads "[25-Nov-2026 10:02:11] " or, at log_level debug,
// "[25-Nov-2026 10:02:11.123456] ", returning the bytes used.
func fpmTime(s string) (time.Time, int) {
	if len(s) < 23 || s[0] != '[' || s[3] != '-' || s[7] != '-' || s[12] != ' ' || s[15] != ':' || s[18] != ':' {
		return time.Time{}, 0
	}
	d, ok1 := fixedNum(s[1:3])
	mo := month(s[4:7])
	y, ok2 := fixedNum(s[8:12])
	h, ok3 := fixedNum(s[13:15])
	mi, ok4 := fixedNum(s[16:18])
	sec, ok5 := fixedNum(s[19:21])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || mo == 0 {
		return time.Time{}, 0
	}
	n, ns := 21, 0
	if s[n] == '.' {
		e := digitsEnd(s, n+1)
		if e == n+1 || e-n-1 > 9 {
			return time.Time{}, 0
		}
		ns = atoi(s[n+1 : e])
		for i := e - n - 1; i < 9; i++ {
			ns *= 10
		}
		n = e
	}
	if n >= len(s) || s[n] != ']' {
		return time.Time{}, 0
	}
	n++
	if n < len(s) && s[n] == ' ' {
		n++
	}
	return mkTime(y, int(mo), d, h, mi, sec, ns), n
}

// fpmFrom parses the rest of a php-fpm line after its level: an optional
// "[pool NAME] " then the message.
func fpmFrom(l *Line, s string, t time.Time, lvl string) {
	*l = Line{Kind: KindFPM, Time: t, Level: lvl}
	s = strings.TrimLeft(s, " ")
	if strings.HasPrefix(s, "[pool ") {
		if e := strings.IndexByte(s, ']'); e > 0 {
			l.Pool = s[len("[pool "):e]
			s = strings.TrimLeft(s[e+1:], " ")
		}
	}
	l.Message = s
	if pid, ok := numAfterWord(s, "child "); ok {
		l.PID = pid
	} else if pid, ok := numAfterWord(s, "pid "); ok {
		l.PID = pid // "fpm is running, pid 1", the slow log's "pid 1234"
	}
}

// ---- kernel ----

// uptimeEnd reads dmesg's "[ 1234.567890]" and returns the bytes used, or 0.
func uptimeEnd(s string) int {
	if len(s) < 4 || s[0] != '[' {
		return 0
	}
	i := 1
	for i < len(s) && s[i] == ' ' {
		i++
	}
	e := digitsEnd(s, i)
	if e == i || e >= len(s) || s[e] != '.' {
		return 0
	}
	f := digitsEnd(s, e+1)
	if f == e+1 || f >= len(s) || s[f] != ']' {
		return 0
	}
	return f + 1
}

var kernelPrefixes = [...]string{
	"Out of memory", "Memory cgroup out of memory", "oom-kill:", "oom_reaper:",
	"traps: ", "EXT4-fs ", "EXT4-fs(", "Remounting filesystem read-only", "Killed process ",
}

func kernelSignature(s string) bool {
	for _, p := range kernelPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return strings.Contains(s, " invoked oom-killer: ") || strings.Contains(s, "]: segfault at ")
}

// kernelFrom parses a kernel message; s may still start with dmesg's uptime.
func kernelFrom(l *Line, s string, t time.Time) {
	if n := uptimeEnd(s); n > 0 {
		s = strings.TrimLeft(s[n:], " ")
	}
	if strings.HasPrefix(s, "audit: ") {
		auditFrom(l, s[len("audit: "):], t)
		return
	}
	*l = Line{Kind: KindKernel, Time: t, Message: s}
	i := indexAfterAny(s, "Killed process ", "Kill process ", "reaped process ")
	switch {
	case i >= 0:
		// "Killed process 4321 (php-fpm8.2) total-vm:…"
		e := digitsEnd(s, i)
		if e > i && strings.HasPrefix(s[e:], " (") {
			if c := strings.IndexByte(s[e+2:], ')'); c >= 0 {
				l.PID, l.Process = atoi(s[i:e]), s[e+2:e+2+c]
			}
		}
	case strings.Contains(s, ",task="):
		// "oom-kill:constraint=…,task=php-fpm8.2,pid=4321,uid=33"
		i := strings.Index(s, ",task=") + len(",task=")
		e := strings.IndexByte(s[i:], ',')
		if e < 0 {
			e = len(s) - i
		}
		l.Process = s[i : i+e]
		if j := strings.Index(s[i+e:], ",pid="); j >= 0 {
			j += i + e + len(",pid=")
			l.PID = atoi(s[j:digitsEnd(s, j)])
		}
	case strings.HasPrefix(s, "traps: "):
		// "traps: php-fpm8.2[1234] general protection fault ip:…"
		r := s[len("traps: "):]
		if e := strings.Index(r, "] "); e > 0 {
			l.Process, l.PID = procPID(r[:e+1])
		}
	default:
		// "php-fpm8.2[1234]: segfault at 0 ip …"
		if e := strings.Index(s, "]: segfault at "); e > 0 {
			l.Process, l.PID = procPID(s[:e+1])
		}
	}
}

// procPID splits "name[pid]"; a name may contain spaces and brackets, so the
// last '[' counts.
func procPID(s string) (string, int) {
	b := strings.LastIndexByte(s, '[')
	if b <= 0 || s[len(s)-1] != ']' || digitsEnd(s, b+1) != len(s)-1 || b+1 == len(s)-1 {
		return "", 0
	}
	return s[:b], atoi(s[b+1 : len(s)-1])
}

// ---- audit ----

// auditFrom parses an audit record: "type=AVC msg=audit(EPOCH:SERIAL): …" from
// audit.log, "type=1400 audit(…): …" from the kernel, or journald's "AVC avc: …".
func auditFrom(l *Line, s string, t time.Time) {
	if strings.HasPrefix(s, "node=") {
		if sp := strings.IndexByte(s, ' '); sp > 0 {
			s = strings.TrimLeft(s[sp:], " ")
		}
	}
	if strings.HasPrefix(s, "type=") {
		if sp := strings.IndexByte(s, ' '); sp > 0 {
			r := strings.TrimPrefix(strings.TrimLeft(s[sp:], " "), "msg=")
			if strings.HasPrefix(r, "audit(") {
				if e := strings.IndexByte(r, ')'); e > 0 {
					if at, ok := auditTime(r[len("audit("):e]); ok {
						t = at
					}
					s = strings.TrimLeft(r[e+1:], " :")
				}
			}
		}
	} else if strings.HasPrefix(s, "AVC avc:") {
		s = s[len("AVC "):]
	}
	*l = Line{Kind: KindAudit, Time: t, Message: s}
	if i := fieldAt(s, "pid="); i >= 0 {
		l.PID = atoi(s[i:digitsEnd(s, i)])
	}
	if i := fieldAt(s, "comm="); i >= 0 {
		if i < len(s) && s[i] == '"' {
			if e := strings.IndexByte(s[i+1:], '"'); e >= 0 {
				l.Process = s[i+1 : i+1+e]
			}
		} else {
			// audit writes names with unusual bytes as hex: comm=6E67696E78
			e := i
			for e < len(s) && s[e] != ' ' {
				e++
			}
			l.Process = unhex(s[i:e])
		}
	}
}

// auditTime reads "1764064931.123:456" (epoch seconds, milliseconds, serial).
func auditTime(s string) (time.Time, bool) {
	e := digitsEnd(s, 0)
	if e == 0 || e > 12 {
		return time.Time{}, false
	}
	sec, ns := atoi(s[:e]), 0
	if e < len(s) && s[e] == '.' {
		f := digitsEnd(s, e+1)
		if f-e-1 > 9 {
			return time.Time{}, false
		}
		ns = atoi(s[e+1 : f])
		for i := f - e - 1; i < 9; i++ {
			ns *= 10
		}
		e = f
	}
	if e < len(s) && s[e] != ':' {
		return time.Time{}, false
	}
	return time.Unix(int64(sec), int64(ns)).In(Instant), true
}

// fieldAt returns where the value of key ("pid=") starts, the key being a whole
// word (so "ppid=" does not count), or -1.
func fieldAt(s, key string) int {
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], key)
		if j < 0 {
			return -1
		}
		j += i
		if j == 0 || s[j-1] == ' ' {
			return j + len(key)
		}
		i = j + len(key)
	}
	return -1
}

func unhex(s string) string {
	if len(s) == 0 || len(s)%2 != 0 {
		return s
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		h, ok1 := hexVal(s[2*i])
		lo, ok2 := hexVal(s[2*i+1])
		if !ok1 || !ok2 {
			return s
		}
		b[i] = h<<4 | lo
	}
	return string(b)
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// ---- wrappers ----

// isoTime reads an RFC 3339 time ending at the first space: CRI, "docker logs -t",
// rsyslog, "journalctl -o short-iso" (+0000) and "dmesg --time-format iso" (",").
func isoTime(s string) (time.Time, int, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || !isDigit(s[0]) {
		return time.Time{}, 0, false
	}
	n := strings.IndexByte(s, ' ')
	if n < 0 || n > 40 {
		return time.Time{}, 0, false
	}
	for _, layout := range [...]string{time.RFC3339, "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s[:n]); err == nil {
			if t.Location() == time.UTC {
				t = t.In(Instant) // "Z": a real instant, not a zone-less wall clock
			}
			return t, n, true
		}
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s[:n], time.UTC); err == nil {
		return t, n, true
	}
	return time.Time{}, 0, false
}

// bsdSyslogEnd reads "Nov 25 10:02:11 " (journalctl's default too, optionally with
// microseconds) and returns the bytes used, or 0.
func bsdSyslogEnd(s string) int {
	if len(s) < 16 || month(s[:3]) == 0 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':' {
		return 0
	}
	if !(isDigit(s[5]) && (isDigit(s[4]) || s[4] == ' ')) {
		return 0
	}
	for _, i := range [...]int{7, 8, 10, 11, 13, 14} {
		if !isDigit(s[i]) {
			return 0
		}
	}
	n := 15
	if s[n] == '.' {
		n = digitsEnd(s, n+1)
	}
	if n >= len(s) || s[n] != ' ' {
		return 0
	}
	return n + 1
}

// composeEnd reads docker compose's "web-1  | " and returns the bytes used, or 0.
func composeEnd(s string) int {
	bar := strings.IndexByte(s[:min(len(s), 80)], '|')
	if bar < 2 || s[bar-1] != ' ' {
		return 0
	}
	name := strings.TrimRight(s[:bar], " ")
	if name == "" {
		return 0
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(isLetter(c) || isDigit(c) || c == '-' || c == '_' || c == '.') {
			return 0
		}
	}
	n := bar + 1
	if n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}

// grepEnd reads grep's "/var/log/nginx/error.log:" or "error.log:12:" prefix.
func grepEnd(s string) int {
	c := strings.IndexByte(s[:min(len(s), 512)], ':')
	if c <= 0 || strings.ContainsAny(s[:c], " \t") {
		return 0
	}
	if !strings.Contains(s[:c], "/") && !strings.Contains(s[:c], ".log") {
		return 0
	}
	n := c + 1
	if e := digitsEnd(s, n); e > n && e < len(s) && (s[e] == ':' || s[e] == '-') {
		n = e + 1
	}
	return n
}

// ---- small helpers ----

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isTagChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '-' || c == '_' || c == '.' || c == '/' || c == '@'
}

// digitsEnd returns the index of the first non-digit at or after i.
func digitsEnd(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// atoi parses a run of ASCII digits; values past 18 digits are clamped to 0 rather
// than overflowing.
func atoi(s string) int {
	if len(s) > 18 {
		return 0
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func fixedNum(s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
	}
	return atoi(s), true
}

// numAfterWord finds word (e.g. "child ") not preceded by a letter and followed by
// a number that ends there, and returns that number.
func numAfterWord(s, word string) (int, bool) {
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return 0, false
		}
		j += i
		i = j + len(word)
		if j > 0 && (isLetter(s[j-1]) || s[j-1] == '_') {
			continue
		}
		e := digitsEnd(s, i)
		if e > i && (e == len(s) || !isLetter(s[e]) && s[e] != '_') {
			return atoi(s[i:e]), true
		}
	}
	return 0, false
}

func indexAfterAny(s string, subs ...string) int {
	for _, sub := range subs {
		if i := strings.Index(s, sub); i >= 0 {
			return i + len(sub)
		}
	}
	return -1
}

func month(s string) time.Month {
	switch s {
	case "Jan":
		return time.January
	case "Feb":
		return time.February
	case "Mar":
		return time.March
	case "Apr":
		return time.April
	case "May":
		return time.May
	case "Jun":
		return time.June
	case "Jul":
		return time.July
	case "Aug":
		return time.August
	case "Sep":
		return time.September
	case "Oct":
		return time.October
	case "Nov":
		return time.November
	case "Dec":
		return time.December
	}
	return 0
}

// mkTime builds a zone-less time as UTC (see the note at the top); a date that
// time.Date would silently normalise (Feb 30) gives the zero time instead.
func mkTime(y, mo, d, h, mi, s, ns int) time.Time {
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return time.Time{}
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	if t.Day() != d {
		return time.Time{}
	}
	return t
}
