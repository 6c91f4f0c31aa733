// Package playbooks runs YAML playbooks of read-only commands on a target and
// turns their output into facts.
package playbooks

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/badgateway/badgateway/internal/yamlfile"
)

//go:embed builtin/*.yaml
var builtin embed.FS

// Playbook is a named set of steps.
type Playbook struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Steps       []Step `yaml:"steps"`

	File string `yaml:"-"`
}

// Step is one read-only command.
type Step struct {
	ID string `yaml:"id"`
	// Run is a text/template for `sh -c`; every value it prints must pass through a
	// quoting function (quote, quoteEach) so facts can never become shell syntax.
	Run     string        `yaml:"run"`
	Timeout time.Duration `yaml:"timeout"`
	// When is a template over earlier facts; the step is skipped when it renders
	// empty, "false", "0" or "no".
	When string `yaml:"when"`
	// Needs lists steps whose facts Run or When use; the step waits only for them.
	Needs []string `yaml:"needs"`
	// Parse names a parser (see Parsers) that turns stdout into facts.
	Parse string `yaml:"parse"`
	// Log marks output that is log text for the cause matcher; the value names its
	// source, e.g. "nginx_error_log".
	Log string `yaml:"log"`
	// MaxOutput caps stdout and stderr each, e.g. 1048576; 0 means the runner's default.
	MaxOutput int `yaml:"max_output"`

	File string `yaml:"-"`
	Line int    `yaml:"-"`

	run, when *template.Template
}

var stepID = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// BuiltinFS is the embedded playbook directory.
func BuiltinFS() fs.FS {
	sub, err := fs.Sub(builtin, "builtin")
	if err != nil {
		panic(err)
	}
	return sub
}

// Set is the playbooks known by name.
type Set map[string]*Playbook

// LoadSet loads the built-in playbooks, then those of dir (if any) over them by name.
func LoadSet(dir string) (Set, error) {
	layers := []fs.FS{BuiltinFS()}
	if dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("playbook directory: %w", err)
		}
		layers = append(layers, os.DirFS(dir))
	}
	set := Set{}
	var errs []error
	for i, layer := range layers {
		names, err := fs.Glob(layer, "*.yaml")
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			data, err := fs.ReadFile(layer, name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			label := name
			if i > 0 {
				label = path.Join(dir, name)
			}
			pb, err := Parse(label, data)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			set[pb.Name] = pb
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

// LoadFile reads and validates one playbook file.
func LoadFile(name string) (*Playbook, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return Parse(name, data)
}

// Parse decodes and validates a playbook; every problem is reported with file:line.
func Parse(file string, data []byte) (*Playbook, error) {
	var pb Playbook
	root, err := yamlfile.Decode(file, data, &pb)
	if err != nil {
		return nil, err
	}
	pb.File = file
	steps := findKey(root, "steps")
	at := func(i int, key string) int {
		if steps == nil || i >= len(steps.Content) {
			return 1
		}
		n := steps.Content[i]
		if key != "" {
			if k := findKey(n, key); k != nil {
				return k.Line
			}
		}
		return n.Line
	}
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, args...)))
	}
	if pb.Name == "" {
		bad(1, "name is required")
	}
	if len(pb.Steps) == 0 {
		bad(1, "a playbook needs at least one step")
	}
	ids := map[string]int{}
	for i := range pb.Steps {
		s := &pb.Steps[i]
		s.File, s.Line = file, at(i, "")
		if !stepID.MatchString(s.ID) {
			bad(at(i, "id"), "step id %q must be lower_snake_case", s.ID)
		}
		if prev, dup := ids[s.ID]; dup {
			bad(at(i, "id"), "duplicate step id %q (first at line %d)", s.ID, prev)
		}
		ids[s.ID] = s.Line
	}
	for i := range pb.Steps {
		s := &pb.Steps[i]
		if strings.TrimSpace(s.Run) == "" {
			bad(s.Line, "step %q: run is required", s.ID)
			continue
		}
		if s.Timeout < 0 || s.Timeout > 10*time.Minute {
			bad(at(i, "timeout"), "step %q: timeout %v must be between 0 and 10m", s.ID, s.Timeout)
		}
		if s.Parse != "" && Parsers[s.Parse] == nil {
			bad(at(i, "parse"), "step %q: unknown parser %q (known: %s)", s.ID, s.Parse, strings.Join(parserNames(), ", "))
		}
		if s.Parse != "" && s.Log != "" {
			bad(at(i, "log"), "step %q: a step is either parsed or a log, not both", s.ID)
		}
		for _, n := range s.Needs {
			if _, ok := ids[n]; !ok {
				bad(at(i, "needs"), "step %q needs unknown step %q", s.ID, n)
			} else if n == s.ID {
				bad(at(i, "needs"), "step %q needs itself", s.ID)
			}
		}
		var err error
		s.run, err = compileTemplate(s.ID+".run", s.Run, true)
		if err != nil {
			bad(at(i, "run"), "step %q: run: %v", s.ID, err)
		}
		if s.When != "" {
			if s.when, err = compileTemplate(s.ID+".when", s.When, false); err != nil {
				bad(at(i, "when"), "step %q: when: %v", s.ID, err)
			}
		}
		// Facts a template reads must come from a step it waits for.
		for _, t := range []*template.Template{s.run, s.when} {
			if t == nil {
				continue
			}
			for _, ref := range factRefs(t) {
				if ref == "vars" {
					continue // run options such as the --site name, not a step
				}
				if _, known := ids[ref]; !known {
					bad(at(i, "run"), "step %q uses .%s, which is no step's facts", s.ID, ref)
				} else if !slices.Contains(s.Needs, ref) {
					bad(at(i, "needs"), "step %q uses .%s but does not list it in needs", s.ID, ref)
				}
			}
		}
	}
	if len(errs) == 0 {
		if cyc := needsCycle(pb.Steps); cyc != "" {
			bad(1, "needs form a cycle: %s", cyc)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &pb, nil
}

func parserNames() []string {
	names := make([]string, 0, len(Parsers))
	for n := range Parsers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// quoting functions are the only way a template may print a value into a script.
var quoting = map[string]bool{"quote": true, "quoteEach": true}

func compileTemplate(name, text string, isScript bool) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=zero").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "template: "))
	}
	if isScript {
		if err := checkQuoted(t.Tree.Root); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// checkQuoted rejects any action that prints a value without a quoting function.
func checkQuoted(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkQuoted(c); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		if len(n.Pipe.Decl) > 0 {
			return nil // {{ $x := … }} prints nothing
		}
		cmds := n.Pipe.Cmds
		last := cmds[len(cmds)-1]
		if id, ok := last.Args[0].(*parse.IdentifierNode); ok && quoting[id.Ident] {
			return nil
		}
		// A string constant is the playbook author's own text, e.g. {{ "{{json .}}" }}
		// for docker's --format: no fact can reach it.
		if len(cmds) == 1 && len(last.Args) == 1 {
			if _, ok := last.Args[0].(*parse.StringNode); ok {
				return nil
			}
		}
		return fmt.Errorf("line %d: %s prints a value unquoted; write {{ quote … }} (or quoteEach for a list)", n.Line, n.String())
	case *parse.IfNode:
		return checkBranch(&n.BranchNode)
	case *parse.RangeNode:
		return checkBranch(&n.BranchNode)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode)
	case *parse.TemplateNode:
		return fmt.Errorf("line %d: {{ template }} is not allowed in run", n.Line)
	}
	return nil
}

func checkBranch(b *parse.BranchNode) error {
	if err := checkQuoted(b.List); err != nil {
		return err
	}
	if b.ElseList != nil {
		return checkQuoted(b.ElseList)
	}
	return nil
}

// factRefs lists the top-level fields (.stepid) a template reads.
func factRefs(t *template.Template) []string {
	seen := map[string]bool{}
	var walk func(n parse.Node, top bool)
	walk = func(n parse.Node, top bool) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c, top)
			}
		case *parse.ActionNode:
			walk(n.Pipe, top)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c, top)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a, top)
			}
		case *parse.FieldNode:
			// Inside range/with the dot moves, so only fields read at the top level name steps.
			if top {
				seen[n.Ident[0]] = true
			}
		case *parse.VariableNode:
			if len(n.Ident) > 1 && n.Ident[0] == "$" {
				seen[n.Ident[1]] = true
			}
		case *parse.IfNode:
			walk(n.Pipe, top)
			walk(n.List, top)
			walk(n.ElseList, top)
		case *parse.RangeNode:
			walk(n.Pipe, top)
			walk(n.List, false)
			walk(n.ElseList, top)
		case *parse.WithNode:
			walk(n.Pipe, top)
			walk(n.List, false)
			walk(n.ElseList, top)
		}
	}
	walk(t.Tree.Root, true)
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func needsCycle(steps []Step) string {
	deps := map[string][]string{}
	for _, s := range steps {
		deps[s.ID] = s.Needs
	}
	state := map[string]int{}
	var found string
	var visit func(id string, trail []string) bool
	visit = func(id string, trail []string) bool {
		if state[id] == 1 {
			found = strings.Join(append(trail, id), " → ")
			return true
		}
		if state[id] == 2 {
			return false
		}
		state[id] = 1
		for _, d := range deps[id] {
			if visit(d, append(trail, id)) {
				return true
			}
		}
		state[id] = 2
		return false
	}
	for _, s := range steps {
		if visit(s.ID, nil) {
			return found
		}
	}
	return ""
}

func findKey(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := n.Content[i+1]
			if v.Kind == yaml.ScalarNode {
				// Point at the key's line for scalars: that is where people look.
				c := *v
				c.Line = n.Content[i].Line
				return &c
			}
			return v
		}
	}
	return nil
}

// funcs are available to run and when templates; funcs.go fills it.
var funcs = template.FuncMap{}
