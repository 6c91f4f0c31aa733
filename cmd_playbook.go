package main

import (
	"fmt"

	"github.com/badgateway/badgateway/playbooks"
)

func cmdPlaybook(e env, args []string) error {
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
		return usageErrorf("usage: badgateway playbook check [FILE...]")
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
