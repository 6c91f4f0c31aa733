package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	DefaultPort              = 22
	DefaultConnectTimeout    = 10 * time.Second
	DefaultKeepAliveInterval = 15 * time.Second
	// DefaultMaxSessions stays under OpenSSH's MaxSessions default of 10,
	// leaving room for a human's ssh multiplexed on the same account.
	DefaultMaxSessions = 8
)

// HostConfig says how to reach one host.
type HostConfig struct {
	Name          string // shown in messages; defaults to Address
	Address       string // host name or IP
	Port          int    // 0 = 22
	User          string // "" = current user
	IdentityFiles []string
	// KnownHostsFile is the only source of trusted host keys; "" means
	// ~/.ssh/known_hosts. Checking cannot be turned off.
	KnownHostsFile string
	// Jump hosts, dialled in order like ProxyJump a,b. Empty fields of a
	// jump (User, IdentityFiles, KnownHostsFile, timeouts) are taken from
	// this config; a jump's own Jump and Sudo are ignored. UseAgent is on for
	// a jump when either it or this config sets it.
	Jump              []HostConfig
	ConnectTimeout    time.Duration // per hop; 0 = DefaultConnectTimeout
	KeepAliveInterval time.Duration // 0 = DefaultKeepAliveInterval
	Sudo              bool          // run as `sudo -n sh -c QUOTED`
	// UseAgent offers the keys of the ssh-agent at SSH_AUTH_SOCK (or the
	// WithAgentSocket path). A zero HostConfig has it off: the config
	// layer should default it to SSH_AUTH_SOCK != "".
	UseAgent bool
}

// withDefaults fills empty fields, from parent (the target) for jumps.
func (hc HostConfig) withDefaults(parent *HostConfig) HostConfig {
	if parent != nil {
		if hc.User == "" {
			hc.User = parent.User
		}
		if len(hc.IdentityFiles) == 0 {
			hc.IdentityFiles = parent.IdentityFiles
		}
		if hc.KnownHostsFile == "" {
			hc.KnownHostsFile = parent.KnownHostsFile
		}
		if hc.ConnectTimeout == 0 {
			hc.ConnectTimeout = parent.ConnectTimeout
		}
		hc.UseAgent = hc.UseAgent || parent.UseAgent
		hc.Jump, hc.Sudo = nil, false
	}
	if hc.Name == "" {
		hc.Name = hc.Address
	}
	if hc.Port == 0 {
		hc.Port = DefaultPort
	}
	if hc.User == "" {
		if u, err := user.Current(); err == nil {
			hc.User = u.Username
		}
	}
	if hc.KnownHostsFile == "" {
		hc.KnownHostsFile = defaultKnownHosts()
	}
	if hc.ConnectTimeout <= 0 {
		hc.ConnectTimeout = DefaultConnectTimeout
	}
	if hc.KeepAliveInterval <= 0 {
		hc.KeepAliveInterval = DefaultKeepAliveInterval
	}
	return hc
}

type options struct {
	log         *slog.Logger
	maxSessions int
	agentSock   string
}

// Option tunes DialSSH and FetchHostKey.
type Option func(*options)

// WithLogger logs connection events at debug level (keepalive loss at warn).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithMaxSessions bounds concurrent Runs (sessions) on the connection.
func WithMaxSessions(n int) Option { return func(o *options) { o.maxSessions = n } }

// WithAgentSocket uses the ssh-agent at path instead of $SSH_AUTH_SOCK,
// for every hop that has UseAgent.
func WithAgentSocket(path string) Option { return func(o *options) { o.agentSock = path } }

func newOptions(opts []Option) *options {
	o := &options{maxSessions: DefaultMaxSessions}
	for _, opt := range opts {
		opt(o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.maxSessions <= 0 {
		o.maxSessions = DefaultMaxSessions
	}
	if o.agentSock == "" {
		o.agentSock = os.Getenv("SSH_AUTH_SOCK")
	}
	return o
}

var _ Runner = (*SSH)(nil)

// SSH is a Runner over one SSH connection (through optional jump hosts).
// It is safe for concurrent use.
type SSH struct {
	hc     HostConfig
	addr   string
	log    *slog.Logger
	client *ssh.Client
	jumps  []*ssh.Client
	sem    chan struct{}

	dead      chan struct{} // closed once the connection is gone
	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu         sync.Mutex
	lostReason error // first known reason the connection went away
}

// DialSSH connects and authenticates to hc, verifying every hop's host
// key against known_hosts.
func DialSSH(ctx context.Context, hc HostConfig, opts ...Option) (*SSH, error) {
	o := newOptions(opts)
	clients, err := dialChain(ctx, hc, o, nil)
	if err != nil {
		return nil, err
	}
	hc = hc.withDefaults(nil)
	s := &SSH{
		hc:      hc,
		addr:    hc.hostport(),
		log:     o.log.With("host", hc.Name),
		client:  clients[len(clients)-1],
		jumps:   clients[:len(clients)-1],
		sem:     make(chan struct{}, o.maxSessions),
		dead:    make(chan struct{}),
		closing: make(chan struct{}),
	}
	s.wg.Add(2)
	go s.watch()
	go s.keepalive(hc.KeepAliveInterval)
	s.log.Debug("ssh connected", "addr", s.addr, "jumps", len(s.jumps))
	if hc.Sudo {
		if err := s.checkSudo(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// checkSudo runs `true` through `sudo -n` once, so a host where sudo wants a
// password (or the user has no rule) is one clear error instead of every
// step failing with sudo's complaint.
func (s *SSH) checkSudo(ctx context.Context) error {
	res, err := s.Run(ctx, Command{Script: "true", Timeout: s.hc.ConnectTimeout})
	if err != nil {
		return err
	}
	if res.ExitCode == 0 {
		return nil
	}
	why := strings.TrimSpace(string(res.Stderr))
	if i := strings.IndexByte(why, '\n'); i >= 0 {
		why = why[:i]
	}
	if why == "" {
		why = fmt.Sprintf("exit status %d", res.ExitCode)
	}
	if res.TimedOut {
		why = "no answer within " + s.hc.ConnectTimeout.String()
	}
	return &ConnectError{Host: s.hc.Name, Addr: s.addr, Kind: SudoRefused, Err: fmt.Errorf(
		"sudo -n refused for user %s (%s); allow it without a password, e.g. `%s ALL=(root) NOPASSWD: ALL` in /etc/sudoers.d/badgateway, or set sudo: false for this host",
		s.hc.User, why, s.hc.User)}
}

// dialChain connects through hc.Jump to hc. With capture set, the last
// hop's host key is stored there and the handshake aborted (FetchHostKey);
// on error the clients opened so far are returned for closing.
func dialChain(ctx context.Context, target HostConfig, o *options, capture *ssh.PublicKey) ([]*ssh.Client, error) {
	target = target.withDefaults(nil)
	if target.Address == "" {
		return nil, errors.New("ssh: host has no address")
	}
	hops := make([]HostConfig, 0, len(target.Jump)+1)
	for _, j := range target.Jump {
		hops = append(hops, j.withDefaults(&target))
	}
	hops = append(hops, target)

	kh, err := loadKnownHosts(target.KnownHostsFile)
	if err != nil {
		return nil, err
	}
	var ag *agentConn
	for _, h := range hops {
		if h.UseAgent && o.agentSock != "" {
			ag = dialAgent(ctx, o.agentSock)
			break
		}
	}
	// Signing only happens during the handshakes.
	defer ag.Close()

	var clients []*ssh.Client
	fail := func(err error) ([]*ssh.Client, error) {
		if capture == nil {
			for i := len(clients) - 1; i >= 0; i-- {
				clients[i].Close()
			}
			clients = nil
		}
		return clients, err
	}
	for i, h := range hops {
		last := i == len(hops)-1
		var ha *hopAuth
		if !(last && capture != nil) {
			if ha, err = buildAuth(h, ag); err != nil {
				return fail(fmt.Errorf("%s: %w", h.Name, err))
			}
			if len(ha.signers) == 0 {
				return fail(ha.noKeyError(h))
			}
		}
		var prev *ssh.Client
		if i > 0 {
			prev = clients[i-1]
		}
		c, err := dialHop(ctx, prev, hops, i, kh, ha, capture)
		if err != nil {
			return fail(err)
		}
		o.log.Debug("ssh hop connected", "host", h.Name, "addr", h.hostport())
		clients = append(clients, c)
	}
	return clients, nil
}

// dialHop opens the TCP connection (directly or through prev) and runs the
// SSH handshake, all bounded by ctx and the hop's ConnectTimeout.
func dialHop(ctx context.Context, prev *ssh.Client, hops []HostConfig, i int, kh *knownHosts,
	ha *hopAuth, capture *ssh.PublicKey) (*ssh.Client, error) {
	h := hops[i]
	addr := h.hostport()
	hctx, cancel := context.WithTimeout(ctx, h.ConnectTimeout)
	defer cancel()
	connErr := func(kind ErrorKind, err error) error {
		return &ConnectError{Host: h.Name, Addr: addr, Kind: kind, Err: err}
	}
	// ctxErr turns our own deadline into Timeout but passes the caller's
	// cancellation through unchanged.
	ctxErr := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("%s (%s): %w", h.Name, addr, ctx.Err())
		}
		return connErr(Timeout, explain(err, "no SSH connection within %v (%v); check the address, port and firewall", h.ConnectTimeout, err))
	}

	var conn net.Conn
	var err error
	if prev == nil {
		var d net.Dialer
		conn, err = d.DialContext(hctx, "tcp", addr)
	} else {
		conn, err = prev.DialContext(hctx, "tcp", addr)
	}
	if err != nil {
		if hctx.Err() != nil {
			return nil, ctxErr(err)
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) {
			return nil, connErr(Unreachable, explain(err, "jump host %s could not connect: %s", hops[i-1].Name, oce.Message))
		}
		kind, e := classifyNetErr(err)
		return nil, connErr(kind, e)
	}
	// Jump channels do not support deadlines, so cancellation closes the
	// connection instead; that works for both kinds.
	stop := context.AfterFunc(hctx, func() { conn.Close() })
	defer stop()

	var verdict hostKeyVerdict
	cfg := &ssh.ClientConfig{
		User:              h.User,
		HostKeyCallback:   kh.callback(h, addr, &verdict),
		HostKeyAlgorithms: kh.algorithms(addr),
	}
	if cfg.HostKeyAlgorithms == nil {
		cfg.HostKeyAlgorithms = plainAlgoOrder
	}
	if ha != nil {
		cfg.Auth = ha.methods()
	}
	if capture != nil && i == len(hops)-1 {
		cfg.HostKeyCallback = func(_ string, _ net.Addr, key ssh.PublicKey) error {
			*capture = key
			return errKeyCaptured
		}
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		switch {
		case errors.Is(err, errKeyCaptured):
			return nil, err
		case verdict.err != nil:
			return nil, verdict.err
		case hctx.Err() != nil:
			return nil, ctxErr(err)
		case isAuthFailure(err):
			return nil, ha.failed(h, err)
		}
		kind, e := classifyNetErr(err)
		if kind == ConnectionLost {
			e = explain(err, "server closed the connection during the SSH handshake (%v); check sshd's log on the host", err)
		}
		return nil, connErr(kind, e)
	}
	if !stop() {
		// ctx ended just as the handshake finished; conn is being closed.
		c.Close()
		return nil, ctxErr(context.DeadlineExceeded)
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// Target is the host's name.
func (s *SSH) Target() string { return s.hc.Name }

// watch notices the connection going away for any reason.
func (s *SSH) watch() {
	defer s.wg.Done()
	err := s.client.Wait()
	s.setLost(err)
	close(s.dead)
	s.log.Debug("ssh connection closed", "err", err)
}

func (s *SSH) setLost(reason error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lostReason == nil {
		if reason == nil {
			reason = errors.New("connection closed")
		}
		s.lostReason = reason
	}
}

// fail tears the connection down so every waiting Run returns promptly.
func (s *SSH) fail(reason error) {
	s.setLost(reason)
	s.client.Close()
	for i := len(s.jumps) - 1; i >= 0; i-- {
		s.jumps[i].Close()
	}
}

func (s *SSH) lostErr() error {
	s.mu.Lock()
	reason := s.lostReason
	s.mu.Unlock()
	return &ConnectError{Host: s.hc.Name, Addr: s.addr, Kind: ConnectionLost,
		Err: explain(reason, "connection lost (%v); the command's outcome is unknown, check that the host and sshd are up", reason)}
}

// keepalive probes the server so a dead peer is noticed within about two
// intervals, even while every Run is blocked waiting for output.
func (s *SSH) keepalive(interval time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-s.dead:
			return
		case <-t.C:
		}
		if err := s.ping(interval); err != nil {
			s.log.Warn("ssh keepalive failed, closing connection", "err", err)
			s.fail(err)
			return
		}
	}
}

// ping sends one keepalive@openssh.com request. OpenSSH answers it with
// a failure reply, which still proves the peer is alive.
func (s *SSH) ping(timeout time.Duration) error {
	res := make(chan error, 1)
	go func() {
		_, _, err := s.client.SendRequest("keepalive@openssh.com", true, nil)
		res <- err
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-res:
		if err != nil {
			return fmt.Errorf("keepalive: %w", err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("keepalive: no reply within %v", timeout)
	case <-s.dead:
		return errors.New("keepalive: connection closed")
	}
}

// gone reports whether the connection is dead. x/crypto closes sessions
// just before it records the connection error, so a failed session alone
// does not tell; a keepalive round trip settles it.
func (s *SSH) gone() bool {
	select {
	case <-s.dead:
		return true
	default:
	}
	if err := s.ping(min(s.hc.KeepAliveInterval, 5*time.Second)); err != nil {
		s.fail(err)
		return true
	}
	return false
}

// Close closes the connection and its jump connections.
func (s *SSH) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.fail(errors.New("runner closed"))
		s.wg.Wait()
	})
	return nil
}

// Run runs c in a new session on the shared connection.
func (s *SSH) Run(ctx context.Context, c Command) (Result, error) {
	res := Result{ExitCode: -1}
	if strings.IndexByte(c.Script, 0) >= 0 {
		return res, fmt.Errorf("%s: %w", s.hc.Name, errNUL)
	}
	timeout, max := c.limits()

	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return res, fmt.Errorf("%s: %w", s.hc.Name, ctx.Err())
	case <-s.dead:
		return res, s.lostErr()
	}
	defer func() { <-s.sem }()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	start := time.Now()

	sess, err := s.openSession(ctx, timer.C, timeout)
	if err != nil {
		return res, err
	}
	defer sess.Close()
	stdout, stderr := newCapBuffer(max), newCapBuffer(max)
	outSkip, errSkip := newSkipBuffer(stdout, startMark), newSkipBuffer(stderr, startMark)
	sess.Stdout, sess.Stderr = outSkip, errSkip
	collect := func(res *Result) {
		if n := outSkip.flush() + errSkip.flush(); n > 0 {
			s.log.Debug("dropped what the login shell printed before the command", "host", s.hc.Name, "bytes", n)
		}
		fill(res, stdout, stderr)
	}
	// Held open and never written: its EOF on the remote side is the
	// wrapper's cue that the session is gone (see remoteCommand).
	stdin, err := sess.StdinPipe()
	if err != nil {
		return res, fmt.Errorf("%s: stdin: %w", s.hc.Name, err)
	}
	defer stdin.Close()

	if err := sess.Start(remoteCommand(c.Script, s.hc.Sudo)); err != nil {
		if s.gone() {
			return res, s.lostErr()
		}
		return res, fmt.Errorf("%s: start command: %w", s.hc.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()

	var runErr error
	select {
	case err := <-done:
		return s.finish(res, start, collect, err)
	case <-timer.C:
		res.TimedOut = true
	case <-ctx.Done():
		runErr = fmt.Errorf("%s: %w", s.hc.Name, ctx.Err())
	case <-s.dead:
		// A command that finished just before the connection went away
		// still has a valid result.
		select {
		case err := <-done:
			return s.finish(res, start, collect, err)
		default:
		}
		res.Duration = time.Since(start)
		collect(&res)
		return res, s.lostErr()
	}
	// OpenSSH delivers the signal to the session's process group, but
	// refuses it for sessions without a privilege-separated child (root
	// logins); closing the session then makes the wrapper kill the group.
	// Either way the connection stays up for other commands.
	if err := sess.Signal(ssh.SIGKILL); err != nil {
		s.log.Debug("ssh signal failed", "err", err)
	}
	sess.Close()
	res.Duration = time.Since(start)
	collect(&res)
	return res, runErr
}

// finish turns the session's end into a Result.
func (s *SSH) finish(res Result, start time.Time, collect func(*Result), err error) (Result, error) {
	res.Duration = time.Since(start)
	collect(&res)
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		res.ExitCode = 0
	case errors.As(err, &ee):
		if ee.Signal() == "" {
			res.ExitCode = ee.ExitStatus()
		}
	case s.gone():
		return res, s.lostErr()
	case errors.As(err, &missing):
		// The server ended the session without a status while the
		// connection is fine: the command ran, its end is unknown.
	default:
		return res, fmt.Errorf("%s: wait: %w", s.hc.Name, err)
	}
	return res, nil
}

// openSession opens a channel, giving up on timeout, ctx or connection
// loss; NewSession itself would wait for a hung server indefinitely.
func (s *SSH) openSession(ctx context.Context, timeout <-chan time.Time, limit time.Duration) (*ssh.Session, error) {
	type opened struct {
		sess *ssh.Session
		err  error
	}
	ch := make(chan opened, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// sshd frees a session slot only once it has seen our reply to its
		// channel close, so right after other Runs end it can refuse a new
		// session ("open failed") though we stay under MaxSessions: retry.
		backoff := 10 * time.Millisecond
		for {
			sess, err := s.client.NewSession()
			var oce *ssh.OpenChannelError
			if err == nil || !errors.As(err, &oce) || oce.Reason != ssh.ConnectionFailed || backoff > time.Second {
				ch <- opened{sess, err}
				return
			}
			select {
			case <-time.After(backoff):
				backoff *= 2
			case <-stop:
				ch <- opened{nil, err}
				return
			}
		}
	}()
	abandon := func() {
		go func() {
			if r := <-ch; r.sess != nil {
				r.sess.Close()
			}
		}()
	}
	select {
	case r := <-ch:
		if r.err == nil {
			return r.sess, nil
		}
		if s.gone() {
			return nil, s.lostErr()
		}
		// E.g. "administratively prohibited" when sshd's MaxSessions is
		// lower than our semaphore.
		return nil, fmt.Errorf("%s: open session: %w", s.hc.Name, r.err)
	case <-timeout:
		abandon()
		return nil, &ConnectError{Host: s.hc.Name, Addr: s.addr, Kind: Timeout,
			Err: fmt.Errorf("server did not open a session within %v", limit)}
	case <-ctx.Done():
		abandon()
		return nil, fmt.Errorf("%s: %w", s.hc.Name, ctx.Err())
	case <-s.dead:
		abandon()
		return nil, s.lostErr()
	}
}

// killOnHangup runs the script ($1) in place of itself after starting a
// watcher that reads the session's stdin. We never write to it, so the
// watcher sees EOF only when sshd closes the channel (timeout, cancel,
// lost connection) and then SIGKILLs the whole process group: sshd's
// "signal" request alone is refused for root logins. The script gets
// /dev/null as stdin and runs via exec, so its exit status or signal is
// reported unchanged. Anything still in the group when the session is
// closed normally dies too, so no diagnostic outlives its Run.
const killOnHangup = `exec 3<&0 </dev/null
{ while read -r _ <&3; do :; done; kill -KILL 0; } >/dev/null 2>&1 &
exec 3<&-
printf '\036bgw-start\036'; printf '\036bgw-start\036' >&2
exec sh -c "$1"`

// startMark is what killOnHangup prints on both streams just before the
// script runs: anything earlier came from the login shell's start-up.
const startMark = "\x1ebgw-start\x1e"

// remoteCommand is the exec request: `[sudo -n] sh -c WRAPPER sh SCRIPT`,
// parsed by the user's login shell, hence all values quoted.
func remoteCommand(script string, sudo bool) string {
	cmd := "sh -c " + Quote(killOnHangup) + " badgateway " + Quote(script)
	if sudo {
		// -n: fail instead of waiting for a password prompt nobody sees.
		cmd = "sudo -n " + cmd
	}
	return cmd
}
