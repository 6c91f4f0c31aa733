package main

import (
	"fmt"
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

func cmdKB(e env, args []string) error {
	fs := newFlagSet("kb", e.stderr)
	lang := fs.String("lang", "", "language: en or zh (default: zh when the search words are Chinese)")
	causesDir := fs.String("causes", "", "directory of cause YAML files layered over the built-in catalog")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: badgateway kb [list | show ID | search WORDS...] [--lang en|zh]")
		fs.PrintDefaults()
	}
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := checkLang(*lang); err != nil {
		return err
	}
	cat, err := knowledge.LoadWithOverrides(*causesDir)
	if err != nil {
		return usageErrorf("cause catalog: %v", err)
	}
	verb := "list"
	if len(rest) > 0 {
		verb, rest = rest[0], rest[1:]
	}
	if *lang == "" {
		*lang = knowledge.DetectLang(strings.Join(rest, " "))
	}
	switch verb {
	case "list", "ls":
		for _, c := range cat.Causes {
			fmt.Fprintf(e.stdout, "%-30s %d  %s\n", c.ID, c.Status, knowledge.Expand(c.Title.In(*lang), nil))
		}
		return nil
	case "show":
		if len(rest) != 1 {
			return usageErrorf("kb show takes one cause id; 'badgateway kb list' lists them")
		}
		c := cat.Cause(rest[0])
		if c == nil {
			if hits := cat.Search(rest[0]); len(hits) > 0 {
				return usageErrorf("no cause %q; did you mean %s?", rest[0], hits[0].ID)
			}
			return usageErrorf("no cause %q; 'badgateway kb list' lists them", rest[0])
		}
		_, err := fmt.Fprint(e.stdout, knowledge.DescribeCause(c, *lang))
		return err
	case "search", "find":
		if len(rest) == 0 {
			return usageErrorf("kb search needs words, e.g. 'badgateway kb search too big header'")
		}
		hits := cat.Search(strings.Join(rest, " "))
		if len(hits) == 0 {
			fmt.Fprintln(e.stdout, "No cause matches; 'badgateway kb list' shows them all.")
			return nil
		}
		for i, c := range hits {
			if i == 8 {
				break
			}
			fmt.Fprintf(e.stdout, "%-30s %d  %s\n", c.ID, c.Status, knowledge.Expand(c.Title.In(*lang), nil))
		}
		return nil
	}
	return usageErrorf("unknown kb command %q: want list, show or search", verb)
}
