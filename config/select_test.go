package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const inventory = `
hosts:
  - {name: web-01, address: 10.0.0.1, labels: [web, prod]}
  - {name: web-02, address: 10.0.0.2, labels: [web, prod]}
  - {name: web-10, address: 10.0.0.10, labels: [web, staging]}
  - {name: db-01, address: 10.0.1.1, labels: [db, prod]}
`

func names(hs []Host) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

func TestSelect(t *testing.T) {
	c := parse(t, inventory, nil)
	tests := []struct {
		patterns []string
		want     []string
	}{
		{[]string{"web-02"}, []string{"web-02"}},
		{[]string{"web-0*"}, []string{"web-01", "web-02"}},
		{[]string{"web-?0"}, []string{"web-10"}},
		{[]string{"@prod"}, []string{"web-01", "web-02", "db-01"}},
		// Inventory order, whatever the order asked.
		{[]string{"db-01", "@web"}, []string{"web-01", "web-02", "web-10", "db-01"}},
		// Duplicates removed.
		{[]string{"web-01", "web-0?", "@prod", "web-01"}, []string{"web-01", "web-02", "db-01"}},
		{[]string{"localhost"}, []string{"localhost"}},
		{[]string{"localhost", "web-01", "localhost"}, []string{"web-01", "localhost"}},
	}
	for _, tt := range tests {
		got, err := c.Select(tt.patterns...)
		if err != nil || !reflect.DeepEqual(names(got), tt.want) {
			t.Errorf("Select(%q) = %v, %v; want %v", tt.patterns, names(got), err, tt.want)
		}
	}
	got, _ := c.Select("localhost")
	if !got[0].Local {
		t.Errorf("localhost = %+v, want the local runner", got[0])
	}
	got, _ = c.Select("@staging")
	if want := (Host{Name: "web-10", Address: "10.0.0.10", Labels: []string{"web", "staging"}}); !reflect.DeepEqual(got, []Host{want}) {
		t.Errorf("Select(@staging) = %+v, want the inventory entry %+v", got, want)
	}
}

func TestSelectErrors(t *testing.T) {
	c := parse(t, inventory, nil)
	tests := []struct {
		patterns []string
		want     string
	}{
		{[]string{"web-1"}, `unknown host "web-1"; did you mean web-01, web-10, web-02? ('badgateway hosts' lists the inventory)`},
		{[]string{"wbe-02"}, `unknown host "wbe-02"; did you mean web-02, web-01? ('badgateway hosts' lists the inventory)`},
		{[]string{"db"}, `unknown host "db"; did you mean db-01? ('badgateway hosts' lists the inventory)`},
		{[]string{"mail-server"}, `unknown host "mail-server" ('badgateway hosts' lists the inventory)`},
		{[]string{"@wbe"}, `no host has label "wbe"; did you mean @web? (labels: db, prod, staging, web)`},
		{[]string{"cache-*"}, `no host matches "cache-*" ('badgateway hosts' lists the inventory)`},
		{[]string{"web-[0"}, `bad host pattern "web-[0": syntax error in pattern`},
		{nil, `no host given; name one, a glob like web-* or a label like @web ('badgateway hosts' lists the inventory)`},
		// Every bad pattern is reported, and nothing is selected.
		{[]string{"web-01", "web-1", "@nope"}, "unknown host \"web-1\"; did you mean web-01, web-10, web-02? ('badgateway hosts' lists the inventory)\n" +
			`no host has label "nope" (labels: db, prod, staging, web)`},
	}
	for _, tt := range tests {
		got, err := c.Select(tt.patterns...)
		if err == nil || err.Error() != tt.want || got != nil {
			t.Errorf("Select(%q) = %v, %v;\nwant error %s", tt.patterns, names(got), err, tt.want)
		}
	}
	_, err := c.Select("web-1")
	var ue *UnknownHostError
	if !errors.As(err, &ue) || ue.Name != "web-1" || !reflect.DeepEqual(ue.Suggestions, []string{"web-01", "web-10", "web-02"}) {
		t.Errorf("errors.As(UnknownHostError) = %+v", ue)
	}
}

// An inventory entry called localhost is an SSH host like any other.
func TestSelectInventoryLocalhost(t *testing.T) {
	c := parse(t, "hosts:\n  - {name: localhost, address: 127.0.0.1, port: 2222}\n", nil)
	got, err := c.Select("localhost")
	if err != nil || len(got) != 1 || got[0].Local || got[0].Port != 2222 {
		t.Fatalf("Select(localhost) = %+v, %v", got, err)
	}
	if _, err := c.SSHHost(got[0]); err != nil {
		t.Errorf("SSHHost: %v", err)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"web", "web", 0}, {"web", "wbe", 1}, {"web-1", "web-01", 1}, {"web-1", "web-02", 2},
		{"kitten", "sitting", 3}, {"", "abc", 3}, {"ca", "abc", 3},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// Without a config file the inventory is localhost alone: say so, and how to add hosts.
func TestUnknownHostWithoutConfigFile(t *testing.T) {
	_, err := Default().Select("web-01")
	var uh *UnknownHostError
	if !errors.As(err, &uh) || !uh.NoConfig || !strings.Contains(err.Error(), "no config file was found") || !strings.Contains(err.Error(), "config.example.yaml") {
		t.Errorf("err %v", err)
	}
}
