package config

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	// Host names and labels are typed in chat: no spaces, and nothing that
	// reads as a glob, an @label or a jump list.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

	slackUserRE    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	slackChannelRE = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	slackGroupRE   = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	snowflakeRE    = regexp.MustCompile(`^[0-9]{15,21}$`)
	hexKeyRE       = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

const maxLabelLen = 63

func (l *loader) validate() {
	l.validateHosts()
	l.validateJumps()
	l.validateAccess()
	l.validateChat()
	l.validateDirs()
}

// unset reports field as referring to an unset variable, when it does.
func (l *loader) unset(field string) bool {
	err := l.c.Missing(field)
	var e *Error
	if errors.As(err, &e) {
		l.errs = append(l.errs, e)
		return true
	}
	return false
}

func (l *loader) validateHosts() {
	c := l.c
	firstLine := map[string]int{}
	for i, h := range c.Hosts {
		p := []any{"hosts", i}
		who := fmt.Sprintf("host %q", h.Name)
		switch {
		case l.failed[pathString(at(p, "name"))]:
		case h.Name == "":
			who = pathString(p)
			if !l.unset(pathString(at(p, "name"))) {
				l.errorf(p, "%s has no name; add name: (what you type in chat, like web-01)", who)
			}
		case !nameRE.MatchString(h.Name):
			l.errorf(at(p, "name"), "host name %q is not valid; use letters, digits, '.', '-' and '_', starting with a letter or digit", h.Name)
		case strings.EqualFold(h.Name, "none"):
			l.errorf(at(p, "name"), "host name %q is reserved (jump: none means no jump); choose another name", h.Name)
		default:
			line := l.loc.line(at(p, "name"))
			if first, dup := firstLine[h.Name]; dup {
				l.errorAt(line, "host name %q is already used at line %d; give each host a unique name", h.Name, first)
			} else {
				firstLine[h.Name] = line
			}
		}

		switch {
		case l.failed[pathString(at(p, "address"))]:
		case h.Address != "":
			l.checkAddress(at(p, "address"), h.Address)
		case l.unset(pathString(at(p, "address"))):
		case c.sshConfig.knows(h.Name):
			// ssh_config's HostName (or the name itself) is the address.
		default:
			l.errorf(p, "%s has no address; add address: (a host name or IP address)", who)
		}

		for j, label := range h.Labels {
			if !nameRE.MatchString(label) || len(label) > maxLabelLen {
				l.errorf(at(p, "labels", j), "%s: label %q is not valid; use up to %d letters, digits, '.', '-' and '_', starting with a letter or digit",
					who, label, maxLabelLen)
			}
		}
	}
}

func (l *loader) checkAddress(p []any, addr string) {
	field := pathString(p)
	switch {
	case strings.ContainsAny(addr, " \t/"):
		l.errorf(p, "%s: %q is not a host name or IP address", field, addr)
	case strings.Contains(addr, "@"):
		l.errorf(p, "%s: %q contains a user; put the user in user: and only the host in address:", field, addr)
	case strings.HasPrefix(addr, "["):
		l.errorf(p, "%s: %q: write an IPv6 address without brackets, and the port in port:", field, addr)
	case strings.Contains(addr, ":") && net.ParseIP(addr) == nil:
		l.errorf(p, "%s: %q contains a port; put the port in port: and only the host in address:", field, addr)
	}
}

func (l *loader) validateJumps() {
	c := l.c
	hopErrors := false
	for i, h := range c.Hosts {
		lines := l.hopLines[pathString([]any{"hosts", i, "jump"})]
		for j, spec := range h.Jump {
			line := l.loc.line([]any{"hosts", i, "jump"})
			if j < len(lines) {
				line = lines[j]
			}
			if strings.EqualFold(spec, "none") {
				if len(h.Jump) > 1 {
					hopErrors = true
					l.errorAt(line, "hosts[%d].jump: none means no jump and cannot be part of a chain; remove it or the other hops", i)
				}
				continue
			}
			hs, err := parseHop(spec)
			if err == nil {
				_, err = c.hopHost(hs)
			}
			if err != nil {
				hopErrors = true
				l.errorAt(line, "hosts[%d].jump: %v", i, err)
			}
		}
	}
	if hopErrors {
		return // the chains would repeat the same errors
	}
	reported := map[string]bool{}
	for i, h := range c.Hosts {
		_, err := c.jumpChain(h)
		if err == nil {
			continue
		}
		p := []any{"hosts", i, "jump"}
		var ce *cycleError
		if errors.As(err, &ce) {
			// One report per cycle, at its first inventory member.
			members := ce.names[slices.Index(ce.names, ce.names[len(ce.names)-1]) : len(ce.names)-1]
			inInventory := slices.ContainsFunc(members, func(n string) bool { return c.index(n) >= 0 })
			if inInventory && !slices.Contains(members, h.Name) {
				continue
			}
			key := slices.Clone(members)
			slices.Sort(key)
			if reported[strings.Join(key, " ")] {
				continue
			}
			reported[strings.Join(key, " ")] = true
		}
		l.errorf(p, "host %q: %v", h.Name, err)
	}
}

// idKind describes one list of ids in an access rule.
type idKind struct {
	key  string
	re   *regexp.Regexp
	what string
	hint string
}

var (
	slackIDHint   = "rules match ids, never names: copy it in Slack from the profile or channel details"
	discordIDHint = "rules match ids, never names: in Discord turn on Developer Mode, then right-click → Copy ID"
	idKinds       = []idKind{
		{"slack_users", slackUserRE, "a Slack user id (U… or W…)", slackIDHint},
		{"slack_channels", slackChannelRE, "a Slack channel id (C…, G… or D…)", slackIDHint},
		{"slack_groups", slackGroupRE, "a Slack user group id (S…)", slackIDHint},
		{"discord_users", snowflakeRE, "a Discord user id (a number like 234567890123456789)", discordIDHint},
		{"discord_roles", snowflakeRE, "a Discord role id (a number like 345678901234567890)", discordIDHint},
		{"discord_channels", snowflakeRE, "a Discord channel id (a number like 456789012345678901)", discordIDHint},
	}
)

func (r AccessRule) idLists() [][]string {
	return [][]string{r.SlackUsers, r.SlackChannels, r.SlackGroups, r.DiscordUsers, r.DiscordRoles, r.DiscordChannels}
}

func (l *loader) validateAccess() {
	c := l.c
	for i, r := range c.Access {
		p := []any{"access", i}
		if len(r.Hosts) == 0 {
			l.errorf(p, "access[%d] lists no hosts; add hosts: (names, globs like web-* or labels like @web)", i)
		}
		lists := r.idLists()
		if !slices.ContainsFunc(lists, func(ids []string) bool { return len(ids) > 0 }) {
			l.errorf(p, "access[%d] allows no one; add slack_users, slack_groups, slack_channels, discord_users, discord_roles or discord_channels (ids, not names)", i)
		}
		for j, pat := range r.Hosts {
			if err := c.checkHostPattern(pat); err != nil {
				l.errorf(at(p, "hosts", j), "access[%d].hosts: %v", i, err)
			}
		}
		for k, ids := range lists {
			kind := idKinds[k]
			for j, id := range ids {
				if !kind.re.MatchString(id) {
					l.errorf(at(p, kind.key, j), "access[%d].%s: %q is not %s; %s", i, kind.key, id, kind.what, kind.hint)
				}
			}
		}
	}
}

// checkHostPattern accepts what Select and Allowed understand and that can
// match something now: an unknown name or label is a typo that would
// silently allow nothing. A glob may match hosts added later.
func (c *Config) checkHostPattern(p string) error {
	switch {
	case p == "":
		return errors.New("empty host pattern; write a name, a glob like web-* or a label like @web")
	case strings.HasPrefix(p, "@"):
		if !slices.Contains(c.labels(), p[1:]) {
			return c.unknownLabel(p[1:])
		}
	case isGlob(p):
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("bad host pattern %q: %w", p, err)
		}
	case slices.Contains(c.hostNames(), p), c.sshConfig.knows(p):
	default:
		return &UnknownHostError{Name: p, Suggestions: suggest(p, c.hostNames())}
	}
	return nil
}

func (l *loader) validateChat() {
	c := l.c
	if s := c.Slack; s != nil {
		l.checkSlackToken("slack.bot_token", s.BotToken, "xoxb-", "the Bot User OAuth Token (OAuth & Permissions)")
		l.checkSlackToken("slack.app_token", s.AppToken, "xapp-", "an App-Level Token with connections:write (Basic Information)")
	}
	if d := c.Discord; d != nil {
		if d.ApplicationID != "" && !snowflakeRE.MatchString(d.ApplicationID) {
			l.errorf([]any{"discord", "application_id"}, "discord.application_id: %q is not a Discord application id (a number like 123456789012345678, from the Developer Portal)", d.ApplicationID)
		}
		if !d.PublicKey.IsZero() && !hexKeyRE.MatchString(d.PublicKey.Reveal()) {
			l.errorf([]any{"discord", "public_key"}, "discord.public_key: %s is not 64 hex digits; copy the Public Key from the application's General Information page",
				cmp.Or(d.PublicKey.Ref(), "the value"))
		}
	}
	if c.HTTP.Listen != "" {
		l.checkListen([]any{"http", "listen"}, c.HTTP.Listen)
	}
}

var slackTokenKinds = map[string]string{
	"xoxb-": "a bot token (xoxb-…)",
	"xapp-": "an app-level token (xapp-…)",
	"xoxp-": "a user token (xoxp-…)",
	"xoxe-": "a refresh or configuration token (xoxe-…)",
}

// checkSlackToken checks the prefix only, and names the token by its
// kind, never by its value.
func (l *loader) checkSlackToken(field string, s Secret, prefix, what string) {
	v := s.Reveal()
	if v == "" || strings.HasPrefix(v, prefix) {
		return
	}
	found := "a value that does not start with " + prefix
	for p, kind := range slackTokenKinds {
		if strings.HasPrefix(v, p) {
			found = kind
		}
	}
	section, key, _ := strings.Cut(field, ".")
	l.errorf([]any{section, key}, "%s: %s holds %s, not %s; use %s",
		field, cmp.Or(s.Ref(), "the value"), found, slackTokenKinds[prefix], what)
}

func (l *loader) checkListen(p []any, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		l.errorf(p, "http.listen: %q is not host:port; write 127.0.0.1:8080, or :8080 for every interface", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		l.errorf(p, "http.listen: port %q is not a number from 0 to 65535", port)
		return
	}
	if host != "" && net.ParseIP(host) == nil && !nameRE.MatchString(host) {
		l.errorf(p, "http.listen: %q is not an IP address or host name; write 127.0.0.1:8080, or :8080 for every interface", host)
	}
}

// apiURL checks an API base URL and ends it with "/", so clients can
// append method names.
func (l *loader) apiURL(p []any, s, def string) string {
	if s == "" {
		return def
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.errorf(p, "%s: %q is not an http(s) URL; write it like %s", pathString(p), s, def)
		return def
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s
}

func (l *loader) validateDirs() {
	c := l.c
	for _, d := range []struct{ key, dir, what string }{
		{"playbooks", c.Playbooks, "playbooks"},
		{"causes", c.Causes, "cause catalog"},
	} {
		if d.dir == "" {
			continue
		}
		fi, err := os.Stat(d.dir)
		switch {
		case err != nil:
			l.errorf([]any{d.key}, "%s: directory %s cannot be read (%v); fix the path, or remove the key for the built-in %s", d.key, d.dir, errors.Unwrap(err), d.what)
		case !fi.IsDir():
			l.errorf([]any{d.key}, "%s: %s is not a directory; give a directory of YAML files", d.key, d.dir)
		}
	}
}
