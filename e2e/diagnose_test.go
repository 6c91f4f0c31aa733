// Package e2e brings up real broken hosts (network namespaces with their own sshd,
// nginx, php-fpm and backends), makes nginx answer 502/504/413 for real, runs the
// badgateway binary's `diagnose` over SSH and checks the cause it names first.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/badgateway/badgateway/internal/testlab"
	"github.com/badgateway/badgateway/knowledge"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bgw-e2e-*")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "badgateway")
	build := exec.Command("go", "build", "-o", binary, "..")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building badgateway:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// diagnose runs `badgateway diagnose` against h over SSH, as a user would.
func diagnose(t *testing.T, h *testlab.Host, args ...string) (knowledge.Diagnosis, string) {
	t.Helper()
	d, text, err := diagnoseAs(t, h, "root", false, args...)
	if err != nil {
		t.Fatal(err)
	}
	return d, text
}

// diagnoseAs logs in as user, through `sudo -n` when sudo is set; err is
// the command's failure with its stderr.
func diagnoseAs(t *testing.T, h *testlab.Host, user string, sudo bool, args ...string) (knowledge.Diagnosis, string, error) {
	t.Helper()
	cfg := labConfig(t, h, user, sudo)
	cmd := exec.Command(binary, append([]string{"diagnose", h.Name, "--config", cfg, "--format", "json"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return knowledge.Diagnosis{}, "", fmt.Errorf("badgateway diagnose: %v: %s", err, stderr.String())
	}
	var d knowledge.Diagnosis
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("diagnose JSON: %v\n%s", err, out)
	}
	// The text reply is rendered from the same diagnosis: one SSH run per check.
	var text bytes.Buffer
	if err := knowledge.RenderText(&text, d); err != nil {
		t.Fatal(err)
	}
	return d, text.String(), nil
}

// labConfig is an inventory holding h alone, logged in to as user.
func labConfig(t *testing.T, h *testlab.Host, user string, sudo bool) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	body := fmt.Sprintf("ssh:\n  user: %s\n  sudo: %t\n  identity_files: [%s]\n  known_hosts: %s\nhosts:\n  - name: %s\n    address: %s\n    labels: [lab]\n",
		user, sudo, h.ClientKey, h.KnownHosts, h.Name, h.Addr)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// scenario is one real fault.
type scenario struct {
	name string
	how  string // how the fault is made, for whoever reads a failure
	spec testlab.HostSpec
	// fault breaks the host; request then makes nginx answer and returns the status.
	fault   func(t *testing.T, h *testlab.Host)
	request func(t *testing.T, h *testlab.Host) int
	status  int // what nginx must really answer (0: no HTTP answer at all)
	top     string
	check   func(t *testing.T, d knowledge.Diagnosis, text string)
}

func get(path string) func(t *testing.T, h *testlab.Host) int {
	return func(t *testing.T, h *testlab.Host) int { return h.Curl(path) }
}

const proxySite = `server {
    listen 80 default_server;
    server_name lab.test;
    location / {
        proxy_pass http://127.0.0.1:8080;
        proxy_connect_timeout 2s;
        proxy_read_timeout 2s;
        %s
    }
}
`

func proxy(extra string) string { return fmt.Sprintf(proxySite, extra) }

const phpPage = `<?php usleep((int)($_GET["ms"] ?? 0) * 1000); echo "ok";`

var scenarios = []scenario{
	{
		name: "healthy", how: "nothing broken: nginx and php-fpm answer",
		request: get("/index.php"), status: 200,
		check: func(t *testing.T, d knowledge.Diagnosis, _ string) {
			if d.Verdict != knowledge.VerdictNoEvidence || len(d.Causes) != 0 {
				t.Errorf("healthy host: verdict %s, causes %v", d.Verdict, ids(d))
			}
		},
	},
	{
		name: "php-fpm stopped", how: "SIGTERM to the php-fpm master: it stops cleanly and removes its socket",
		fault:   func(t *testing.T, h *testlab.Host) { h.StopFPM("TERM") },
		request: get("/index.php"), status: 502, top: "upstream_down",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantExplained(t, d, "upstream_socket_missing", "upstream_down")
			wantFix(t, d, "php8.2-fpm")
		},
	},
	{
		name: "php-fpm killed", how: "SIGKILL to the php-fpm master and workers: the socket file stays behind",
		fault:   func(t *testing.T, h *testlab.Host) { h.StopFPM("KILL") },
		request: get("/index.php"), status: 502, top: "upstream_down",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantEvidence(t, d, "upstream_down", "exists but nothing listens")
		},
	},
	{
		name: "backend stopped", how: "proxy_pass to a backend on 127.0.0.1:8080 that was stopped",
		spec:    testlab.HostSpec{Site: proxy(""), Backend: &testlab.BackendSpec{Mode: "ok"}},
		fault:   func(t *testing.T, h *testlab.Host) { h.StopBackend() },
		request: get("/"), status: 502, top: "upstream_down",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantEvidence(t, d, "upstream_down", "nothing listens on 127.0.0.1:8080")
		},
	},
	{
		name: "backend on the wrong port", how: "nginx proxies to 127.0.0.1:8080; the backend listens on 8081",
		spec:    testlab.HostSpec{Site: proxy(""), Backend: &testlab.BackendSpec{Mode: "ok", Port: 8081}},
		request: get("/"), status: 502, top: "upstream_wrong_address",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantEvidence(t, d, "upstream_wrong_address", "127.0.0.1:8081")
		},
	},
	{
		name: "wrong socket path", how: "fastcgi_pass to /run/php/php7.4-fpm.sock while the pool listens on php8.2-fpm.sock",
		spec: testlab.HostSpec{Site: `server {
    listen 80 default_server;
    root /var/www/html;
    index index.php;
    location ~ \.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:/run/php/php7.4-fpm.sock;
    }
}
`},
		request: get("/index.php"), status: 502, top: "upstream_wrong_address",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantEvidence(t, d, "upstream_wrong_address", "/run/php/php8.2-fpm.sock")
		},
	},
	{
		name: "socket permissions", how: "the pool's socket is root:root 0660; nginx workers run as www-data",
		spec: testlab.HostSpec{FPMPool: `[www]
user = www-data
group = www-data
listen = /run/php/php8.2-fpm.sock
listen.owner = root
listen.group = root
listen.mode = 0660
pm = dynamic
pm.max_children = 5
pm.start_servers = 2
pm.min_spare_servers = 1
pm.max_spare_servers = 3
`},
		request: get("/index.php"), status: 502, top: "upstream_permission_denied",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantEvidence(t, d, "upstream_permission_denied", "root:root with mode 0660; nginx workers run as www-data")
			wantFix(t, d, "listen.owner = www-data")
		},
	},
	{
		name: "FastCGI to an HTTP server", how: "fastcgi_pass at a server that answers HTTP/1.1 400 at once",
		spec: testlab.HostSpec{Site: `server {
    listen 80 default_server;
    root /var/www/html;
    location ~ \.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass 127.0.0.1:8080;
    }
}
`, Backend: &testlab.BackendSpec{Mode: "garbage"}},
		request: get("/index.php"), status: 502, top: "protocol_mismatch",
	},
	{
		name: "TLS to a plain-HTTP port", how: "proxy_pass https:// at a server that answers plain HTTP",
		spec: testlab.HostSpec{Site: strings.Replace(proxy(""), "http://127.0.0.1:8080", "https://127.0.0.1:8080", 1),
			Backend: &testlab.BackendSpec{Mode: "garbage"}},
		request: get("/"), status: 502, top: "protocol_mismatch",
	},
	{
		name: "too big header", how: "the backend sends a 16 KB header; proxy_buffer_size is 4k",
		spec:    testlab.HostSpec{Site: proxy("proxy_buffer_size 4k;"), Backend: &testlab.BackendSpec{Mode: "bigheader", Args: []string{"-header-kb=16"}}},
		request: get("/"), status: 502, top: "header_too_big",
	},
	{
		name: "upstream timeout", how: "the backend answers after 5 s; proxy_read_timeout is 2 s",
		spec:    testlab.HostSpec{Site: proxy(""), Backend: &testlab.BackendSpec{Mode: "slow", Args: []string{"-delay=5s"}}},
		request: get("/"), status: 504, top: "upstream_timeout",
	},
	{
		name: "premature close", how: "the backend reads the request and closes without answering",
		spec:    testlab.HostSpec{Site: proxy(""), Backend: &testlab.BackendSpec{Mode: "close"}},
		request: get("/"), status: 502, top: "upstream_closed_early",
	},
	{
		name: "connect timeout through a dropping firewall", how: "iptables DROP of tcp/8080 inside the host; proxy_connect_timeout 2s",
		spec: testlab.HostSpec{Site: proxy(""), Backend: &testlab.BackendSpec{Mode: "ok"}},
		fault: func(t *testing.T, h *testlab.Host) {
			h.Iptables("-A", "OUTPUT", "-p", "tcp", "--dport", "8080", "-j", "DROP")
		},
		request: get("/"), status: 504, top: "upstream_connect_timeout",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantEvidence(t, d, "upstream_connect_timeout", "timed out after 3 s")
		},
	},
	{
		name: "missing resolver", how: "proxy_pass with a variable host name and no resolver",
		spec: testlab.HostSpec{Site: `server {
    listen 80 default_server;
    location / {
        set $backend "backend.lab.internal";
        proxy_pass http://$backend:8080;
    }
}
`},
		request: get("/"), status: 502, top: "resolver_missing",
	},
	{
		name: "no live upstreams", how: "an upstream group of two stopped servers; after both fail, nginx marks the group down",
		spec: testlab.HostSpec{Site: `upstream app {
    zone app 64k; # failure state shared by all workers
    server 127.0.0.1:8090 max_fails=1 fail_timeout=60s;
    server 127.0.0.1:8091 max_fails=1 fail_timeout=60s;
}
server {
    listen 80 default_server;
    location / { proxy_pass http://app; }
}
`},
		request: func(t *testing.T, h *testlab.Host) int {
			h.Curl("/")
			h.Curl("/")
			return h.Curl("/")
		},
		status: 502, top: "upstream_down",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantExplained(t, d, "no_live_upstreams", "upstream_down")
		},
	},
	{
		name: "stale DNS", how: "nginx resolved app.lab to 127.0.0.2 at start; the backend moved to 127.0.0.3 and /etc/hosts says so, without a reload",
		spec: testlab.HostSpec{
			Site:    strings.Replace(proxy(""), "http://127.0.0.1:8080", "http://app.lab:8080", 1),
			Files:   map[string]string{"/etc/hosts": "127.0.0.1 localhost\n127.0.0.2 app.lab\n"},
			Backend: &testlab.BackendSpec{Mode: "ok", Args: []string{"-listen=127.0.0.3:8080"}},
		},
		fault: func(t *testing.T, h *testlab.Host) {
			h.WriteFile("/etc/hosts", "127.0.0.1 localhost\n127.0.0.3 app.lab\n")
		},
		request: get("/"), status: 502, top: "upstream_stale_dns",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantEvidence(t, d, "upstream_stale_dns", "app.lab now resolves to 127.0.0.3")
			wantExplained(t, d, "upstream_down", "upstream_stale_dns")
		},
	},
	{
		name: "body too large", how: "a 64 KB POST; client_max_body_size is 1k",
		spec: testlab.HostSpec{Site: proxy("client_max_body_size 1k;"), Backend: &testlab.BackendSpec{Mode: "ok"}},
		request: func(t *testing.T, h *testlab.Host) int {
			f := filepath.Join(t.TempDir(), "body")
			os.WriteFile(f, bytes.Repeat([]byte("x"), 64<<10), 0o600)
			return h.Curl("/upload", "--data-binary", "@"+f)
		},
		status: 413, top: "body_too_large",
	},
	{
		name: "worker crash", how: "SIGSEGV to the php-fpm workers while one serves a slow request",
		spec: testlab.HostSpec{Files: map[string]string{"/var/www/html/slow.php": phpPage}},
		request: func(t *testing.T, h *testlab.Host) int {
			got := make(chan int, 1)
			go func() { got <- h.Curl("/slow.php?ms=5000") }()
			time.Sleep(1500 * time.Millisecond)
			h.MustExec(`for p in $(pgrep -f '^php-fpm: pool'); do kill -SEGV "$p"; done`)
			return <-got
		},
		status: 502, top: "backend_crash",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantExplained(t, d, "upstream_reset", "backend_crash")
		},
	},
	{
		name: "pm.max_children exhausted", how: "pm.max_children = 2, eight concurrent 4-second requests, fastcgi_read_timeout 2s",
		spec: testlab.HostSpec{
			Files: map[string]string{"/var/www/html/slow.php": phpPage},
			FPMPool: `[www]
user = www-data
group = www-data
listen = /run/php/php8.2-fpm.sock
listen.owner = www-data
listen.group = www-data
pm = dynamic
pm.max_children = 2
pm.start_servers = 1
pm.min_spare_servers = 1
pm.max_spare_servers = 1
`,
			Site: `server {
    listen 80 default_server;
    root /var/www/html;
    location ~ \.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
        fastcgi_read_timeout 2s;
    }
}
`},
		request: func(t *testing.T, h *testlab.Host) int {
			var wg sync.WaitGroup
			codes := make([]int, 8)
			for i := range codes {
				wg.Add(1)
				go func() { defer wg.Done(); codes[i] = h.Curl("/slow.php?ms=4000") }()
			}
			wg.Wait()
			for _, c := range codes {
				if c == 504 {
					return 504
				}
			}
			return codes[0]
		},
		status: 504, top: "fpm_max_children",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantEvidence(t, d, "fpm_max_children", "pm.max_children = 2")
		},
	},
	{
		name: "nginx stopped", how: "SIGQUIT to the nginx master: it exits, nothing listens on port 80, and a load balancer in front would answer 502",
		fault: func(t *testing.T, h *testlab.Host) { h.StopNginx("QUIT") },
		request: func(t *testing.T, h *testlab.Host) int {
			code, _, err := h.CurlFull("/index.php")
			if err == nil || !strings.Contains(err.Error(), "curl: (7)") { // 7: could not connect
				t.Fatalf("with nginx stopped, curl should be refused: code %d, err %v", code, err)
			}
			return code
		},
		status: 0, top: "nginx_down",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantEvidence(t, d, "nginx_down", "nothing listens on port 80")
			wantFix(t, d, "nginx -t -c /etc/nginx/nginx.conf && nginx -c /etc/nginx/nginx.conf")
		},
	},
	{
		name: "BaoTa host with nginx stopped", how: "a panel-layout host: SIGQUIT to the panel's nginx (/www/server/nginx/sbin/nginx)",
		spec:  testlab.HostSpec{Layout: "baota"},
		fault: func(t *testing.T, h *testlab.Host) { h.StopNginx("QUIT") },
		request: func(t *testing.T, h *testlab.Host) int {
			code, _, err := h.CurlFull("/index.php")
			if err == nil || !strings.Contains(err.Error(), "curl: (7)") {
				t.Fatalf("with nginx stopped, curl should be refused: code %d, err %v", code, err)
			}
			return code
		},
		status: 0, top: "nginx_down",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			wantFix(t, d, "/etc/init.d/nginx start")
			if !strings.Contains(text, "Software Store → Nginx → Setting → Service → Start") || strings.Index(text, "BaoTa/aaPanel") > strings.Index(text, "Fix:") {
				t.Errorf("the panel's steps should come first:\n%s", text)
			}
		},
	},
	{
		name: "BaoTa host with php-fpm stopped", how: "a panel-layout host (/www/server/...): SIGTERM to PHP 8.2's php-fpm",
		spec:    testlab.HostSpec{Layout: "baota"},
		fault:   func(t *testing.T, h *testlab.Host) { h.StopFPM("TERM") },
		request: get("/index.php"), status: 502, top: "upstream_down",
		check: func(t *testing.T, d knowledge.Diagnosis, text string) {
			if d.Layout != "baota" {
				t.Errorf("layout %q, want baota", d.Layout)
			}
			wantFix(t, d, "/etc/init.d/php-fpm-82 start")
			if !strings.Contains(text, "Software Store") {
				t.Errorf("the reply should say where to click in the panel:\n%s", text)
			}
		},
	},
}

func TestDiagnoseRealBrokenHosts(t *testing.T) {
	testlab.RequireLab(t)
	specs := make([]testlab.HostSpec, len(scenarios))
	for i, sc := range scenarios {
		specs[i] = sc.spec
		specs[i].Name = fmt.Sprintf("e2e-%02d", i)
	}
	start := time.Now()
	hosts := testlab.StartHosts(t, specs...)
	t.Logf("%d hosts up in %v", len(hosts), time.Since(start).Round(time.Millisecond))
	for i, sc := range scenarios {
		h := hosts[i]
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			if sc.fault != nil {
				sc.fault(t, h)
			}
			if got := sc.request(t, h); got != sc.status {
				t.Fatalf("%s: nginx answered %d, want %d\nerror log:\n%s", sc.how, got, sc.status, h.ErrorLog())
			}
			d, text := diagnose(t, h)
			if sc.top != "" {
				// The lab hosts share this machine's load average: when the machine itself has
				// been overrun for a quarter of an hour, blaming the load for timeouts is right.
				if len(d.Causes) > 0 && d.Causes[0].ID == "host_overloaded" && machineOverloaded() {
					wantExplained(t, d, sc.top, "host_overloaded")
					return
				}
				if len(d.Causes) == 0 || d.Causes[0].ID != sc.top {
					t.Fatalf("%s: top cause %v, want %s\n%s\nsteps: %+v\nnginx error log:\n%s", sc.how, ids(d), sc.top, text, d.Steps, h.ErrorLog())
				}
			}
			if sc.check != nil {
				sc.check(t, d, text)
			}
			if t.Failed() {
				t.Logf("%s\n%s", sc.how, text)
			}
			saveTranscript(t, sc.name, sc.how, text)
		})
	}
}

func ids(d knowledge.Diagnosis) []string {
	var out []string
	for _, c := range d.Causes {
		out = append(out, c.ID)
	}
	return out
}

func find(d knowledge.Diagnosis, id string) *knowledge.Finding {
	for i := range d.Causes {
		if d.Causes[i].ID == id {
			return &d.Causes[i]
		}
	}
	return nil
}

func wantExplained(t *testing.T, d knowledge.Diagnosis, symptom, root string) {
	t.Helper()
	f := find(d, symptom)
	if f == nil || f.ExplainedBy != root {
		t.Errorf("%s should be listed as explained by %s: %+v", symptom, root, f)
	}
}

func wantEvidence(t *testing.T, d knowledge.Diagnosis, id, text string) {
	t.Helper()
	if f := find(d, id); f != nil {
		for _, e := range f.Evidence {
			if strings.Contains(e.Text, text) {
				return
			}
		}
		t.Errorf("%s: no evidence line contains %q: %+v", id, text, f.Evidence)
		return
	}
	t.Errorf("no %s in %v", id, ids(d))
}

func wantFix(t *testing.T, d knowledge.Diagnosis, text string) {
	t.Helper()
	if len(d.Causes) > 0 {
		for _, fx := range d.Causes[0].Fixes {
			if strings.Contains(fx, text) {
				return
			}
		}
	}
	t.Errorf("no fix of the top cause mentions %q", text)
}

// saveTranscript keeps the text reply when BADGATEWAY_TRANSCRIPTS names a directory
// (the README's example comes from there).
func saveTranscript(t *testing.T, name, how, text string) {
	dir := os.Getenv("BADGATEWAY_TRANSCRIPTS")
	if dir == "" {
		return
	}
	file := filepath.Join(dir, strings.NewReplacer(" ", "-", "/", "-").Replace(name)+".txt")
	if err := os.WriteFile(file, []byte("# "+how+"\n"+text), 0o644); err != nil {
		t.Error(err)
	}
}

// Several hosts at once: one diagnosis per host, each its own.
func TestDiagnoseSeveralHostsConcurrently(t *testing.T) {
	testlab.RequireLab(t)
	hosts := testlab.StartHosts(t,
		testlab.HostSpec{Name: "multi-ok"},
		testlab.HostSpec{Name: "multi-fpm"},
		testlab.HostSpec{Name: "multi-port", Site: proxy(""), Backend: &testlab.BackendSpec{Mode: "ok", Port: 8081}},
	)
	hosts[1].StopFPM("TERM")
	want := map[string]string{"multi-ok": "", "multi-fpm": "upstream_down", "multi-port": "upstream_wrong_address"}
	var cfg strings.Builder
	cfg.WriteString("ssh:\n  user: root\nhosts:\n")
	for _, h := range hosts {
		path := "/"
		if h.Name != "multi-port" {
			path = "/index.php"
		}
		h.Curl(path)
		fmt.Fprintf(&cfg, "  - name: %s\n    address: %s\n    identity_files: [%s]\n    known_hosts: %s\n    labels: [lab]\n", h.Name, h.Addr, h.ClientKey, h.KnownHosts)
	}
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "diagnose", "@lab", "--config", file, "--format", "json").Output()
	if err != nil {
		t.Fatalf("diagnose @lab: %v", err)
	}
	var ds []knowledge.Diagnosis
	if err := json.Unmarshal(out, &ds); err != nil {
		t.Fatalf("want a JSON array, one diagnosis per host: %v\n%s", err, out)
	}
	if len(ds) != 3 {
		t.Fatalf("got %d diagnoses, want 3", len(ds))
	}
	for _, d := range ds {
		top := ""
		if len(d.Causes) > 0 {
			top = d.Causes[0].ID
		}
		if w, ok := want[d.Target]; !ok || top != w {
			t.Errorf("%s: top %q, want %q", d.Target, top, w)
		}
	}
}

// machineOverloaded applies the host_overloaded thresholds to this machine.
func machineOverloaded() bool {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return false
	}
	var l1, l5, l15 float64
	if _, err := fmt.Sscan(string(b), &l1, &l5, &l15); err != nil {
		return false
	}
	cpus := float64(runtime.NumCPU())
	return l1 >= 4*cpus && l5 >= 3*cpus && l15 >= 2*cpus
}

// Two sites on one host, one broken: --site looks only at the one asked about.
func TestDiagnoseSite(t *testing.T) {
	testlab.RequireLab(t)
	h := testlab.StartHost(t, testlab.HostSpec{Name: "sites", Site: `server {
    listen 80;
    server_name shop.lab;
    location / { proxy_pass http://127.0.0.1:8080; }
}
server {
    listen 80 default_server;
    server_name blog.lab;
    root /var/www/html;
    index index.php;
    location ~ \.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
}
`})
	if got := h.Curl("/", "-H", "Host: shop.lab"); got != 502 {
		t.Fatalf("shop.lab answered %d, want 502 (nothing on 8080)", got)
	}
	if got := h.Curl("/index.php", "-H", "Host: blog.lab"); got != 200 {
		t.Fatalf("blog.lab answered %d, want 200", got)
	}
	d, text := diagnose(t, h, "--site", "blog.lab")
	if d.Verdict != knowledge.VerdictNoEvidence {
		t.Errorf("--site blog.lab: %v, want no_evidence (the broken upstream belongs to shop.lab)\n%s", ids(d), text)
	}
	d, text = diagnose(t, h, "--site", "shop.lab")
	if len(d.Causes) == 0 || d.Causes[0].ID != "upstream_down" {
		t.Errorf("--site shop.lab: %v, want upstream_down\n%s", ids(d), text)
	}
	d, _ = diagnose(t, h)
	if len(d.Causes) == 0 || d.Causes[0].ID != "upstream_down" {
		t.Errorf("whole host: %v, want upstream_down", ids(d))
	}
}
