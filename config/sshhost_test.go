package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/badgateway/badgateway/remote"
)

func sshHostOf(t *testing.T, c *Config, name string) remote.HostConfig {
	t.Helper()
	hs, err := c.Select(name)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := c.SSHHost(hs[0])
	if err != nil {
		t.Fatalf("SSHHost(%s): %v", name, err)
	}
	return hc
}

// The example's web-03 goes through an inventory jump host, then a hop
// written as user@host:port; each hop has its own user, port and keys.
func TestSSHHostExampleChain(t *testing.T) {
	c := loadExample(t, exampleEnv)
	got := sshHostOf(t, c, "web-03")
	kh := "/home/oncall/.ssh/known_hosts"
	common := remote.HostConfig{KnownHostsFile: kh, ConnectTimeout: 10 * time.Second, KeepAliveInterval: 15 * time.Second}
	hop := func(name, addr, user string, port int, key string) remote.HostConfig {
		h := common
		h.Name, h.Address, h.User, h.Port, h.IdentityFiles = name, addr, user, port, []string{key}
		return h
	}
	want := hop("web-03", "10.0.1.7", "deploy", 22, "/home/oncall/.ssh/id_ed25519")
	want.Sudo = true
	want.Jump = []remote.HostConfig{
		hop("bastion", "bastion.example.com", "jump", 22, "/home/oncall/.ssh/jump_ed25519"),
		hop("10.0.1.1", "10.0.1.1", "ops", 2222, "/home/oncall/.ssh/id_ed25519"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SSHHost(web-03) =\n%+v\nwant\n%+v", got, want)
	}
}

// A first hop's own jump is dialled before it, recursively; later hops'
// jumps are not (they are reached through the hop before), as ProxyJump.
func TestSSHHostNestedJumps(t *testing.T) {
	c := parse(t, `
ssh:
  user: root
hosts:
  - {name: outer, address: outer.example.com, jump: none}
  - {name: bastion, address: 10.0.0.1, jump: outer}
  - {name: inner, address: 10.1.0.1, jump: bastion, port: 2022}
  - {name: side, address: 10.2.0.1, jump: outer}
  - {name: web, address: 10.1.0.5, jump: "inner,side"}
`, nil)
	got := sshHostOf(t, c, "web")
	var hops []string
	for _, j := range got.Jump {
		hops = append(hops, j.Name+"="+j.Address)
	}
	if want := []string{"outer=outer.example.com", "bastion=10.0.0.1", "inner=10.1.0.1", "side=10.2.0.1"}; !reflect.DeepEqual(hops, want) {
		t.Errorf("web's chain = %v, want %v", hops, want)
	}
	if got.Jump[2].Port != 2022 || got.Jump[2].User != "root" {
		t.Errorf("inner hop = %+v", got.Jump[2])
	}
}

func TestSSHHostWithSSHConfig(t *testing.T) {
	home := sshHome(t)
	c, err := Parse("test.yaml", []byte(`
ssh:
  user: root
  use_ssh_config: true
hosts:
  - name: web-01
    address: 10.0.0.5
  - name: web-02
    address: 10.0.0.6
    user: admin
    jump: none
  - name: inner        # in both: the inventory wins, ssh_config fills the rest
    port: 2201
`), Options{LookupEnv: envOf(map[string]string{"SSH_AUTH_SOCK": "/tmp/agent.sock"}), Home: home})
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(home, ".ssh", "known_hosts")
	bastion := remote.HostConfig{Name: "bastion", Address: "bastion.example.com", User: "jump", Port: 2200,
		IdentityFiles: []string{filepath.Join(home, ".ssh/jump_ed25519")}, KnownHostsFile: kh, UseAgent: true}

	// web-01: the web-* block (specific) beats ssh.user; its ProxyJump
	// names bastion, which only ssh_config knows.
	got := sshHostOf(t, c, "web-01")
	want := remote.HostConfig{Name: "web-01", Address: "10.0.0.5", User: "deploy",
		IdentityFiles: []string{filepath.Join(home, ".ssh/id_10.0.0.5")}, KnownHostsFile: kh, UseAgent: true,
		Jump: []remote.HostConfig{bastion}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("web-01 =\n%+v\nwant\n%+v", got, want)
	}

	// web-02: the inventory's user and "jump: none" win over ssh_config.
	if got := sshHostOf(t, c, "web-02"); got.User != "admin" || len(got.Jump) != 0 {
		t.Errorf("web-02 = %+v", got)
	}

	// inner: address from HostName; ssh.user beats the catch-all's User.
	if got := sshHostOf(t, c, "inner"); got.Address != "10.1.0.1" || got.Port != 2201 || got.User != "root" {
		t.Errorf("inner = %+v", got)
	}

	// db01 is only in ssh_config: a user@host:port hop, then an alias.
	got = sshHostOf(t, c, "db01")
	if got.User != "dba" || got.Address != "db01" || len(got.Jump) != 2 {
		t.Fatalf("db01 = %+v", got)
	}
	if j := got.Jump[0]; j.Address != "bastion.example.com" || j.User != "ops" || j.Port != 2200 {
		t.Errorf("db01 hop 1 = %+v", j)
	}
	if j := got.Jump[1]; j.Name != "inner" || j.Address != "10.1.0.1" || j.Port != 2201 {
		t.Errorf("db01 hop 2 = %+v (the inventory's inner)", j)
	}

	// A name only the catch-all matches is a typo, not a host.
	if _, err := c.Select("web01x.example"); err == nil {
		t.Error("Select accepted a name only Host * matches")
	}
}

func TestSSHHostSSHConfigProblems(t *testing.T) {
	home := writeFiles(t, t.TempDir(), map[string]string{
		".ssh/config": "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\nHost legacy\n  ProxyCommand nc -X connect %h %p\nHost tok\n  IdentityFile ~/.ssh/id_%C\n",
	})
	c, err := Parse("test.yaml", []byte("ssh:\n  use_ssh_config: true\n"), Options{LookupEnv: envOf(nil), Home: home})
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(home, ".ssh", "config")
	for name, want := range map[string]string{
		"a":      "host a: jump cycle a -> b -> a (each host jumps through the next); remove one of these jumps",
		"legacy": "host legacy: " + cfg + ":6: ProxyCommand applies to legacy, and badgateway supports only ProxyJump: give the host a jump: in the inventory or a ProxyJump before this line",
		"tok":    "host tok: " + cfg + ":8: IdentityFile token %C is not supported by badgateway; write the path out",
	} {
		hs, err := c.Select(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.SSHHost(hs[0]); err == nil || err.Error() != want {
			t.Errorf("SSHHost(%s) = %v\nwant %s", name, err, want)
		}
	}
}

func TestSSHHostDefaults(t *testing.T) {
	home := writeFiles(t, t.TempDir(), map[string]string{
		".ssh/id_rsa":     "key",
		".ssh/id_ed25519": "key",
		".ssh/id_dsa":     "not tried",
	})
	c, err := Parse("test.yaml", []byte("hosts:\n  - {name: web, address: web.example.com}\n"), Options{LookupEnv: envOf(nil), Home: home})
	if err != nil {
		t.Fatal(err)
	}
	got := sshHostOf(t, c, "web")
	want := remote.HostConfig{Name: "web", Address: "web.example.com", KnownHostsFile: filepath.Join(home, ".ssh", "known_hosts"),
		IdentityFiles: []string{filepath.Join(home, ".ssh", "id_ed25519"), filepath.Join(home, ".ssh", "id_rsa")}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SSHHost =\n%+v\nwant\n%+v", got, want)
	}
	if _, err := c.SSHHost(localHost()); err == nil || !strings.Contains(err.Error(), "remote.NewLocal") {
		t.Errorf("SSHHost(localhost) = %v", err)
	}
}
