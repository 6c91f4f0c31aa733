package knowledge

import (
	"fmt"
	"testing"
)

func TestRequiredLiterals(t *testing.T) {
	cases := map[string][]string{
		`^[^"]*?connect\(\) to (?P<upstream>unix:(?P<socket>\S+)) failed \((?:2|20): [^)]*\)`:          {"connect() to ", " failed (2", "unix:"},
		`(?:open|mkdir)\(\) "(?P<path>[^"]+)" failed \(13: Permission denied\) while reading upstream`: {`" failed (13: Permission denied) while reading upstream`, `() "`},
		`(?i)upstream timed out`: nil,
		`a|b`:                    nil,
		`(?:abc)?def`:            {"def"},
	}
	for re, want := range cases {
		if got := requiredLiterals(re); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("requiredLiterals(%q) = %q, want %q", re, got, want)
		}
	}
}

// The shortcut must never reject a line the regex matches: every example line of
// every cause goes through the regex alone and through the shortcut.
func TestRequiredLiteralsNeverRejectAMatch(t *testing.T) {
	cat := mustBuiltin(t)
	for _, c := range cat.Causes {
		for _, ex := range c.Examples.Match {
			l := ParseLine([]byte(ex))
			for _, p := range c.Patterns {
				for _, subject := range []string{l.Message, l.Raw} {
					if p.re.MatchString(subject) && !containsAll(subject, p.required) {
						t.Errorf("%s: required %q rejects a matching line: %s", c.ID, p.required, subject)
					}
				}
			}
		}
	}
}
