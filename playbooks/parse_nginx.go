package playbooks

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

// ContainedMark starts the nginx_config step's output when the only running
// nginx masters are in containers (another mount namespace); the container's
// nginx -T follows when the container could be named.
const ContainedMark = "# badgateway: nginx runs in a container"

// ParseNginxT reads the output of
//
//	nginx -T 2>&1
//
// (on BaoTa hosts the binary is /www/server/nginx/sbin/nginx). nginx prints its
// verdict on stderr ("nginx: the configuration file … syntax is ok", "…test is
// successful", or [emerg] lines and "…test failed"), then on stdout, for every
// file it read, "# configuration file PATH:" and the file's bytes. Files are dumped
// once each, in the order nginx first read them, so an include is resolved here by
// glob-matching its pattern (relative to the first file's directory, nginx's conf
// prefix) against the dumped names and walking the matches in place.
//
// The stderr lines may come before, inside or after the dump; they are taken out
// wherever they are. Without them TestResult stays "".
func ParseNginxT(out []byte) (knowledge.NginxConfig, error) {
	p := newProblems("nginx_t")
	cfg := knowledge.NginxConfig{Files: []string{}}
	secs := splitNginxDump(out, &cfg)
	// The playbook's own line, when the configuration is a container's.
	for i, m := range cfg.Messages {
		if rest, ok := strings.CutPrefix(m, ContainedMark); ok {
			cfg.InContainer = true
			if _, name, ok := strings.Cut(rest, ", container "); ok && name != "unknown" {
				cfg.Container = strings.TrimSpace(name)
			}
			cfg.Messages = slices.Delete(cfg.Messages, i, i+1)
			break
		}
	}
	if len(secs) == 0 {
		switch {
		case cfg.InContainer:
			// nginx runs only in containers, and none could be read: nothing of this host's.
			return cfg, nil
		case cfg.TestResult == "failed":
			// nginx refused the configuration and dumped nothing: Messages say why.
		case len(cfg.Messages) > 0:
			p.add(0, "no \"# configuration file\" section: nginx printed a verdict but no dump (nginx -t instead of -T?)")
		default:
			p.add(0, "no \"# configuration file\" section: not the output of nginx -T")
		}
		return cfg, p.err()
	}
	w := &nginxWalker{
		cfg:       &cfg,
		p:         p,
		byKey:     map[string]*nginxSection{},
		globCache: map[string][]*nginxSection{},
		incSeen:   map[string]bool{},
		resSeen:   map[string]bool{},
		expanding: map[*nginxSection]bool{},
	}
	total := 0
	for _, s := range secs {
		cfg.Files = append(cfg.Files, s.name)
		if w.byKey[s.key] == nil {
			w.byKey[s.key] = s
			w.unique = append(w.unique, s)
		}
		s.dirs, s.count = parseNginxFile(s, p)
		total += s.count
	}
	// Including a file from many places is normal (fastcgi_params in every PHP
	// location) but nesting such includes multiplies; the budget keeps the walk
	// linear in the input whatever it holds.
	w.budget = 200000 + 16*total
	w.prefix = path.Dir(secs[0].key) + "/"
	w.main(secs[0])
	w.linkUpstreams()
	return cfg, p.err()
}

type nginxSection struct {
	name    string // as dumped
	key     string // path.Clean(name), what include patterns are matched against
	outLine int    // output line of the "# configuration file" header
	body    []byte
	dirs    []*nginxDirective
	count   int // directives in dirs, nested ones included
}

type nginxDirective struct {
	name    string
	args    []string
	line    int // in the section's file
	isBlock bool
	block   []*nginxDirective
}

// splitNginxDump cuts the output into dumped files and takes nginx's own stderr
// lines out into cfg.Messages.
func splitNginxDump(out []byte, cfg *knowledge.NginxConfig) []*nginxSection {
	var secs []*nginxSection
	var cur *nginxSection
	eachLine(out, func(n int, line string) {
		if name, ok := nginxSectionHeader(line); ok {
			cur = &nginxSection{name: name, key: path.Clean(name), outLine: n}
			secs = append(secs, cur)
			return
		}
		if nginxStderrLine(line) {
			if len(cfg.Messages) < 200 {
				cfg.Messages = append(cfg.Messages, line)
			}
			switch {
			case strings.HasSuffix(line, " test is successful"):
				cfg.TestResult = "successful"
			case strings.HasSuffix(line, " test failed"):
				cfg.TestResult = "failed"
			}
			return
		}
		if cur == nil {
			// Before the dump only stderr can appear (sudo, a shell's complaint…).
			if t := strings.TrimSpace(line); t != "" && len(cfg.Messages) < 200 {
				cfg.Messages = append(cfg.Messages, t)
			}
			return
		}
		cur.body = append(cur.body, line...)
		cur.body = append(cur.body, '\n')
	})
	return secs
}

func nginxSectionHeader(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "# configuration file ")
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ':' {
		return "", false
	}
	return rest[:len(rest)-1], true
}

// nginxStderrLine: what nginx writes to stderr during -t/-T. No configuration line
// can look like these without being a syntax error nginx would have reported.
func nginxStderrLine(line string) bool {
	if strings.HasPrefix(line, "nginx: [") ||
		strings.HasPrefix(line, "nginx: the configuration file ") ||
		strings.HasPrefix(line, "nginx: configuration file ") {
		return true
	}
	// Before its error_log is open nginx logs to stderr in error.log form:
	// "2026/11/26 00:38:33 [emerg] 15170#15170: unknown directive …".
	if len(line) < 22 || line[4] != '/' || line[7] != '/' || line[10] != ' ' || line[13] != ':' || line[16] != ':' || line[19] != ' ' || line[20] != '[' {
		return false
	}
	for _, i := range []int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if line[i] < '0' || line[i] > '9' {
			return false
		}
	}
	return true
}

// --- lexer: nginx's ngx_conf_read_token rules ---

const (
	tokWord = iota
	tokSemi
	tokOpen
	tokClose
	tokEOF
)

type nginxToken struct {
	kind int
	text string
	line int
}

type nginxLexer struct {
	b    []byte
	i    int
	line int
	buf  []byte
	sec  *nginxSection
	p    *problems
}

func (lx *nginxLexer) problem(line int, format string, args ...any) {
	lx.p.addProblem(nginxProblem(lx.sec, line, fmt.Sprintf(format, args...)))
}

func nginxProblem(sec *nginxSection, line int, msg string) LineProblem {
	return LineProblem{Line: sec.outLine + line, File: sec.name, FileLine: line, Msg: msg}
}

func (lx *nginxLexer) next() nginxToken {
	for lx.i < len(lx.b) {
		c := lx.b[lx.i]
		switch c {
		case '\n':
			lx.line++
			lx.i++
		case ' ', '\t', '\r':
			lx.i++
		case ';':
			lx.i++
			return nginxToken{kind: tokSemi, line: lx.line}
		case '{':
			lx.i++
			return nginxToken{kind: tokOpen, line: lx.line}
		case '}':
			lx.i++
			return nginxToken{kind: tokClose, line: lx.line}
		case '#':
			for lx.i < len(lx.b) && lx.b[lx.i] != '\n' {
				lx.i++
			}
		case '"', '\'':
			return lx.quoted(c)
		default:
			return lx.word()
		}
	}
	return nginxToken{kind: tokEOF, line: lx.line}
}

// escape appends the unescaped form of the backslash sequence at lx.i, as nginx
// does: \" \' \\ \t \r \n are translated, any other \x is kept as written.
func (lx *nginxLexer) escape() {
	if lx.i+1 >= len(lx.b) {
		lx.buf = append(lx.buf, '\\')
		lx.i++
		return
	}
	switch n := lx.b[lx.i+1]; n {
	case '"', '\'', '\\':
		lx.buf = append(lx.buf, n)
	case 't':
		lx.buf = append(lx.buf, '\t')
	case 'r':
		lx.buf = append(lx.buf, '\r')
	case 'n':
		lx.buf = append(lx.buf, '\n')
	default:
		if n == '\n' {
			lx.line++
		}
		lx.buf = append(lx.buf, '\\', n)
	}
	lx.i += 2
}

func (lx *nginxLexer) word() nginxToken {
	start := lx.line
	lx.buf = lx.buf[:0]
	dollar := false
	for lx.i < len(lx.b) {
		c := lx.b[lx.i]
		if c == '\\' {
			lx.escape()
			dollar = false
			continue
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' {
			break
		}
		// "${name}" is a variable, not a block; '}' and '#' inside a word are plain.
		if c == '{' && !dollar {
			break
		}
		dollar = c == '$'
		lx.buf = append(lx.buf, c)
		lx.i++
	}
	return nginxToken{kind: tokWord, text: string(lx.buf), line: start}
}

func (lx *nginxLexer) quoted(q byte) nginxToken {
	start := lx.line
	lx.buf = lx.buf[:0]
	lx.i++
	closed := false
	for lx.i < len(lx.b) {
		c := lx.b[lx.i]
		if c == '\\' {
			lx.escape()
			continue
		}
		if c == q {
			lx.i++
			closed = true
			break
		}
		if c == '\n' {
			lx.line++
		}
		lx.buf = append(lx.buf, c)
		lx.i++
	}
	if !closed {
		lx.problem(start, "unexpected end of file in a %c-quoted string", q)
	} else if lx.i < len(lx.b) {
		switch c := lx.b[lx.i]; c {
		case ' ', '\t', '\r', '\n', ';', '{', ')':
		default:
			lx.problem(lx.line, "unexpected %q after a quoted string", string(c))
		}
	}
	return nginxToken{kind: tokWord, text: string(lx.buf), line: start}
}

// skipRaw steps over the body of a *_by_lua_block, which is Lua, not nginx syntax:
// braces are counted outside Lua strings and comments.
func (lx *nginxLexer) skipRaw(openLine int) {
	depth := 1
	for lx.i < len(lx.b) {
		c := lx.b[lx.i]
		lx.i++
		switch c {
		case '\n':
			lx.line++
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return
			}
		case '"', '\'':
			for lx.i < len(lx.b) && lx.b[lx.i] != c && lx.b[lx.i] != '\n' {
				if lx.b[lx.i] == '\\' {
					lx.i++
				}
				lx.i++
			}
			lx.i++
		case '-':
			if lx.i < len(lx.b) && lx.b[lx.i] == '-' {
				for lx.i < len(lx.b) && lx.b[lx.i] != '\n' {
					lx.i++
				}
			}
		}
	}
	lx.problem(openLine, "unexpected end of file in a Lua block")
}

// maxNginxDepth bounds block nesting; real configurations stay under ten.
const maxNginxDepth = 64

// parseNginxFile builds the directive tree of one dumped file. It recovers from
// errors as far as it can, reporting each with its file:line.
func parseNginxFile(sec *nginxSection, p *problems) ([]*nginxDirective, int) {
	lx := &nginxLexer{b: sec.body, line: 1, sec: sec, p: p}
	var root []*nginxDirective
	var stack []*nginxDirective
	var cur []string
	curLine, count := 0, 0
	add := func(d *nginxDirective) {
		count++
		if len(stack) == 0 {
			root = append(root, d)
		} else {
			top := stack[len(stack)-1]
			top.block = append(top.block, d)
		}
	}
	flush := func() *nginxDirective {
		d := &nginxDirective{name: cur[0], args: cur[1:], line: curLine}
		cur = nil
		add(d)
		return d
	}
	for {
		t := lx.next()
		switch t.kind {
		case tokWord:
			if len(cur) == 0 {
				curLine = t.line
			}
			cur = append(cur, t.text)
		case tokSemi:
			if len(cur) == 0 {
				lx.problem(t.line, `unexpected ";"`)
				continue
			}
			flush()
		case tokOpen:
			if len(cur) == 0 {
				lx.problem(t.line, `unexpected "{"`)
				cur, curLine = []string{""}, t.line // an unnamed block, so its "}" pairs up
			}
			d := flush()
			d.isBlock = true
			if strings.HasSuffix(d.name, "_by_lua_block") {
				lx.skipRaw(t.line)
				continue
			}
			if len(stack) >= maxNginxDepth {
				lx.problem(t.line, "blocks nested deeper than %d", maxNginxDepth)
			}
			stack = append(stack, d)
		case tokClose:
			if len(cur) > 0 {
				lx.problem(t.line, `unexpected "}" (missing ";" after %q?)`, cur[0])
				flush()
			}
			if len(stack) == 0 {
				lx.problem(t.line, `unexpected "}"`)
				continue
			}
			stack = stack[:len(stack)-1]
		case tokEOF:
			if len(cur) > 0 {
				lx.problem(curLine, `unexpected end of file, expecting ";" or "}" after %q`, cur[0])
				flush()
			}
			if len(stack) > 0 {
				lx.problem(stack[len(stack)-1].line, `unexpected end of file, expecting "}" to close %q`, stack[len(stack)-1].name)
			}
			return root, count
		}
	}
}

// --- walker: directives in context, includes expanded in place ---

type nginxAt struct {
	sec *nginxSection
	via string // "file:line" of the include that brought sec in; "" for the main file
}

type nginxWalker struct {
	cfg        *knowledge.NginxConfig
	p          *problems
	prefix     string
	byKey      map[string]*nginxSection
	unique     []*nginxSection // first section of each name, dump order
	globCache  map[string][]*nginxSection
	incSeen    map[string]bool
	resSeen    map[string]bool
	expanding  map[*nginxSection]bool
	incDepth   int
	depth      int
	budget     int
	overBudget bool
	httpDirs   map[string][]string
}

func (w *nginxWalker) problem(at nginxAt, line int, format string, args ...any) {
	w.p.addProblem(nginxProblem(at.sec, line, fmt.Sprintf(format, args...)))
}

func (w *nginxWalker) spend(n int) bool {
	if w.budget -= n; w.budget < 0 {
		if !w.overBudget {
			w.overBudget = true
			w.p.add(0, "includes expand to too many directives; the rest is not read")
		}
		return false
	}
	return true
}

// each calls fn for every directive of dirs in order, replacing each include by
// the directives of the files it matched.
func (w *nginxWalker) each(dirs []*nginxDirective, at nginxAt, fn func(d *nginxDirective, at nginxAt)) {
	for _, d := range dirs {
		if !w.spend(1) {
			return
		}
		if d.name == "include" && !d.isBlock {
			w.include(d, at, fn)
			continue
		}
		fn(d, at)
	}
}

func (w *nginxWalker) include(d *nginxDirective, at nginxAt, fn func(d *nginxDirective, at nginxAt)) {
	if len(d.args) != 1 {
		w.problem(at, d.line, "include takes one argument, got %d", len(d.args))
		return
	}
	pat := d.args[0]
	if !strings.HasPrefix(pat, "/") {
		pat = w.prefix + pat
	}
	pat = path.Clean(pat)
	matched := w.match(pat, at, d.line)
	via := fmt.Sprintf("%s:%d", at.sec.name, d.line)
	if !w.incSeen[via] {
		w.incSeen[via] = true
		names := make([]string, 0, len(matched))
		for _, s := range matched {
			names = append(names, s.name)
		}
		w.cfg.Includes = append(w.cfg.Includes, knowledge.NginxInclude{Pattern: pat, File: at.sec.name, Line: d.line, Matched: names})
	}
	if w.incDepth >= 32 {
		w.problem(at, d.line, "includes nested deeper than 32")
		return
	}
	w.incDepth++
	defer func() { w.incDepth-- }()
	for _, s := range matched {
		if w.expanding[s] {
			w.problem(at, d.line, "%s includes itself", s.name)
			continue
		}
		w.expanding[s] = true
		w.each(s.dirs, nginxAt{sec: s, via: via}, fn)
		delete(w.expanding, s)
	}
}

// match returns the dumped files an include pattern stands for, in the sorted
// order glob(3) gives nginx.
func (w *nginxWalker) match(pat string, at nginxAt, line int) []*nginxSection {
	if m, ok := w.globCache[pat]; ok {
		return m
	}
	var m []*nginxSection
	if !strings.ContainsAny(pat, "*?[") {
		if s := w.byKey[pat]; s != nil {
			m = append(m, s)
		}
	} else if w.spend(len(w.unique)) {
		for _, s := range w.unique {
			ok, err := path.Match(pat, s.key)
			if err != nil {
				w.problem(at, line, "bad include pattern %q: %v", pat, err)
				break
			}
			if ok {
				m = append(m, s)
			}
		}
		sort.Slice(m, func(i, j int) bool { return m[i].key < m[j].key })
	}
	w.globCache[pat] = m
	return m
}

func joinArgs(d *nginxDirective) string { return strings.Join(d.args, " ") }

func addDirective(m *map[string][]string, d *nginxDirective) {
	if *m == nil {
		*m = map[string][]string{}
	}
	(*m)[d.name] = append((*m)[d.name], joinArgs(d))
}

// finishDirectives joins repeated directives with "\n" (see NginxServer.Directives).
func finishDirectives(m map[string][]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = strings.Join(v, "\n")
	}
	return out
}

func (w *nginxWalker) resolver(d *nginxDirective) {
	if d.name != "resolver" || d.isBlock {
		return
	}
	if v := joinArgs(d); v != "" && !w.resSeen[v] {
		w.resSeen[v] = true
		w.cfg.Resolvers = append(w.cfg.Resolvers, v)
	}
}

func nginxLog(d *nginxDirective, at nginxAt) knowledge.NginxLog {
	l := knowledge.NginxLog{File: at.sec.name, Line: d.line}
	if len(d.args) > 0 {
		l.Path = d.args[0]
		l.Options = strings.Join(d.args[1:], " ")
	}
	return l
}

func (w *nginxWalker) int64Arg(d *nginxDirective, at nginxAt) int64 {
	if len(d.args) == 1 {
		if n, ok := atoi64Field(d.args[0]); ok {
			return n
		}
	}
	w.problem(at, d.line, "%s: want a number, got %q", d.name, joinArgs(d))
	return 0
}

func (w *nginxWalker) main(first *nginxSection) {
	c := w.cfg
	at := nginxAt{sec: first}
	w.expanding[first] = true
	w.each(first.dirs, at, func(d *nginxDirective, at nginxAt) {
		switch d.name {
		case "user":
			c.User = joinArgs(d)
		case "worker_processes":
			c.WorkerProcesses = joinArgs(d)
		case "worker_rlimit_nofile":
			c.WorkerRlimitNoFile = w.int64Arg(d, at)
		case "pid":
			c.PIDFile = joinArgs(d)
		case "error_log":
			c.ErrorLogs = append(c.ErrorLogs, nginxLog(d, at))
		case "events":
			w.each(d.block, at, func(d *nginxDirective, at nginxAt) {
				if d.name == "worker_connections" {
					c.WorkerConnections = int(w.int64Arg(d, at))
				}
			})
		case "http":
			w.http(d, at)
		}
		// stream{} and mail{} do not answer HTTP and cannot give a 502.
	})
	c.Directives = finishDirectives(w.httpDirs)
}

func (w *nginxWalker) http(b *nginxDirective, at nginxAt) {
	c := w.cfg
	w.each(b.block, at, func(d *nginxDirective, at nginxAt) {
		switch {
		case d.name == "server" && d.isBlock:
			w.server(d, at)
		case d.name == "upstream" && d.isBlock:
			w.upstream(d, at)
		case d.isBlock:
			// map, geo, types, split_clients, charset_map…: their bodies are data.
		default:
			switch d.name {
			case "error_log":
				c.ErrorLogs = append(c.ErrorLogs, nginxLog(d, at))
			case "access_log":
				c.AccessLogs = append(c.AccessLogs, nginxLog(d, at))
			}
			w.resolver(d)
			addDirective(&w.httpDirs, d)
		}
	})
}

func (w *nginxWalker) server(b *nginxDirective, at nginxAt) {
	srv := knowledge.NginxServer{File: at.sec.name, Line: b.line, Via: at.via}
	var dirs map[string][]string
	var locDirs []map[string][]string
	w.each(b.block, at, func(d *nginxDirective, at nginxAt) {
		switch {
		case d.name == "location" && d.isBlock:
			w.location(&srv, &locDirs, d, at, -1)
		case d.isBlock:
			// if{} at server level holds rewrite/return/set only; no *_pass is allowed there.
		case d.name == "listen":
			srv.Listen = append(srv.Listen, joinArgs(d))
		case d.name == "server_name":
			srv.ServerNames = append(srv.ServerNames, d.args...)
		default:
			switch d.name {
			case "root":
				srv.Root = joinArgs(d)
			case "client_max_body_size":
				srv.ClientMaxBodySize = joinArgs(d)
			case "error_log":
				srv.ErrorLogs = append(srv.ErrorLogs, nginxLog(d, at))
			case "access_log":
				srv.AccessLogs = append(srv.AccessLogs, nginxLog(d, at))
			}
			w.resolver(d)
			addDirective(&dirs, d)
		}
	})
	srv.Directives = finishDirectives(dirs)
	for i := range srv.Locations {
		if i < len(locDirs) {
			srv.Locations[i].Directives = finishDirectives(locDirs[i])
		}
	}
	w.cfg.Servers = append(w.cfg.Servers, srv)
}

var nginxPassDirectives = map[string]string{
	"proxy_pass":     "http",
	"fastcgi_pass":   "fastcgi",
	"uwsgi_pass":     "uwsgi",
	"scgi_pass":      "scgi",
	"grpc_pass":      "grpc",
	"memcached_pass": "memcached",
}

// location records a location, if or limit_except block (nginx makes the latter
// two implicit nested locations) and, after it, the blocks nested in it.
func (w *nginxWalker) location(srv *knowledge.NginxServer, locDirs *[]map[string][]string, b *nginxDirective, at nginxAt, parent int) {
	if w.depth >= maxNginxDepth {
		w.problem(at, b.line, "locations nested deeper than %d", maxNginxDepth)
		return
	}
	w.depth++
	defer func() { w.depth-- }()
	loc := knowledge.NginxLocation{Kind: b.name, Parent: parent, File: at.sec.name, Line: b.line, Via: at.via}
	if b.name == "location" {
		loc.Modifier, loc.Path = locationArgs(b.args)
	} else {
		loc.Cond = joinArgs(b)
	}
	idx := len(srv.Locations)
	srv.Locations = append(srv.Locations, loc)
	*locDirs = append(*locDirs, nil)
	w.each(b.block, at, func(d *nginxDirective, at nginxAt) {
		switch {
		case d.isBlock && (d.name == "location" || d.name == "if" || d.name == "limit_except"):
			w.location(srv, locDirs, d, at, idx)
		case d.isBlock:
		case nginxPassDirectives[d.name] != "":
			if len(d.args) != 1 {
				w.problem(at, d.line, "%s takes one argument, got %d", d.name, len(d.args))
				return
			}
			pass := parseNginxPass(d.name, d.args[0])
			pass.File, pass.Line = at.sec.name, d.line
			srv.Locations[idx].Pass = &pass
		default:
			w.resolver(d)
			addDirective(&(*locDirs)[idx], d)
		}
	})
}

// locationArgs splits "location [=|~|~*|^~] uri" including the glued forms nginx
// accepts ("=/x", "~\.php$").
func locationArgs(args []string) (mod, p string) {
	switch len(args) {
	case 0:
		return "", ""
	case 1:
		p = args[0]
		for _, m := range []string{"=", "^~", "~*", "~"} {
			if len(p) > len(m) && strings.HasPrefix(p, m) {
				return m, p[len(m):]
			}
		}
		return "", p
	}
	return args[0], strings.Join(args[1:], " ")
}

// parseNginxPass splits a *_pass target the way nginx's ngx_parse_url does.
func parseNginxPass(directive, target string) knowledge.NginxPass {
	p := knowledge.NginxPass{Directive: directive, Target: target, Scheme: nginxPassDirectives[directive]}
	rest := target
	lower := strings.ToLower(target)
	for _, s := range []string{"https://", "http://", "grpcs://", "grpc://", "suwsgi://", "uwsgi://"} {
		if strings.HasPrefix(lower, s) {
			p.Scheme, rest = s[:len(s)-3], target[len(s):]
			break
		}
	}
	if strings.Contains(target, "$") {
		p.UsesVariable = true
		return p
	}
	uriPart := directive == "proxy_pass" // only proxy_pass takes a URI after the address
	if len(rest) >= 5 && strings.EqualFold(rest[:5], "unix:") {
		sock := rest[5:]
		if uriPart {
			// http://unix:/path:/uri — the path ends at the first ':'.
			if i := strings.IndexByte(sock, ':'); i >= 0 {
				sock, p.URI = sock[:i], sock[i+1:]
			}
		}
		p.Socket, p.Address = sock, "unix:"+sock
		return p
	}
	hostport := rest
	if uriPart {
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			hostport, p.URI = rest[:i], rest[i:]
		}
	}
	p.Address = hostport
	p.Host, p.Port = splitHostPort(hostport)
	return p
}

// splitHostPort handles "h", "h:p", "[v6]" and "[v6]:p"; port 0 when absent or bad.
func splitHostPort(hp string) (string, int) {
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		if i := strings.IndexByte(hp, ']'); i > 0 {
			host = hp[1:i]
			if strings.HasPrefix(hp[i+1:], ":") {
				port = hp[i+2:]
			}
		}
	} else if i := strings.LastIndexByte(hp, ':'); i >= 0 && strings.Count(hp, ":") == 1 {
		host, port = hp[:i], hp[i+1:]
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		n = 0
	}
	return host, n
}

func (w *nginxWalker) upstream(b *nginxDirective, at nginxAt) {
	up := knowledge.NginxUpstream{Name: joinArgs(b), File: at.sec.name, Line: b.line, Via: at.via}
	var dirs map[string][]string
	w.each(b.block, at, func(d *nginxDirective, at nginxAt) {
		switch {
		case d.isBlock:
		case d.name == "server":
			if len(d.args) == 0 {
				w.problem(at, d.line, "server without an address")
				return
			}
			up.Servers = append(up.Servers, knowledge.NginxUpstreamServer{Address: d.args[0], Params: strings.Join(d.args[1:], " "), Line: d.line})
		case d.name == "keepalive":
			up.Keepalive = int(w.int64Arg(d, at))
			addDirective(&dirs, d)
		default:
			w.resolver(d)
			addDirective(&dirs, d)
		}
	})
	up.Directives = finishDirectives(dirs)
	w.cfg.Upstreams = append(w.cfg.Upstreams, up)
}

// linkUpstreams names the upstream{} a portless target refers to (nginx matches
// names case-insensitively) and gives the other targets the port nginx would use.
func (w *nginxWalker) linkUpstreams() {
	names := map[string]string{}
	for _, u := range w.cfg.Upstreams {
		names[strings.ToLower(u.Name)] = u.Name
	}
	for si := range w.cfg.Servers {
		locs := w.cfg.Servers[si].Locations
		for li := range locs {
			p := locs[li].Pass
			if p == nil || p.UsesVariable || p.Socket != "" || portWritten(p.Address) {
				continue
			}
			if name, ok := names[strings.ToLower(p.Host)]; ok {
				p.Upstream = name
				continue
			}
			def := map[string]int{"http": 80, "https": 443}[p.Scheme]
			if def != 0 && p.Host != "" {
				p.Port = def
				p.Address = joinHostPort(p.Host, def)
			}
		}
	}
}

// portWritten: the address names a port, even an invalid one (which nginx
// would have refused, so it is left alone here).
func portWritten(hp string) bool {
	if strings.HasPrefix(hp, "[") {
		return strings.Contains(hp, "]:")
	}
	return strings.Count(hp, ":") == 1
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}
