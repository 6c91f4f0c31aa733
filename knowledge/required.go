package knowledge

import (
	"regexp/syntax"
	"sort"
)

// requiredLiterals lists literal runs every match of re must contain, longest first.
// Checking them with strings.Contains is far cheaper than running a regex that
// cannot match, which is what most near-miss lines would otherwise cost.
func requiredLiterals(re string) []string {
	t, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range mandatory(t.Simplify()) {
		if len(s) >= 3 {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// mandatory returns the literal runs that every match of t contains.
func mandatory(t *syntax.Regexp) []string {
	switch t.Op {
	case syntax.OpLiteral:
		if t.Flags&syntax.FoldCase != 0 {
			return nil
		}
		return []string{string(t.Rune)}
	case syntax.OpCapture, syntax.OpPlus:
		return mandatory(t.Sub[0])
	case syntax.OpRepeat:
		if t.Min >= 1 {
			return mandatory(t.Sub[0])
		}
	case syntax.OpConcat:
		var out []string
		run := ""
		for _, sub := range t.Sub {
			if sub.Op == syntax.OpLiteral && sub.Flags&syntax.FoldCase == 0 {
				run += string(sub.Rune)
				continue
			}
			if run != "" {
				out = append(out, run)
				run = ""
			}
			out = append(out, mandatory(sub)...)
		}
		if run != "" {
			out = append(out, run)
		}
		return out
	}
	return nil
}
