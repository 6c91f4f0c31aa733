package playbooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/badgateway/badgateway/remote"
)

// EventKind says what happened to a step.
type EventKind string

const (
	StepStarted  EventKind = "started"
	StepFinished EventKind = "finished"
	StepSkipped  EventKind = "skipped"
)

// Event reports progress as it happens, so a chat message can be edited live.
type Event struct {
	Kind   EventKind
	Step   string
	Result *StepResult // set when finished or skipped
	Done   int         // steps finished or skipped so far
	Total  int
}

// StepResult is what one step produced.
type StepResult struct {
	ID       string        `json:"id"`
	Script   string        `json:"script,omitempty"`
	ExitCode int           `json:"exit_code"`
	Duration time.Duration `json:"-"`
	Skipped  bool          `json:"skipped,omitempty"`
	TimedOut bool          `json:"timed_out,omitempty"`
	// Error says why the step gave nothing usable; empty when it worked.
	Error  string `json:"error"`
	Stdout []byte `json:"-"`
	Stderr []byte `json:"-"`
	// Facts is the parser's output, or nil.
	Facts any `json:"facts,omitempty"`
	// Log is the source name when the output is log text for the matcher.
	Log string `json:"log,omitempty"`
}

// Report is a whole playbook run.
type Report struct {
	Playbook string
	Target   string
	Steps    []*StepResult // in playbook order
	Duration time.Duration
}

// Facts returns the parsed facts by step id.
func (r *Report) Facts() map[string]any {
	m := map[string]any{}
	for _, s := range r.Steps {
		if s.Facts != nil {
			m[s.ID] = s.Facts
		}
	}
	return m
}

// Step returns the result of step id, or nil.
func (r *Report) Step(id string) *StepResult {
	for _, s := range r.Steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Options tune a run.
type Options struct {
	// Parallel bounds the steps running at once (default 8: sshd allows 10 sessions).
	Parallel int
	// OnEvent, if set, is called for every start, finish and skip, from the step's goroutine.
	OnEvent func(Event)
	// DefaultTimeout applies to steps without their own (default 20s).
	DefaultTimeout time.Duration
	// Vars are extra template values, under .vars (e.g. the --site name).
	Vars map[string]string
}

// Run executes the playbook on r: independent steps in parallel, each step after the
// steps it needs. A failing or timed-out step is recorded and the others go on.
func Run(ctx context.Context, r remote.Runner, pb *Playbook, o Options) *Report {
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.DefaultTimeout <= 0 {
		o.DefaultTimeout = 20 * time.Second
	}
	start := time.Now()
	rep := &Report{Playbook: pb.Name, Target: r.Target(), Steps: make([]*StepResult, len(pb.Steps))}
	done := make(map[string]chan struct{}, len(pb.Steps))
	for _, s := range pb.Steps {
		done[s.ID] = make(chan struct{})
	}
	var (
		mu       sync.Mutex
		finished int
		facts    = map[string]any{"vars": o.Vars}
	)
	emit := func(kind EventKind, id string, res *StepResult) {
		if o.OnEvent == nil {
			return
		}
		mu.Lock()
		if kind != StepStarted {
			finished++
		}
		ev := Event{Kind: kind, Step: id, Result: res, Done: finished, Total: len(pb.Steps)}
		mu.Unlock()
		o.OnEvent(ev)
	}
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for i := range pb.Steps {
		s := &pb.Steps[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[s.ID])
			res := &StepResult{ID: s.ID, ExitCode: -1, Log: s.Log}
			rep.Steps[i] = res
			for _, n := range s.Needs {
				select {
				case <-done[n]:
				case <-ctx.Done():
					res.Skipped, res.Error = true, "cancelled: "+ctx.Err().Error()
					emit(StepSkipped, s.ID, res)
					return
				}
			}
			mu.Lock()
			data := make(map[string]any, len(facts))
			for k, v := range facts {
				data[k] = v
			}
			mu.Unlock()
			if skip, why := shouldSkip(s, data); skip {
				res.Skipped, res.Error = true, why
				emit(StepSkipped, s.ID, res)
				return
			}
			script, err := render(s, data)
			if err != nil {
				res.Error = err.Error()
				emit(StepFinished, s.ID, res)
				return
			}
			res.Script = script
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				res.Skipped, res.Error = true, "cancelled: "+ctx.Err().Error()
				emit(StepSkipped, s.ID, res)
				return
			}
			emit(StepStarted, s.ID, nil)
			runStep(ctx, r, s, script, o.DefaultTimeout, res)
			<-sem
			if res.Facts != nil {
				mu.Lock()
				facts[s.ID] = res.Facts
				mu.Unlock()
			}
			emit(StepFinished, s.ID, res)
		}()
	}
	wg.Wait()
	rep.Duration = time.Since(start)
	return rep
}

func shouldSkip(s *Step, data map[string]any) (bool, string) {
	for _, n := range s.Needs {
		if data[n] == nil {
			return true, fmt.Sprintf("skipped: needs facts of %q, which gave none", n)
		}
	}
	if s.when == nil {
		return false, ""
	}
	var b bytes.Buffer
	if err := s.when.Execute(&b, data); err != nil {
		return true, "skipped: when: " + err.Error()
	}
	switch strings.ToLower(strings.TrimSpace(b.String())) {
	case "", "false", "0", "no", "<no value>":
		return true, skipCondition
	}
	return false, ""
}

func render(s *Step, data map[string]any) (string, error) {
	var b bytes.Buffer
	if err := s.run.Execute(&b, data); err != nil {
		return "", fmt.Errorf("rendering the command: %w", err)
	}
	return b.String(), nil
}

func runStep(ctx context.Context, r remote.Runner, s *Step, script string, def time.Duration, res *StepResult) {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = def
	}
	out, err := r.Run(ctx, remote.Command{Script: script, Timeout: timeout, MaxOutput: s.MaxOutput})
	res.Stdout, res.Stderr = out.Stdout, out.Stderr
	res.ExitCode, res.Duration, res.TimedOut = out.ExitCode, out.Duration, out.TimedOut
	switch {
	case err != nil:
		res.Error = err.Error()
		return
	case out.TimedOut:
		res.Error = fmt.Sprintf("timed out after %v", timeout)
	case out.ExitCode != 0:
		res.Error = fmt.Sprintf("exit status %d", out.ExitCode)
		if first := firstLine(out.Stderr); first != "" {
			res.Error += ": " + first
		}
	}
	if s.Parse == "" {
		return
	}
	// Parse even a failed command's output: `nginx -T` on a broken config still says why.
	facts, perr := Parsers[s.Parse](out.Stdout)
	if facts != nil {
		res.Facts = facts
	}
	if perr != nil && res.Error == "" {
		res.Error = "parsing output: " + perr.Error()
	}
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// skipCondition is the Error of a step whose when rendered false: by design, not a failure.
const skipCondition = "skipped: condition not met"

// ErrUnknownPlaybook is returned by Set.Get.
var ErrUnknownPlaybook = errors.New("unknown playbook")

// Get returns the named playbook.
func (s Set) Get(name string) (*Playbook, error) {
	if pb := s[name]; pb != nil {
		return pb, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownPlaybook, name)
}
