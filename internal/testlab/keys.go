package testlab

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// GenerateKey runs ssh-keygen to write dir/name (private) and dir/name.pub.
// typ is "ed25519", "rsa" or "ecdsa"; format is "" (OpenSSH), "PEM" or
// "PKCS8"; passphrase "" leaves the key unencrypted.
func GenerateKey(t testing.TB, dir, name, typ, format, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	path := filepath.Join(dir, name)
	args := []string{"-q", "-t", typ, "-N", passphrase, "-C", "testlab-" + name, "-f", path}
	if typ == "rsa" {
		args = append(args, "-b", "2048") // smaller than the default, for speed
	}
	if format != "" {
		args = append(args, "-m", format)
	}
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
	}
	pubBytes, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(pubBytes)
	if err != nil {
		t.Fatalf("parse %s.pub: %v", path, err)
	}
	return path, pub
}

// Agent is a real ssh-agent listening on its own socket.
type Agent struct {
	Sock string
	t    testing.TB
}

// StartAgent runs `ssh-agent -D -a SOCK` (foreground, so its pid is ours to
// kill) and stops it on cleanup.
func StartAgent(t testing.TB) *Agent {
	t.Helper()
	RequireSSHD(t)
	// Unix socket paths are limited to ~108 bytes; t.TempDir can be longer.
	dir, err := os.MkdirTemp("", "tlagent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ssh-agent: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		// The socket file appears at bind(), a moment before listen(): wait
		// until the agent accepts.
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("ssh-agent exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh-agent socket %s did not appear", sock)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &Agent{Sock: sock, t: t}
}

// Add loads a key into the agent with ssh-add; a passphrase is supplied via
// an SSH_ASKPASS script since there is no terminal.
func (a *Agent) Add(keyPath, passphrase string) {
	a.t.Helper()
	cmd := exec.Command("ssh-add", keyPath)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+a.Sock)
	if passphrase != "" {
		askpass := filepath.Join(filepath.Dir(a.Sock), "askpass.sh")
		quoted := "'" + strings.ReplaceAll(passphrase, "'", `'\''`) + "'"
		script := "#!/bin/sh\nprintf '%s\\n' " + quoted + "\n"
		if err := os.WriteFile(askpass, []byte(script), 0o700); err != nil {
			a.t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=none")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		a.t.Fatalf("ssh-add %s: %v\n%s", keyPath, err, out)
	}
}
