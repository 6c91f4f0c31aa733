package config

import (
	"errors"
	"regexp"
	"strings"
)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Errors of expandEnv. They never quote the value: it may be a secret.
var (
	errUnterminatedRef = errors.New("has an unterminated ${ (write ${NAME})")
	errBadRefName      = errors.New("has a ${…} reference that is not a variable name (use letters, digits and _, starting with a letter or _)")
)

// expandEnv replaces each ${NAME} in s with the variable's value. An unset
// variable expands to "" and is listed in unset, so the component that needs
// the value can say which variable to export. Only the braced form is
// recognised, so a lone $ (in a password-less URL, a regexp) stays as is.
func expandEnv(s string, lookup func(string) (string, bool)) (out string, unset []string, err error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), unset, nil
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", nil, errUnterminatedRef
		}
		name := s[i+2 : i+end]
		if !envNameRE.MatchString(name) {
			return "", nil, errBadRefName
		}
		if v, ok := lookup(name); ok {
			b.WriteString(v)
		} else {
			unset = append(unset, name)
		}
		s = s[i+end+1:]
	}
}

// singleRef returns NAME when s is exactly "${NAME}".
func singleRef(s string) (string, bool) {
	if !strings.HasPrefix(s, "${") || !strings.HasSuffix(s, "}") {
		return "", false
	}
	name := s[2 : len(s)-1]
	return name, envNameRE.MatchString(name)
}

// tokenRE finds literal chat tokens: Slack's prefixed tokens and the
// three-part base64 shape of Discord bot tokens.
var tokenRE = regexp.MustCompile(`\b(xox[abposre]-|xapp-)[A-Za-z0-9-]|\b[A-Za-z0-9_-]{24,}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}`)

// looksLikeToken describes the token found in s, without its value.
func looksLikeToken(s string) (string, bool) {
	m := tokenRE.FindStringSubmatch(s)
	switch {
	case m == nil:
		return "", false
	case m[1] != "":
		return "a Slack token (" + m[1] + "…)", true
	}
	return "a Discord bot token", true
}
