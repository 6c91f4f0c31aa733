package config

import (
	"reflect"
	"testing"
)

const accessConfig = `
hosts:
  - {name: web-01, address: 10.0.0.1, labels: [web, prod]}
  - {name: web-02, address: 10.0.0.2, labels: [web]}
  - {name: db-01, address: 10.0.1.1, labels: [db]}
access:
  - hosts: [web-01]
    slack_users: [UALICE]
    discord_users: ["111111111111111111"]
  - hosts: ["@db"]
    slack_groups: [SDBAS]
    discord_roles: ["222222222222222222"]
  - hosts: ["web-*"]
    slack_channels: [COPS]
    discord_channels: ["333333333333333333"]
`

func TestAllowed(t *testing.T) {
	c := parse(t, accessConfig, nil)
	host := func(name string) Host { h, _ := c.Host(name); return h }
	slack := func(user, channel string, groups ...string) AccessRequest {
		return AccessRequest{Platform: PlatformSlack, UserID: user, ChannelID: channel, Roles: groups}
	}
	discord := func(user, channel string, roles ...string) AccessRequest {
		return AccessRequest{Platform: PlatformDiscord, UserID: user, ChannelID: channel, Roles: roles}
	}
	tests := []struct {
		name string
		req  AccessRequest
		host Host
		want bool
	}{
		{"user rule", slack("UALICE", "CRANDOM"), host("web-01"), true},
		{"user rule, another host", slack("UALICE", "CRANDOM"), host("web-02"), false},
		{"user rule, another user", slack("UBOB", "CRANDOM"), host("web-01"), false},
		{"slack id on discord", discord("UALICE", "999"), host("web-01"), false},
		{"discord user rule", discord("111111111111111111", "999"), host("web-01"), true},
		{"channel rule", slack("UBOB", "COPS"), host("web-02"), true},
		{"channel rule by glob", slack("UBOB", "COPS"), host("web-01"), true},
		{"channel rule, another host", slack("UBOB", "COPS"), host("db-01"), false},
		{"discord channel rule", discord("444444444444444444", "333333333333333333"), host("web-02"), true},
		{"thread of a listed channel", AccessRequest{Platform: PlatformDiscord, UserID: "444444444444444444", ChannelID: "555", ParentChannelID: "333333333333333333"}, host("web-02"), true},
		{"thread of another channel", AccessRequest{Platform: PlatformDiscord, UserID: "444444444444444444", ChannelID: "555", ParentChannelID: "666"}, host("web-02"), false},
		{"group rule by label", slack("UCAROL", "CRANDOM", "SOTHER", "SDBAS"), host("db-01"), true},
		{"group rule, another host", slack("UCAROL", "CRANDOM", "SDBAS"), host("web-01"), false},
		{"discord role rule", discord("444444444444444444", "999", "222222222222222222"), host("db-01"), true},
		{"slack group id as a discord role", discord("444444444444444444", "999", "SDBAS"), host("db-01"), false},
		{"no ids at all", slack("", ""), host("web-01"), false},
		{"unknown platform", AccessRequest{Platform: "irc", UserID: "UALICE", ChannelID: "COPS"}, host("web-01"), false},
		{"host outside the inventory", slack("UBOB", "COPS"), Host{Name: "web-99.example.com", Adhoc: true}, true},
		{"localhost not listed", slack("UALICE", "COPS"), localHost(), false},
		// Labels come from the inventory, not from the caller's copy.
		{"forged label", slack("UCAROL", "CRANDOM", "SDBAS"), Host{Name: "web-02", Labels: []string{"db"}}, false},
	}
	for _, tt := range tests {
		if got := c.Allowed(tt.req, tt.host); got != tt.want {
			t.Errorf("%s: Allowed(%+v, %s) = %v, want %v", tt.name, tt.req, tt.host.Name, got, tt.want)
		}
	}

	if got := names(c.Visible(slack("UCAROL", "CRANDOM", "SDBAS"))); !reflect.DeepEqual(got, []string{"db-01"}) {
		t.Errorf("Visible(carol) = %v, want [db-01]", got)
	}
}

func TestAllowedNoRules(t *testing.T) {
	c := parse(t, "hosts:\n  - {name: web-01, address: 10.0.0.1}\n", nil)
	h, _ := c.Host("web-01")
	for _, req := range []AccessRequest{
		{Platform: PlatformSlack, UserID: "UALICE", ChannelID: "COPS", Roles: []string{"SADMIN"}},
		{Platform: PlatformDiscord, UserID: "111111111111111111", ChannelID: "333333333333333333"},
	} {
		if c.Allowed(req, h) {
			t.Errorf("no rules: Allowed(%+v) = true", req)
		}
	}
	// An unknown (empty) id never matches, even a rule built in code with
	// an empty entry, which Load would have refused.
	built := &Config{Access: []AccessRule{{Hosts: []string{"*"}, SlackUsers: []string{""}, SlackChannels: []string{""}, SlackGroups: []string{""}}}}
	if built.Allowed(AccessRequest{Platform: PlatformSlack, Roles: []string{""}}, h) {
		t.Error("an empty id matched an empty rule entry")
	}
	if c.Allowed(AccessRequest{Platform: PlatformSlack, UserID: "U1"}, localHost()) || Default().Allowed(AccessRequest{Platform: PlatformSlack, UserID: "U1"}, localHost()) {
		t.Error("no rules: localhost allowed")
	}
}
