package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Options adapts loading to tests and embedders.
type Options struct {
	// LookupEnv resolves ${NAME} references (and $SSH_AUTH_SOCK for the
	// agent default); nil = os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// Home replaces the user's home directory for ~, ~/.ssh/config,
	// default keys and known_hosts; "" = os.UserHomeDir().
	Home string
}

func (c *Config) init(o Options) {
	c.lookupEnv = o.LookupEnv
	if c.lookupEnv == nil {
		c.lookupEnv = os.LookupEnv
	}
	c.home = o.Home
	if c.home == "" {
		c.home, _ = os.UserHomeDir() // "" only makes ~ unusable, reported where used
	}
	c.missing = map[string]missingEnv{}
}

// Load reads and validates the config file at path. The error lists every
// problem found, one FILE:LINE: message per line (errors.Join).
func Load(path string) (*Config, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with Options.
func LoadWith(path string, o Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, o)
}

// Parse validates data as the config file called name; relative paths in
// it are taken relative to name's directory.
func Parse(name string, data []byte, o Options) (*Config, error) {
	c := &Config{Path: name}
	c.init(o)
	l := &loader{c: c, file: name, dir: filepath.Dir(name), secretRefs: map[string]string{}, hopLines: map[string][]int{}, failed: map[string]bool{}}

	// The node tree only locates lines: the typed decode below is the one
	// that is strict.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.yamlError(err)
		return nil, l.result()
	}
	if len(doc.Content) > 0 {
		l.loc.root = doc.Content[0]
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var raw rawConfig
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		l.yamlError(err)
	}
	// yaml.Unmarshal above read only the first document: anything after
	// it would be silently ignored.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		l.errs = append(l.errs, &Error{File: name, Line: extra.Line, Msg: "a second YAML document (after ---); keep the whole config in one document"})
	}
	// A structural error leaves fields unset, and validating them would
	// only add consequences of the same mistake.
	if len(l.errs) > 0 {
		return nil, l.result()
	}

	l.expand(reflect.ValueOf(&raw).Elem(), nil, "")
	l.convert(&raw)
	l.loadSSHConfig()
	l.validate()
	if err := l.result(); err != nil {
		return nil, err
	}
	return c, nil
}

// loader carries the state of one Parse.
type loader struct {
	c          *Config
	file, dir  string
	loc        locator
	errs       []*Error
	secretRefs map[string]string // field path → "${NAME}" as written
	hopLines   map[string][]int  // hosts[i].jump → the line of each hop
	failed     map[string]bool   // paths whose value could not be expanded
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// errorf reports a problem at path, unless expanding its value failed
// already: parsing what is left would only fail again.
func (l *loader) errorf(path []any, format string, args ...any) {
	if l.failed[pathString(path)] {
		return
	}
	l.errorAt(l.loc.line(path), format, args...)
}

// expandFailed reports a value that could not be expanded.
func (l *loader) expandFailed(path []any, format string, args ...any) {
	l.errorf(path, format, args...)
	l.failed[pathString(path)] = true
}

func (l *loader) errorAt(line int, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// result joins the problems in file order.
func (l *loader) result() error {
	if len(l.errs) == 0 {
		return nil
	}
	// The config's own lines first, then those of the ssh_config files.
	slices.SortStableFunc(l.errs, func(a, b *Error) int {
		return cmp.Or(compareBool(a.File != l.file, b.File != l.file), cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	errs := make([]error, len(l.errs))
	for i, e := range l.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// The raw types mirror the file. Every scalar is a string so that a
// ${VAR} can stand anywhere and a bad value gets our message, not the
// YAML library's; convert parses them.
type rawConfig struct {
	SSH       *rawSSH     `yaml:"ssh"`
	Hosts     []rawHost   `yaml:"hosts"`
	Slack     *rawSlack   `yaml:"slack"`
	Discord   *rawDiscord `yaml:"discord"`
	HTTP      *rawHTTP    `yaml:"http"`
	Access    []rawRule   `yaml:"access"`
	AuditLog  string      `yaml:"audit_log"`
	Playbooks string      `yaml:"playbooks"`
	Causes    string      `yaml:"causes"`
}

type rawSSH struct {
	User           string     `yaml:"user"`
	Port           string     `yaml:"port"`
	IdentityFiles  stringList `yaml:"identity_files"`
	KnownHosts     string     `yaml:"known_hosts"`
	ConnectTimeout string     `yaml:"connect_timeout"`
	CommandTimeout string     `yaml:"command_timeout"`
	KeepAlive      string     `yaml:"keepalive"`
	Sudo           string     `yaml:"sudo"`
	UseAgent       string     `yaml:"use_agent"`
	UseSSHConfig   string     `yaml:"use_ssh_config"`
	SSHConfig      string     `yaml:"ssh_config"`
}

type rawHost struct {
	Name          string     `yaml:"name"`
	Address       string     `yaml:"address"`
	Port          string     `yaml:"port"`
	User          string     `yaml:"user"`
	IdentityFiles stringList `yaml:"identity_files"`
	Labels        stringList `yaml:"labels"`
	Jump          stringList `yaml:"jump"`
	Sudo          string     `yaml:"sudo"`
	KnownHosts    string     `yaml:"known_hosts"`
}

// The secret tag names the variable suggested when a secret is inline.
type rawSlack struct {
	AppToken      string `yaml:"app_token" secret:"SLACK_APP_TOKEN"`
	BotToken      string `yaml:"bot_token" secret:"SLACK_BOT_TOKEN"`
	SigningSecret string `yaml:"signing_secret" secret:"SLACK_SIGNING_SECRET"`
	APIURL        string `yaml:"api_url"`
}

type rawDiscord struct {
	BotToken      string `yaml:"bot_token" secret:"DISCORD_BOT_TOKEN"`
	ApplicationID string `yaml:"application_id"`
	PublicKey     string `yaml:"public_key" secret:"DISCORD_PUBLIC_KEY"`
	APIURL        string `yaml:"api_url"`
}

type rawHTTP struct {
	Listen string `yaml:"listen"`
}

type rawRule struct {
	Hosts           stringList `yaml:"hosts"`
	SlackUsers      stringList `yaml:"slack_users"`
	SlackChannels   stringList `yaml:"slack_channels"`
	SlackGroups     stringList `yaml:"slack_groups"`
	DiscordUsers    stringList `yaml:"discord_users"`
	DiscordRoles    stringList `yaml:"discord_roles"`
	DiscordChannels stringList `yaml:"discord_channels"`
}

// stringList accepts a single value where a list is expected
// (labels: web), the way people write one-element lists.
type stringList []string

// UnmarshalYAML uses the func(any) error form: the *yaml.Node form would
// turn strict decoding off below it.
func (s *stringList) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := unmarshal(&many); err != nil {
		return err
	}
	*s = many
	return nil
}

// expand replaces ${VAR} references in every string of the raw config,
// records unset variables, and refuses inline secrets.
func (l *loader) expand(v reflect.Value, path []any, secretVar string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			l.expand(v.Elem(), path, "")
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			l.expand(v.Field(i), at(path, yamlKey(f)), f.Tag.Get("secret"))
		}
	case reflect.Slice:
		for i := range v.Len() {
			l.expand(v.Index(i), at(path, i), "")
		}
	case reflect.String:
		l.expandString(v, path, secretVar)
	}
}

func (l *loader) expandString(v reflect.Value, path []any, secretVar string) {
	raw := v.String()
	field := pathString(path)
	if secretVar != "" && raw != "" {
		if _, ok := singleRef(raw); !ok {
			l.expandFailed(path, "%s is written inline; secrets come only from the environment: write %s: ${%s} and export %s",
				field, path[len(path)-1], secretVar, secretVar)
			v.SetString("")
			return
		}
		l.secretRefs[field] = raw
	} else if what, ok := looksLikeToken(raw); ok {
		l.expandFailed(path, "%s holds what looks like %s; secrets come only from ${ENV_VAR} references: move it to an environment variable (and rotate it if this file was shared)",
			field, what)
		v.SetString("") // so no later message can quote it
		return
	}
	out, unset, err := expandEnv(raw, l.c.lookupEnv)
	if err != nil {
		l.expandFailed(path, "%s %v", field, err)
		return
	}
	if len(unset) > 0 {
		l.c.missing[field] = missingEnv{line: l.loc.line(path), vars: unset}
	}
	v.SetString(out)
}

func yamlKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return cmp.Or(name, strings.ToLower(f.Name))
}

// at returns path extended by segs without sharing path's array.
func at(path []any, segs ...any) []any { return append(slices.Clip(path), segs...) }

// pathString renders a path as hosts[1].jump.
func pathString(path []any) string {
	var b strings.Builder
	for _, s := range path {
		switch s := s.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, s)
		}
	}
	return b.String()
}

// convert parses the raw strings into the typed Config.
func (l *loader) convert(r *rawConfig) {
	c := l.c
	if s := r.SSH; s != nil {
		p := []any{"ssh"}
		c.SSH = SSH{
			User:           s.User,
			Port:           l.port(at(p, "port"), s.Port),
			IdentityFiles:  l.paths(at(p, "identity_files"), s.IdentityFiles),
			KnownHosts:     l.path(at(p, "known_hosts"), s.KnownHosts),
			ConnectTimeout: l.duration(at(p, "connect_timeout"), s.ConnectTimeout),
			CommandTimeout: l.duration(at(p, "command_timeout"), s.CommandTimeout),
			KeepAlive:      l.duration(at(p, "keepalive"), s.KeepAlive),
			Sudo:           l.flag(at(p, "sudo"), s.Sudo),
			UseAgent:       l.boolean(at(p, "use_agent"), s.UseAgent),
			UseSSHConfig:   l.flag(at(p, "use_ssh_config"), s.UseSSHConfig),
			SSHConfig:      l.path(at(p, "ssh_config"), s.SSHConfig),
		}
	}
	for i, rh := range r.Hosts {
		p := []any{"hosts", i}
		c.Hosts = append(c.Hosts, Host{
			Name:          rh.Name,
			Address:       rh.Address,
			Port:          l.port(at(p, "port"), rh.Port),
			User:          rh.User,
			IdentityFiles: l.paths(at(p, "identity_files"), rh.IdentityFiles),
			Labels:        rh.Labels,
			Jump:          l.jumpList(at(p, "jump"), rh.Jump),
			Sudo:          l.boolean(at(p, "sudo"), rh.Sudo),
			KnownHosts:    l.path(at(p, "known_hosts"), rh.KnownHosts),
		})
	}
	if s := r.Slack; s != nil {
		c.Slack = &Slack{
			AppToken:      l.secret("slack.app_token", s.AppToken),
			BotToken:      l.secret("slack.bot_token", s.BotToken),
			SigningSecret: l.secret("slack.signing_secret", s.SigningSecret),
			APIURL:        l.apiURL([]any{"slack", "api_url"}, s.APIURL, DefaultSlackAPIURL),
		}
	}
	if d := r.Discord; d != nil {
		c.Discord = &Discord{
			BotToken:      l.secret("discord.bot_token", d.BotToken),
			ApplicationID: d.ApplicationID,
			PublicKey:     l.secret("discord.public_key", d.PublicKey),
			APIURL:        l.apiURL([]any{"discord", "api_url"}, d.APIURL, DefaultDiscordAPIURL),
		}
	}
	if r.HTTP != nil {
		c.HTTP.Listen = r.HTTP.Listen
	}
	for _, rr := range r.Access {
		c.Access = append(c.Access, AccessRule{
			Hosts:           rr.Hosts,
			SlackUsers:      rr.SlackUsers,
			SlackChannels:   rr.SlackChannels,
			SlackGroups:     rr.SlackGroups,
			DiscordUsers:    rr.DiscordUsers,
			DiscordRoles:    rr.DiscordRoles,
			DiscordChannels: rr.DiscordChannels,
		})
	}
	c.AuditLog = l.path([]any{"audit_log"}, r.AuditLog)
	c.Playbooks = l.path([]any{"playbooks"}, r.Playbooks)
	c.Causes = l.path([]any{"causes"}, r.Causes)
}

func (l *loader) secret(field, value string) Secret {
	return Secret{value: value, ref: l.secretRefs[field]}
}

func (l *loader) port(path []any, s string) int {
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		l.errorf(path, "%s: %q is not a port number; write a number from 1 to 65535", pathString(path), s)
	case n < 1 || n > 65535:
		l.errorf(path, "%s: %d is out of range; write a number from 1 to 65535", pathString(path), n)
	default:
		return n
	}
	return 0
}

func (l *loader) duration(path []any, s string) time.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		l.errorf(path, "%s: %q is not a duration; write a number with a unit, like 10s or 1m30s", pathString(path), s)
	case d <= 0:
		l.errorf(path, "%s: %s must be positive; leave the key out for the default", pathString(path), s)
	default:
		return d
	}
	return 0
}

func (l *loader) flag(path []any, s string) bool {
	b := l.boolean(path, s)
	return b != nil && *b
}

// boolean returns nil for an empty value, so a host can tell "not set"
// from false.
func (l *loader) boolean(path []any, s string) *bool {
	var b bool
	switch strings.ToLower(s) {
	case "":
		return nil
	case "true", "yes", "on":
		b = true
	case "false", "no", "off":
		b = false
	default:
		l.errorf(path, "%s: %q is not true or false", pathString(path), s)
		return nil
	}
	return &b
}

// path expands ~ and makes a relative path relative to the config file,
// so the config means the same whatever the working directory.
func (l *loader) path(p []any, s string) string {
	if s == "" {
		return ""
	}
	out, err := expandHome(s, l.c.home)
	if err != nil {
		l.errorf(p, "%s: %v", pathString(p), err)
		return s
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(l.dir, out)
	}
	return out
}

func (l *loader) paths(p []any, list []string) []string {
	var out []string
	for i, s := range list {
		if s == "" {
			l.errorf(at(p, i), "%s: empty path; remove it or write the file name", pathString(p))
			continue
		}
		out = append(out, l.path(at(p, i), s))
	}
	return out
}

// jumpList splits comma lists, so jump: a,b and jump: [a, b] are the same.
func (l *loader) jumpList(p []any, list []string) []string {
	var out []string
	for i, s := range list {
		for hop := range strings.SplitSeq(s, ",") {
			hop = strings.TrimSpace(hop)
			if hop == "" {
				l.errorf(at(p, i), "%s: empty hop in %q; write hops as name or user@host:port separated by commas", pathString(p), s)
				continue
			}
			out = append(out, hop)
			l.hopLines[pathString(p)] = append(l.hopLines[pathString(p)], l.loc.line(at(p, i)))
		}
	}
	return out
}

// expandHome expands a leading ~ or ~/ (not ~user, which needs a lookup
// OpenSSH users rarely rely on in these files).
func expandHome(s, home string) (string, error) {
	if s != "~" && !strings.HasPrefix(s, "~/") {
		if strings.HasPrefix(s, "~") {
			return "", fmt.Errorf("%q: ~user is not supported; write the full path", s)
		}
		return s, nil
	}
	if home == "" {
		return "", fmt.Errorf("%q: cannot expand ~ because the home directory is unknown; write the full path", s)
	}
	return filepath.Join(home, s[1:]), nil
}

// locator finds the line of a value in the node tree by its path.
type locator struct{ root *yaml.Node }

// find returns the node at path, or the deepest ancestor that exists.
func (l locator) find(path []any) *yaml.Node {
	n := l.root
	for _, seg := range path {
		n = deref(n)
		if n == nil {
			return nil
		}
		var next *yaml.Node
		switch s := seg.(type) {
		case string:
			next = mappingValue(n, s)
		case int:
			if n.Kind == yaml.SequenceNode && s < len(n.Content) {
				next = n.Content[s]
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

func (l locator) line(path []any) int {
	if n := l.find(path); n != nil {
		return n.Line
	}
	return 0
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mappingValue looks key up in a mapping, following << merges.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := n.Content[i]; k.Value {
		case key:
			return n.Content[i+1]
		case "<<":
			merges = append(merges, n.Content[i+1])
		}
	}
	for _, m := range merges {
		m = deref(m)
		candidates := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			candidates = m.Content
		}
		for _, c := range candidates {
			if v := mappingValue(deref(c), key); v != nil {
				return v
			}
		}
	}
	return nil
}

// walk visits every value node with its path; keys are reported through
// key with the path of the mapping that holds them.
func (l locator) walk(visit func(path []any, n *yaml.Node, key bool)) {
	var rec func(n *yaml.Node, path []any, depth int)
	rec = func(n *yaml.Node, path []any, depth int) {
		if n == nil || depth > 64 {
			return
		}
		visit(path, n, false)
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				visit(path, n.Content[i], true)
				rec(n.Content[i+1], at(path, n.Content[i].Value), depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				rec(c, at(path, i), depth+1)
			}
		}
	}
	rec(l.root, nil, 0)
}

var (
	yamlLineRE     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	cannotRE       = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `.*`)? into (\\S+)$")
	duplicateKeyRE = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// yamlError turns the YAML library's messages into FILE:LINE: messages
// that name the config key and say what to write instead.
func (l *loader) yamlError(err error) {
	var te *yaml.TypeError
	msgs := []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		line := 0
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			line, _ = strconv.Atoi(sm[1])
			m = sm[2]
			// yaml.v3 adds 1 to the 0-based line only for scanner errors;
			// its parser errors ("did not find expected …") are a line early.
			if strings.HasPrefix(m, "did not find expected") {
				line++
			}
		}
		l.errs = append(l.errs, &Error{File: l.file, Line: line, Msg: l.explainYAML(line, m)})
	}
}

func (l *loader) explainYAML(line int, m string) string {
	if sm := unknownFieldRE.FindStringSubmatch(m); sm != nil {
		key, typ := sm[1], rawTypes[sm[2]]
		where := "at the top level"
		if p, ok := l.keyPath(line, key); ok && len(p) > 0 {
			where = "in " + pathString(p)
		}
		var valid []string
		if typ != nil {
			for i := range typ.NumField() {
				valid = append(valid, yamlKey(typ.Field(i)))
			}
		}
		if s := suggest(key, valid); len(s) > 0 {
			return fmt.Sprintf("unknown key %q %s; did you mean %s?", key, where, s[0])
		}
		return fmt.Sprintf("unknown key %q %s; valid keys are %s", key, where, strings.Join(valid, ", "))
	}
	if sm := cannotRE.FindStringSubmatch(m); sm != nil {
		found := map[string]string{"seq": "a list", "map": "a mapping"}[sm[1]]
		kind := map[string]yaml.Kind{"seq": yaml.SequenceNode, "map": yaml.MappingNode}[sm[1]]
		if found == "" {
			found, kind = "a single value", yaml.ScalarNode
		}
		want := cmp.Or(typeWords[sm[2]], "a different kind of value")
		if p, ok := l.valuePath(line, kind); ok && len(p) > 0 {
			return fmt.Sprintf("%s: expected %s, found %s", pathString(p), want, found)
		}
		return fmt.Sprintf("expected %s, found %s", want, found)
	}
	if sm := duplicateKeyRE.FindStringSubmatch(m); sm != nil {
		return fmt.Sprintf("key %q is repeated (first at line %s); keep one", sm[1], sm[2])
	}
	return m + "; check the indentation and quoting around this line"
}

// keyPath finds the path of the mapping holding key at line.
func (l *loader) keyPath(line int, key string) (found []any, ok bool) {
	l.loc.walk(func(path []any, n *yaml.Node, isKey bool) {
		if !ok && isKey && n.Line == line && n.Value == key {
			found, ok = path, true
		}
	})
	return found, ok
}

// valuePath finds the path of the first value of kind at line.
func (l *loader) valuePath(line int, kind yaml.Kind) (found []any, ok bool) {
	l.loc.walk(func(path []any, n *yaml.Node, isKey bool) {
		if !ok && !isKey && n.Line == line && deref(n).Kind == kind {
			found, ok = path, true
		}
	})
	return found, ok
}

// rawTypes maps the type names in the YAML library's messages back to
// the types, to list their keys.
var rawTypes = map[string]reflect.Type{}

// typeWords says what the file should hold where a type is expected.
var typeWords = map[string]string{
	"string":   "a single value",
	"[]string": "a list of values",
}

func init() {
	for t, words := range map[reflect.Type]string{
		reflect.TypeFor[rawConfig]():  "a mapping of sections (ssh:, hosts:, slack:, …)",
		reflect.TypeFor[rawSSH]():     "a mapping (user:, port:, identity_files:, …)",
		reflect.TypeFor[rawHost]():    "a host mapping (name:, address:, …)",
		reflect.TypeFor[rawSlack]():   "a mapping (app_token:, bot_token:, …)",
		reflect.TypeFor[rawDiscord](): "a mapping (bot_token:, application_id:, …)",
		reflect.TypeFor[rawHTTP]():    "a mapping (listen:)",
		reflect.TypeFor[rawRule]():    "a rule mapping (hosts:, slack_users:, …)",
	} {
		rawTypes[t.String()] = t
		typeWords[t.String()] = words
	}
	typeWords["[]config.rawHost"] = "a list of hosts (- name: …)"
	typeWords["[]config.rawRule"] = "a list of rules (- hosts: …)"
}
