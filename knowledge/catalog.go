package knowledge

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/badgateway/badgateway/internal/yamlfile"
)

//go:embed causes/*.yaml
var builtinCauses embed.FS

// BuiltinFS is the embedded cause catalog, one YAML file per cause.
func BuiltinFS() fs.FS {
	sub, err := fs.Sub(builtinCauses, "causes")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Text is a message in every language the bot speaks.
type Text struct {
	En string `yaml:"en" json:"en"`
	Zh string `yaml:"zh" json:"zh"`
}

// In returns the text in lang ("zh" or anything else for English).
func (t Text) In(lang string) string {
	if lang == "zh" && t.Zh != "" {
		return t.Zh
	}
	return t.En
}

// Cause is one known reason for a 502/504/413, as written in causes/ID.yaml.
type Cause struct {
	ID       string `yaml:"id"`
	Status   int    `yaml:"status"`
	Severity int    `yaml:"severity"` // 1..5: how strongly one line of evidence points at it
	// Title may name evidence fields: {upstream}, {server}, {host}, {process} or a
	// named group of the matching pattern, e.g. {socket}.
	Title    Text      `yaml:"title"`
	Summary  Text      `yaml:"summary"` // why it happens
	Confirm  Text      `yaml:"confirm"` // how to confirm it by hand
	Fixes    []Fix     `yaml:"fixes"`
	BaoTa    Text      `yaml:"baota"`    // where to look and click on a BaoTa/aaPanel host
	LeadsTo  []string  `yaml:"leads_to"` // causes whose evidence this one explains
	Related  []string  `yaml:"related"`  // causes worth ruling out alongside
	Keywords []string  `yaml:"keywords"` // words users search for: "max_children", "宝塔"
	Patterns []Pattern `yaml:"patterns"`
	// HostOnly causes cannot be told from log lines alone; diagnose finds them from host facts.
	HostOnly bool     `yaml:"host_only"`
	Examples Examples `yaml:"examples"`

	file string
}

// Fix is one way to remove the cause.
type Fix struct {
	Text     Text     `yaml:"text"`
	Commands []string `yaml:"commands"`
	Config   string   `yaml:"config"` // a config snippet, shown verbatim
}

// Examples are lines that must and must not be evidence of the cause; every one is tested.
type Examples struct {
	Match   []string `yaml:"match"`
	NoMatch []string `yaml:"no_match"`
}

// Pattern recognises a log line as evidence. A line is evidence when it holds one
// of Contains (a cheap literal pre-filter) and Regex matches the chosen part.
type Pattern struct {
	Kind     string   `yaml:"kind"` // nginx, php-fpm, kernel, audit or any (default)
	Contains []string `yaml:"contains"`
	Regex    string   `yaml:"regex"`
	Field    string   `yaml:"field"` // message (default) or raw
	Weight   float64  `yaml:"weight"`

	re       *regexp.Regexp
	required []string // literals every match holds: checked before the regex
	// requiredBytes is required for the raw line, checked before it is even parsed.
	requiredBytes [][]byte
	kind          Kind
	any           bool
}

// Catalog is a validated set of causes.
type Catalog struct {
	Causes []*Cause
	byID   map[string]*Cause
}

// Cause returns the cause with that id, or nil.
func (c *Catalog) Cause(id string) *Cause { return c.byID[id] }

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// LoadBuiltin loads the embedded catalog.
func LoadBuiltin() (*Catalog, error) { return Load(BuiltinFS()) }

// LoadWithOverrides loads the embedded catalog, then layers the *.yaml files of dir
// over it by id: a file with a known id replaces that cause, a new id adds one.
func LoadWithOverrides(dir string) (*Catalog, error) {
	if dir == "" {
		return LoadBuiltin()
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("cause directory: %w", err)
	}
	return Load(BuiltinFS(), os.DirFS(dir))
}

// Load reads every *.yaml file of each layer; later layers replace earlier causes by id.
// All problems are reported at once, each with file:line.
func Load(layers ...fs.FS) (*Catalog, error) {
	cat := &Catalog{byID: map[string]*Cause{}}
	var errs []error
	for _, layer := range layers {
		names, err := fs.Glob(layer, "*.yaml")
		if err != nil {
			return nil, err
		}
		seen := map[string]string{}
		for _, name := range names {
			data, err := fs.ReadFile(layer, name)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				continue
			}
			c, err := parseCause(name, data)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if prev, dup := seen[c.ID]; dup {
				errs = append(errs, fmt.Errorf("%s:1: duplicate cause id %q (also in %s)", name, c.ID, prev))
				continue
			}
			seen[c.ID] = name
			if old := cat.byID[c.ID]; old != nil {
				*old = *c
				continue
			}
			cat.byID[c.ID] = c
			cat.Causes = append(cat.Causes, c)
		}
	}
	for _, c := range cat.Causes {
		for _, ref := range append(append([]string{}, c.LeadsTo...), c.Related...) {
			if cat.byID[ref] == nil {
				errs = append(errs, fmt.Errorf("%s: cause %q refers to unknown cause %q", c.file, c.ID, ref))
			}
		}
	}
	if len(errs) == 0 {
		errs = append(errs, leadsToCycles(cat)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(cat.Causes, func(i, j int) bool { return cat.Causes[i].ID < cat.Causes[j].ID })
	return cat, nil
}

func parseCause(name string, data []byte) (*Cause, error) {
	var c Cause
	root, err := yamlfile.Decode(name, data, &c)
	if err != nil {
		return nil, err
	}
	at := func(keys ...any) string { return fmt.Sprintf("%s:%d", name, yamlfile.Line(root, keys...)) }

	c.file = name
	var errs []error
	bad := func(where string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
	}
	if !idPattern.MatchString(c.ID) {
		bad(at("id"), "id %q must be lower_snake_case", c.ID)
	}
	if want := strings.TrimSuffix(path.Base(name), ".yaml"); c.ID != want {
		bad(at("id"), "id %q does not match the file name %q", c.ID, want)
	}
	switch c.Status {
	case 502, 504, 413, 500, 503:
	default:
		bad(at("status"), "status %d is not an HTTP status a cause produces (502, 504, 413, 500, 503)", c.Status)
	}
	if c.Severity < 1 || c.Severity > 5 {
		bad(at("severity"), "severity %d must be 1..5", c.Severity)
	}
	for _, f := range []struct {
		key  string
		text Text
	}{{"title", c.Title}, {"summary", c.Summary}, {"confirm", c.Confirm}, {"baota", c.BaoTa}} {
		checkText(f.text, at(f.key), f.key, bad)
	}
	if len(c.Fixes) == 0 {
		bad(at("fixes"), "at least one fix is required")
	}
	for i, f := range c.Fixes {
		checkText(f.Text, at("fixes", i, "text"), fmt.Sprintf("fixes[%d].text", i), bad)
	}
	if len(c.Patterns) == 0 && !c.HostOnly {
		bad(at("patterns"), "no patterns: add one, or set host_only: true for causes only host facts can show")
	}
	for i := range c.Patterns {
		p := &c.Patterns[i]
		where := at("patterns", i)
		if err := p.compile(); err != nil {
			bad(where, "%v", err)
		}
	}
	if len(c.Patterns) > 0 && len(c.Examples.Match) == 0 {
		bad(at("examples"), "examples.match needs at least one real log line")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &c, nil
}

func checkText(t Text, where, key string, bad func(string, string, ...any)) {
	if strings.TrimSpace(t.En) == "" {
		bad(where, "%s.en is missing", key)
	}
	if strings.TrimSpace(t.Zh) == "" {
		bad(where, "%s.zh is missing (every text needs a Chinese translation)", key)
	}
}

func (p *Pattern) compile() error {
	switch p.Kind {
	case "", "any":
		p.any = true
	case "nginx":
		p.kind = KindNginx
	case "php-fpm":
		p.kind = KindFPM
	case "kernel":
		p.kind = KindKernel
	case "audit":
		p.kind = KindAudit
	default:
		return fmt.Errorf("kind %q: want nginx, php-fpm, kernel, audit or any", p.Kind)
	}
	switch p.Field {
	case "", "message", "raw":
	default:
		return fmt.Errorf("field %q: want message or raw", p.Field)
	}
	if len(p.Contains) == 0 {
		return errors.New("contains: at least one literal is required (it keeps scanning fast)")
	}
	for _, s := range p.Contains {
		if s == "" || strings.ContainsAny(s, "\n") {
			return fmt.Errorf("contains: %q is not a usable literal", s)
		}
	}
	if p.Regex == "" {
		return errors.New("regex is required")
	}
	re, err := regexp.Compile(p.Regex)
	if err != nil {
		return fmt.Errorf("regex: %w", err)
	}
	p.re = re
	p.required = requiredLiterals(p.Regex)
	for _, r := range p.required {
		p.requiredBytes = append(p.requiredBytes, []byte(r))
	}
	if p.Weight == 0 {
		p.Weight = 1
	}
	if p.Weight < 0 || p.Weight > 5 {
		return fmt.Errorf("weight %v must be in (0, 5]", p.Weight)
	}
	return nil
}

// leadsToCycles rejects "A leads to B leads to A": ranking needs roots to be well defined.
func leadsToCycles(cat *Catalog) []error {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var errs []error
	var visit func(c *Cause, trail []string)
	visit = func(c *Cause, trail []string) {
		switch state[c.ID] {
		case visiting:
			errs = append(errs, fmt.Errorf("%s: leads_to forms a cycle: %s", c.file, strings.Join(append(trail, c.ID), " → ")))
			return
		case done:
			return
		}
		state[c.ID] = visiting
		for _, id := range c.LeadsTo {
			visit(cat.byID[id], append(trail, c.ID))
		}
		state[c.ID] = done
	}
	for _, c := range cat.Causes {
		visit(c, nil)
	}
	return errs
}
