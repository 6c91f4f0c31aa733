package testlab

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Daemon start-up. Each is what the host's service manager would run, and
// each waits for the daemon's own sign of readiness, never a fixed sleep.

func (h *Host) startSSHD() error {
	const argv = "/usr/sbin/sshd -D -e"
	// setsid -f: sshd's parent becomes the host's PID 1, as under an init.
	if out, err := h.nsRun(30*time.Second, nil, "/bin/sh", "-c",
		"setsid -f "+argv+" </dev/null >>"+h.Paths.SSHDLog+" 2>&1"); err != nil {
		return fmt.Errorf("start sshd: %v: %s", err, out)
	}
	addr := net.JoinHostPort(h.Addr, strconv.Itoa(h.SSHPort))
	alive := h.aliveCheck(argv)
	return h.waitFor("sshd banner on "+addr, 20*time.Second, func() (bool, error) {
		// Probe only once the port listens, so sshd's log gets one probe
		// connection, not one per poll.
		if h.listening(h.SSHPort) && sshBanner(addr) {
			return true, nil
		}
		if !alive() {
			return false, fmt.Errorf("sshd exited:\n%s", tail(h.ReadFile(h.Paths.SSHDLog), 20))
		}
		return false, nil
	})
}

// listening says whether something listens on TCP port inside the host,
// read from the host's own /proc/net/tcp{,6} (no connection is made).
func (h *Host) listening(port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"tcp", "tcp6"} {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", h.initPID, f))
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fl := strings.Fields(line)
			if len(fl) > 3 && strings.HasSuffix(fl[1], want) && fl[3] == "0A" {
				return true
			}
		}
	}
	return false
}

// sshBanner says whether addr answers with an SSH identification line.
func sshBanner(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// aliveCheck returns a func saying whether some process of the host still
// has sub in its command line (`setsid -f CMD` carries CMD from the fork
// on). A process in the middle of execve shows an empty command line for
// a moment, so only an absence lasting 300 ms counts as an exit.
func (h *Host) aliveCheck(sub string) func() bool {
	var goneSince time.Time
	return func() bool {
		for _, p := range h.Processes() {
			if strings.Contains(p.Args, sub) {
				goneSince = time.Time{}
				return true
			}
		}
		if goneSince.IsZero() {
			goneSince = time.Now()
		}
		return time.Since(goneSince) < 300*time.Millisecond
	}
}

func (h *Host) startFPM() error {
	const ready = "ready to handle connections"
	fpmLog := func() string { b, _ := os.ReadFile(h.stagedPath(h.Paths.FPMLog)); return string(b) }
	before := strings.Count(fpmLog(), ready)
	// php-fpm --daemonize returns once the master's sockets listen, but
	// before it forks the pool's first workers; the master logs "ready to
	// handle connections" after that, so `ps` then shows the whole pool.
	if out, err := h.nsRun(60*time.Second, nil, h.fpmCommand()...); err != nil {
		return fmt.Errorf("start php-fpm: %v: %s\n%s:\n%s", err, out, h.Paths.FPMLog,
			tail(h.ReadFile(h.Paths.FPMLog), 20))
	}
	// A log_level above notice hides the line: then only wait a little.
	_ = h.waitFor("php-fpm "+ready, 5*time.Second, func() (bool, error) {
		return strings.Count(fpmLog(), ready) > before, nil
	})
	if sock := h.Paths.FPMSock; sock != "" {
		return h.waitFor("php-fpm socket "+sock, 10*time.Second, func() (bool, error) {
			if sp := h.stagedPath(sock); sp != "" {
				fi, err := os.Stat(sp)
				return err == nil && fi.Mode()&os.ModeSocket != 0, nil
			}
			_, err := h.nsRun(10*time.Second, nil, "test", "-S", sock)
			return err == nil, nil
		})
	}
	return nil
}

func (h *Host) startNginx() error {
	argv := h.nginxCommand()
	if h.Layout != "debian" {
		// The panel's installer raises the limit so that its nginx.conf's
		// worker_rlimit_nofile 51200 works; without it workers log alerts.
		argv = append([]string{"/bin/sh", "-c", `ulimit -n 51200 2>/dev/null; exec "$@"`, "sh"}, argv...)
	}
	if out, err := h.nsRun(60*time.Second, nil, argv...); err != nil {
		return fmt.Errorf("start nginx: %v: %s", err, out)
	}
	// The master opens the listening sockets before forking workers: a
	// worker means nginx is accepting.
	return h.waitFor("nginx workers", 20*time.Second, func() (bool, error) {
		m, all := h.daemon("nginx")
		if m == nil {
			return false, errors.New("nginx master exited")
		}
		return len(all) > 1, nil
	})
}

func (h *Host) startBackend(mode string, port int, args ...string) error {
	if mode == "" {
		mode = "ok"
	}
	if port == 0 {
		port = 8080
	}
	h.mu.Lock()
	h.seq++
	ready := fmt.Sprintf("/run/labbackend-%d.ready", h.seq)
	h.mu.Unlock()
	argv := []string{h.Paths.BackendBin, "-mode", mode, "-listen", "127.0.0.1:" + strconv.Itoa(port), "-ready", ready}
	argv = append(argv, args...)
	var q []string
	for _, a := range argv {
		q = append(q, shellQuote(a))
	}
	if out, err := h.nsRun(30*time.Second, nil, "/bin/sh", "-c",
		"setsid -f "+strings.Join(q, " ")+" </dev/null >>"+h.Paths.BackendLog+" 2>&1"); err != nil {
		return fmt.Errorf("start labbackend: %v: %s", err, out)
	}
	// The backend announces readiness by a file: connecting to it would
	// already trigger close/reset/garbage behaviour.
	staged := h.stagedPath(ready)
	alive := h.aliveCheck(ready)
	err := h.waitFor("labbackend "+mode+" on port "+strconv.Itoa(port), 20*time.Second, func() (bool, error) {
		if _, err := os.Stat(staged); err == nil {
			return true, nil
		}
		if !alive() {
			return false, fmt.Errorf("labbackend exited:\n%s", tail(h.ReadFile(h.Paths.BackendLog), 10))
		}
		return false, nil
	})
	_ = os.Remove(staged)
	return err
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ---- fault helpers: each does the real thing to the real daemon ----

var signals = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM, "QUIT": syscall.SIGQUIT, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL,
	"HUP": syscall.SIGHUP, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "SEGV": syscall.SIGSEGV,
	"STOP": syscall.SIGSTOP, "CONT": syscall.SIGCONT,
}

func parseSignal(s string) (syscall.Signal, error) {
	if sig, ok := signals[strings.TrimPrefix(strings.ToUpper(s), "SIG")]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// stopDaemon signals a daemon and waits until none of its processes is
// left. "KILL" kills the master first (so it cannot respawn workers),
// then every worker, like `kill -9` of the whole process list; other
// signals go to the master only, which shuts down its own way.
func (h *Host) stopDaemon(name, sig string) error {
	s, err := parseSignal(sig)
	if err != nil {
		return err
	}
	master, _ := h.daemon(name)
	if master == nil {
		return fmt.Errorf("%s: %s is not running", h.Name, name)
	}
	if s != syscall.SIGKILL {
		if err := syscall.Kill(master.rootPID, s); err != nil {
			return err
		}
	}
	return h.waitFor(name+" to stop after SIG"+strings.TrimPrefix(strings.ToUpper(sig), "SIG"), 30*time.Second,
		func() (bool, error) {
			m, all := h.daemon(name)
			if len(all) == 0 {
				return true, nil
			}
			if s == syscall.SIGKILL {
				if m != nil {
					_ = syscall.Kill(m.rootPID, syscall.SIGKILL)
				}
				for _, p := range all {
					_ = syscall.Kill(p.rootPID, syscall.SIGKILL)
				}
			}
			return false, nil
		})
}

// StopFPM stops php-fpm with sig: "TERM" or "QUIT" is a clean stop (php-fpm
// removes its socket: nginx then logs "(2: No such file or directory)");
// "KILL" kills master and workers hard, leaving the socket file behind
// ("(111: Connection refused)").
func (h *Host) StopFPM(sig string) {
	h.t.Helper()
	if err := h.stopDaemon("php-fpm", sig); err != nil {
		h.t.Fatal(err)
	}
}

// StartFPM starts php-fpm the way the layout's service does.
func (h *Host) StartFPM() {
	h.t.Helper()
	if err := h.startFPM(); err != nil {
		h.t.Fatalf("%s: %v", h.Name, err)
	}
}

// SetFPMPool replaces the pool config (debian: pool.d/www.conf; baota: the
// pool part of php-fpm.conf), checks it with php-fpm -t (failing the test
// with php-fpm's message) and restarts php-fpm if it was running.
func (h *Host) SetFPMPool(pool string) {
	h.t.Helper()
	content := pool
	if h.Layout != "debian" {
		content = btFPMGlobal + pool
	}
	h.WriteFile(h.Paths.FPMPoolConf, content)
	h.Paths.FPMListen = poolListen(pool)
	h.Paths.FPMSock = ""
	if strings.HasPrefix(h.Paths.FPMListen, "/") {
		h.Paths.FPMSock = h.Paths.FPMListen
	}
	test := append(h.fpmCommand()[:1:1], h.fpmCommand()[2:]...) // without --daemonize
	if out, err := h.nsRun(time.Minute, nil, append(test, "-t")...); err != nil {
		h.t.Fatalf("%s: php-fpm -t: %v\n%s", h.Name, err, out)
	}
	if h.PID("php-fpm") != 0 {
		h.StopFPM("TERM")
	}
	h.StartFPM()
}

// StopNginx stops nginx with sig ("QUIT" graceful, "TERM" fast, "KILL").
func (h *Host) StopNginx(sig string) {
	h.t.Helper()
	if err := h.stopDaemon("nginx", sig); err != nil {
		h.t.Fatal(err)
	}
}

// StartNginx starts nginx as the layout does (binary -c conf).
func (h *Host) StartNginx() {
	h.t.Helper()
	if err := h.startNginx(); err != nil {
		h.t.Fatalf("%s: %v", h.Name, err)
	}
}

// StartBackend starts labbackend in mode on 127.0.0.1:port (0 = 8080);
// args are more labbackend flags (see BackendSpec).
func (h *Host) StartBackend(mode string, port int, args ...string) {
	h.t.Helper()
	if err := h.startBackend(mode, port, args...); err != nil {
		h.t.Fatalf("%s: %v", h.Name, err)
	}
}

// StopBackend stops every labbackend of the host (SIGTERM; its port then
// refuses connections).
func (h *Host) StopBackend() {
	h.t.Helper()
	_, all := h.daemon("backend")
	for _, p := range all {
		_ = syscall.Kill(p.rootPID, syscall.SIGTERM)
	}
	if err := h.waitFor("labbackend to stop", 20*time.Second, func() (bool, error) {
		_, all := h.daemon("backend")
		return len(all) == 0, nil
	}); err != nil {
		h.t.Fatal(err)
	}
}

// ReloadNginx checks the config (failing the test with nginx's own
// message), sends the master SIGHUP (what `nginx -s reload` does) and
// waits until workers of the new generation run and the old ones are gone.
func (h *Host) ReloadNginx() {
	h.t.Helper()
	if out, err := h.nsRun(time.Minute, nil, append(h.nginxCommand(), "-t")...); err != nil {
		h.t.Fatalf("%s: nginx -t: %v\n%s", h.Name, err, out)
	}
	master, all := h.daemon("nginx")
	if master == nil {
		h.t.Fatalf("%s: nginx is not running", h.Name)
	}
	old := map[int]bool{}
	for _, p := range all {
		if p.PID != master.PID {
			old[p.rootPID] = true
		}
	}
	if err := syscall.Kill(master.rootPID, syscall.SIGHUP); err != nil {
		h.t.Fatal(err)
	}
	children := func() (fresh, stale int) {
		_, all := h.daemon("nginx")
		for _, p := range all {
			switch {
			case p.PID == master.PID:
			case old[p.rootPID]:
				stale++
			default:
				fresh++
			}
		}
		return
	}
	if err := h.waitFor("new nginx workers after reload", 20*time.Second, func() (bool, error) {
		fresh, _ := children()
		return fresh > 0, nil
	}); err != nil {
		h.t.Fatalf("%v\n%s", err, tail(h.ReadFile(h.Paths.ErrorLog), 20))
	}
	// Old workers finish their requests first; one still serving a slow
	// request is fine: it no longer accepts connections.
	_ = h.waitFor("old nginx workers to exit", 5*time.Second, func() (bool, error) {
		_, stale := children()
		return stale == 0, nil
	})
}

// SetNginxSite replaces the site's config (Paths.SiteConf) and reloads.
func (h *Host) SetNginxSite(conf string) {
	h.t.Helper()
	h.WriteFile(h.Paths.SiteConf, conf)
	h.ReloadNginx()
}

// Iptables runs iptables with args in the host's network namespace (the
// rules vanish with the host), failing the test on error.
func (h *Host) Iptables(args ...string) {
	h.t.Helper()
	if out, err := h.nsRun(30*time.Second, nil, append([]string{"iptables", "-w"}, args...)...); err != nil {
		h.t.Fatalf("%s: iptables %s: %v\n%s", h.Name, strings.Join(args, " "), err, out)
	}
}
