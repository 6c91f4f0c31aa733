package config

import (
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFiles creates files (relative to dir) and returns dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A realistic ~/.ssh/config: per-host blocks, wildcards, negation, a
// catch-all at the end, Include, Match (skipped, with what it includes),
// both Key Value and Key=Value.
const userSSHConfig = `# ~/.ssh/config
Include config.d/*.conf

Host bastion
    HostName bastion.example.com
    User jump
    Port 2200
    IdentityFile ~/.ssh/jump_ed25519

Host web-* !web-legacy
    User deploy
    ProxyJump bastion

Host db??
    ProxyJump ops@bastion.example.com:2200,inner
    User=dba
    user ignored-second-value

Host inner
  HOSTNAME 10.1.0.1   # trailing comment

Host web-legacy
    HostName legacy.example.com
    ProxyJump none

Match exec "test -f /etc/on-vpn"
    User matched-should-not-apply
    Include config.d/*.conf

Host *.corp.example.com
    User corp

Host *
    User fallback
    IdentityFile %d/.ssh/id_%h
    ServerAliveInterval 30
`

const includedSSHConfig = `Host app1 app2
  HostName %h.internal
  Port = 2222
  IdentityFile "~/.ssh/app key"
`

func sshHome(t *testing.T) string {
	return writeFiles(t, t.TempDir(), map[string]string{
		".ssh/config":               userSSHConfig,
		".ssh/config.d/10-app.conf": includedSSHConfig,
	})
}

func TestSSHConfigLookup(t *testing.T) {
	home := sshHome(t)
	sc, err := ReadSSHConfig(filepath.Join(home, ".ssh", "config"), home)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want SSHHostConfig
	}{
		{"bastion", SSHHostConfig{HostName: "bastion.example.com", User: "jump", Port: 2200,
			IdentityFiles: []string{"~/.ssh/jump_ed25519", "%d/.ssh/id_%h"}}},
		// First value wins: deploy, not the catch-all's fallback.
		{"web-01", SSHHostConfig{User: "deploy", ProxyJump: "bastion", IdentityFiles: []string{"%d/.ssh/id_%h"}}},
		// Negated out of web-*: no deploy, no jump.
		{"web-legacy", SSHHostConfig{HostName: "legacy.example.com", User: "fallback", ProxyJump: "none", IdentityFiles: []string{"%d/.ssh/id_%h"}}},
		{"db01", SSHHostConfig{User: "dba", ProxyJump: "ops@bastion.example.com:2200,inner", IdentityFiles: []string{"%d/.ssh/id_%h"}}},
		{"inner", SSHHostConfig{HostName: "10.1.0.1", User: "fallback", IdentityFiles: []string{"%d/.ssh/id_%h"}}},
		// From the Include, with %h in HostName and a quoted path.
		{"app2", SSHHostConfig{HostName: "app2.internal", User: "fallback", Port: 2222, IdentityFiles: []string{"~/.ssh/app key", "%d/.ssh/id_%h"}}},
		{"Build.Corp.Example.com", SSHHostConfig{User: "corp", IdentityFiles: []string{"%d/.ssh/id_%h"}}},
		{"random", SSHHostConfig{User: "fallback", IdentityFiles: []string{"%d/.ssh/id_%h"}}},
	}
	for _, tt := range tests {
		if got := sc.Lookup(tt.host); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Lookup(%s) =\n%+v\nwant\n%+v", tt.host, got, tt.want)
		}
	}

	for host, want := range map[string]bool{
		"bastion": true, "web-99": true, "web-legacy": true, "db01": true, "app1": true, "inner": true,
		"x.corp.example.com": true,
		"db1":                false, // db?? needs four characters
		"random":             false, // only Host * matches: a typo must not become a connection
		"":                   false,
	} {
		if got := sc.Knows(host); got != want {
			t.Errorf("Knows(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestSSHConfigIncludeInsideHost(t *testing.T) {
	home := writeFiles(t, t.TempDir(), map[string]string{
		".ssh/config":    "Host prod-*\n  Include prod.conf\nHost *\n  User fallback\n",
		".ssh/prod.conf": "User produser\nHost prod-db\n  Port 5022\n",
	})
	sc, err := ReadSSHConfig(filepath.Join(home, ".ssh", "config"), home)
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Lookup("prod-web"); got.User != "produser" || got.Port != 0 {
		t.Errorf("prod-web = %+v, want produser and no port", got)
	}
	if got := sc.Lookup("prod-db"); got.User != "produser" || got.Port != 5022 {
		t.Errorf("prod-db = %+v", got)
	}
	// The included block applies only inside the including one.
	if got := sc.Lookup("dev-db"); got.User != "fallback" || got.Port != 0 {
		t.Errorf("dev-db = %+v", got)
	}
}

func TestSSHConfigErrors(t *testing.T) {
	home := writeFiles(t, t.TempDir(), map[string]string{
		".ssh/config":    "Host a\n  Port 99999\nHost\n  IdentityFile \"~/.ssh/unterminated\nInclude loop.conf\n",
		".ssh/loop.conf": "Include loop.conf\n",
	})
	path := filepath.Join(home, ".ssh", "config")
	_, err := ReadSSHConfig(path, home)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		path + `:2: Port "99999" is not a number from 1 to 65535`,
		path + `:3: Host needs at least one pattern`,
		path + `:4: unterminated quote; close it with "`,
		`loop.conf:1: Include nested more than 16 deep; look for an Include loop`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tt := range []struct {
		s, p string
		want bool
	}{
		{"web-01", "web-*", true}, {"web-01", "web-0?", true}, {"web-011", "web-0?", false},
		{"anything", "*", true}, {"", "*", true}, {"a.b.c", "*.c", true}, {"abc", "a*b*c", true}, {"abd", "a*b*c", false},
	} {
		if got := matchPattern(tt.s, tt.p); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v", tt.s, tt.p, got)
		}
	}
}

func TestExpandIdentity(t *testing.T) {
	tok := sshTokens{home: "/home/op", host: "10.0.0.5", orig: "web-01", user: "deploy", port: 2222}
	for in, want := range map[string]string{
		"~/.ssh/id_%n":          "/home/op/.ssh/id_web-01",
		"%d/keys/%r@%h:%p":      "/home/op/keys/deploy@10.0.0.5:2222",
		"/keys/100%%-%h":        "/keys/100%-10.0.0.5",
		"/keys/" + "plain_name": "/keys/plain_name",
	} {
		got, err := expandIdentity(sshValue{args: []string{in}}, tok)
		if err != nil || got != want {
			t.Errorf("expandIdentity(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	if got, err := expandIdentity(sshValue{args: []string{"/keys/%u"}}, tok); err != nil || got != "/keys/"+u.Username {
		t.Errorf("expandIdentity(%%u) = %q, %v; want /keys/%s", got, err, u.Username)
	}
	if _, err := expandIdentity(sshValue{args: []string{"/keys/%"}, file: "cfg", line: 3}, tok); err == nil ||
		err.Error() != `cfg:3: IdentityFile "/keys/%" ends with a lone %; write %% for a literal %` {
		t.Errorf("lone %%: %v", err)
	}
}
