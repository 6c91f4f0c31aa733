package playbooks

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/badgateway/badgateway/remote"
)

func init() {
	// A parser for the engine tests: the lines of stdout.
	Parsers["test_lines"] = func(out []byte) (any, error) {
		return strings.Fields(string(out)), nil
	}
}

func mustParse(t *testing.T, yml string) *Playbook {
	t.Helper()
	pb, err := Parse("test.yaml", []byte(yml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return pb
}

func TestEngineRunsIndependentStepsInParallel(t *testing.T) {
	pb := mustParse(t, `
name: parallel
steps:
  - {id: a, run: "sleep 0.5; echo a"}
  - {id: b, run: "sleep 0.5; echo b"}
  - {id: c, run: "sleep 0.5; echo c"}
  - {id: d, run: "sleep 0.5; echo d"}
`)
	start := time.Now()
	rep := Run(context.Background(), remote.NewLocal(), pb, Options{})
	// Four half-second steps finish in well under the two seconds they take in a row.
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("took %v: steps did not run in parallel", el)
	}
	for _, s := range rep.Steps {
		if s.Error != "" || strings.TrimSpace(string(s.Stdout)) != s.ID {
			t.Errorf("step %s: error %q stdout %q", s.ID, s.Error, s.Stdout)
		}
	}
}

func TestEngineNeedsOrderFactsAndQuoting(t *testing.T) {
	pb := mustParse(t, `
name: facts
steps:
  - id: words
    run: printf '%s\n' "it's" '$(touch /tmp/pwned-badgateway)' '; rm -rf /' plain
    parse: test_lines
  - id: echo_back
    needs: [words]
    run: "printf '[%s]' {{ quoteEach .words }}"
  - id: slow_unrelated
    run: sleep 1
`)
	var mu sync.Mutex
	var order []string
	rep := Run(context.Background(), remote.NewLocal(), pb, Options{OnEvent: func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, string(e.Kind)+":"+e.Step)
	}})
	got := string(rep.Step("echo_back").Stdout)
	want := "[it's][$(touch][/tmp/pwned-badgateway)][;][rm][-rf][/][plain]"
	if got != want {
		t.Errorf("quoted facts came back as %q, want %q", got, want)
	}
	// echo_back waits only for words, not for the slow unrelated step.
	idxEcho, idxSlow := -1, -1
	for i, ev := range order {
		switch ev {
		case "finished:echo_back":
			idxEcho = i
		case "finished:slow_unrelated":
			idxSlow = i
		}
	}
	if idxEcho < 0 || idxSlow < 0 || idxEcho > idxSlow {
		t.Errorf("event order %v: echo_back should finish before slow_unrelated", order)
	}
	if len(order) != 6 {
		t.Errorf("want a start and a finish per step, got %v", order)
	}
}

func TestEngineRecordsFailuresAndGoesOn(t *testing.T) {
	pb := mustParse(t, `
name: failures
steps:
  - {id: fails, run: "echo broken >&2; exit 3"}
  - {id: hangs, run: "sleep 30", timeout: 500ms}
  - {id: parsed, run: "echo x y", parse: test_lines}
  - {id: needs_failed, run: "echo never", needs: [hangs]}
  - {id: when_false, run: "echo never", needs: [parsed], when: "{{ if eq (len .parsed) 5 }}yes{{ end }}"}
  - {id: when_true, run: "echo ran", needs: [parsed], when: "{{ if eq (len .parsed) 2 }}yes{{ end }}"}
`)
	start := time.Now()
	rep := Run(context.Background(), remote.NewLocal(), pb, Options{})
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("a hanging step held the run for %v", el)
	}
	if s := rep.Step("fails"); s.ExitCode != 3 || s.Error != "exit status 3: broken" {
		t.Errorf("fails: exit %d error %q", s.ExitCode, s.Error)
	}
	if s := rep.Step("hangs"); !s.TimedOut || !strings.Contains(s.Error, "timed out") {
		t.Errorf("hangs: %+v", s)
	}
	if s := rep.Step("needs_failed"); !s.Skipped {
		t.Errorf("a step needing a step without facts should be skipped: %+v", s)
	}
	if s := rep.Step("when_false"); !s.Skipped {
		t.Errorf("when_false ran: %+v", s)
	}
	if s := rep.Step("when_true"); s.Skipped || strings.TrimSpace(string(s.Stdout)) != "ran" {
		t.Errorf("when_true: %+v", s)
	}
}

func TestEngineCancel(t *testing.T) {
	pb := mustParse(t, `
name: cancel
steps:
  - {id: long, run: "sleep 30"}
  - {id: after, run: "echo x", needs: [long]}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep := Run(ctx, remote.NewLocal(), pb, Options{})
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("cancel took %v", el)
	}
	if rep.Step("long").Error == "" || !rep.Step("after").Skipped {
		t.Errorf("after cancel: %+v %+v", rep.Step("long"), rep.Step("after"))
	}
}

func TestPlaybookErrorsHaveLines(t *testing.T) {
	cases := []struct{ name, yml, want string }{
		{"unknown key", "name: x\nsteps:\n  - id: a\n    run: echo\n    tiemout: 3s\n", "test.yaml:5: field tiemout not found"},
		{"unquoted fact", "name: x\nsteps:\n  - id: a\n    run: echo\n    parse: test_lines\n  - id: b\n    needs: [a]\n    run: echo {{ .a }}\n", "test.yaml:8: step \"b\": run: line 1: {{.a}} prints a value unquoted"},
		{"missing needs", "name: x\nsteps:\n  - id: a\n    run: echo\n    parse: test_lines\n  - id: b\n    run: echo {{ quoteEach .a }}\n", "test.yaml:6: step \"b\" uses .a but does not list it in needs"},
		{"unknown parser", "name: x\nsteps:\n  - id: a\n    run: echo\n    parse: nope\n", "test.yaml:5: step \"a\": unknown parser \"nope\""},
		{"duplicate id", "name: x\nsteps:\n  - id: a\n    run: echo\n  - id: a\n    run: echo\n", "test.yaml:5: duplicate step id \"a\" (first at line 3)"},
		{"cycle", "name: x\nsteps:\n  - {id: a, run: echo, needs: [b]}\n  - {id: b, run: echo, needs: [a]}\n", "needs form a cycle: a → b → a"},
		{"bad template", "name: x\nsteps:\n  - id: a\n    run: echo {{ quote\n", "test.yaml:4: step \"a\": run:"},
		{"bad timeout", "name: x\nsteps:\n  - id: a\n    run: echo\n    timeout: soon\n", "test.yaml:5: cannot unmarshal"},
		{"not yaml", "name: [x\n", "test.yaml:"},
		{"no steps", "name: x\n", "a playbook needs at least one step"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tc.yml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBuiltinPlaybooksAreValid(t *testing.T) {
	set, err := LoadSet("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Get("nginx-502"); err != nil {
		t.Fatal(err)
	}
}
