package playbooks

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/badgateway/badgateway/knowledge"
	"github.com/badgateway/badgateway/remote"
)

// Replay tests: hosts whose faults cannot be made live on a test machine (the
// OOM killer, SELinux, a full or read-only disk, load), recorded as what every
// step of the built-in nginx-502 playbook prints there. Each directory under
// testdata/hosts is one host: <step id>.txt per step that a run would execute,
// and expect.yaml saying what the diagnosis must be (see replayExpect).
//
// The report is built as Run builds it: steps in playbook order, each step's
// `when` and `needs` judged on the facts of the steps before it, parsers run on
// the recorded output. The recording is checked against the commands too: a
// step a run would skip must have no file, a step it would run must have one,
// every file or path the output names must be one the rendered command reads,
// every parser must accept its output, and no log line may be later than the
// host's clock.

const replayHosts = "testdata/hosts"

// replayExpect is expect.yaml.
type replayExpect struct {
	// Story says in one line what happened on the host.
	Story string `yaml:"story"`
	// Layout is Layout(HostFacts(report)): debian, rhel, baota, docker, unknown.
	Layout      string `yaml:"layout"`
	replayCheck `yaml:",inline"`
	// Also are diagnoses of the same recording with other options.
	Also []replayCheck `yaml:"also"`
	// Gap holds expectations the rules do not meet yet (a known gap, reported to
	// the maintainers). While they fail, the test is skipped after every other
	// check passed; once they pass, the test fails until they move up here.
	Gap *replayGap `yaml:"gap"`
}

// replayCheck is one diagnosis of the host and what it must say.
type replayCheck struct {
	Since string `yaml:"since"` // the window, a time.ParseDuration string; default 15m
	Lang  string `yaml:"lang"`  // default en
	// Verdict defaults to cause_found when Top is set, else no_evidence.
	Verdict string `yaml:"verdict"`
	Top     string `yaml:"top"` // the first cause
	// Explains must all be in the top cause's Explains.
	Explains []string `yaml:"explains"`
	// Has are causes that must appear, in any place.
	Has []string `yaml:"has"`
	// Not are causes that must not appear at all.
	Not []string `yaml:"not"`
	// FixContains must each appear in one of the top cause's fixes.
	FixContains []string `yaml:"fix_contains"`
	// EvidenceContains must each appear in one evidence line of the top cause
	// ("SOURCE: TEXT", so a source such as "host:df -i" can be asked for).
	EvidenceContains []string `yaml:"evidence_contains"`
	// BaoTaContains must each appear in the top cause's panel text.
	BaoTaContains []string `yaml:"baota_contains"`
	// OutOfWindow, when set, is how many evidence candidates the window left out.
	OutOfWindow *int64 `yaml:"out_of_window"`
}

type replayGap struct {
	Reason      string `yaml:"reason"`
	replayCheck `yaml:",inline"`
}

func TestReplayHosts(t *testing.T) {
	entries, err := os.ReadDir(replayHosts)
	if err != nil {
		t.Fatal(err)
	}
	pb := replayPlaybook(t)
	cat, err := knowledge.LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	an := knowledge.NewAnalyzer(cat)
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		dir := filepath.Join(replayHosts, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			t.Parallel()
			exp := readReplayExpect(t, dir, cat)
			rep := replayReport(t, pb, dir)
			if t.Failed() {
				t.FailNow() // the recording is not what a run would give: its diagnosis proves nothing
			}
			if got := Layout(HostFacts(rep)); got != exp.Layout {
				t.Errorf("layout %q, want %q", got, exp.Layout)
			}
			checks := append([]replayCheck{exp.replayCheck}, exp.Also...)
			for i, c := range checks {
				d, opts := replayDiagnose(t, rep, an, c)
				if i == 0 {
					t.Logf("%s\n    %s: %s", exp.Story, opts, replaySummary(d))
				} else {
					t.Logf("    %s: %s", opts, replaySummary(d))
				}
				if problems := c.problems(d); len(problems) > 0 {
					for _, p := range problems {
						t.Errorf("%s: %s", opts, p)
					}
					t.Logf("the diagnosis (%s):\n%s", opts, replayText(d))
				}
			}
			if exp.Gap == nil || t.Failed() {
				return
			}
			d, opts := replayDiagnose(t, rep, an, exp.Gap.replayCheck)
			if problems := exp.Gap.problems(d); len(problems) > 0 {
				t.Logf("known gap, %s: %s\nthe diagnosis:\n%s", opts, strings.Join(problems, "; "), replayText(d))
				t.Skipf("known gap: %s", exp.Gap.Reason)
			}
			t.Errorf("the known gap %q is closed: move its expectations out of gap: in %s/expect.yaml", exp.Gap.Reason, dir)
		})
	}
	if n < 11 {
		t.Errorf("%d recorded hosts under %s, want at least 11", n, replayHosts)
	}
}

func replayPlaybook(t *testing.T) *Playbook {
	t.Helper()
	set, err := LoadSet("")
	if err != nil {
		t.Fatal(err)
	}
	pb, err := set.Get("nginx-502")
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

func readReplayExpect(t *testing.T, dir string, cat *knowledge.Catalog) replayExpect {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "expect.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var exp replayExpect
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&exp); err != nil {
		t.Fatalf("expect.yaml: %v", err)
	}
	if strings.TrimSpace(exp.Story) == "" || strings.Contains(strings.TrimSpace(exp.Story), "\n") {
		t.Errorf("expect.yaml: story must be one line saying what happened on the host")
	}
	if exp.Layout == "" {
		t.Errorf("expect.yaml: layout is required")
	}
	checks := append([]replayCheck{exp.replayCheck}, exp.Also...)
	if exp.Gap != nil {
		if exp.Gap.Reason == "" {
			t.Errorf("expect.yaml: gap needs a reason")
		}
		checks = append(checks, exp.Gap.replayCheck)
	}
	for _, c := range checks {
		for _, id := range slices.Concat([]string{c.Top}, c.Explains, c.Has, c.Not) {
			if id != "" && cat.Cause(id) == nil {
				t.Errorf("expect.yaml: unknown cause %q", id)
			}
		}
		if _, err := c.since(); err != nil {
			t.Errorf("expect.yaml: since: %v", err)
		}
		switch c.Verdict {
		case "", knowledge.VerdictCauseFound, knowledge.VerdictNoEvidence:
		default:
			t.Errorf("expect.yaml: verdict %q", c.Verdict)
		}
	}
	return exp
}

// replayReport builds the report a run of pb on the recorded host gives.
func replayReport(t *testing.T, pb *Playbook, dir string) *Report {
	t.Helper()
	rep := &Report{Playbook: pb.Name, Target: filepath.Base(dir)}
	data := map[string]any{"vars": map[string]string{"site": ""}}
	used := map[string]bool{"expect.yaml": true}
	var now time.Time
	for i := range pb.Steps {
		s := &pb.Steps[i]
		for _, n := range s.Needs {
			if _, done := data[n]; !done && rep.Step(n) == nil {
				t.Fatalf("step %s needs %s, which comes later in the playbook: replay it in dependency order", s.ID, n)
			}
		}
		name := s.ID + ".txt"
		out, err := os.ReadFile(filepath.Join(dir, name))
		recorded := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		used[name] = recorded
		res := &StepResult{ID: s.ID, Log: s.Log}
		rep.Steps = append(rep.Steps, res)
		if skip, why := shouldSkip(s, data); skip {
			if recorded {
				t.Errorf("%s: a run on this host skips step %s (%s), so it prints nothing", name, s.ID, why)
			}
			res.Skipped, res.Error, res.ExitCode = true, why, -1
			continue
		}
		if !recorded {
			t.Errorf("%s is missing: a run on this host runs step %s", name, s.ID)
			res.ExitCode, res.Error = -1, "not recorded"
			continue
		}
		script, err := render(s, data)
		if err != nil {
			t.Fatalf("step %s: %v", s.ID, err)
		}
		res.Script, res.Stdout = script, out
		if s.Parse != "" {
			facts, perr := Parsers[s.Parse](out)
			if perr != nil {
				t.Errorf("%s is not what the command prints: %v", name, perr)
				res.Error = "parsing output: " + perr.Error()
			}
			if facts != nil {
				res.Facts = facts
				data[s.ID] = facts
			}
			if h, ok := facts.(knowledge.HostInfo); ok {
				now = h.Now
			}
		}
		for _, p := range readBy(script, s.ID, out) {
			t.Errorf("%s: %s", name, p)
		}
	}
	if now.IsZero() {
		t.Errorf("host.txt gives no clock (now=)")
	}
	for _, s := range rep.Steps {
		if s.Log == "" {
			continue
		}
		for _, part := range splitLogs(s.Stdout, s.Log) {
			if s.ID == "audit_log" || part.name == "journalctl -k" {
				// Epoch or zoned times: instants, not the wall clock now= is read on.
				continue
			}
			for _, p := range linesAfter(part.text, now) {
				t.Errorf("%s.txt, %s: %s", s.ID, part.name, p)
			}
		}
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !used[f.Name()] {
			t.Errorf("%s is no step of %s", f.Name(), pb.Name)
		}
	}
	return rep
}

var forList = regexp.MustCompile(`for \w+ in ([^;\n]*); do`)

// readBy lists the places where out names a file or target the command does not
// read, and the files or targets the command always prints something for that out
// lacks.
func readBy(script, step string, out []byte) []string {
	var problems []string
	reads := func(name string) bool {
		if strings.Contains(script, remote.Quote(name)) || strings.Contains(script, "==> "+name+" <==") {
			return true
		}
		if rest, ok := strings.CutPrefix(name, "/proc/"); ok {
			if pid, ok := strings.CutSuffix(rest, "/limits"); ok && strings.Contains(script, "/proc/$p/limits") {
				return strings.Contains(script, remote.Quote(pid))
			}
		}
		for _, m := range forList.FindAllStringSubmatch(script, -1) {
			for _, w := range strings.Fields(m[1]) {
				if !strings.HasPrefix(w, "'") {
					if ok, _ := path.Match(w, name); ok {
						return true
					}
				}
			}
		}
		return false
	}
	named := map[string]bool{}
	eachLine(out, func(n int, line string) {
		name := ""
		switch step {
		case "sockets":
			if rest, ok := strings.CutPrefix(line, "stat: "); ok {
				if s, ok := statComplaint(rest); ok {
					name = s.Path
				}
			} else if strings.Contains(line, "|") {
				f := strings.Split(line, "|")
				name = strings.Join(f[:max(1, len(f)-4)], "|")
			}
		case "probes":
			name, _, _ = strings.Cut(line, " ")
		case "fpm_config", "limits", "nginx_error_log", "fpm_log", "kernel_log", "audit_log":
			if m, ok := fileMarker(line); ok {
				name = strings.TrimSuffix(m, " (missing)")
			}
		}
		if name == "" {
			return
		}
		named[name] = true
		if !reads(name) {
			problems = append(problems, fmt.Sprintf("line %d names %q, which the step's command does not read", n, name))
		}
	})
	for _, name := range alwaysPrinted(script, step) {
		if !named[name] {
			problems = append(problems, fmt.Sprintf("the command prints a line for %q whatever the host holds; the recording has none", name))
		}
	}
	return problems
}

// alwaysPrinted lists what a step's command prints a line for whether or not it
// exists: each error log (a header, "(missing)" or not), each master's limits
// marker, each probe target, each path given to stat.
func alwaysPrinted(script, step string) []string {
	var words []string
	switch step {
	case "nginx_error_log", "limits", "probes":
		for _, m := range forList.FindAllStringSubmatch(script, -1) {
			words = append(words, strings.Fields(m[1])...)
		}
	case "sockets":
		_, args, _ := strings.Cut(script, " -- ")
		args, _, _ = strings.Cut(args, " 2>&1")
		words = strings.Fields(args)
	default:
		return nil
	}
	var out []string
	for _, w := range words {
		// Values are quoted one by one; none of the recorded ones holds a space or a quote.
		if len(w) < 2 || w[0] != '\'' || w[len(w)-1] != '\'' || strings.Contains(w[1:len(w)-1], "'") {
			continue
		}
		w = w[1 : len(w)-1]
		if step == "limits" {
			w = "/proc/" + w + "/limits"
		}
		out = append(out, w)
	}
	return out
}

// linesAfter lists log lines dated after the host's clock: a recording
// where they exist was not taken at that time.
func linesAfter(text []byte, now time.Time) []string {
	var problems []string
	eachLine(text, func(n int, line string) {
		if l := knowledge.ParseLine([]byte(line)); !l.Time.IsZero() && l.Time.After(now) {
			problems = append(problems, fmt.Sprintf("line %d is dated %s, after the host's clock %s", n, l.Time.Format(time.DateTime), now.Format(time.DateTime)))
		}
	})
	return problems
}

func (c replayCheck) since() (time.Duration, error) {
	if c.Since == "" {
		return 15 * time.Minute, nil
	}
	return time.ParseDuration(c.Since)
}

func replayDiagnose(t *testing.T, rep *Report, an *knowledge.Analyzer, c replayCheck) (knowledge.Diagnosis, string) {
	t.Helper()
	since, err := c.since()
	if err != nil {
		t.Fatal(err)
	}
	lang := c.Lang
	if lang == "" {
		lang = "en"
	}
	d := FromReport(rep, an, DiagnoseOptions{Since: since, Lang: lang})
	return d, fmt.Sprintf("since %v, %s", since, lang)
}

// problems lists what d gets wrong.
func (c replayCheck) problems(d knowledge.Diagnosis) []string {
	var ps []string
	bad := func(format string, args ...any) { ps = append(ps, fmt.Sprintf(format, args...)) }
	want := c.Verdict
	if want == "" {
		want = knowledge.VerdictNoEvidence
		if c.Top != "" {
			want = knowledge.VerdictCauseFound
		}
	}
	if d.Verdict != want {
		bad("verdict %s, want %s", d.Verdict, want)
	}
	if want == knowledge.VerdictNoEvidence && len(d.Causes) > 0 {
		bad("causes %v, want none", replayIDs(d.Causes))
	}
	if c.OutOfWindow != nil && d.Stats.OutOfRange != *c.OutOfWindow {
		bad("%d candidates out of the window, want %d", d.Stats.OutOfRange, *c.OutOfWindow)
	}
	for _, f := range d.Causes {
		if slices.Contains(c.Not, f.ID) {
			bad("cause %s must not appear", f.ID)
		}
	}
	for _, id := range c.Has {
		if !slices.ContainsFunc(d.Causes, func(f knowledge.Finding) bool { return f.ID == id }) {
			bad("cause %s is missing (causes %v)", id, replayIDs(d.Causes))
		}
	}
	if c.Top == "" {
		return ps
	}
	if len(d.Causes) == 0 {
		bad("no causes, want %s first", c.Top)
		return ps
	}
	top := d.Causes[0]
	if top.ID != c.Top {
		bad("top cause %s, want %s (causes %v)", top.ID, c.Top, replayIDs(d.Causes))
	}
	for _, id := range c.Explains {
		if !slices.Contains(top.Explains, id) {
			bad("top cause %s explains %v, want it to explain %s", top.ID, top.Explains, id)
		}
	}
	for _, s := range c.FixContains {
		if !slices.ContainsFunc(top.Fixes, func(f string) bool { return strings.Contains(f, s) }) {
			bad("no fix of %s contains %q", top.ID, s)
		}
	}
	for _, s := range c.EvidenceContains {
		if !slices.ContainsFunc(top.Evidence, func(e knowledge.Evidence) bool { return strings.Contains(e.Source+": "+e.Text, s) }) {
			bad("no evidence of %s contains %q", top.ID, s)
		}
	}
	for _, s := range c.BaoTaContains {
		if !strings.Contains(top.BaoTa, s) {
			bad("the panel text of %s lacks %q: %q", top.ID, s, top.BaoTa)
		}
	}
	return ps
}

func replayIDs(fs []knowledge.Finding) []string {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	return ids
}

// replaySummary is the diagnosis in one line: verdict, then each cause with its
// confidence and what it explains.
func replaySummary(d knowledge.Diagnosis) string {
	var b strings.Builder
	b.WriteString(d.Verdict)
	for i, f := range d.Causes {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s %.2f", sep, f.ID, f.Confidence)
		if len(f.Explains) > 0 {
			fmt.Fprintf(&b, " (explains %s)", strings.Join(f.Explains, " "))
		}
	}
	if d.Stats.OutOfRange > 0 {
		fmt.Fprintf(&b, "; %d candidates out of the window", d.Stats.OutOfRange)
	}
	return b.String()
}

func replayText(d knowledge.Diagnosis) string {
	var b strings.Builder
	if err := knowledge.RenderText(&b, d); err != nil {
		return err.Error()
	}
	return b.String()
}
