package testlab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/badgateway/badgateway/remote"
)

// leftovers remembers what a host was, so the test can check after its
// cleanup that nothing of it survived.
type leftovers struct {
	name, netns, veth, dir string
	pidNS                  string         // the host's PID namespace link
	pids                   map[int]string // machine pid -> command, at the end of the test
}

func remember(h *Host) leftovers {
	l := leftovers{name: h.Name, netns: h.NetNS, veth: vethBase + strconv.Itoa(h.slot), dir: h.Dir,
		pids: map[int]string{}}
	l.pidNS, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", h.initPID))
	for _, p := range h.Processes() {
		l.pids[p.rootPID] = p.Args
	}
	return l
}

func (l leftovers) check(t *testing.T) {
	t.Helper()
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out)+"\n", l.netns+" ") ||
		strings.Contains(string(out)+"\n", l.netns+"\n") {
		t.Errorf("%s: netns %s still there:\n%s", l.name, l.netns, out)
	}
	if _, err := os.Stat("/sys/class/net/" + l.veth); err == nil {
		t.Errorf("%s: veth %s still there", l.name, l.veth)
	}
	if _, err := os.Stat(l.dir); err == nil {
		t.Errorf("%s: staging dir %s still there", l.name, l.dir)
	}
	for pid, args := range l.pids {
		// A live pid in another PID namespace is a reused number, not ours.
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && ns == l.pidNS {
			t.Errorf("%s: process %d (%s) survived", l.name, pid, args)
		}
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), l.dir) {
		t.Errorf("%s: a mount of %s is visible on the machine", l.name, l.dir)
	}
}

// TestSmoke starts two Debian hosts and a BaoTa host at once and checks
// isolation, SSH, PHP through php-fpm, the two php-fpm stop faults, the
// panel layout, and that nothing is left afterwards.
func TestSmoke(t *testing.T) {
	RequireLab(t)
	t0 := time.Now()
	var left []leftovers
	var hostsUp time.Duration
	t.Run("hosts", func(t *testing.T) {
		hosts := StartHosts(t,
			HostSpec{Name: "deb-a"},
			HostSpec{Name: "deb-b"},
			HostSpec{Name: "bt-c", Layout: "baota"},
		)
		hostsUp = time.Since(t0)
		t.Logf("3 hosts up in %v", hostsUp.Round(time.Millisecond))
		for _, h := range hosts {
			t.Cleanup(func() { left = append(left, remember(h)) }) // runs before the hosts stop
		}
		for _, h := range hosts {
			t.Run(h.Name, func(t *testing.T) {
				h := h.For(t)
				t.Parallel()
				checkSSHView(t, h, len(hosts))
				checkUsers(t, h)
				checkPHPAndFPMStops(t, h)
				if h.Layout == "baota" {
					checkBaota(t, h)
				}
			})
		}
	})
	for _, l := range left {
		l.check(t)
	}
	if _, err := os.Stat("/sys/class/net/" + LabBridge); err == nil && labHostsRunning() == 0 {
		t.Errorf("bridge %s left behind", LabBridge)
	}
	t.Logf("smoke test total %v (hosts up in %v)", time.Since(t0).Round(time.Millisecond), hostsUp.Round(time.Millisecond))
}

// labHostsRunning counts lab netns of any process (other test binaries may
// be running hosts too, and then the bridge stays, rightly).
func labHostsRunning() int {
	ents, _ := os.ReadDir("/run/netns")
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), netnsBase) {
			n++
		}
	}
	return n
}

func dial(t *testing.T, h *Host) *remote.SSH { return dialAs(t, h, "root") }

func dialAs(t *testing.T, h *Host, user string) *remote.SSH {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := remote.DialSSH(ctx, remote.HostConfig{Address: h.Addr, Port: h.SSHPort, User: user,
		IdentityFiles: []string{h.ClientKey}, KnownHostsFile: h.KnownHosts})
	if err != nil {
		t.Fatalf("%s: DialSSH: %v", h.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *remote.SSH, script string) string {
	t.Helper()
	res, err := c.Run(context.Background(), remote.Command{Script: script, Timeout: 20 * time.Second})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%s: %v exit %d\n%s%s", script, err, res.ExitCode, res.Stdout, res.Stderr)
	}
	return string(res.Stdout)
}

// checkSSHView logs in over SSH from the machine and checks the host sees
// only itself: its name, its own single set of daemons.
func checkSSHView(t *testing.T, h *Host, hosts int) {
	c := dial(t, h)
	if got := strings.TrimSpace(run(t, c, "hostname")); got != h.Name {
		t.Errorf("hostname = %q, want %q", got, h.Name)
	}
	ps := run(t, c, "ps -eo pid,args")
	count := func(sub string) int { return strings.Count(ps, sub) }
	if count("nginx: master process") != 1 || count("php-fpm: master process") != 1 || count("[listener]") != 1 {
		t.Errorf("%s: want exactly one nginx, php-fpm and sshd master:\n%s", h.Name, ps)
	}
	if !strings.Contains(ps, "\n      1 ") || !strings.Contains(ps, "labinit init") {
		t.Errorf("%s: PID 1 should be the host's init:\n%s", h.Name, ps)
	}
	// The machine itself sees every host's nginx: the single one above is
	// isolation, not an accident.
	if out, _ := exec.Command("ps", "-eo", "args").Output(); strings.Count(string(out), "nginx: master process") < hosts {
		t.Errorf("machine sees fewer than %d nginx masters:\n%s", hosts, out)
	}
	// Masters as root, workers as the layout's web user.
	users := run(t, c, "ps -o user=,args= -C nginx,php-fpm8.2,php-fpm")
	for _, l := range strings.Split(strings.TrimSpace(users), "\n") {
		f := strings.Fields(l)
		master := strings.Contains(l, "master process")
		if len(f) < 2 || (master && f[0] != "root") || (!master && f[0] != h.Paths.WebUser) {
			t.Errorf("%s: wrong user in %q (web user %s)", h.Name, l, h.Paths.WebUser)
		}
	}
	ss := run(t, c, "ss -ltnpx")
	if !strings.Contains(ss, h.Paths.FPMSock) || !strings.Contains(ss, "0.0.0.0:80") {
		t.Errorf("%s: ss -ltnpx misses the php-fpm socket or port 80:\n%s", h.Name, ss)
	}
}

// checkUsers: the sudo user gets root through a real `sudo -n` and reads
// nginx's log through adm; the plain user is refused by sudo, as on a
// real server.
func checkUsers(t *testing.T, h *Host) {
	c := dialAs(t, h, SudoUser)
	if got := strings.Fields(run(t, c, "id -un; sudo -n id -u")); len(got) != 2 || got[0] != SudoUser || got[1] != "0" {
		t.Errorf("%s as %s: id -un; sudo -n id -u = %q", h.Name, SudoUser, got)
	}
	if h.Layout == "debian" {
		run(t, c, "head -c0 "+h.Paths.ErrorLog) // readable through adm
	}
	c = dialAs(t, h, PlainUser)
	res, err := c.Run(context.Background(), remote.Command{Script: "sudo -n true", Timeout: 20 * time.Second})
	if err != nil || res.ExitCode != 1 || !strings.Contains(string(res.Stderr), "a password is required") {
		t.Errorf("%s as %s: sudo -n true: err %v exit %d stderr %q", h.Name, PlainUser, err, res.ExitCode, res.Stderr)
	}
}

// checkPHPAndFPMStops: PHP answers through php-fpm; php-fpm killed hard
// gives 502 with ECONNREFUSED (socket left behind), stopped cleanly 502
// with ENOENT (socket removed).
func checkPHPAndFPMStops(t *testing.T, h *Host) {
	if code, body, err := h.CurlFull("/"); code != 200 || body != "ok" {
		t.Fatalf("%s: GET / = %d %q %v, want 200 ok\n%s", h.Name, code, body, err, h.ErrorLog())
	}
	sockGone := func() bool { _, err := h.Exec("test -S " + h.Paths.FPMSock); return err != nil }

	h.StopFPM("KILL")
	if code := h.Curl("/"); code != 502 {
		t.Errorf("%s: after StopFPM(KILL) GET / = %d, want 502", h.Name, code)
	}
	want := "connect() to unix:" + h.Paths.FPMSock + " failed (111: Connection refused) while connecting to upstream"
	if log := h.ErrorLog(); !strings.Contains(log, want) {
		t.Errorf("%s: error log lacks %q:\n%s", h.Name, want, log)
	}
	if sockGone() {
		t.Errorf("%s: SIGKILL should leave %s behind", h.Name, h.Paths.FPMSock)
	}

	h.StartFPM()
	if code := h.Curl("/"); code != 200 {
		t.Errorf("%s: after StartFPM GET / = %d, want 200", h.Name, code)
	}
	h.StopFPM("TERM")
	if code := h.Curl("/"); code != 502 {
		t.Errorf("%s: after StopFPM(TERM) GET / = %d, want 502", h.Name, code)
	}
	want = "[crit]"
	want2 := "connect() to unix:" + h.Paths.FPMSock + " failed (2: No such file or directory) while connecting to upstream"
	if log := h.ErrorLog(); !strings.Contains(log, want2) || !strings.Contains(log, want) {
		t.Errorf("%s: error log lacks [crit] %q:\n%s", h.Name, want2, log)
	}
	if !sockGone() {
		t.Errorf("%s: a clean stop should remove %s", h.Name, h.Paths.FPMSock)
	}
	h.StartFPM()
}

func checkBaota(t *testing.T, h *Host) {
	if out := h.MustExec("ls -A /etc/nginx"); out != "" {
		t.Errorf("/etc/nginx should be empty on a panel host, has:\n%s", out)
	}
	ps := h.MustExec("ps -o args= -p " + strconv.Itoa(h.PID("nginx")))
	if want := "nginx: master process /www/server/nginx/sbin/nginx -c /www/server/nginx/conf/nginx.conf"; strings.TrimSpace(ps) != want {
		t.Errorf("nginx master args = %q, want %q", ps, want)
	}
	if out, err := h.Exec("nginx -T"); err == nil || !strings.Contains(out, `open() "/etc/nginx/nginx.conf" failed`) {
		t.Errorf("plain nginx -T should fail on a panel host: %v\n%s", err, out)
	}
	if out := h.MustExec("/www/server/nginx/sbin/nginx -T -c /www/server/nginx/conf/nginx.conf 2>&1"); !strings.Contains(out, "fastcgi_pass  unix:/tmp/php-cgi-82.sock;") ||
		!strings.Contains(out, "include enable-php-82.conf;") {
		t.Errorf("panel nginx -T lacks the PHP include:\n%s", out)
	}
	if out := h.MustExec("ss -lxp"); !strings.Contains(out, "/tmp/php-cgi-82.sock") || !strings.Contains(out, `"php-fpm"`) {
		t.Errorf("php-fpm should listen on /tmp/php-cgi-82.sock:\n%s", out)
	}
	if out := h.MustExec("id -un 1>/dev/null; stat -c '%U %a' /tmp/php-cgi-82.sock; ps -o user= -C php-fpm | sort -u"); !strings.Contains(out, "www 666") || !strings.Contains(out, "www") {
		t.Errorf("socket/user not www:\n%s", out)
	}
	if code := h.Curl("/"); code != 200 {
		t.Errorf("GET / = %d after restart", code)
	}
	for _, p := range []string{"/www/server/panel/class", "/www/server/panel/data/port.pl", "/etc/init.d/php-fpm-82",
		"/www/wwwlogs/lab.test.error.log", "/www/server/php/82/var/log/php-fpm.log"} {
		if _, err := h.Exec("test -e " + p); err != nil {
			t.Errorf("%s missing", p)
		}
	}
	// The panel's own service script manages the same php-fpm.
	h.MustExec("/etc/init.d/php-fpm-82 stop")
	if err := h.waitFor("php-fpm to stop", 10*time.Second, func() (bool, error) { return h.PID("php-fpm") == 0, nil }); err != nil {
		t.Fatal(err)
	}
	h.MustExec("/etc/init.d/php-fpm-82 start")
	if code := h.Curl("/"); code != 200 {
		t.Errorf("GET / = %d after /etc/init.d/php-fpm-82 start", code)
	}
}
