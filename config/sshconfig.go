package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// SSHConfig is a parsed OpenSSH client configuration (ssh_config(5)),
// reduced to what badgateway uses: Host blocks and the keys HostName,
// User, Port, IdentityFile, ProxyJump (and ProxyCommand, only to refuse
// it). Like OpenSSH, keywords are case-insensitive, "Key Value" and
// "Key=Value" both work, and for each key the first value that applies
// wins, except IdentityFile, whose values add up.
//
// Match blocks are skipped (except "Match all"): their criteria (exec,
// canonical, localuser, …) need the client's full state. Their options do
// not apply to any host.
type SSHConfig struct {
	Path    string
	home    string
	entries []sshEntry
	blocks  []*sshBlock
}

// sshBlock is one Host line (or a skipped Match).
type sshBlock struct {
	patterns []string    // lowercased, "!" kept
	never    bool        // a Match block
	parents  []*sshBlock // blocks of the Includes that read this one
}

// sshEntry is one option line with the blocks that must all match for it
// to apply: an Include inside a Host block nests the included file's
// blocks under it.
type sshEntry struct {
	conds []*sshBlock
	key   string // lowercased
	args  []string
	file  string
	line  int
}

// maxIncludeDepth is OpenSSH's READCONF_MAX_DEPTH.
const maxIncludeDepth = 16

// ReadSSHConfig parses the ssh_config at path. home is where ~ and relative
// Include paths (~/.ssh/NAME) point.
func ReadSSHConfig(path, home string) (*SSHConfig, error) {
	sc := &SSHConfig{Path: path, home: home}
	if err := sc.readFile(path, nil, 0); err != nil {
		return nil, err
	}
	return sc, nil
}

func (sc *SSHConfig) readFile(path string, conds []*sshBlock, depth int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read ssh_config: %w", err)
	}
	var errs []error
	cur := conds // entries before the file's first Host line apply under the includer's block
	for i, text := range strings.Split(string(data), "\n") {
		line := i + 1
		fail := func(format string, args ...any) {
			errs = append(errs, &Error{File: path, Line: line, Msg: fmt.Sprintf(format, args...)})
		}
		key, args, err := splitSSHLine(text)
		if err != nil {
			fail("%v", err)
			continue
		}
		if key == "" {
			continue
		}
		switch key {
		case "host":
			if len(args) == 0 {
				fail("Host needs at least one pattern")
				continue
			}
			b := &sshBlock{parents: conds}
			for _, a := range args {
				b.patterns = append(b.patterns, strings.ToLower(a))
			}
			sc.blocks = append(sc.blocks, b)
			cur = append(conds[:len(conds):len(conds)], b)
			continue
		case "match":
			b := &sshBlock{patterns: []string{"*"}, never: !(len(args) == 1 && strings.EqualFold(args[0], "all")), parents: conds}
			sc.blocks = append(sc.blocks, b)
			cur = append(conds[:len(conds):len(conds)], b)
			continue
		case "include":
			if depth+1 > maxIncludeDepth {
				fail("Include nested more than %d deep; look for an Include loop", maxIncludeDepth)
				continue
			}
			for _, a := range args {
				if err := sc.include(a, cur, depth+1); err != nil {
					errs = append(errs, &Error{File: path, Line: line, Msg: err.Error()})
				}
			}
			continue
		case "port":
			if len(args) > 0 {
				if n, err := strconv.Atoi(args[0]); err != nil || n < 1 || n > 65535 {
					fail("Port %q is not a number from 1 to 65535", args[0])
					continue
				}
			}
		}
		if len(args) == 0 {
			fail("%s needs a value", key)
			continue
		}
		sc.entries = append(sc.entries, sshEntry{conds: cur, key: key, args: args, file: path, line: line})
	}
	return errors.Join(errs...)
}

// include reads the files matching pattern; like OpenSSH, a relative
// pattern is under ~/.ssh and no match is not an error.
func (sc *SSHConfig) include(pattern string, conds []*sshBlock, depth int) error {
	p, err := expandHome(pattern, sc.home)
	if err != nil {
		return fmt.Errorf("Include %w", err)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(sc.home, ".ssh", p)
	}
	files, err := filepath.Glob(p)
	if err != nil {
		return fmt.Errorf("Include %q: %w", pattern, err)
	}
	var errs []error
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.IsDir() {
			continue
		}
		errs = append(errs, sc.readFile(f, conds, depth))
	}
	return errors.Join(errs...)
}

// splitSSHLine returns the lowercased keyword and its arguments; "" for a
// blank or comment line. Double quotes group words; an unquoted word
// starting with # starts a comment.
func splitSSHLine(text string) (string, []string, error) {
	s := strings.TrimSpace(text)
	if s == "" || s[0] == '#' {
		return "", nil, nil
	}
	i := strings.IndexAny(s, " \t=")
	if i < 0 {
		return strings.ToLower(s), nil, nil
	}
	key := strings.ToLower(s[:i])
	rest := strings.TrimLeft(s[i:], " \t")
	rest = strings.TrimPrefix(rest, "=")
	var args []string
	for {
		rest = strings.TrimLeft(rest, " \t")
		switch {
		case rest == "" || rest[0] == '#':
			return key, args, nil
		case rest[0] == '"':
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return "", nil, errors.New("unterminated quote; close it with \"")
			}
			args = append(args, rest[1:1+end])
			rest = rest[2+end:]
		default:
			end := strings.IndexAny(rest, " \t")
			if end < 0 {
				end = len(rest)
			}
			args = append(args, rest[:end])
			rest = rest[end:]
		}
	}
}

// matchPattern is OpenSSH's match_pattern: * any run, ? one character.
func matchPattern(s, p string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if matchPattern(s[i:], p) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		s, p = s[1:], p[1:]
	}
	return s == ""
}

// catchAll reports a pattern made only of wildcards: it matches any name,
// so it says nothing about whether a name is a known host.
func catchAll(p string) bool { return strings.Trim(p, "*?") == "" }

// match applies a block to host: a matching negated pattern excludes the
// host whatever else matches. specific is true when a matching positive
// pattern is not a catch-all.
func (b *sshBlock) match(host string) (ok, specific bool) {
	if b.never {
		return false, false
	}
	for _, p := range b.patterns {
		if neg, isNeg := strings.CutPrefix(p, "!"); isNeg && matchPattern(host, neg) {
			return false, false
		}
	}
	for _, p := range b.patterns {
		if !strings.HasPrefix(p, "!") && matchPattern(host, p) {
			ok = true
			specific = specific || !catchAll(p)
		}
	}
	return ok, specific
}

// Knows reports whether a Host block names host by a pattern other than a
// catch-all like *. OpenSSH would try to connect to any name; badgateway
// accepts a name outside its inventory only when the user's ssh_config
// clearly has it, so a typo is not a connection attempt.
func (sc *SSHConfig) Knows(host string) bool {
	host = strings.ToLower(host)
	for _, b := range sc.blocks {
		if ok, specific := b.match(host); ok && specific && allMatch(b.parents, host) {
			return true
		}
	}
	return false
}

func allMatch(blocks []*sshBlock, host string) bool {
	for _, b := range blocks {
		if ok, _ := b.match(host); !ok {
			return false
		}
	}
	return true
}

// sshValue is one option value that applies to a host.
type sshValue struct {
	args     []string
	specific bool // from a block that names the host, not a catch-all
	file     string
	line     int
}

// sshResult is what ssh_config says about one host.
type sshResult struct {
	first map[string]sshValue // first value of each key
	ids   []sshValue          // every IdentityFile, in order
}

// proxyKey merges ProxyJump and ProxyCommand: OpenSSH uses whichever comes first.
const proxyKey = "proxy"

func (sc *SSHConfig) lookup(host string) sshResult {
	r := sshResult{first: map[string]sshValue{}}
	if sc == nil {
		return r
	}
	host = strings.ToLower(host)
	for _, e := range sc.entries {
		if !allMatch(e.conds, host) {
			continue
		}
		specific := false
		for _, b := range e.conds {
			_, s := b.match(host)
			specific = specific || s
		}
		v := sshValue{args: e.args, specific: specific, file: e.file, line: e.line}
		key := e.key
		switch key {
		case "identityfile":
			r.ids = append(r.ids, v)
			continue
		case "proxyjump", "proxycommand":
			v.args = append([]string{key}, e.args...)
			key = proxyKey
		}
		if _, set := r.first[key]; !set {
			r.first[key] = v
		}
	}
	return r
}

// merge fills keys r lacks from o (a second lookup, by address).
func (r sshResult) merge(o sshResult) sshResult {
	for k, v := range o.first {
		if _, set := r.first[k]; !set {
			r.first[k] = v
		}
	}
	if len(r.ids) == 0 {
		r.ids = o.ids
	}
	return r
}

// get returns the value of key when its specificity is as asked.
func (r sshResult) get(key string, specific bool) string {
	if v, ok := r.first[key]; ok && v.specific == specific {
		return strings.Join(v.args, " ")
	}
	return ""
}

func (r sshResult) identityFiles(specific bool) []sshValue {
	var out []sshValue
	for _, v := range r.ids {
		if v.specific == specific {
			out = append(out, v)
		}
	}
	return out
}

// SSHHostConfig is what ssh_config says about one host name.
type SSHHostConfig struct {
	HostName      string   // %h expanded; "" = not set
	User          string   // "" = not set
	Port          int      // 0 = not set
	IdentityFiles []string // as written: ~ and %-tokens are expanded by SSHHost
	ProxyJump     string   // as written; "none" disables
}

// Lookup returns the values that apply to host, first value winning.
func (sc *SSHConfig) Lookup(host string) SSHHostConfig {
	r := sc.lookup(host)
	out := SSHHostConfig{User: strings.Join(r.first["user"].args, " ")}
	if v, ok := r.first["hostname"]; ok {
		out.HostName = expandHostName(v.args[0], host)
	}
	if v, ok := r.first["port"]; ok {
		out.Port, _ = strconv.Atoi(v.args[0])
	}
	for _, v := range r.ids {
		out.IdentityFiles = append(out.IdentityFiles, v.args[0])
	}
	if v, ok := r.first[proxyKey]; ok && v.args[0] == "proxyjump" {
		out.ProxyJump = strings.Join(v.args[1:], ",")
	}
	return out
}

// expandHostName handles the tokens HostName allows that need no lookup.
func expandHostName(s, host string) string {
	return strings.NewReplacer("%%", "%", "%h", host).Replace(s)
}

// sshTokens holds what %-tokens in IdentityFile expand to.
type sshTokens struct {
	home, host, orig, user string
	port                   int
}

// expandIdentity expands ~ and the %-tokens of ssh_config(5) TOKENS that
// make sense without a live connection.
func expandIdentity(v sshValue, t sshTokens) (string, error) {
	s := v.args[0]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", &Error{File: v.file, Line: v.line, Msg: fmt.Sprintf("IdentityFile %q ends with a lone %%; write %%%% for a literal %%", s)}
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'd':
			b.WriteString(t.home)
		case 'h':
			b.WriteString(t.host)
		case 'n':
			b.WriteString(t.orig)
		case 'r':
			b.WriteString(t.user)
		case 'p':
			b.WriteString(strconv.Itoa(t.port))
		case 'u':
			u, err := user.Current()
			if err != nil {
				return "", &Error{File: v.file, Line: v.line, Msg: fmt.Sprintf("IdentityFile %%u: %v", err)}
			}
			b.WriteString(u.Username)
		default:
			return "", &Error{File: v.file, Line: v.line, Msg: fmt.Sprintf("IdentityFile token %%%c is not supported by badgateway; write the path out", s[i])}
		}
	}
	out, err := expandHome(b.String(), t.home)
	if err != nil {
		return "", &Error{File: v.file, Line: v.line, Msg: "IdentityFile " + err.Error()}
	}
	return out, nil
}

// loadSSHConfig reads ssh_config when the config asks for it.
func (l *loader) loadSSHConfig() {
	c := l.c
	if !c.SSH.UseSSHConfig {
		return
	}
	path, explicit := c.SSH.SSHConfig, true
	if path == "" {
		if c.home == "" {
			l.errorf([]any{"ssh", "use_ssh_config"}, "ssh.use_ssh_config: the home directory is unknown; set ssh.ssh_config to the file's path")
			return
		}
		path, explicit = filepath.Join(c.home, ".ssh", "config"), false
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if explicit {
			l.errorf([]any{"ssh", "ssh_config"}, "ssh.ssh_config: %s does not exist; fix the path or remove the key for ~/.ssh/config", path)
			return
		}
		c.sshConfig = &SSHConfig{Path: path, home: c.home} // no ~/.ssh/config is the same as an empty one
		return
	}
	sc, err := ReadSSHConfig(path, c.home)
	if err != nil {
		l.sshConfigError(err)
		return
	}
	c.sshConfig = sc
}

// sshConfigError keeps ssh_config's own FILE:LINE errors as they are.
func (l *loader) sshConfigError(err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			l.sshConfigError(e)
		}
		return
	}
	var e *Error
	if errors.As(err, &e) {
		l.errs = append(l.errs, e)
		return
	}
	l.errorf([]any{"ssh", "ssh_config"}, "ssh.ssh_config: %v", err)
}
