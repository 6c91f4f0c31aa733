package config

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/badgateway/badgateway/remote"
)

// defaultIdentities are the keys tried when nothing names one, in
// OpenSSH's spirit (modern key types first); only those that exist.
var defaultIdentities = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// SSHHost returns how to reach h: its own fields, ssh_config, the ssh:
// defaults and built-in defaults, with the jump chain resolved into
// Jump (each hop filled the same way). For each setting the most specific
// source wins:
//
//  1. the host's own field in the inventory;
//  2. ssh_config, from a Host block that names the host (not only *);
//  3. the ssh: section;
//  4. ssh_config, from catch-all blocks (Host *, lines before any Host);
//  5. built-in defaults: port 22, the current user, ~/.ssh/known_hosts,
//     ~/.ssh/id_ed25519, id_ecdsa, id_rsa (those that exist).
//
// Within ssh_config the first value wins, as in OpenSSH. Known hosts,
// timeouts, sudo and the agent come from the inventory and ssh: only.
func (c *Config) SSHHost(h Host) (remote.HostConfig, error) {
	if h.Local {
		return remote.HostConfig{}, fmt.Errorf("host %s is this machine and is not reached over SSH; run it with remote.NewLocal", h.Name)
	}
	hc, err := c.hostConfig(h)
	if err != nil {
		return remote.HostConfig{}, fmt.Errorf("host %s: %w", h.Name, err)
	}
	chain, err := c.jumpChain(h)
	if err != nil {
		return remote.HostConfig{}, fmt.Errorf("host %s: %w", h.Name, err)
	}
	for _, j := range chain {
		jc, err := c.hostConfig(j)
		if err != nil {
			return remote.HostConfig{}, fmt.Errorf("host %s: jump %s: %w", h.Name, j.Name, err)
		}
		hc.Jump = append(hc.Jump, jc)
	}
	return hc, nil
}

// sshLookup asks ssh_config about h by its name and, when different, its
// address: a block like "Host *.example.com" is usually written for the
// address. Values found by name come first.
func (c *Config) sshLookup(h Host) sshResult {
	r := c.sshConfig.lookup(h.Name)
	if h.Address != "" && h.Address != h.Name {
		r = r.merge(c.sshConfig.lookup(h.Address))
	}
	return r
}

// hostConfig fills one hop, without its jumps.
func (c *Config) hostConfig(h Host) (remote.HostConfig, error) {
	sc := c.sshLookup(h)
	hc := remote.HostConfig{
		Name:              h.Name,
		Address:           h.Address,
		User:              cmp.Or(h.User, sc.get("user", true), c.SSH.User, sc.get("user", false)),
		KnownHostsFile:    cmp.Or(h.KnownHosts, c.SSH.KnownHosts),
		ConnectTimeout:    c.SSH.ConnectTimeout,
		KeepAliveInterval: c.SSH.KeepAlive,
		Sudo:              c.SSH.Sudo,
	}
	if hc.Address == "" {
		hc.Address = h.Name
		if v, ok := sc.first["hostname"]; ok {
			hc.Address = expandHostName(v.args[0], h.Name)
		}
	}
	hc.Port = h.Port
	for _, p := range []string{sc.get("port", true), strconv.Itoa(c.SSH.Port), sc.get("port", false)} {
		if n, _ := strconv.Atoi(p); hc.Port == 0 && n > 0 {
			hc.Port = n
		}
	}
	if h.Sudo != nil {
		hc.Sudo = *h.Sudo
	}
	if c.SSH.UseAgent != nil {
		hc.UseAgent = *c.SSH.UseAgent
	} else {
		sock, _ := c.lookupEnv("SSH_AUTH_SOCK")
		hc.UseAgent = sock != ""
	}
	if hc.KnownHostsFile == "" {
		if c.home == "" {
			return hc, errors.New("known_hosts is not set and the home directory is unknown; set ssh.known_hosts")
		}
		hc.KnownHostsFile = filepath.Join(c.home, ".ssh", "known_hosts")
	}

	ids, err := c.identityFiles(h, sc, hc)
	if err != nil {
		return hc, err
	}
	hc.IdentityFiles = ids
	return hc, nil
}

func (c *Config) identityFiles(h Host, sc sshResult, hc remote.HostConfig) ([]string, error) {
	if len(h.IdentityFiles) > 0 {
		return h.IdentityFiles, nil
	}
	tokens := sshTokens{home: c.home, host: hc.Address, orig: h.Name, user: hc.User, port: cmp.Or(hc.Port, remote.DefaultPort)}
	if tokens.user == "" {
		if u, err := user.Current(); err == nil {
			tokens.user = u.Username
		}
	}
	expand := func(vals []sshValue) ([]string, error) {
		var out []string
		for _, v := range vals {
			p, err := expandIdentity(v, tokens)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		return out, nil
	}
	if ids := sc.identityFiles(true); len(ids) > 0 {
		return expand(ids)
	}
	if len(c.SSH.IdentityFiles) > 0 {
		return c.SSH.IdentityFiles, nil
	}
	if ids := sc.identityFiles(false); len(ids) > 0 {
		return expand(ids)
	}
	var out []string
	if c.home == "" {
		return nil, nil
	}
	for _, name := range defaultIdentities {
		p := filepath.Join(c.home, ".ssh", name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	return out, nil
}
