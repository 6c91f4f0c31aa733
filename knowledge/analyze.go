package knowledge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

const (
	readBufSize      = 1 << 20
	maxLineLen       = 64 << 10 // longer lines are cut here: evidence never needs more
	maxGroupsByCause = 64       // distinct evidence lines kept per cause; the rest are only counted
)

// Analyzer matches log lines against a catalog. It is safe for concurrent use;
// each analysis gets its own Collector.
type Analyzer struct {
	Catalog *Catalog
	pf      *prefilter
	pats    []compiledPattern
	byLit   [][]int // literal id → indexes into pats
}

type compiledPattern struct {
	cause *Cause
	*Pattern
}

// NewAnalyzer prepares the catalog's patterns for scanning.
func NewAnalyzer(cat *Catalog) *Analyzer {
	a := &Analyzer{Catalog: cat}
	litID := map[string]int{}
	var lits []string
	for _, c := range cat.Causes {
		for i := range c.Patterns {
			p := &c.Patterns[i]
			pi := len(a.pats)
			a.pats = append(a.pats, compiledPattern{cause: c, Pattern: p})
			for _, s := range p.Contains {
				id, ok := litID[s]
				if !ok {
					id = len(lits)
					litID[s] = id
					lits = append(lits, s)
					a.byLit = append(a.byLit, nil)
				}
				a.byLit[id] = append(a.byLit[id], pi)
			}
		}
	}
	a.pf = newPrefilter(lits)
	return a
}

// Collector gathers evidence from one or more log streams.
type Collector struct {
	a *Analyzer
	// Since, when set with Now, drops lines older than Now-Since (lines without a time are kept).
	Since time.Duration
	Now   time.Time
	// Site, when set, keeps only nginx lines about that server_name (by their
	// server: or host: field); lines that name no site are kept.
	Site string
	// Zone is the host's UTC offset: times that carry a zone are turned into the
	// host's wall clock, so they compare with zone-less log times and Now.
	Zone *time.Location

	causes     map[string]*causeEvidence
	linesRead  int64
	bytesRead  int64
	candidates int64
	tooOld     int64
	otherSite  int64
	latest     time.Time
	buf        []byte
	sniffed    bool
	tryPat     []bool
	hostVars   map[string]map[string]string // per cause: facts for titles and fixes
	hostFixes  map[string][]hostFix
	// HasChinese is set when the start of the input holds Chinese text: reply in Chinese.
	HasChinese bool
}

type causeEvidence struct {
	cause  *Cause
	groups []*evidenceGroup
	byKey  map[string]*evidenceGroup
	count  int64
	weight float64
	first  time.Time
	last   time.Time
}

type evidenceGroup struct {
	source string
	line   Line
	zh     string // host facts only: line.Raw in Chinese, shown in a Chinese reply
	vars   map[string]string
	count  int64
	first  time.Time
	last   time.Time
}

// NewCollector starts an analysis.
func (a *Analyzer) NewCollector() *Collector {
	return &Collector{a: a, causes: map[string]*causeEvidence{}, hostVars: map[string]map[string]string{}, hostFixes: map[string][]hostFix{}}
}

// Feed reads log text from r to its end, in constant memory. name is the file the
// text came from; evidence is labelled by line kind, e.g. "nginx_error_log:/var/log/nginx/error.log".
func (c *Collector) Feed(r io.Reader, name string) error {
	source := name
	if c.buf == nil {
		c.buf = make([]byte, readBufSize)
	}
	buf := c.buf
	carry := 0
	skipping := false // inside an over-long line whose head was already handled
	for {
		n, err := r.Read(buf[carry:])
		c.bytesRead += int64(n)
		data := buf[:carry+n]
		if !c.sniffed && len(data) > 0 {
			c.sniffed = true
			c.HasChinese = DetectLang(string(data[:min(len(data), 64<<10)])) == "zh"
		}
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof {
			return fmt.Errorf("reading %s: %w", source, err)
		}
		var complete []byte
		rest := data
		if eof {
			complete, rest = data, nil
		} else if i := bytes.LastIndexByte(data[carry:], '\n'); i >= 0 {
			// The carried part holds no newline, so only the new bytes need a look.
			complete, rest = data[:carry+i+1], data[carry+i+1:]
		} else if len(data) == len(buf) {
			// A line longer than the buffer: judge it by its head, skip its tail.
			if !skipping {
				c.scan(data, source)
				c.linesRead++
			}
			skipping = true
			carry = 0
			continue
		}
		if skipping && len(complete) > 0 {
			i := bytes.IndexByte(complete, '\n')
			if i < 0 {
				complete = nil
			} else {
				complete = complete[i+1:]
				skipping = false
			}
		}
		if len(complete) > 0 {
			c.linesRead += int64(bytes.Count(complete, []byte{'\n'}))
			if complete[len(complete)-1] != '\n' {
				c.linesRead++
			}
			c.scan(complete, source)
		}
		carry = copy(buf, rest)
		if eof {
			return nil
		}
	}
}

// AddLine analyses a single line (no trailing newline needed).
func (c *Collector) AddLine(line, source string) {
	if !c.HasChinese && DetectLang(line) == "zh" {
		c.HasChinese = true
	}
	c.linesRead++
	c.bytesRead += int64(len(line))
	c.scan([]byte(line), source)
}

// scan runs the prefilter over whole lines and analyses only the lines it flags.
func (c *Collector) scan(chunk []byte, source string) {
	for len(chunk) > 0 {
		k := c.a.pf.find(chunk)
		if k < 0 {
			return
		}
		start := bytes.LastIndexByte(chunk[:k], '\n') + 1
		end := len(chunk)
		if i := bytes.IndexByte(chunk[k:], '\n'); i >= 0 {
			end = k + i
		}
		c.consider(chunk[start:end], source)
		if end >= len(chunk) {
			return
		}
		chunk = chunk[end+1:]
	}
}

func (c *Collector) consider(raw []byte, source string) {
	if len(raw) > maxLineLen {
		raw = raw[:maxLineLen]
	}
	c.candidates++
	// Try only the patterns whose literals occur in the line, in catalog order.
	if len(c.tryPat) != len(c.a.pats) {
		c.tryPat = make([]bool, len(c.a.pats))
	}
	try := c.tryPat
	any := false
	c.a.pf.collect(raw, func(id int32) {
		for _, pi := range c.a.byLit[id] {
			try[pi] = true
			any = true
		}
	})
	if !any {
		return
	}
	defer clear(try)
	var line Line
	parsed := false
	var matched []*Cause
	for i := range c.a.pats {
		if !try[i] {
			continue
		}
		p := &c.a.pats[i]
		if slices.Contains(matched, p.cause) || !containsAllBytes(raw, p.requiredBytes) {
			continue
		}
		if !parsed {
			line = ParseLine(raw)
			parsed = true
			if c.Zone != nil && !line.Time.IsZero() && line.Time.Location() != time.UTC {
				w := line.Time.In(c.Zone)
				line.Time = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
			}
			if !line.Time.IsZero() && c.Since > 0 && !c.Now.IsZero() && line.Time.Before(c.Now.Add(-c.Since)) {
				c.tooOld++
				return
			}
			if c.Site != "" && !c.forSite(&line) {
				c.otherSite++
				return
			}
		}
		if !p.any && line.Kind != p.kind && line.Kind != KindOther {
			continue
		}
		subject := line.Message
		if p.Field == "raw" || subject == "" {
			subject = line.Raw
		}
		if !containsAll(subject, p.required) {
			continue
		}
		m := p.re.FindStringSubmatchIndex(subject)
		if m == nil {
			continue
		}
		matched = append(matched, p.cause)
		vars := map[string]string{}
		for gi, name := range p.re.SubexpNames() {
			if name != "" && m[2*gi] >= 0 {
				vars[name] = subject[m[2*gi]:m[2*gi+1]]
			}
		}
		c.record(p, &line, vars, source)
	}
}

func (c *Collector) record(p *compiledPattern, line *Line, vars map[string]string, source string) {
	fillVars(vars, line)
	// Log lines are quoted as the program wrote them, never translated: no zh text.
	c.add(p.cause, p.Weight, line, "", vars, sourceLabel(line.Kind, source))
}

// add records one line of evidence for cause; zh, when set, is the line's Chinese
// text for a Chinese reply. The group key uses line.Message, never zh, so the
// reply's language cannot change how evidence is grouped or counted.
func (c *Collector) add(cause *Cause, weight float64, line *Line, zh string, vars map[string]string, source string) {
	ce := c.causes[cause.ID]
	if ce == nil {
		ce = &causeEvidence{cause: cause, byKey: map[string]*evidenceGroup{}}
		c.causes[cause.ID] = ce
	}
	ce.count++
	ce.weight = max(ce.weight, weight)
	t := line.Time
	if !t.IsZero() {
		if ce.first.IsZero() || t.Before(ce.first) {
			ce.first = t
		}
		if t.After(ce.last) {
			ce.last = t
		}
		if t.After(c.latest) {
			c.latest = t
		}
	}
	key := source + "\x00" + maskDigits(line.Message) + "\x00" + vars["upstream"]
	g := ce.byKey[key]
	if g == nil {
		if len(ce.groups) >= maxGroupsByCause {
			return // counted in ce.count, not shown
		}
		g = &evidenceGroup{source: source}
		ce.byKey[key] = g
		ce.groups = append(ce.groups, g)
	}
	g.count++
	if !t.IsZero() && (g.first.IsZero() || t.Before(g.first)) {
		g.first = t
	}
	// Keep the most recent line: it is the one worth showing.
	if g.count == 1 || t.IsZero() || !t.Before(g.last) {
		g.line = *line
		g.zh = zh
		g.vars = vars
		if !t.IsZero() {
			g.last = t
		}
	}
}

// fillVars adds the template variables every cause may use.
func fillVars(vars map[string]string, l *Line) {
	set := func(k, v string) {
		if v != "" && vars[k] == "" {
			vars[k] = v
		}
	}
	set("upstream", cleanUpstream(l.Upstream))
	if u := vars["upstream"]; strings.HasPrefix(u, "unix:") {
		set("socket", strings.TrimPrefix(u, "unix:"))
	}
	set("server", l.Server)
	set("host", l.Host)
	set("client", l.Client)
	set("process", l.Process)
	set("pool", l.Pool)
}

// cleanUpstream turns nginx's `fastcgi://unix:/run/php/x.sock:` or
// `http://127.0.0.1:8080/index.php` into `unix:/run/php/x.sock` or `127.0.0.1:8080`.
func cleanUpstream(u string) string {
	if u == "" {
		return ""
	}
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if path, ok := strings.CutPrefix(u, "unix:"); ok {
		// nginx writes unix upstreams as unix:/run/app.sock:/request/uri
		if i := strings.IndexByte(path, ':'); i >= 0 {
			path = path[:i]
		}
		return "unix:" + path
	}
	if i := strings.IndexByte(u, '/'); i >= 0 {
		u = u[:i]
	}
	return u
}

func maskDigits(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inDigits := false
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			if !inDigits {
				b.WriteByte('#')
			}
			inDigits = true
			continue
		}
		inDigits = false
		b.WriteByte(s[i])
	}
	return b.String()
}

// sourceLabel names where a line came from as "KIND_log:NAME".
func sourceLabel(k Kind, name string) string {
	prefix := "log"
	switch k {
	case KindNginx:
		prefix = "nginx_error_log"
	case KindFPM:
		prefix = "php_fpm_log"
	case KindKernel:
		prefix = "kernel_log"
	case KindAudit:
		prefix = "audit_log"
	}
	return prefix + ":" + name
}

func containsAll(s string, lits []string) bool {
	for _, l := range lits {
		if !strings.Contains(s, l) {
			return false
		}
	}
	return true
}

func containsAllBytes(b []byte, lits [][]byte) bool {
	for _, l := range lits {
		if !bytes.Contains(b, l) {
			return false
		}
	}
	return true
}

// forSite reports whether an nginx line may concern the site: its server or Host
// header names it (a default server "_" or a missing field could be anything).
func (c *Collector) forSite(l *Line) bool {
	if l.Kind != KindNginx || (l.Server == "" && l.Host == "") {
		return true
	}
	host := l.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return strings.EqualFold(l.Server, c.Site) || strings.EqualFold(host, c.Site)
}
