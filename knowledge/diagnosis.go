package knowledge

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Verdicts of a diagnosis.
const (
	VerdictCauseFound  = "cause_found"
	VerdictNoEvidence  = "no_evidence"
	VerdictUnreachable = "unreachable"
)

// Diagnosis is the answer, shaped as the JSON contract (CONTRACT.md) describes.
type Diagnosis struct {
	Target     string       `json:"target"`
	Layout     string       `json:"layout,omitempty"`
	Verdict    string       `json:"verdict"`
	Causes     []Finding    `json:"causes"`
	Steps      []StepReport `json:"steps"`
	DurationMS int64        `json:"duration_ms"`
	Error      string       `json:"error"`

	// Notes qualify the whole diagnosis (e.g. it ran without root and may be partial).
	Notes  []string       `json:"notes,omitempty"`
	Facts  map[string]any `json:"facts,omitempty"` // diagnose: what each step found
	Lang   string         `json:"lang"`
	Inputs []string       `json:"inputs,omitempty"` // explain: the files read ("stdin" for standard input)
	Stats  Stats          `json:"stats"`
}

// Stats say how much was read, so "no evidence" can be told from "read nothing".
type Stats struct {
	Lines      int64 `json:"lines"`
	Bytes      int64 `json:"bytes"`
	Candidates int64 `json:"candidates"`
	Evidence   int64 `json:"evidence_lines"`
	OutOfRange int64 `json:"out_of_window,omitempty"`
	OtherSite  int64 `json:"other_sites,omitempty"` // lines about other server_names (--site)
}

// StepReport is one playbook step as run (diagnose only).
type StepReport struct {
	ID         string `json:"id"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error"`
	Skipped    string `json:"skipped,omitempty"` // why the step did not run, when that is by design
}

// Finding is one cause with the evidence for it.
type Finding struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Status     int        `json:"status"`
	Confidence float64    `json:"confidence"`
	Evidence   []Evidence `json:"evidence"`
	Fixes      []string   `json:"fixes"`

	Summary     string   `json:"summary"`
	Confirm     string   `json:"confirm"`
	BaoTa       string   `json:"baota,omitempty"`
	Count       int64    `json:"count"`
	LastSeen    string   `json:"last_seen,omitempty"`
	ExplainedBy string   `json:"explained_by,omitempty"` // a root cause in this diagnosis that explains this one
	Explains    []string `json:"explains,omitempty"`
	Related     []string `json:"related,omitempty"`

	score float64
}

// Evidence is one distinct supporting line; Count says how often it (or lines like it) occurred.
type Evidence struct {
	Source    string `json:"source"`
	Text      string `json:"text"`
	Count     int64  `json:"count"`
	FirstSeen string `json:"first_seen,omitempty"`
	LastSeen  string `json:"last_seen,omitempty"`
}

// Options shape the diagnosis text.
type Options struct {
	Target string
	Lang   string // "en" or "zh"
	// Now is the reference for recency; zero means the newest timestamp in the evidence.
	Now time.Time
	// MaxEvidence caps the evidence lines shown per cause (default 5).
	MaxEvidence int
	BaoTa       bool // the host is a BaoTa/aaPanel host: put the panel steps first
}

const timeLayout = "2006-01-02T15:04:05"

// rootWindow is how far apart a root cause and its consequence may be and still be linked.
const rootWindow = time.Hour

// Diagnosis ranks the causes seen so far.
func (c *Collector) Diagnosis(o Options) Diagnosis {
	if o.MaxEvidence <= 0 {
		o.MaxEvidence = 5
	}
	if o.Lang == "" {
		o.Lang = "en"
	}
	now := o.Now
	if now.IsZero() {
		now = c.latest
	}
	d := Diagnosis{Target: o.Target, Verdict: VerdictNoEvidence, Causes: []Finding{}, Steps: []StepReport{}, Lang: o.Lang}
	d.Stats = Stats{Lines: c.linesRead, Bytes: c.bytesRead, Candidates: c.candidates, OutOfRange: c.tooOld, OtherSite: c.otherSite}

	own := map[string]float64{}
	for id, ce := range c.causes {
		d.Stats.Evidence += ce.count
		recency := 1.0
		if !ce.last.IsZero() && !now.IsZero() {
			age := now.Sub(ce.last)
			if age > 0 {
				recency = 0.3 + 0.7*math.Exp(-age.Minutes()/30)
			}
		}
		own[id] = float64(ce.cause.Severity) * ce.weight * (1 + math.Log(float64(ce.count))) * recency
	}

	findings := map[string]*Finding{}
	for id, ce := range c.causes {
		f := &Finding{ID: id, Status: ce.cause.Status, Count: ce.count, score: own[id]}
		// A root cause scores its own evidence plus that of everything it explains,
		// so it always ranks above the symptoms it produces.
		for _, dep := range c.explained(ce.cause, map[string]bool{id: true}) {
			f.score += own[dep]
			f.Explains = append(f.Explains, dep)
		}
		sort.Strings(f.Explains)
		findings[id] = f
	}
	for _, f := range findings {
		for _, dep := range f.Explains {
			d := findings[dep]
			if d.ExplainedBy == "" || findings[d.ExplainedBy].score < f.score {
				d.ExplainedBy = f.ID
			}
		}
	}
	ranked := make([]*Finding, 0, len(findings))
	for _, f := range findings {
		ranked = append(ranked, f)
	}
	sort.Slice(ranked, func(i, j int) bool {
		a, b := ranked[i], ranked[j]
		if a.score != b.score {
			return a.score > b.score
		}
		sa, sb := c.causes[a.ID].cause.Severity, c.causes[b.ID].cause.Severity
		if sa != sb {
			return sa > sb
		}
		return a.ID < b.ID
	})
	for i, f := range ranked {
		ce := c.causes[f.ID]
		f.Confidence = confidence(ranked, i)
		c.describe(f, ce, o)
		d.Causes = append(d.Causes, *f)
	}
	if len(d.Causes) > 0 {
		d.Verdict = VerdictCauseFound
	}
	return d
}

// explained lists, transitively, the causes with evidence that cause c leads to,
// when their evidence is close enough in time to be its consequence.
func (c *Collector) explained(cause *Cause, seen map[string]bool) []string {
	root := c.causes[cause.ID]
	var out []string
	for _, id := range cause.LeadsTo {
		if seen[id] {
			continue
		}
		seen[id] = true
		dep := c.causes[id]
		if dep == nil {
			// A cause without evidence of its own can still link a root to deeper symptoms.
			if next := c.a.Catalog.Cause(id); next != nil {
				out = append(out, c.explained(next, seen)...)
			}
			continue
		}
		if !closeInTime(root, dep) {
			continue
		}
		out = append(out, id)
		out = append(out, c.explained(dep.cause, seen)...)
	}
	return out
}

func closeInTime(root, dep *causeEvidence) bool {
	if root == nil || root.last.IsZero() || dep.last.IsZero() {
		return true
	}
	return !root.last.Before(dep.first.Add(-rootWindow)) && !root.first.After(dep.last.Add(5*time.Minute))
}

// confidence maps scores to [0,1]: the top cause by the weight of its evidence,
// the others in proportion, strictly descending.
func confidence(ranked []*Finding, i int) float64 {
	top := ranked[0].score
	c := 0.5 + 0.47*(1-math.Exp(-top/6))
	if i > 0 {
		c = c * ranked[i].score / top * 0.9
	}
	c = math.Round(c*100) / 100
	if i > 0 && c >= ranked[i-1].Confidence {
		c = ranked[i-1].Confidence - 0.01
	}
	return math.Max(0.01, c)
}

func (c *Collector) describe(f *Finding, ce *causeEvidence, o Options) {
	cause := ce.cause
	groups := append([]*evidenceGroup(nil), ce.groups...)
	// Most frequent first, then most recent.
	sort.SliceStable(groups, func(i, j int) bool {
		if groups[i].count != groups[j].count {
			return groups[i].count > groups[j].count
		}
		return groups[i].last.After(groups[j].last)
	})
	groups = spread(groups)
	vars := map[string]string{}
	for k, v := range c.hostVars[f.ID] {
		vars[k] = v
	}
	// The busiest log line names the upstream; host facts fill what it lacks.
	for _, g := range groups {
		if !strings.HasPrefix(g.source, "host:") {
			for k, v := range g.vars {
				vars[k] = v
			}
			break
		}
	}
	// What to grep for in `ss -ltnpx`: the socket path, or ":PORT".
	if vars["target"] == "" {
		if sock := vars["socket"]; sock != "" {
			vars["target"] = sock
		} else if i := strings.LastIndexByte(vars["upstream"], ':'); i >= 0 {
			vars["target"] = vars["upstream"][i:]
		}
	}
	f.Title = Expand(cause.Title.In(o.Lang), vars)
	f.Summary = Expand(cause.Summary.In(o.Lang), vars)
	f.Confirm = Expand(cause.Confirm.In(o.Lang), vars)
	f.BaoTa = Expand(cause.BaoTa.In(o.Lang), vars)
	f.Related = cause.Related
	// Host-specific fixes first, including those of the symptoms this cause explains
	// (an OOM kill's reply must still say how to restart the php-fpm it killed).
	for _, id := range append([]string{f.ID}, f.Explains...) {
		for _, hf := range c.hostFixes[id] {
			f.Fixes = append(f.Fixes, Text{En: hf.en, Zh: hf.zh}.In(o.Lang))
		}
	}
	for _, fx := range cause.Fixes {
		f.Fixes = append(f.Fixes, renderFix(fx, o.Lang, vars))
	}
	if !ce.last.IsZero() {
		f.LastSeen = ce.last.Format(timeLayout)
	}
	for i, g := range groups {
		if i >= o.MaxEvidence {
			break
		}
		text := g.line.Raw
		if o.Lang == "zh" && g.zh != "" {
			text = g.zh // a host fact's own Chinese; log lines have none and stay as written
		}
		e := Evidence{Source: g.source, Text: Redact(truncate(text, 2000)), Count: g.count}
		if !g.first.IsZero() {
			e.FirstSeen = g.first.Format(timeLayout)
			e.LastSeen = g.last.Format(timeLayout)
		}
		f.Evidence = append(f.Evidence, e)
	}
}

func renderFix(fx Fix, lang string, vars map[string]string) string {
	var b strings.Builder
	b.WriteString(Expand(fx.Text.In(lang), vars))
	for _, cmd := range fx.Commands {
		b.WriteString("\n$ ")
		b.WriteString(Expand(cmd, vars))
	}
	if fx.Config != "" {
		b.WriteString("\n")
		b.WriteString(strings.TrimRight(Expand(fx.Config, vars), "\n"))
	}
	return b.String()
}

// Expand replaces {name} and {name|fallback} with vars; unknown names take the fallback,
// or stay as written when there is none (so config snippets keep their braces).
func Expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		inner := s[i+1 : i+j]
		name, fallback, hasFallback := strings.Cut(inner, "|")
		if !isVarName(name) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		switch v, ok := vars[name]; {
		case ok && v != "":
			b.WriteString(v)
		case hasFallback:
			// Chinese texts put spaces around a placeholder for the path or
			// address it usually holds; around a Chinese fallback they are stray.
			out := b.String()
			if han(firstRune(fallback)) && strings.HasSuffix(out, " ") && han(lastRune(strings.TrimSuffix(out, " "))) {
				b.Reset()
				b.WriteString(strings.TrimSuffix(out, " "))
			}
			b.WriteString(fallback)
			if rest := s[i+j+1:]; han(lastRune(fallback)) && strings.HasPrefix(rest, " ") && han(firstRune(rest[1:])) {
				s = s[:i+j+1] + rest[1:]
			}
		default:
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
}

// han reports a Chinese character or Chinese punctuation.
func han(r rune) bool {
	return unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x303f) || (r >= 0xff00 && r <= 0xffef)
}

func firstRune(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }
func lastRune(s string) rune  { r, _ := utf8.DecodeLastRuneInString(s); return r }

func isVarName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Back up to a rune start: Chinese evidence must not end in half a character.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// String is a one-line summary for logs.
func (d Diagnosis) String() string {
	if len(d.Causes) == 0 {
		return fmt.Sprintf("%s: %s", d.Target, d.Verdict)
	}
	return fmt.Sprintf("%s: %s (%.2f)", d.Target, d.Causes[0].ID, d.Causes[0].Confidence)
}

// spread puts the first group of every source (each log file, each kind of host
// fact) before the second group of any, so a host fact is never crowded out of the
// proof by many similar log lines.
func spread(groups []*evidenceGroup) []*evidenceGroup {
	out := make([]*evidenceGroup, 0, len(groups))
	var rest []*evidenceGroup
	seen := map[string]bool{}
	for _, g := range groups {
		if seen[g.source] {
			rest = append(rest, g)
			continue
		}
		seen[g.source] = true
		out = append(out, g)
	}
	return append(out, rest...)
}
