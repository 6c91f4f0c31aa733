package config

import (
	"path"
	"slices"
	"strings"
)

// Chat platforms of AccessRequest.Platform.
const (
	PlatformSlack   = "slack"
	PlatformDiscord = "discord"
)

// AccessRequest is who asks, by platform ids only: display names can be
// changed by their owner, ids cannot.
type AccessRequest struct {
	Platform  string   // PlatformSlack or PlatformDiscord
	UserID    string   // Slack U…/W…, Discord user snowflake
	Roles     []string // Slack user group ids (S…), Discord role ids
	ChannelID string   // where the request was made
	// ParentChannelID is the channel a thread belongs to ("" otherwise):
	// a rule listing the channel covers its threads.
	ParentChannelID string
}

// Allowed reports whether req may act on host. Deny by default: some rule
// must list the host (name, glob or @label) and the requester's user id,
// one of their roles/groups, or the channel the request came from. An
// inventory host is judged by its inventory entry (its labels), whatever
// the caller's copy says.
func (c *Config) Allowed(req AccessRequest, host Host) bool {
	if inv, ok := c.Host(host.Name); ok {
		host = inv
	}
	for _, r := range c.Access {
		if r.matchesHost(host) && r.matchesRequester(req) {
			return true
		}
	}
	return false
}

// Visible lists the inventory hosts req may act on, for autocomplete and
// `hosts` replies that should show only what the requester may use.
func (c *Config) Visible(req AccessRequest) []Host {
	var out []Host
	for _, h := range c.Hosts {
		if c.Allowed(req, h) {
			out = append(out, h)
		}
	}
	return out
}

func (r AccessRule) matchesHost(h Host) bool {
	for _, p := range r.Hosts {
		if matchHost(p, h) {
			return true
		}
	}
	return false
}

func matchHost(pattern string, h Host) bool {
	if label, ok := strings.CutPrefix(pattern, "@"); ok {
		return h.HasLabel(label)
	}
	if isGlob(pattern) {
		ok, _ := path.Match(pattern, h.Name)
		return ok
	}
	return pattern == h.Name
}

func (r AccessRule) matchesRequester(req AccessRequest) bool {
	var users, groups, channels []string
	switch req.Platform {
	case PlatformSlack:
		users, groups, channels = r.SlackUsers, r.SlackGroups, r.SlackChannels
	case PlatformDiscord:
		users, groups, channels = r.DiscordUsers, r.DiscordRoles, r.DiscordChannels
	default:
		return false
	}
	// An empty id is "unknown", never a match.
	has := func(list []string, id string) bool { return id != "" && slices.Contains(list, id) }
	if has(users, req.UserID) || has(channels, req.ChannelID) || has(channels, req.ParentChannelID) {
		return true
	}
	return slices.ContainsFunc(req.Roles, func(id string) bool { return has(groups, id) })
}
