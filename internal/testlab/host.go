package testlab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// HostSpec describes one lab host.
type HostSpec struct {
	Name   string // host name (`hostname` inside); default "hostN"
	Layout string // "debian" (default), "baota" or "aapanel" (baota with the English panel config)
	// Site is the nginx server{} config of the site; "" is the layout's
	// stock PHP site (Debian's default site with its PHP block enabled, or
	// the panel's site template with `include enable-php-82.conf;`).
	Site string
	// SiteName names the site file: debian sites-available/SiteName
	// (default "default"), baota vhost/nginx/SiteName.conf, logs and
	// docroot (default "lab.test").
	SiteName string
	// FPMPool is the pool config ("[www]\n..."); "" is the stock pool
	// (debian pool.d/www.conf; baota: the panel's pool in php-fpm.conf).
	FPMPool string
	NoFPM   bool // do not start php-fpm
	NoNginx bool // do not start nginx
	Docker  bool // a private /var/lib/docker, for StartDocker
	Backend *BackendSpec
	// Files are written inside the host (path -> content) before any
	// daemon starts, e.g. PHP pages or nginx includes.
	Files map[string]string
}

// BackendSpec starts labbackend inside the host.
type BackendSpec struct {
	Mode string   // ok, slow, bigheader, close, reset, garbage, tls
	Port int      // listens on 127.0.0.1:Port; 0 = 8080
	Args []string // more labbackend flags: "-delay=5s", "-header-kb=64", "-unix=/run/app.sock", "-listen=0.0.0.0:8080", "-status=502", "-tls"
}

// Host is a running lab host.
type Host struct {
	Name       string
	Addr       string // 10.231.x.y, reachable from the test process
	SSHPort    int    // 22
	KnownHosts string // known_hosts file naming Addr with the host's key
	ClientKey  string // private key file authorised for root
	HostKey    ssh.PublicKey
	Layout     string // "debian", "baota" or "aapanel"
	SiteName   string
	Paths      *Paths
	NetNS      string        // the network namespace (ip netns), bgwlab-N
	Dir        string        // staging dir; Dir+"/root"+P is the host's private P
	Startup    time.Duration // how long StartHost took for this host

	t testing.TB // the test that helpers fail; see For
	*hostState
}

// hostState is shared by a Host and its views made by For.
type hostState struct {
	owner   testing.TB // the test whose cleanup stops the host
	slot    int
	initPID int // the host's PID 1, as the machine sees it
	initCmd *exec.Cmd
	done    chan struct{} // closed when the host's PID 1 is gone
	binds   []string

	hostKeyPEM []byte
	hostKeyPub string
	clientPub  string

	mu       sync.Mutex
	undo     []func() error // teardown steps, run in reverse
	stopOnce sync.Once
	seq      int
}

// For returns a view of the host whose helpers (MustExec, StopFPM, ...)
// report to t: use it in a subtest, since a failing helper must stop the
// goroutine of the test it belongs to. The host still stops with the test
// that started it.
func (h *Host) For(t testing.TB) *Host {
	v := *h
	v.t = t
	return &v
}

var hostSeq struct {
	sync.Mutex
	n int
}

// hostEnv is the environment of everything run inside a host: nothing of
// the test process (proxies, GOFLAGS, ...) leaks in.
var hostEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "LANG=C.UTF-8", "TERM=dumb",
}

// requiredTools are checked by RequireLab.
var requiredTools = []string{stockNginx, debianFPM, SSHDPath, "ip", "unshare", "nsenter", "setsid",
	"iptables", "curl", "go"}

// RequireLab skips the test unless lab hosts can run here (root, the
// Debian packages); under CI (env CI set) missing packages fail it instead.
func RequireLab(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("testlab hosts need root (network and mount namespaces)")
	}
	requireTools(t, "nginx php8.2-fpm openssh-server openssh-client iproute2 iptables curl util-linux golang", requiredTools...)
}

// StartHost brings up one host and tears it down when the test ends.
func StartHost(t testing.TB, spec HostSpec) *Host {
	t.Helper()
	RequireLab(t)
	h, err := startHost(t, spec)
	if err != nil {
		t.Fatalf("testlab: %v", err)
	}
	t.Cleanup(h.Stop)
	return h
}

// StartHosts brings up several hosts at once and tears them down together,
// in parallel, when the test ends.
func StartHosts(t testing.TB, specs ...HostSpec) []*Host {
	t.Helper()
	RequireLab(t)
	hosts := make([]*Host, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hosts[i], errs[i] = startHost(t, spec)
		}()
	}
	wg.Wait()
	t.Cleanup(func() { StopAll(hosts...) })
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("testlab: %v", err)
	}
	return hosts
}

// StopAll stops hosts in parallel (nil entries are skipped).
func StopAll(hosts ...*Host) {
	var wg sync.WaitGroup
	for _, h := range hosts {
		if h != nil {
			wg.Add(1)
			go func() { defer wg.Done(); h.Stop() }()
		}
	}
	wg.Wait()
}

func startHost(t testing.TB, spec HostSpec) (_ *Host, err error) {
	t0 := time.Now()
	hostSeq.Lock()
	hostSeq.n++
	seq := hostSeq.n
	hostSeq.Unlock()
	if spec.Name == "" {
		spec.Name = "host" + strconv.Itoa(seq)
	}
	switch spec.Layout {
	case "":
		spec.Layout = "debian"
	case "debian", "baota", "aapanel":
	default:
		return nil, fmt.Errorf("unknown layout %q", spec.Layout)
	}
	if spec.SiteName == "" {
		spec.SiteName = "default"
		if spec.Layout != "debian" {
			spec.SiteName = "lab.test"
		}
	}
	if spec.Site == "" {
		spec.Site = debianSite
		if spec.Layout != "debian" {
			spec.Site = baotaSite(spec.SiteName)
		}
	}
	paths := layoutPaths(spec.Layout, spec.SiteName, spec.FPMPool)
	h := &Host{
		t: t, Name: spec.Name, Layout: spec.Layout, SiteName: spec.SiteName, SSHPort: 22, Paths: &paths,
		hostState: &hostState{owner: t, done: make(chan struct{})},
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("host %s: %w", spec.Name, err)
			if terr := h.teardown(); terr != nil {
				err = errors.Join(err, terr)
			}
		}
	}()

	var phases []string
	mark := func(name string) {
		phases = append(phases, fmt.Sprintf("%s %v", name, time.Since(t0).Round(time.Millisecond)))
	}
	labBin, release, err := acquireLabBinary()
	if err != nil {
		return nil, err
	}
	h.addUndo(func() error { release(); return nil })
	mark("build")

	sweepStale()
	n, slotLock, err := allocSlot()
	if err != nil {
		return nil, err
	}
	h.slot, h.Addr, h.NetNS = n, slotAddr(n), netnsBase+strconv.Itoa(n)
	h.addUndo(func() error { releaseLock(slotLock); return nil })

	if h.Dir, err = os.MkdirTemp("", "bgwlab-"+sanitize(spec.Name)+"-"); err != nil {
		return nil, err
	}
	h.addUndo(func() error { return os.RemoveAll(h.Dir) })
	// Named in the slot's lock file, for sweepStale after a crash.
	if _, err := slotLock.WriteString(h.Dir + "\n"); err != nil {
		return nil, err
	}
	if err := h.makeKeys(); err != nil {
		return nil, err
	}

	s := &stager{root: filepath.Join(h.Dir, "root")}
	stageCommon(s, h, labBin)
	h.binds = append([]string{}, commonBinds...)
	// A private /etc/hosts, so a test can move a name (stale DNS) without touching the machine's.
	if etcHosts, err := os.ReadFile("/etc/hosts"); err == nil {
		s.write("/etc/hosts", string(etcHosts)+"127.0.1.1\t"+h.Name+"\n", 0o644, 0, 0)
		h.binds = append(h.binds, "/etc/hosts")
	}
	ids := freeIDs(3)
	if h.Layout == "debian" {
		stageDebian(s, h, spec)
		h.binds = append(h.binds, "/var/www")
	} else {
		if err := h.claimWWW(); err != nil {
			return nil, err
		}
		stageBaota(s, h, spec, account{uid: ids[2], gid: ids[2]})
		h.binds = append(h.binds, "/www", "/etc/init.d")
	}
	h.binds = append(h.binds, stageAccounts(s, h, ids[0], ids[1])...)
	if spec.Docker {
		// The mount point must exist on the machine; the engine's data stays private.
		if err := os.MkdirAll("/var/lib/docker", 0o711); err != nil {
			return nil, err
		}
		s.mkdir("/var/lib/docker", 0o711, 0, 0)
		h.binds = append(h.binds, "/var/lib/docker")
	}
	if s.err != nil {
		return nil, fmt.Errorf("staging: %w", s.err)
	}

	mark("files")
	if err := setupNetwork(n, h.NetNS, h.Addr); err != nil {
		return nil, err
	}
	h.addUndo(func() error { return teardownNetwork(n, h.NetNS) })

	mark("net")
	if err := h.startInit(labBin); err != nil {
		return nil, err
	}
	h.addUndo(h.killInit)

	mark("init")
	for _, p := range sortedKeys(spec.Files) {
		if err := h.writeFile(p, spec.Files[p]); err != nil {
			return nil, err
		}
	}
	// The daemons start independently; each waits for its own readiness.
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var errs []error
	start := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
		}()
	}
	start(h.startSSHD)
	if !spec.NoFPM {
		start(h.startFPM)
	}
	if !spec.NoNginx {
		start(h.startNginx)
	}
	if b := spec.Backend; b != nil {
		start(func() error { return h.startBackend(b.Mode, b.Port, b.Args...) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	h.Startup = time.Since(t0)
	t.Logf("testlab: host %s (%s, %s) up in %v (cumulative: %s)", h.Name, h.Layout, h.Addr,
		h.Startup.Round(time.Millisecond), strings.Join(phases, ", "))
	return h, nil
}

func (h *Host) addUndo(f func() error) {
	h.mu.Lock()
	h.undo = append(h.undo, f)
	h.mu.Unlock()
}

// Stop tears the host down: its PID 1 is killed (the kernel then kills
// everything in the host), then its network and files are removed. Safe
// to call more than once; StartHost registers it with t.Cleanup.
func (h *Host) Stop() {
	h.stopOnce.Do(func() {
		if h.owner.Failed() {
			h.dumpLogs()
		}
		t0 := time.Now()
		if err := h.teardown(); err != nil {
			h.owner.Errorf("testlab: stop host %s: %v", h.Name, err)
		}
		h.owner.Logf("testlab: host %s stopped in %v", h.Name, time.Since(t0).Round(time.Millisecond))
	})
}

func (h *Host) teardown() error {
	h.mu.Lock()
	undo := h.undo
	h.undo = nil
	h.mu.Unlock()
	var errs []error
	for i := len(undo) - 1; i >= 0; i-- {
		if err := undo[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// dumpLogs shows the host's logs in the failed test's output.
func (h *Host) dumpLogs() {
	for _, p := range []string{h.Paths.ErrorLog, h.Paths.FPMLog, h.Paths.SSHDLog, h.Paths.BackendLog} {
		if b, err := os.ReadFile(h.stagedPath(p)); err == nil && len(b) > 0 {
			h.owner.Logf("testlab: %s %s:\n%s", h.Name, p, tail(string(b), 30))
		}
	}
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// stagedPath is where the machine sees the host's private path p ("" when
// p is not on a private mount).
func (h *Host) stagedPath(p string) string {
	for _, b := range h.binds {
		if p == b || strings.HasPrefix(p, b+"/") {
			return filepath.Join(h.Dir, "root", p)
		}
	}
	return ""
}

func (h *Host) makeKeys() error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "root@"+h.Name)
	if err != nil {
		return err
	}
	if h.HostKey, err = ssh.NewPublicKey(pub); err != nil {
		return err
	}
	h.hostKeyPEM = pem.EncodeToMemory(blk)
	h.hostKeyPub = string(ssh.MarshalAuthorizedKey(h.HostKey))

	cpub, cpriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	if blk, err = ssh.MarshalPrivateKey(cpriv, "testlab-client"); err != nil {
		return err
	}
	sshPub, err := ssh.NewPublicKey(cpub)
	if err != nil {
		return err
	}
	h.clientPub = string(ssh.MarshalAuthorizedKey(sshPub))
	client := filepath.Join(h.Dir, "client")
	if err := os.Mkdir(client, 0o700); err != nil {
		return err
	}
	h.ClientKey = filepath.Join(client, "id_ed25519")
	h.KnownHosts = filepath.Join(client, "known_hosts")
	if err := os.WriteFile(h.ClientKey, pem.EncodeToMemory(blk), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(h.ClientKey+".pub", []byte(h.clientPub), 0o644); err != nil {
		return err
	}
	return os.WriteFile(h.KnownHosts, []byte(h.Addr+" "+h.hostKeyPub), 0o600)
}

// claimWWW makes /www exist on the machine as an (empty) mount point for
// panel hosts. A shared flock is held while any panel host of any process
// lives; the last one out removes /www if it is still empty (a directory
// that is a mount point in another namespace must not be removed: the
// kernel would detach that host's mount).
func (h *Host) claimWWW() error {
	lk, err := lockWait(filepath.Join(lockDir, "www.lock"), syscall.LOCK_SH)
	if err != nil {
		return err
	}
	if err := os.MkdirAll("/www", 0o755); err != nil {
		lk.Close()
		return err
	}
	h.addUndo(func() error {
		lk.Close()
		ex, err := tryLock(filepath.Join(lockDir, "www.lock"), syscall.LOCK_EX)
		if err != nil || ex == nil {
			return err // another panel host still uses it
		}
		_ = os.Remove("/www") // only succeeds while empty
		releaseLock(ex)
		return nil
	})
	return nil
}

// startInit runs the host's PID 1 in fresh mount, PID and UTS namespaces
// inside the host's netns, and waits until it has mounted the private
// trees.
func (h *Host) startInit(labBin string) error {
	// /tmp last: the staging dir itself may live under /tmp.
	binds := append([]string{}, h.binds...)
	sort.SliceStable(binds, func(i, j int) bool {
		return !strings.HasPrefix(h.Dir, binds[i]+"/") && strings.HasPrefix(h.Dir, binds[j]+"/")
	})
	h.binds = binds
	type bind struct {
		Src string `json:"src"`
		Dst string `json:"dst"`
	}
	cfg := struct {
		Hostname string `json:"hostname"`
		Binds    []bind `json:"binds"`
	}{Hostname: h.Name}
	for _, b := range binds {
		cfg.Binds = append(cfg.Binds, bind{Src: filepath.Join(h.Dir, "root", b), Dst: b})
	}
	// The same binary under another name, so that `ps -C labbackend` and
	// pkill never match the host's PID 1.
	initBin := filepath.Join(h.Dir, "labinit")
	if err := os.Link(labBin, initBin); err != nil {
		if err := copyFile(labBin, initBin, 0o755); err != nil {
			return err
		}
	}
	js, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(h.Dir, "init.json")
	if err := os.WriteFile(cfgPath, js, 0o600); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(h.Dir, "init.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("ip", "netns", "exec", h.NetNS,
		"unshare", "--mount", "--pid", "--fork", "--mount-proc", "--uts", "--kill-child=SIGKILL",
		initBin, "init", cfgPath)
	cmd.Dir, cmd.Env, cmd.Stderr = "/", hostEnv, logf
	// If the test binary dies, unshare gets SIGKILL, its child (the host's
	// PID 1) gets SIGKILL via --kill-child, and the kernel kills the rest.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	h.initCmd = cmd
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("unexpected %q", line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(h.done)
	}()
	select {
	case err = <-ready:
	case <-time.After(20 * time.Second):
		err = errors.New("timeout")
	}
	if err == nil {
		children, rerr := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		h.initPID, _ = strconv.Atoi(strings.TrimSpace(string(children)))
		if rerr != nil || h.initPID == 0 {
			err = fmt.Errorf("cannot find unshare's child: %v %q", rerr, children)
		}
	}
	if err != nil {
		_ = cmd.Process.Kill()
		<-h.done
		b, _ := os.ReadFile(logf.Name())
		return fmt.Errorf("host init did not come up: %v\n%s", err, b)
	}
	return nil
}

// killInit kills the host's PID 1, which makes the kernel kill every
// process of the host, and waits for it.
func (h *Host) killInit() error {
	if h.initPID > 0 {
		_ = syscall.Kill(h.initPID, syscall.SIGKILL)
	} else {
		_ = h.initCmd.Process.Kill()
	}
	select {
	case <-h.done:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("host PID 1 (pid %d) still there 30s after SIGKILL", h.initPID)
	}
}

func sanitize(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(s, "_")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func statOwner(fi fs.FileInfo) ([2]int, bool) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return [2]int{int(st.Uid), int(st.Gid)}, true
	}
	return [2]int{}, false
}

// ---- running things inside the host ----

// nsRun runs argv in all of the host's namespaces (mount, UTS, PID, net)
// and returns its combined output. Output goes through a file, not a pipe:
// a daemon started by the command may keep its stdio open for ever.
func (h *Host) nsRun(timeout time.Duration, stdin io.Reader, argv ...string) (string, error) {
	select {
	case <-h.done:
		return "", fmt.Errorf("host %s is not running", h.Name)
	default:
	}
	outf, err := os.CreateTemp(h.Dir, "exec-*.out")
	if err != nil {
		return "", err
	}
	defer os.Remove(outf.Name())
	defer outf.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := append([]string{"-t", strconv.Itoa(h.initPID), "-m", "-u", "-p", "-n", "--"}, argv...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Dir, cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = "/", hostEnv, stdin, outf, outf
	// nsenter's child (inside the host) shares its process group: on
	// timeout the whole group goes, not only nsenter.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	runErr := cmd.Run()
	b, err := os.ReadFile(outf.Name())
	if err != nil {
		return "", err
	}
	if ctx.Err() != nil {
		runErr = fmt.Errorf("timed out after %v: %w", timeout, runErr)
	}
	return string(b), runErr
}

// Exec runs `sh -c cmd` inside the host (as root, like a command over SSH)
// and returns its combined stdout and stderr; err is non-nil on a non-zero
// exit.
func (h *Host) Exec(cmd string) (string, error) {
	return h.nsRun(2*time.Minute, nil, "/bin/sh", "-c", cmd)
}

// MustExec is Exec that fails the test on error.
func (h *Host) MustExec(cmd string) string {
	h.t.Helper()
	out, err := h.Exec(cmd)
	if err != nil {
		h.t.Fatalf("%s: %s: %v\n%s", h.Name, cmd, err, out)
	}
	return out
}

// WriteFile writes content to path inside the host (mode 0644, parent
// directories created), failing the test on error.
func (h *Host) WriteFile(path, content string) {
	h.t.Helper()
	if err := h.writeFile(path, content); err != nil {
		h.t.Fatal(err)
	}
}

func (h *Host) writeFile(path, content string) error {
	out, err := h.nsRun(30*time.Second, strings.NewReader(content), "/bin/sh", "-c",
		`mkdir -p "$(dirname "$1")" && cat > "$1"`, "sh", path)
	if err != nil {
		return fmt.Errorf("%s: write %s: %v: %s", h.Name, path, err, out)
	}
	return nil
}

// ReadFile returns the content of path inside the host ("" if missing).
func (h *Host) ReadFile(path string) string {
	out, err := h.nsRun(30*time.Second, nil, "cat", path)
	if err != nil {
		return ""
	}
	return out
}

// ErrorLog is the site's nginx error log.
func (h *Host) ErrorLog() string { return h.ReadFile(h.Paths.ErrorLog) }

// Curl makes a real HTTP request from the machine to the host's nginx
// (path "/x" means http://ADDR/x; a full URL must point at a lab address)
// and returns the status code, 0 when no HTTP answer came. opts are curl
// options, e.g. "-H", "Host: a.test", "--data-binary", "@/path".
func (h *Host) Curl(path string, opts ...string) int {
	code, _, err := h.CurlFull(path, opts...)
	if err != nil {
		h.t.Logf("testlab: curl %s on %s: %v", path, h.Name, err)
	}
	return code
}

// CurlFull is Curl returning the body and curl's error too.
func (h *Host) CurlFull(path string, opts ...string) (int, string, error) {
	url := path
	if strings.HasPrefix(path, "/") {
		url = "http://" + h.Addr + path
	} else if !labURL(url) {
		return 0, "", fmt.Errorf("testlab: refusing to fetch %q: not a lab address", url)
	}
	body, err := os.CreateTemp(h.Dir, "curl-*.body")
	if err != nil {
		return 0, "", err
	}
	defer os.Remove(body.Name())
	body.Close()
	// -q first: no ~/.curlrc; no proxy, whatever the environment says.
	args := append([]string{"-q", "-sS", "--noproxy", "*", "-o", body.Name(), "-w", "%{http_code}",
		"--max-time", "120"}, opts...)
	args = append(args, url)
	cmd := exec.Command("curl", args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	b, _ := os.ReadFile(body.Name())
	if err != nil {
		err = fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return code, string(b), err
}

var urlHostRE = regexp.MustCompile(`^[a-z]+://(?:[^@/]*@)?(\[[^\]]*\]|[^:/]*)`)

func labURL(u string) bool {
	m := urlHostRE.FindStringSubmatch(u)
	if m == nil {
		return false
	}
	ip := net.ParseIP(strings.Trim(m[1], "[]"))
	_, lab, _ := net.ParseCIDR(LabNet)
	return ip != nil && (ip.IsLoopback() || lab.Contains(ip))
}

// ---- processes of the host ----

// Proc is a process of the host, with pids as seen inside it.
type Proc struct {
	PID, PPID int
	Comm      string // the executable's name (ps -o comm)
	Args      string // ps -o args
	rootPID   int    // pid as the machine sees it (for signalling)
	rootPPID  int
}

// Processes lists the host's processes (read from the machine's /proc,
// filtered by the host's PID namespace).
func (h *Host) Processes() []Proc {
	nsLink, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", h.initPID))
	if err != nil {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	var procs []Proc
	byRoot := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err != nil || l != nsLink {
			continue
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		p := Proc{rootPID: pid}
		for _, line := range strings.Split(string(st), "\n") {
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimSpace(v)
			switch k {
			case "Name":
				p.Comm = v
			case "PPid":
				p.rootPPID, _ = strconv.Atoi(v)
			case "NSpid":
				f := strings.Fields(v)
				p.PID, _ = strconv.Atoi(f[len(f)-1])
			}
		}
		if p.PID == 0 {
			continue // a process entering the host right now (nsenter)
		}
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		p.Args = strings.TrimSpace(strings.ReplaceAll(string(cl), "\x00", " "))
		byRoot[pid] = p.PID
		procs = append(procs, p)
	}
	for i := range procs {
		procs[i].PPID = byRoot[procs[i].rootPPID]
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })
	return procs
}

// procMatch says whether p belongs to the daemon called name.
func procMatch(p Proc, name string) bool {
	switch name {
	case "php-fpm", "fpm":
		return strings.HasPrefix(p.Comm, "php-fpm")
	case "backend", "labbackend":
		return p.Comm == "labbackend"
	}
	return p.Comm == name
}

// daemon returns the master (the process of that name whose parent is not
// one of its kind) and all processes of the daemon.
func (h *Host) daemon(name string) (master *Proc, all []Proc) {
	procs := h.Processes()
	kind := map[int]bool{}
	for _, p := range procs {
		if p.PID != 1 && procMatch(p, name) {
			kind[p.PID] = true
		}
	}
	for _, p := range procs {
		if !kind[p.PID] {
			continue
		}
		all = append(all, p)
		if master == nil && !kind[p.PPID] {
			pp := p
			master = &pp
		}
	}
	return master, all
}

// PID is the pid (as seen inside the host) of a daemon's master process:
// "sshd", "nginx", "php-fpm", "backend", "init" (1), or any other command
// name; 0 when it is not running.
func (h *Host) PID(name string) int {
	if name == "init" {
		return 1
	}
	if m, _ := h.daemon(name); m != nil {
		return m.PID
	}
	return 0
}

// waitFor polls cond until it holds, the host dies, or limit passes.
func (h *Host) waitFor(what string, limit time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	delay := 2 * time.Millisecond
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", h.Name, what, err)
		}
		select {
		case <-h.done:
			return fmt.Errorf("%s: %s: host died", h.Name, what)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s: not after %v", h.Name, what, limit)
		}
		time.Sleep(delay)
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}
