package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// DefaultIdentityFiles lists the usual private keys in ~/.ssh that exist,
// for a config layer that wants OpenSSH's defaults. DialSSH itself only
// uses HostConfig.IdentityFiles, so what it tries is always explicit.
func DefaultIdentityFiles() []string {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	var out []string
	for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		p := filepath.Join(home, ".ssh", name)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// agentConn is a connection to ssh-agent, shared by all hops of one dial.
type agentConn struct {
	sock    string
	client  agent.ExtendedAgent
	conn    net.Conn
	signers []ssh.Signer
	err     error // why the agent could not be used
}

func dialAgent(ctx context.Context, sock string) *agentConn {
	a := &agentConn{sock: sock}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		a.err = err
		return a
	}
	a.conn = conn
	a.client = agent.NewClient(conn)
	a.signers, a.err = a.client.Signers()
	return a
}

func (a *agentConn) Close() {
	if a != nil && a.conn != nil {
		a.conn.Close()
	}
}

// hopAuth is the authentication plan for one hop.
type hopAuth struct {
	signers []ssh.Signer
	tried   []string // for the error message: "agent", key paths
	locked  []string // passphrase-protected files not covered by the agent
}

func buildAuth(hc HostConfig, ag *agentConn) (*hopAuth, error) {
	ha := &hopAuth{}
	agentKeys := map[string]bool{}
	if hc.UseAgent && ag != nil {
		if ag.err != nil {
			ha.tried = append(ha.tried, fmt.Sprintf("agent (unusable: %v)", ag.err))
		} else {
			ha.tried = append(ha.tried, "agent")
			for _, s := range ag.signers {
				agentKeys[string(s.PublicKey().Marshal())] = true
				ha.signers = append(ha.signers, s)
			}
		}
	}
	for _, path := range hc.IdentityFiles {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("identity file: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		var pm *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &pm):
			// We never prompt: the bot has no terminal. A key the agent
			// already holds is fine; otherwise tell the user to load it.
			if pm.PublicKey == nil || !agentKeys[string(pm.PublicKey.Marshal())] {
				ha.locked = append(ha.locked, path)
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("identity file %s: %w", path, err)
		}
		ha.tried = append(ha.tried, path)
		// Skip keys the agent offers already: each try counts against the
		// server's MaxAuthTries.
		if !agentKeys[string(signer.PublicKey().Marshal())] {
			ha.signers = append(ha.signers, signer)
		}
	}
	return ha, nil
}

func (ha *hopAuth) methods() []ssh.AuthMethod {
	if len(ha.signers) == 0 {
		return nil
	}
	return []ssh.AuthMethod{ssh.PublicKeys(ha.signers...)}
}

func (ha *hopAuth) lockedHint() string {
	if len(ha.locked) == 0 {
		return ""
	}
	var b strings.Builder
	for _, p := range ha.locked {
		fmt.Fprintf(&b, "; %s is passphrase-protected: load it with 'ssh-add %s' and make sure SSH_AUTH_SOCK points at that agent", p, p)
	}
	return b.String()
}

// noKeyError is returned before dialling when there is nothing to try.
func (ha *hopAuth) noKeyError(hc HostConfig) *ConnectError {
	tried := "no identity files and no agent"
	if len(ha.tried) > 0 || len(ha.locked) > 0 {
		tried = strings.Join(slices.Concat(ha.tried, ha.locked), ", ")
	}
	return &ConnectError{Host: hc.Name, Addr: hc.hostport(), Kind: AuthFailed,
		Err: fmt.Errorf("no usable key for user %s (have: %s)%s", hc.User, tried, ha.lockedHint())}
}

func (ha *hopAuth) failed(hc HostConfig, cause error) *ConnectError {
	return &ConnectError{Host: hc.Name, Addr: hc.hostport(), Kind: AuthFailed,
		Err: explain(cause, "authentication failed for user %s (tried: %s); check the user and that the key is in authorized_keys%s",
			hc.User, strings.Join(ha.tried, ", "), ha.lockedHint())}
}

// isAuthFailure: x/crypto has no typed error for "no method worked", only
// this fixed message from ClientConfig's auth loop.
func isAuthFailure(err error) bool {
	return err != nil && strings.Contains(err.Error(), "ssh: unable to authenticate")
}
