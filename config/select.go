package config

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// UnknownHostError is a host name that is neither in the inventory nor
// localhost (nor, with ssh.use_ssh_config, named by a Host block).
type UnknownHostError struct {
	Name        string
	Suggestions []string // close inventory names, closest first
	NoConfig    bool     // no config file was found: the inventory is localhost alone
}

func (e *UnknownHostError) Error() string {
	msg := fmt.Sprintf("unknown host %q", e.Name)
	if len(e.Suggestions) > 0 {
		msg += "; did you mean " + strings.Join(e.Suggestions, ", ") + "?"
	}
	if e.NoConfig {
		return msg + fmt.Sprintf(": no config file was found (./config.yaml, $%s or --config), so the inventory holds only localhost; copy config.example.yaml and list your hosts there", EnvConfig)
	}
	return msg + " ('badgateway hosts' lists the inventory)"
}

// Select resolves host patterns: an exact name, a glob (web-*, path.Match
// syntax) over inventory names, or @label. localhost always resolves, to
// the local runner unless the inventory defines it. With
// ssh.use_ssh_config, a name outside the inventory is accepted when a
// Host block names it (see SSHConfig.Knows). The result has no
// duplicates: inventory hosts in inventory order, then the others in the
// order asked. A pattern that matches nothing is an error; all such errors
// are returned together.
func (c *Config) Select(patterns ...string) ([]Host, error) {
	if len(patterns) == 0 {
		return nil, errors.New("no host given; name one, a glob like web-* or a label like @web ('badgateway hosts' lists the inventory)")
	}
	picked := make([]bool, len(c.Hosts))
	var extra []Host
	var errs []error
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		n := 0
		switch {
		case p == "":
			errs = append(errs, errors.New("empty host name"))
			continue
		case strings.HasPrefix(p, "@"):
			for i, h := range c.Hosts {
				if h.HasLabel(p[1:]) {
					picked[i], n = true, n+1
				}
			}
			if n == 0 {
				errs = append(errs, c.unknownLabel(p[1:]))
			}
		case isGlob(p):
			if _, err := path.Match(p, ""); err != nil {
				errs = append(errs, fmt.Errorf("bad host pattern %q: %w", p, err))
				continue
			}
			for i, h := range c.Hosts {
				if ok, _ := path.Match(p, h.Name); ok {
					picked[i], n = true, n+1
				}
			}
			if n == 0 {
				errs = append(errs, fmt.Errorf("no host matches %q ('badgateway hosts' lists the inventory)", p))
			}
		default:
			if i := c.index(p); i >= 0 {
				picked[i] = true
				continue
			}
			if slices.ContainsFunc(extra, func(h Host) bool { return h.Name == p }) {
				continue
			}
			switch {
			case p == LocalName:
				extra = append(extra, localHost())
			case c.sshConfig.knows(p):
				extra = append(extra, Host{Name: p, Adhoc: true})
			default:
				errs = append(errs, &UnknownHostError{Name: p, Suggestions: suggest(p, c.hostNames()), NoConfig: c.Path == ""})
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []Host
	for i, h := range c.Hosts {
		if picked[i] {
			out = append(out, h)
		}
	}
	return append(out, extra...), nil
}

func (c *Config) index(name string) int {
	return slices.IndexFunc(c.Hosts, func(h Host) bool { return h.Name == name })
}

// hostNames lists the names a user may type: the inventory and localhost.
func (c *Config) hostNames() []string {
	names := make([]string, 0, len(c.Hosts)+1)
	for _, h := range c.Hosts {
		names = append(names, h.Name)
	}
	if !slices.Contains(names, LocalName) {
		names = append(names, LocalName)
	}
	return names
}

// labels lists the inventory's labels, sorted.
func (c *Config) labels() []string {
	var out []string
	for _, h := range c.Hosts {
		out = append(out, h.Labels...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (c *Config) unknownLabel(label string) error {
	all := c.labels()
	msg := fmt.Sprintf("no host has label %q", label)
	if s := suggest(label, all); len(s) > 0 {
		msg += "; did you mean @" + strings.Join(s, ", @") + "?"
	}
	if len(all) == 0 {
		return errors.New(msg + " (the inventory has no labels)")
	}
	return errors.New(msg + " (labels: " + strings.Join(all, ", ") + ")")
}

func isGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// suggest returns up to 5 candidates close to input: a small edit
// distance (scaled to its length) or one containing the other; closest
// first, then in candidate order.
func suggest(input string, candidates []string) []string {
	in := strings.ToLower(input)
	maxDist := 1
	switch {
	case len(in) > 8:
		maxDist = 3
	case len(in) > 3:
		maxDist = 2
	}
	type scored struct {
		name string
		dist int
	}
	var hits []scored
	for _, cand := range candidates {
		lc := strings.ToLower(cand)
		d := editDistance(in, lc)
		close := d <= maxDist ||
			(len(in) >= 2 && strings.Contains(lc, in)) ||
			(len(lc) >= 3 && strings.Contains(in, lc))
		if close && !slices.ContainsFunc(hits, func(s scored) bool { return s.name == cand }) {
			hits = append(hits, scored{cand, d})
		}
	}
	slices.SortStableFunc(hits, func(a, b scored) int { return cmp.Compare(a.dist, b.dist) })
	out := make([]string, 0, min(len(hits), 5))
	for _, h := range hits[:min(len(hits), 5)] {
		out = append(out, h.name)
	}
	return out
}

// editDistance is the optimal-string-alignment distance over bytes
// (names are ASCII): Levenshtein plus swapping two neighbours, the
// commonest typo (wbe for web).
func editDistance(a, b string) int {
	rows := [3][]int{make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)}
	for j := range rows[1] {
		rows[1][j] = j
	}
	for i := 1; i <= len(a); i++ {
		prev2, prev, cur := rows[0], rows[1], rows[2]
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		rows[0], rows[1], rows[2] = prev, cur, prev2
	}
	return rows[1][len(b)]
}
