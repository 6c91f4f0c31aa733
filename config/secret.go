package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// redacted stands in for a secret whose ${ENV_VAR} reference is unknown.
const redacted = "[REDACTED]"

// Secret holds a token or key. Every way of printing or encoding it
// (fmt verbs, JSON, YAML, text, slog) shows the ${ENV_VAR} reference it came
// from, or [REDACTED], never the value; only Reveal returns the value, so a
// leak needs a deliberate, greppable call.
type Secret struct {
	value string
	ref   string // "${NAME}" as written in the file; "" when built in code
}

// NewSecret wraps a value obtained elsewhere (tests, flags).
func NewSecret(value string) Secret { return Secret{value: value} }

// Reveal returns the secret value: call it only where the value is sent to
// the service it authenticates to.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty (not configured, or its
// variable is unset).
func (s Secret) IsZero() bool { return s.value == "" }

// Ref is the ${ENV_VAR} reference the secret was read from, or "".
func (s Secret) Ref() string { return s.ref }

func (s Secret) String() string {
	switch {
	case s.ref != "":
		return s.ref
	case s.value == "":
		return ""
	}
	return redacted
}

// GoString keeps %#v from showing the value.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format makes every verb (%x, %d, %q, …) print the redacted form, not
// only %v and %s.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
func (s Secret) MarshalYAML() (any, error)    { return s.String(), nil }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(s.String()) }
