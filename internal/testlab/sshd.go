// Package testlab starts real daemons for tests: a plain sshd on loopback
// (StartSSHD), and whole lab hosts (StartHost): a network namespace on the
// 10.231.0.0/16 lab bridge plus mount, PID and UTS namespaces, running
// sshd, nginx, php-fpm and labbackend with private config and logs, in a
// Debian or a BaoTa panel layout, with helpers that cause real faults.
// Everything lives in per-test temp dirs and is torn down by t.Cleanup;
// only processes started here are ever signalled.
package testlab

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHDPath is the daemon the harness runs.
const SSHDPath = "/usr/sbin/sshd"

// SSHD is a running sshd listening on loopback.
type SSHD struct {
	Addr           string          // "127.0.0.1:PORT"
	Host           string          // listen IP
	Port           int             // listen port
	Dir            string          // temp dir holding every file below
	Home           string          // root's home in sessions: empty unless a test writes dotfiles
	HostKeys       []ssh.PublicKey // server host keys: ed25519 first, then ecdsa
	HostKeyPaths   []string        // private host key files, same order
	ClientKeyPath  string          // private key authorised for root
	ClientKey      ssh.PublicKey   // its public half
	KnownHostsPath string          // holds only the ed25519 host key as [Host]:Port
	LogPath        string          // sshd -e output
	ConfigPath     string

	t       testing.TB
	cmd     *exec.Cmd
	logFile *os.File
	done    chan struct{} // closed when the sshd process has been reaped
	stop    sync.Once
}

type sshdOptions struct {
	keyType, keyFormat string
	listenIP           string
	extraConfig        []string
}

// SSHDOption changes how StartSSHD sets up the daemon.
type SSHDOption func(*sshdOptions)

// WithClientKey picks the client key type ("ed25519", "rsa", "ecdsa") and
// file format ("" for OpenSSH, "PEM" or "PKCS8", as ssh-keygen -m takes).
func WithClientKey(typ, format string) SSHDOption {
	return func(o *sshdOptions) { o.keyType, o.keyFormat = typ, format }
}

// WithListenIP makes sshd listen on another loopback address (127.0.0.0/8).
func WithListenIP(ip string) SSHDOption {
	return func(o *sshdOptions) { o.listenIP = ip }
}

// WithConfig appends raw sshd_config lines (e.g. "SetEnv PATH=/x:/usr/bin").
func WithConfig(lines ...string) SSHDOption {
	return func(o *sshdOptions) { o.extraConfig = append(o.extraConfig, lines...) }
}

// RequireSSHD skips the test when OpenSSH is not installed, or fails it
// under CI where a missing daemon means a broken setup, not a choice.
func RequireSSHD(t testing.TB) {
	t.Helper()
	requireTools(t, "openssh-server openssh-client util-linux", SSHDPath, "ssh-keygen", "ssh-agent", "ssh-add", "unshare")
}

// RequireSudo skips the test when sudo is not installed, or fails it
// under CI.
func RequireSudo(t testing.TB) {
	t.Helper()
	requireTools(t, "sudo", "sudo")
}

// requireTools skips the test when a tool is not installed, naming the
// Debian packages to install, or fails it under CI, where a missing tool
// means a broken set-up, not a choice.
func requireTools(t testing.TB, packages string, tools ...string) {
	t.Helper()
	for _, p := range tools {
		if _, err := exec.LookPath(p); err != nil {
			msg := fmt.Sprintf("%s not found (%v); install with: apt-get install -y %s", p, err, packages)
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// StartSSHD starts an sshd on a free loopback port and stops it on cleanup.
func StartSSHD(t testing.TB, opts ...SSHDOption) *SSHD {
	t.Helper()
	RequireSSHD(t)
	o := sshdOptions{keyType: "ed25519", listenIP: "127.0.0.1"}
	for _, opt := range opts {
		opt(&o)
	}
	// sshd refuses to start without its privilege separation directory,
	// which systemd's tmpfiles would normally create.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("create /run/sshd: %v", err)
	}

	dir := t.TempDir()
	s := &SSHD{t: t, Dir: dir, Host: o.listenIP}
	for _, typ := range []string{"ed25519", "ecdsa"} {
		path, pub := GenerateKey(t, dir, "host_"+typ, typ, "", "")
		s.HostKeyPaths = append(s.HostKeyPaths, path)
		s.HostKeys = append(s.HostKeys, pub)
	}
	s.ClientKeyPath, s.ClientKey = GenerateKey(t, dir, "id_"+o.keyType, o.keyType, o.keyFormat, "")
	authPath := filepath.Join(dir, "authorized_keys")
	writeFile(t, authPath, ssh.MarshalAuthorizedKey(s.ClientKey), 0o600)
	s.LogPath = filepath.Join(dir, "sshd.log")
	s.ConfigPath = filepath.Join(dir, "sshd_config")

	// A port picked by listening on :0 can be taken again before sshd binds
	// it, so retry a few times on a bind failure.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort(o.listenIP)
		if err != nil {
			t.Fatalf("find free port: %v", err)
		}
		s.Port = port
		s.Addr = net.JoinHostPort(o.listenIP, strconv.Itoa(port))
		s.writeConfig(authPath, o.extraConfig)
		if lastErr = s.start(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("start sshd: %v\nlog:\n%s", lastErr, s.Log())
	}
	t.Cleanup(s.Stop)

	s.KnownHostsPath = filepath.Join(dir, "known_hosts")
	writeFile(t, s.KnownHostsPath, []byte(s.KnownHostsLine(s.HostKeys[0])+"\n"), 0o600)
	return s
}

// KnownHostsLine is a known_hosts line naming this server with key.
func (s *SSHD) KnownHostsLine(key ssh.PublicKey) string {
	return fmt.Sprintf("[%s]:%d %s", s.Host, s.Port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))))
}

func (s *SSHD) writeConfig(authPath string, extra []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "ListenAddress %s\nPort %d\n", s.Host, s.Port)
	for _, hk := range s.HostKeyPaths {
		fmt.Fprintf(&b, "HostKey %s\n", hk)
	}
	fmt.Fprintf(&b, "PidFile %s\n", filepath.Join(s.Dir, "sshd.pid"))
	fmt.Fprintf(&b, "AuthorizedKeysFile %s\n", authPath)
	b.WriteString(`PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
StrictModes no
UsePAM no
MaxSessions 10
LogLevel VERBOSE
PrintMotd no
AllowTcpForwarding yes
`)
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	writeFile(s.t, s.ConfigPath, []byte(b.String()), 0o600)
}

func (s *SSHD) start() error {
	logFile, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// sshd runs in a mount namespace with an empty /root: the sessions must
	// not depend on this machine's dotfiles (a root .bashrc that runs
	// "pyenv init" writes to stderr on every login on some machines).
	s.Home = filepath.Join(s.Dir, "home")
	if err := os.MkdirAll(s.Home, 0o700); err != nil {
		logFile.Close()
		return err
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /root && exec "$2" -D -e -f "$3"`, "sh", s.Home, SSHDPath, s.ConfigPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group, so Stop can take the per-connection children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	if err := waitBanner(s.Addr, done, 10*time.Second); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		logFile.Close()
		return err
	}
	s.cmd, s.logFile, s.done = cmd, logFile, done
	return nil
}

// waitBanner polls until the port answers with an SSH identification line.
func waitBanner(addr string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-exited:
			return errors.New("sshd exited during startup")
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
			line, rerr := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if rerr == nil && strings.HasPrefix(line, "SSH-2.0-") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no SSH banner on %s after %v (last error: %v)", addr, limit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is the listener process id.
func (s *SSHD) Pid() int { return s.cmd.Process.Pid }

// Processes lists the listener and all its live descendants (per-connection
// sshd children and the commands they run).
func (s *SSHD) Processes() []int {
	return append([]int{s.Pid()}, Descendants(s.Pid())...)
}

// Signal sends sig to the listener and every descendant. sshd's session
// children call setsid, so the process group alone does not reach them.
func (s *SSHD) Signal(sig syscall.Signal) {
	for _, pid := range s.Processes() {
		_ = syscall.Kill(pid, sig)
	}
}

// Stop kills sshd and everything it spawned with SIGKILL, like a crash.
// It is safe to call more than once.
func (s *SSHD) Stop() {
	s.stop.Do(func() {
		pids := s.Processes()
		_ = syscall.Kill(-s.Pid(), syscall.SIGKILL)
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			// A stopped process acts on SIGKILL anyway; SIGCONT just keeps
			// any SIGSTOP from a test from outliving it.
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.t.Errorf("sshd pid %d did not exit after SIGKILL", s.Pid())
		}
		s.logFile.Close()
	})
}

// Log returns what sshd has logged so far.
func (s *SSHD) Log() string {
	b, _ := os.ReadFile(s.LogPath)
	return string(b)
}

var acceptedRE = regexp.MustCompile(`Accepted publickey for (\S+) from (\S+) port (\d+) `)

// AcceptedSourcePorts returns the client source port of every
// authenticated connection sshd has logged. The readiness probe never
// authenticates, so it is not counted.
func (s *SSHD) AcceptedSourcePorts() []int {
	var ports []int
	for _, m := range acceptedRE.FindAllStringSubmatch(s.Log(), -1) {
		p, _ := strconv.Atoi(m[3])
		ports = append(ports, p)
	}
	return ports
}

// OwnsTCPConn reports whether one of this sshd's processes holds the TCP
// socket with local port localPort connected to remotePort. Used to prove
// that a connection was made by sshd (a jump host) and not by the test.
func (s *SSHD) OwnsTCPConn(localPort, remotePort int) (bool, error) {
	inode, err := tcpInode(localPort, remotePort)
	if err != nil {
		return false, err
	}
	want := fmt.Sprintf("socket:[%d]", inode)
	for _, pid := range s.Processes() {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if link == want {
				return true, nil
			}
		}
	}
	return false, nil
}

// tcpInode finds the socket inode of an IPv4 TCP connection by ports.
func tcpInode(localPort, remotePort int) (uint64, error) {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		if hexPort(f[1]) == localPort && hexPort(f[2]) == remotePort {
			return strconv.ParseUint(f[9], 10, 64)
		}
	}
	return 0, fmt.Errorf("no TCP connection %d -> %d in /proc/net/tcp", localPort, remotePort)
}

func hexPort(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return -1
	}
	p, err := strconv.ParseUint(addr[i+1:], 16, 16)
	if err != nil {
		return -1
	}
	return int(p)
}

// Descendants returns all live descendants of pid, read from /proc.
func Descendants(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		// The comm field may hold spaces or parens; fields resume after the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// ProcessesWithArgs returns pids whose full argv equals args. Tests use
// unusual arguments (e.g. "sleep 61.37") to find leftovers of their own.
func ProcessesWithArgs(args ...string) []int {
	want := strings.Join(args, "\x00") + "\x00"
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if err == nil && string(b) == want {
			pids = append(pids, p)
		}
	}
	return pids
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}
