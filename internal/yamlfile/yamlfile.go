// Package yamlfile decodes YAML files strictly and reports problems as FILE:LINE,
// for the cause catalog and the playbooks.
package yamlfile

import (
	"bytes"
	"errors"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Decode decodes data into v, rejecting unknown fields, and returns the parsed
// node tree for finding the lines of later semantic errors.
func Decode(name string, data []byte, v any) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return nil, errors.New(errorText(name, err))
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // decoded once already, so this cannot fail
	return &root, nil
}

var inType = regexp.MustCompile(` in type [\w.]+`)

// errorText turns yaml.v3's "yaml: line 3: …" into "NAME:3: …".
func errorText(name string, err error) string {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for i, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		m = inType.ReplaceAllString(m, "")
		if rest, ok := strings.CutPrefix(m, "line "); ok {
			msgs[i] = name + ":" + rest
		} else {
			msgs[i] = name + ": " + m
		}
	}
	return strings.Join(msgs, "; ")
}

// Line finds the line of a path of mapping keys (string) and sequence indexes (int),
// falling back to the deepest node found; 1 when there is nothing better.
func Line(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, k := range path {
		var next *yaml.Node
		switch k := k.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						line = n.Content[i].Line
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
				line = next.Line
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return max(line, 1)
}
