package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/badgateway/badgateway/config"

	"github.com/badgateway/badgateway/playbooks"
)

func cmdPlaybook(e env, args []string) error {
	if len(args) > 0 && args[0] == "run" {
		return runPlaybook(e, args[1:])
	}
	fs := newFlagSet("playbook", e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: badgateway playbook check [FILE...]   validate the built-in playbooks and the given files")
		fs.PrintDefaults()
	}
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 || rest[0] != "check" {
		return usageErrorf("usage: badgateway playbook check [FILE...] | playbook run HOST [--playbook NAME]")
	}
	var errs []error
	set, err := playbooks.LoadSet("")
	if err != nil {
		errs = append(errs, err)
	} else {
		for name, pb := range set {
			fmt.Fprintf(e.stdout, "ok  %s (built-in, %d steps)\n", name, len(pb.Steps))
		}
	}
	for _, f := range rest[1:] {
		pb, err := playbooks.LoadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(e.stdout, "ok  %s (%s, %d steps)\n", pb.Name, f, len(pb.Steps))
	}
	if len(errs) > 0 {
		// Each problem on its own line with file:line, as compilers print them.
		for _, err := range errs {
			fmt.Fprintln(e.stderr, err)
		}
		return usageErrorf("%d playbook file(s) have errors", len(errs))
	}
	return nil
}

// runPlaybook runs a playbook and prints every step with its script and facts, for
// writing playbooks and for seeing exactly what badgateway ran on a host.
func runPlaybook(e env, args []string) error {
	fs := newFlagSet("playbook run", e.stderr)
	cfgPath := fs.String("config", "", "config file (default $BADGATEWAY_CONFIG, then ./config.yaml)")
	name := fs.String("playbook", "nginx-502", "playbook to run")
	site := fs.String("site", "", "the --site value the templates see")
	hostArgs, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(hostArgs) != 1 {
		return usageErrorf("playbook run takes one host")
	}
	cfg, err := config.Open(*cfgPath)
	if err != nil {
		return usageErrorf("%v", err)
	}
	hosts, err := cfg.Select(hostArgs[0])
	if err != nil {
		return usageErrorf("%v", err)
	}
	set, err := playbooks.LoadSet(cfg.Playbooks)
	if err != nil {
		return usageErrorf("playbooks: %v", err)
	}
	pb, err := set.Get(*name)
	if err != nil {
		return usageErrorf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := cfg.Dial(ctx, hosts[0])
	if err != nil {
		return &unreachableError{err: err}
	}
	defer r.Close()
	rep := playbooks.Run(ctx, r, pb, playbooks.Options{DefaultTimeout: cfg.SSH.CommandTimeout, Vars: map[string]string{"site": *site}})
	type step struct {
		*playbooks.StepResult
		DurationMS int64  `json:"duration_ms"`
		Stdout     string `json:"stdout,omitempty"`
		Stderr     string `json:"stderr,omitempty"`
	}
	out := struct {
		Target     string `json:"target"`
		Playbook   string `json:"playbook"`
		DurationMS int64  `json:"duration_ms"`
		Steps      []step `json:"steps"`
	}{Target: hosts[0].Name, Playbook: pb.Name, DurationMS: rep.Duration.Milliseconds()}
	for _, s := range rep.Steps {
		st := step{StepResult: s, DurationMS: s.Duration.Milliseconds()}
		if s.Facts == nil {
			st.Stdout = string(s.Stdout)
		}
		st.Stderr = string(s.Stderr)
		out.Steps = append(out.Steps, st)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
