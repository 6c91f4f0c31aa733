package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// hopSpec is one element of a jump chain: [ssh://][user@]host[:port].
type hopSpec struct {
	user, host string
	port       int
}

func parseHop(s string) (hopSpec, error) {
	var h hopSpec
	bad := fmt.Errorf("jump hop %q is not a host name or [user@]host[:port]", s)
	rest := strings.TrimSuffix(strings.TrimPrefix(s, "ssh://"), "/")
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		h.user, rest = rest[:i], rest[i+1:]
		if h.user == "" {
			return h, bad
		}
	}
	portText := ""
	switch {
	case strings.HasPrefix(rest, "["): // [v6]:port
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return h, bad
		}
		h.host, rest = rest[1:end], rest[end+1:]
		if rest != "" {
			var ok bool
			if portText, ok = strings.CutPrefix(rest, ":"); !ok {
				return h, bad
			}
		}
	case strings.Count(rest, ":") == 1:
		h.host, portText, _ = strings.Cut(rest, ":")
	default: // a name, or a bare IPv6 address
		h.host = rest
	}
	if h.host == "" || strings.ContainsAny(h.host, " \t/") || strings.ContainsAny(h.user, " \t:/") {
		return h, bad
	}
	if portText != "" {
		n, err := strconv.Atoi(portText)
		if err != nil || n < 1 || n > 65535 {
			return h, fmt.Errorf("jump hop %q: port %q is not a number from 1 to 65535", s, portText)
		}
		h.port = n
	}
	return h, nil
}

// unknownJumpError is a bare hop name that is neither an inventory host
// nor known to ssh_config.
type unknownJumpError struct {
	name        string
	suggestions []string
}

func (e *unknownJumpError) Error() string {
	msg := fmt.Sprintf("unknown jump host %q", e.name)
	if len(e.suggestions) > 0 {
		msg += "; did you mean " + strings.Join(e.suggestions, ", ") + "?"
	}
	return msg + " (a jump is an inventory host name, or user@host or host:port for a host outside the inventory)"
}

// cycleError is a chain of first hops that comes back to where it started.
type cycleError struct{ names []string }

func (e *cycleError) Error() string {
	return fmt.Sprintf("jump cycle %s (each host jumps through the next); remove one of these jumps", strings.Join(e.names, " -> "))
}

// hopHost turns a hop into the host it dials. A bare name must be an
// inventory host (or one ssh_config knows), so that a typo is reported
// instead of dialled; a name with a dot or an IP address is taken as an
// address, as are user@host and host:port.
func (c *Config) hopHost(s hopSpec) (Host, error) {
	if h, ok := c.Host(s.host); ok {
		if s.user != "" {
			h.User = s.user
		}
		if s.port != 0 {
			h.Port = s.port
		}
		return h, nil
	}
	qualified := s.user != "" || s.port != 0 || strings.Contains(s.host, ".") || net.ParseIP(s.host) != nil
	if !qualified && !c.sshConfig.knows(s.host) {
		return Host{}, &unknownJumpError{name: s.host, suggestions: suggest(s.host, c.hostNames())}
	}
	return Host{Name: s.host, User: s.user, Port: s.port, Adhoc: true}, nil
}

func (sc *SSHConfig) knows(host string) bool { return sc != nil && sc.Knows(host) }

// jumpSpecs returns the hops written for h: its own jump, else the
// ProxyJump ssh_config gives it. "none" stops ssh_config's.
func (c *Config) jumpSpecs(h Host) ([]string, error) {
	if len(h.Jump) > 0 {
		if len(h.Jump) == 1 && strings.EqualFold(h.Jump[0], "none") {
			return nil, nil
		}
		return h.Jump, nil
	}
	if c.sshConfig == nil {
		return nil, nil
	}
	r := c.sshLookup(h)
	v, ok := r.first[proxyKey]
	if !ok || strings.EqualFold(v.args[1], "none") {
		return nil, nil
	}
	if v.args[0] == "proxycommand" {
		return nil, &Error{File: v.file, Line: v.line, Msg: fmt.Sprintf("ProxyCommand applies to %s, and badgateway supports only ProxyJump: give the host a jump: in the inventory or a ProxyJump before this line", h.Name)}
	}
	var hops []string
	for _, a := range v.args[1:] {
		for hop := range strings.SplitSeq(a, ",") {
			if hop = strings.TrimSpace(hop); hop != "" {
				hops = append(hops, hop)
			}
		}
	}
	return hops, nil
}

// jumpChain returns the hosts dialled before h, in order. As with
// OpenSSH's ProxyJump, only the first hop's own jumps are followed: each
// later hop is reached through the one before it.
func (c *Config) jumpChain(h Host) ([]Host, error) {
	chain, err := c.chainFrom(h, []string{h.Name})
	if err != nil {
		return nil, err
	}
	// A later hop that repeats the target or another hop loops too.
	seen := map[string]bool{h.Name: true}
	for i, j := range chain {
		if seen[j.Name] {
			names := make([]string, 0, len(chain)+1)
			for _, x := range chain {
				names = append(names, x.Name)
			}
			return nil, fmt.Errorf("the jump chain %s reaches %s twice (hop %d); remove the repeated hop",
				strings.Join(append(names, h.Name), " -> "), j.Name, i+1)
		}
		seen[j.Name] = true
	}
	return chain, nil
}

func (c *Config) chainFrom(h Host, trail []string) ([]Host, error) {
	specs, err := c.jumpSpecs(h)
	if err != nil || len(specs) == 0 {
		return nil, err
	}
	hops := make([]Host, 0, len(specs))
	for _, s := range specs {
		hs, err := parseHop(s)
		if err != nil {
			return nil, err
		}
		hh, err := c.hopHost(hs)
		if err != nil {
			return nil, err
		}
		hops = append(hops, hh)
	}
	first := hops[0]
	if slices.Contains(trail, first.Name) {
		return nil, &cycleError{names: append(slices.Clip(trail), first.Name)}
	}
	before, err := c.chainFrom(first, append(slices.Clip(trail), first.Name))
	if err != nil {
		return nil, err
	}
	return append(before, hops...), nil
}
