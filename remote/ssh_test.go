package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/badgateway/badgateway/internal/testlab"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func hostFor(s *testlab.SSHD, name string) HostConfig {
	return HostConfig{
		Name:           name,
		Address:        s.Host,
		Port:           s.Port,
		User:           "root",
		IdentityFiles:  []string{s.ClientKeyPath},
		KnownHostsFile: s.KnownHostsPath,
		ConnectTimeout: 5 * time.Second,
	}
}

func dial(t *testing.T, hc HostConfig, opts ...Option) *SSH {
	t.Helper()
	r, err := DialSSH(context.Background(), hc, opts...)
	if err != nil {
		t.Fatalf("DialSSH: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func mustRun(t *testing.T, r Runner, script string) Result {
	t.Helper()
	res, err := r.Run(context.Background(), Command{Script: script})
	if err != nil {
		t.Fatalf("Run(%q): %v", script, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("Run(%q): exit %d, stderr %q", script, res.ExitCode, res.Stderr)
	}
	return res
}

func wantConnectError(t *testing.T, err error, kind ErrorKind, host string, msgParts ...string) *ConnectError {
	t.Helper()
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want *ConnectError %v", err, err, kind)
	}
	if ce.Kind != kind || ce.Host != host {
		t.Fatalf("got kind %v host %q, want %v %q: %v", ce.Kind, ce.Host, kind, host, err)
	}
	for _, p := range msgParts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("message %q lacks %q", err.Error(), p)
		}
	}
	return ce
}

// Each key type and file format authenticates against a real sshd, and
// sshd's log confirms which key type it accepted. The known_hosts holds
// only the server's ED25519 key while the server also has ECDSA (which
// x/crypto would prefer), so every connection here also proves that
// HostKeyAlgorithms is taken from known_hosts.
func TestSSHKeyAuth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ typ, format, logged string }{
		{"ed25519", "", "ED25519"},
		{"rsa", "", "RSA"},
		{"rsa", "PEM", "RSA"},
		{"ecdsa", "", "ECDSA"},
		{"ecdsa", "PEM", "ECDSA"},
		{"ecdsa", "PKCS8", "ECDSA"},
	} {
		t.Run(tc.typ+"-"+cmpOr(tc.format, "openssh"), func(t *testing.T) {
			t.Parallel()
			s := testlab.StartSSHD(t, testlab.WithClientKey(tc.typ, tc.format))
			r := dial(t, hostFor(s, "web-01"))
			if got := mustRun(t, r, "id -un").Stdout; string(got) != "root\n" {
				t.Fatalf("id -un = %q", got)
			}
			if !strings.Contains(s.Log(), "Accepted publickey for root from 127.0.0.1 port") ||
				!strings.Contains(s.Log(), ": "+tc.logged+" ") {
				t.Fatalf("sshd did not log an accepted %s key:\n%s", tc.logged, s.Log())
			}
			if r.Target() != "web-01" {
				t.Fatalf("Target() = %q", r.Target())
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// A real ssh-agent holds the only usable key; its socket is passed
// explicitly so no global environment is touched.
func TestSSHAgentAuth(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	ag := testlab.StartAgent(t)
	ag.Add(s.ClientKeyPath, "")

	hc := hostFor(s, "web-01")
	hc.IdentityFiles = nil
	hc.UseAgent = true
	r := dial(t, hc, WithAgentSocket(ag.Sock))
	mustRun(t, r, "true")

	// Without the agent there is nothing to try, and the error says so
	// before any connection is made.
	hc.UseAgent = false
	_, err := DialSSH(context.Background(), hc)
	wantConnectError(t, err, AuthFailed, "web-01", "no usable key")
}

// A passphrase-protected key cannot be used directly (the bot never
// prompts); the error tells the user to load it into ssh-agent, and once
// it is there the same config connects.
func TestSSHPassphraseKey(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	locked, pub := testlab.GenerateKey(t, t.TempDir(), "id_locked", "ed25519", "", "it's sekrit")
	f, err := os.OpenFile(filepath.Join(s.Dir, "authorized_keys"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(ssh.MarshalAuthorizedKey(pub))
	f.Close()

	hc := hostFor(s, "web-01")
	hc.IdentityFiles = []string{locked}
	_, err = DialSSH(context.Background(), hc)
	wantConnectError(t, err, AuthFailed, "web-01", locked+" is passphrase-protected", "ssh-add "+locked)

	ag := testlab.StartAgent(t)
	ag.Add(locked, "it's sekrit")
	hc.UseAgent = true
	r := dial(t, hc, WithAgentSocket(ag.Sock))
	mustRun(t, r, "true")
}

// Two sshds: the client reaches "jump" directly and "app" through it.
// Both listen on loopback, so "app" would also be reachable directly;
// what is proven is that the TCP connection "app" accepted is owned by
// one of the jump sshd's processes (read from /proc), not by this test
// process, i.e. it came through the jump host's direct-tcpip channel.
// Each hop is checked against the same known_hosts under its own address.
func TestSSHJumpHost(t *testing.T) {
	t.Parallel()
	jump := testlab.StartSSHD(t)
	app := testlab.StartSSHD(t, testlab.WithListenIP("127.0.0.2"))
	known := filepath.Join(t.TempDir(), "known_hosts")
	writeLines(t, known, jump.KnownHostsLine(jump.HostKeys[0]), app.KnownHostsLine(app.HostKeys[0]))

	jumpHC := hostFor(jump, "jump-01")
	jumpHC.KnownHostsFile = ""
	hc := hostFor(app, "app-01")
	hc.KnownHostsFile = known
	hc.Jump = []HostConfig{jumpHC}
	r := dial(t, hc)

	// SSH_CONNECTION is "client_ip client_port server_ip server_port".
	f := strings.Fields(string(mustRun(t, r, "echo $SSH_CONNECTION").Stdout))
	if len(f) != 4 || f[2] != "127.0.0.2" || f[3] != strconv.Itoa(app.Port) {
		t.Fatalf("SSH_CONNECTION = %q", f)
	}
	srcPort, _ := strconv.Atoi(f[1])
	owned, err := jump.OwnsTCPConn(srcPort, app.Port)
	if err != nil || !owned {
		t.Fatalf("connection from port %d to app is not held by the jump sshd (err %v)", srcPort, err)
	}
	if n := len(jump.AcceptedSourcePorts()); n != 1 {
		t.Fatalf("jump accepted %d connections, want 1", n)
	}

	// The app's key unknown: refused, and the error names the app hop,
	// not the jump that was passed successfully.
	onlyJump := filepath.Join(t.TempDir(), "known_hosts")
	writeLines(t, onlyJump, jump.KnownHostsLine(jump.HostKeys[0]))
	hc.KnownHostsFile = onlyJump
	_, err = DialSSH(context.Background(), hc)
	wantConnectError(t, err, HostKeyUnknown, "app-01", "hosts trust app-01")

	// The jump's key unknown: refused at the first hop.
	onlyApp := filepath.Join(t.TempDir(), "known_hosts")
	writeLines(t, onlyApp, app.KnownHostsLine(app.HostKeys[0]))
	hc.KnownHostsFile = onlyApp
	_, err = DialSSH(context.Background(), hc)
	wantConnectError(t, err, HostKeyUnknown, "jump-01", "hosts trust jump-01")
	if n := len(app.AcceptedSourcePorts()); n != 1 {
		t.Fatalf("app accepted %d connections, want only the first", n)
	}
}

func writeLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// known_hosts holds a different key for this host: the connection is
// refused before authentication (sshd logs no accepted key), and the
// message names the offered fingerprint and the line to fix.
func TestSSHHostKeyMismatch(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	other := testlab.StartSSHD(t)
	for i, typ := range []string{"ED25519", "ECDSA"} {
		known := filepath.Join(t.TempDir(), "known_hosts")
		// Line 2 is the wrong key; line 1 is for another port, so it must not match.
		writeLines(t, known,
			fmt.Sprintf("[%s]:%d %s", s.Host, other.Port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKeys[i])))),
			s.KnownHostsLine(other.HostKeys[i]))
		hc := hostFor(s, "web-01")
		hc.KnownHostsFile = known
		_, err := DialSSH(context.Background(), hc)
		wantConnectError(t, err, HostKeyMismatch, "web-01",
			"web-01 ("+s.Addr+"): host key mismatch: server offered "+typ+" "+Fingerprint(s.HostKeys[i]),
			known+":2 has a different key", "replace that line")
	}
	if ports := s.AcceptedSourcePorts(); len(ports) != 0 {
		t.Fatalf("sshd accepted a login despite the mismatch:\n%s", s.Log())
	}
}

// No entry (and no file at all): refused with the trust command to run.
func TestSSHUnknownHost(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	for _, known := range []string{
		filepath.Join(t.TempDir(), "empty"),
		filepath.Join(t.TempDir(), "missing"),
	} {
		if strings.HasSuffix(known, "empty") {
			writeLines(t, known, "# nothing trusted yet")
		}
		hc := hostFor(s, "web-01")
		hc.KnownHostsFile = known
		_, err := DialSSH(context.Background(), hc)
		wantConnectError(t, err, HostKeyUnknown, "web-01",
			"host key not in "+known, "server offers ED25519 "+Fingerprint(s.HostKeys[0]),
			"run 'badgateway hosts trust web-01'")
	}
}

// Hashed entries (ssh-keygen -H style) are matched both for the check and
// for choosing HostKeyAlgorithms.
func TestSSHHashedKnownHosts(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	known := filepath.Join(t.TempDir(), "known_hosts")
	hashed := knownhosts.HashHostname(fmt.Sprintf("[%s]:%d", s.Host, s.Port))
	writeLines(t, known, hashed+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKeys[0]))))
	hc := hostFor(s, "web-01")
	hc.KnownHostsFile = known
	r := dial(t, hc)
	mustRun(t, r, "true")
}

// FetchHostKey + AddKnownHost is the `hosts trust` flow: fetch, show the
// fingerprint, append. The appended line then lets DialSSH connect, a
// second add changes nothing, and existing lines are left alone.
func TestSSHFetchAndTrust(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	hc := hostFor(s, "web-01")
	key, err := FetchHostKey(context.Background(), hc)
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(key) != ssh.FingerprintSHA256(s.HostKeys[0]) || !strings.HasPrefix(Fingerprint(key), "SHA256:") {
		t.Fatalf("fetched %s, want the ED25519 key %s", Fingerprint(key), Fingerprint(s.HostKeys[0]))
	}
	if n := len(s.AcceptedSourcePorts()); n != 0 {
		t.Fatalf("FetchHostKey authenticated (%d logins)", n)
	}

	known := filepath.Join(t.TempDir(), "new", "known_hosts")
	if err := AddKnownHost(known, hc, key); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(known)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stat %s: %v %v", known, st.Mode(), err)
	}
	wantLine := s.KnownHostsLine(key) + "\n"
	if b, _ := os.ReadFile(known); string(b) != wantLine {
		t.Fatalf("known_hosts = %q, want %q", b, wantLine)
	}
	if err := AddKnownHost(known, hc, key); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(known); string(b) != wantLine {
		t.Fatalf("second add changed the file: %q", b)
	}
	hc.KnownHostsFile = known
	mustRun(t, dial(t, hc), "true")

	// An existing file without a final newline keeps its line intact.
	other := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(other, []byte("# keep me"), 0o644)
	if err := AddKnownHost(other, hc, key); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(other); string(b) != "# keep me\n"+wantLine {
		t.Fatalf("known_hosts = %q", b)
	}
}

// A key that is not in authorized_keys: AuthFailed naming what was tried.
func TestSSHAuthFailed(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	stranger, _ := testlab.GenerateKey(t, t.TempDir(), "id_stranger", "ed25519", "", "")
	hc := hostFor(s, "web-01")
	hc.IdentityFiles = []string{stranger}
	_, err := DialSSH(context.Background(), hc)
	wantConnectError(t, err, AuthFailed, "web-01",
		"authentication failed for user root (tried: "+stranger+")", "authorized_keys")
}

// A closed port is Unreachable; a port that accepts but never speaks SSH
// is a Timeout bounded by ConnectTimeout; cancelling ctx ends a dial
// promptly with the context's error.
func TestSSHUnreachableAndTimeout(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	hc := HostConfig{Name: "gone", Address: "127.0.0.1", Port: closedPort, User: "root",
		IdentityFiles: []string{writeTestKey(t)}, KnownHostsFile: filepath.Join(t.TempDir(), "kh")}
	_, err = DialSSH(context.Background(), hc)
	wantConnectError(t, err, Unreachable, "gone", "connection refused")

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	hc.Name, hc.Port = "mute", silent.Addr().(*net.TCPAddr).Port
	hc.ConnectTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err = DialSSH(context.Background(), hc)
	wantConnectError(t, err, Timeout, "mute")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("300ms connect timeout took %v", d)
	}

	hc.ConnectTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = DialSSH(ctx, hc)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("dial with expiring ctx: %v after %v", err, time.Since(start))
	}
}

func writeTestKey(t *testing.T) string {
	p, _ := testlab.GenerateKey(t, t.TempDir(), "id", "ed25519", "", "")
	return p
}

func TestSSHStreamsAndExitCode(t *testing.T) {
	t.Parallel()
	testStreamsAndExitCode(t, dial(t, hostFor(testlab.StartSSHD(t), "web-01")))
}

// sleep 60 with a 1s timeout: TimedOut, the remote processes are killed
// (checked in /proc, as sshd runs here), and the connection still works.
func TestSSHTimeoutKeepsConnection(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	r := dial(t, hostFor(s, "web-01"))
	testTimeoutKillsAndReuses(t, r)
	if n := len(s.AcceptedSourcePorts()); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestSSHContextCancel(t *testing.T) {
	t.Parallel()
	testContextCancel(t, dial(t, hostFor(testlab.StartSSHD(t), "web-01")))
}

func TestSSHQuoteRoundTrip(t *testing.T) {
	t.Parallel()
	testQuoteRoundTrip(t, dial(t, hostFor(testlab.StartSSHD(t), "web-01")))
}

// Not parallel: it measures the heap. 50 MB cross the SSH channel.
func TestSSHOutputCap(t *testing.T) {
	testOutputCap(t, dial(t, hostFor(testlab.StartSSHD(t), "web-01")))
}

// 20 Runs at once share one TCP connection (sshd logs one login). Each
// holds its session 0.5s, so they overlap; sshd allows 10 sessions, so
// this passes only because the semaphore (8) queues the rest. The second
// half shows that: with the bound raised to 20 and sessions held longer
// than Run retries a refused open (~1.3s), sshd refuses sessions.
func TestSSHConcurrentRuns(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	run20 := func(r *SSH, hold string) (ok int, errs []error) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				res, err := r.Run(context.Background(), Command{Script: fmt.Sprintf("sleep %s; echo %d", hold, i)})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				} else if string(res.Stdout) != fmt.Sprintf("%d\n", i) {
					errs = append(errs, fmt.Errorf("run %d got %q", i, res.Stdout))
				} else {
					ok++
				}
			})
		}
		wg.Wait()
		return ok, errs
	}
	start := time.Now()
	if ok, errs := run20(dial(t, hostFor(s, "web-01")), "0.5"); ok != 20 {
		t.Fatalf("%d of 20 ok: %v", ok, errs)
	}
	// 20 runs, 8 at a time, 0.5s each: three waves.
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Fatalf("20 runs took %v; the semaphore did not queue them", d)
	}
	if n := len(s.AcceptedSourcePorts()); n != 1 {
		t.Fatalf("%d connections for 20 runs, want 1", n)
	}

	if ok, errs := run20(dial(t, hostFor(s, "web-01"), WithMaxSessions(20)), "3"); ok == 20 || len(errs) == 0 {
		t.Fatalf("with 20 sessions allowed, sshd (MaxSessions 10) refused none: the control case is broken")
	} else if !strings.Contains(errs[0].Error(), "open session") {
		t.Fatalf("unexpected error: %v", errs[0])
	}
}

// sshd (listener and per-connection children) is SIGKILLed while a
// command runs: Run returns ConnectionLost within seconds, and so does
// every later Run.
func TestSSHServerDiesMidRun(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	r := dial(t, hostFor(s, "web-01"))
	arg := "30.4242"
	errc := make(chan error, 1)
	go func() {
		_, err := r.Run(context.Background(), Command{Script: "sleep " + arg})
		errc <- err
	}()
	waitStarted(t, "sleep", arg)
	killed := time.Now()
	s.Stop()
	select {
	case err := <-errc:
		wantConnectError(t, err, ConnectionLost, "web-01", "connection lost")
		t.Logf("Run returned %v after the kill", time.Since(killed))
	case <-time.After(5 * time.Second):
		t.Fatal("Run still blocked 5s after sshd was killed")
	}
	_, err := r.Run(context.Background(), Command{Script: "true"})
	wantConnectError(t, err, ConnectionLost, "web-01")
}

// The server stops answering without closing TCP (all its processes are
// SIGSTOPped): only keepalives can notice. Run returns ConnectionLost
// after about two keepalive intervals instead of hanging for 30s.
func TestSSHKeepaliveDetectsHungServer(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	hc := hostFor(s, "web-01")
	hc.KeepAliveInterval = 300 * time.Millisecond
	r := dial(t, hc)
	arg := "30.4343"
	errc := make(chan error, 1)
	go func() {
		_, err := r.Run(context.Background(), Command{Script: "sleep " + arg})
		errc <- err
	}()
	waitStarted(t, "sleep", arg)
	s.Signal(syscall.SIGSTOP)
	select {
	case err := <-errc:
		wantConnectError(t, err, ConnectionLost, "web-01", "keepalive")
	case <-time.After(5 * time.Second):
		t.Fatal("Run still blocked 5s after the server hung")
	}
}

func waitStarted(t *testing.T, args ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(testlab.ProcessesWithArgs(args...)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%q never started", args)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Five hosts dialled and used concurrently, each on its own connection.
func TestSSHFiveHosts(t *testing.T) {
	t.Parallel()
	var servers []*testlab.SSHD
	for range 5 {
		servers = append(servers, testlab.StartSSHD(t))
	}
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i, s := range servers {
		wg.Go(func() {
			name := fmt.Sprintf("web-%02d", i+1)
			r, err := DialSSH(context.Background(), hostFor(s, name))
			if err != nil {
				errs[i] = err
				return
			}
			defer r.Close()
			res, err := r.Run(context.Background(), Command{Script: "echo " + Quote(name)})
			if err == nil && string(res.Stdout) != name+"\n" {
				err = fmt.Errorf("%s answered %q", name, res.Stdout)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, s := range servers {
		if errs[i] != nil {
			t.Errorf("host %d: %v", i+1, errs[i])
		}
		if n := len(s.AcceptedSourcePorts()); n != 1 {
			t.Errorf("host %d: %d logins, want 1", i+1, n)
		}
	}
}

// Sudo runs the script as `sudo -n sh -c WRAPPER badgateway SCRIPT`
// through the real sudo: the script sees sudo's SUDO_USER and its quoting
// survives, stderr is clean, and a timeout still kills what the script
// started under sudo. (Refusals need a user without rights: e2e has them.)
func TestSSHSudo(t *testing.T) {
	t.Parallel()
	testlab.RequireSudo(t)
	s := testlab.StartSSHD(t)
	hc := hostFor(s, "web-01")
	hc.Sudo = true
	r := dial(t, hc)
	res := mustRun(t, r, "printf '%s|' \"$SUDO_USER\" \"$SUDO_COMMAND\"; printf '%s' "+Quote("it's $(id) `x`"))
	if got := string(res.Stdout); !strings.HasPrefix(got, "root|/usr/bin/sh -c ") || !strings.HasSuffix(got, "|it's $(id) `x`") {
		t.Fatalf("stdout %q: not run by sudo, or the quoting broke", got)
	}
	if len(res.Stderr) != 0 {
		t.Fatalf("stderr %q", res.Stderr)
	}
	testTimeoutKillsAndReuses(t, r)
}

// A login shell that talks (a .bashrc that echoes a greeting, a "pyenv
// init" that complains on stderr) must not leak into the command's output,
// which parsers read.
func TestSSHDropsLoginShellNoise(t *testing.T) {
	t.Parallel()
	s := testlab.StartSSHD(t)
	ran := filepath.Join(s.Home, "bashrc-ran")
	bashrc := "echo 'Welcome to web-01'\necho 'pyenv: cannot rehash' >&2\ntouch " + Quote(ran) + "\n"
	if err := os.WriteFile(filepath.Join(s.Home, ".bashrc"), []byte(bashrc), 0o644); err != nil {
		t.Fatal(err)
	}
	r := dial(t, hostFor(s, "web-01"))
	testStreamsAndExitCode(t, r)
	if _, err := os.Stat(ran); err != nil {
		t.Fatalf("root's login shell did not read .bashrc, so this test proves nothing: %v", err)
	}
	// A command that prints nothing still gets nothing.
	res, err := r.Run(context.Background(), Command{Script: "true"})
	if err != nil || len(res.Stdout) != 0 || len(res.Stderr) != 0 {
		t.Fatalf("true: err %v, stdout %q stderr %q", err, res.Stdout, res.Stderr)
	}
}

// When the wrapper never runs (sudo refuses, the shell is broken), what
// the shell printed is the error and must reach the user unchanged.
func TestSkipBufferKeepsOutputWithoutMark(t *testing.T) {
	dst := newCapBuffer(1 << 20)
	b := newSkipBuffer(dst, startMark)
	b.Write([]byte("sudo: a password is required\n"))
	if n := b.flush(); n != 0 {
		t.Fatalf("skipped %d bytes without a mark", n)
	}
	if got, _ := dst.bytes(); string(got) != "sudo: a password is required\n" {
		t.Fatalf("got %q", got)
	}

	// The mark split across writes, noise before it dropped.
	dst = newCapBuffer(1 << 20)
	b = newSkipBuffer(dst, startMark)
	for _, p := range []string{"hello\n\x1ebgw-", "start\x1eout", "put\n"} {
		b.Write([]byte(p))
	}
	if n := b.flush(); n != len("hello\n") {
		t.Fatalf("skipped %d bytes, want %d", n, len("hello\n"))
	}
	if got, _ := dst.bytes(); string(got) != "output\n" {
		t.Fatalf("got %q", got)
	}

	// Endless noise without a mark is passed on, not held in memory.
	dst = newCapBuffer(1 << 20)
	b = newSkipBuffer(dst, startMark)
	noise := bytes.Repeat([]byte("x"), maxLoginNoise+1)
	b.Write(noise)
	if got, _ := dst.bytes(); len(got) != len(noise) || len(b.pending) != 0 {
		t.Fatalf("passed on %d bytes, holding %d", len(got), len(b.pending))
	}
}
