package knowledge

import (
	"sort"
	"strings"
)

// Search finds causes for a question like "too big header", "max_children" or "宝塔 502",
// best first. It scores ids, keywords, titles and the literals the patterns look for.
func (c *Catalog) Search(query string) []*Cause {
	q := strings.ToLower(strings.TrimSpace(query))
	if q == "" {
		return nil
	}
	terms := strings.FieldsFunc(q, func(r rune) bool {
		return r == ' ' || r == ',' || r == '?' || r == '？' || r == '，' || r == '、' || r == '/'
	})
	type scored struct {
		c *Cause
		s int
	}
	var hits []scored
	for _, cause := range c.Causes {
		s := 0
		if cause.ID == q || strings.ReplaceAll(cause.ID, "_", " ") == q {
			s += 100
		}
		fields := []struct {
			text   string
			weight int
		}{
			{cause.ID + " " + strings.ReplaceAll(cause.ID, "_", " "), 8},
			{strings.ToLower(strings.Join(cause.Keywords, " | ")), 6},
			{strings.ToLower(cause.Title.En + " " + cause.Title.Zh), 4},
			{strings.ToLower(patternText(cause)), 3},
			{strings.ToLower(cause.Summary.En + " " + cause.Summary.Zh), 1},
		}
		for _, f := range fields {
			if len(q) > 3 && strings.Contains(f.text, q) {
				s += f.weight * 3
			}
			for _, t := range terms {
				if isStopWord(t) {
					continue
				}
				if strings.Contains(f.text, t) {
					s += f.weight
				}
			}
		}
		// Questions are often longer than a keyword ("php 超时怎么办"): look for the keyword in them.
		for _, k := range cause.Keywords {
			k = strings.ToLower(k)
			if len([]rune(k)) >= 2 && !isStopWord(k) && strings.Contains(q, k) {
				s += 6
			}
		}
		if s > 0 {
			hits = append(hits, scored{cause, s})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].s > hits[j].s })
	out := make([]*Cause, 0, len(hits))
	for _, h := range hits {
		out = append(out, h.c)
	}
	return out
}

func patternText(c *Cause) string {
	var b strings.Builder
	for _, p := range c.Patterns {
		for _, s := range p.Contains {
			b.WriteString(s)
			b.WriteString(" | ")
		}
	}
	return b.String()
}

var stopWords = map[string]bool{"the": true, "a": true, "an": true, "is": true, "of": true, "to": true, "in": true, "on": true, "and": true, "or": true, "what": true, "why": true, "how": true, "502": true, "nginx": true, "error": true, "for": true, "my": true, "it": true, "does": true, "mean": true, "为什么": true, "怎么": true, "什么": true}

func isStopWord(t string) bool { return stopWords[t] || len(t) < 2 }
