package testlab

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// proxySite is a Debian site proxying / with extra directives.
func proxySite(directives string) string {
	return `server {
	listen 80 default_server;
	root /var/www/html;
	index index.php;
	location ~ \.php$ {
		include snippets/fastcgi-php.conf;
		fastcgi_pass unix:/run/php/php8.2-fpm.sock;
	}
	location /app/ {
` + directives + `
	}
}
`
}

type faultCase struct {
	name  string
	spec  HostSpec
	setup func(t *testing.T, h *Host) // may be nil
	// run makes the requests; by default one GET /app/x expecting code.
	run  func(t *testing.T, h *Host)
	code int
	logs []string // substrings the site's error log must have
	fpm  []string // substrings the php-fpm log must have
}

// TestFaults checks that each fault helper and labbackend mode makes nginx
// fail the way LAB-FACTS.md says, on real daemons.
func TestFaults(t *testing.T) {
	RequireLab(t)
	cases := []faultCase{{
		name: "fastcgi-at-garbage",
		spec: HostSpec{Site: proxySite("fastcgi_pass 127.0.0.1:9000; include fastcgi_params;"),
			Backend: &BackendSpec{Mode: "garbage", Port: 9000}},
		code: 502, logs: []string{"upstream sent unsupported FastCGI protocol version: 72 while reading response header from upstream"},
	}, {
		name: "https-at-plain",
		spec: HostSpec{Site: proxySite("proxy_pass https://127.0.0.1:8443;"),
			Backend: &BackendSpec{Mode: "garbage", Port: 8443}},
		code: 502, logs: []string{"SSL_do_handshake() failed", "wrong version number", "while SSL handshaking to upstream"},
	}, {
		name: "https-ok",
		spec: HostSpec{Site: proxySite("proxy_pass https://127.0.0.1:8443;"),
			Backend: &BackendSpec{Mode: "tls", Port: 8443}},
		code: 200,
	}, {
		name: "firewall-drop",
		spec: HostSpec{Site: proxySite("proxy_pass http://127.0.0.1:8080; proxy_connect_timeout 1s;"),
			Backend: &BackendSpec{Mode: "ok"}},
		setup: func(t *testing.T, h *Host) {
			h.Iptables("-A", "INPUT", "-p", "tcp", "--dport", "8080", "-j", "DROP")
		},
		code: 504, logs: []string{"upstream timed out (110: Connection timed out) while connecting to upstream"},
	}, {
		name: "no-resolver",
		spec: HostSpec{Site: proxySite("set $up app.internal; proxy_pass http://$up:8080;")},
		code: 502, logs: []string{"no resolver defined to resolve app.internal"},
	}, {
		name: "no-live-upstreams",
		// nginx ignores max_fails for an upstream of one server, and each
		// worker counts failures alone unless the upstream has a zone.
		spec: HostSpec{Site: "upstream app { zone app 64k; server 127.0.0.1:8090 max_fails=1 fail_timeout=60s;\n" +
			"server 127.0.0.1:8091 max_fails=1 fail_timeout=60s; }\n" +
			proxySite("proxy_pass http://app;")},
		run: func(t *testing.T, h *Host) {
			for i := 0; i < 2; i++ {
				if code := h.Curl("/app/x"); code != 502 {
					t.Errorf("request %d: %d, want 502", i, code)
				}
			}
		},
		logs: []string{"(111: Connection refused) while connecting to upstream", "no live upstreams while connecting to upstream"},
	}, {
		name: "too-big-header",
		spec: HostSpec{Site: proxySite("proxy_pass http://127.0.0.1:8080; proxy_buffer_size 4k;"),
			Backend: &BackendSpec{Mode: "bigheader", Args: []string{"-header-kb=8"}}},
		code: 502, logs: []string{"upstream sent too big header while reading response header from upstream"},
	}, {
		name: "body-too-large",
		spec: HostSpec{Site: proxySite("client_max_body_size 1k; proxy_pass http://127.0.0.1:8080;"),
			Backend: &BackendSpec{Mode: "ok"}},
		run: func(t *testing.T, h *Host) {
			if code := h.Curl("/app/x", "--data-binary", strings.Repeat("x", 4096)); code != 413 {
				t.Errorf("POST 4 KB: %d, want 413", code)
			}
		},
		logs: []string{"client intended to send too large body: 4096 bytes"},
	}, {
		name: "backend-closes",
		spec: HostSpec{Site: proxySite("proxy_pass http://127.0.0.1:8080;"), Backend: &BackendSpec{Mode: "close"}},
		code: 502, logs: []string{"upstream prematurely closed connection while reading response header from upstream"},
	}, {
		name: "backend-resets",
		spec: HostSpec{Site: proxySite("proxy_pass http://127.0.0.1:8080;"), Backend: &BackendSpec{Mode: "reset"}},
		code: 502, logs: []string{"recv() failed (104: Connection reset by peer) while reading response header from upstream"},
	}, {
		name: "backend-slow",
		spec: HostSpec{Site: proxySite("proxy_pass http://127.0.0.1:8080; proxy_read_timeout 1s;"),
			Backend: &BackendSpec{Mode: "slow", Args: []string{"-delay=5s"}}},
		code: 504, logs: []string{"upstream timed out (110: Connection timed out) while reading response header from upstream"},
	}, {
		name: "backend-stopped",
		spec: HostSpec{Site: proxySite("proxy_pass http://127.0.0.1:8080;"), Backend: &BackendSpec{Mode: "ok"}},
		setup: func(t *testing.T, h *Host) {
			if code := h.Curl("/app/x"); code != 200 {
				t.Errorf("backend up: %d, want 200", code)
			}
			h.StopBackend()
		},
		code: 502, logs: []string{"connect() failed (111: Connection refused) while connecting to upstream"},
	}, {
		name: "backend-unix-socket",
		spec: HostSpec{Site: proxySite("proxy_pass http://unix:/run/app.sock:/;")},
		setup: func(t *testing.T, h *Host) {
			h.SetNginxSite(proxySite("proxy_pass http://unix:/run/app.sock:/;")) // reload path
			h.StartBackend("ok", 8081, "-unix=/run/app.sock")
		},
		code: 200,
	}, {
		name: "fpm-socket-permission",
		spec: HostSpec{FPMPool: "[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\n" +
			"listen.owner = root\nlisten.group = root\nlisten.mode = 0660\npm = static\npm.max_children = 1\n"},
		run: func(t *testing.T, h *Host) {
			if code := h.Curl("/"); code != 502 {
				t.Errorf("GET /: %d, want 502", code)
			}
		},
		logs: []string{"[crit]", "(13: Permission denied) while connecting to upstream"},
	}, {
		name: "php-worker-segv",
		spec: HostSpec{Files: map[string]string{"/var/www/html/slow.php": "<?php touch('/tmp/started'); sleep(10); echo 'late';\n"}},
		run: func(t *testing.T, h *Host) {
			codec := make(chan int, 1)
			go func() { c, _, _ := h.CurlFull("/slow.php"); codec <- c }()
			started := h.stagedPath("/tmp/started")
			if err := h.waitFor("PHP request running", 20*time.Second, func() (bool, error) {
				_, err := os.Stat(started)
				return err == nil, nil
			}); err != nil {
				t.Fatal(err)
			}
			// Every worker gets SIGSEGV: the busy one dies mid-request.
			h.MustExec("pkill -SEGV -f '^php-fpm: pool'")
			if code := <-codec; code != 502 {
				t.Errorf("GET /slow.php: %d, want 502", code)
			}
		},
		logs: []string{"recv() failed (104: Connection reset by peer) while reading response header from upstream"},
		fpm:  []string{"exited on signal 11 (SIGSEGV)"},
	}, {
		name: "fpm-exhausted",
		spec: HostSpec{
			FPMPool: "[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\n" +
				"listen.owner = www-data\nlisten.group = www-data\nlisten.backlog = 1\n" +
				"pm = dynamic\npm.max_children = 1\npm.start_servers = 1\npm.min_spare_servers = 1\npm.max_spare_servers = 1\n",
			Files: map[string]string{"/var/www/html/slow.php": "<?php sleep(1); echo 'done';\n"},
		},
		run: func(t *testing.T, h *Host) {
			var wg sync.WaitGroup
			codes := make([]int, 6)
			for i := range codes {
				wg.Add(1)
				go func() { defer wg.Done(); codes[i], _, _ = h.CurlFull("/slow.php") }()
			}
			wg.Wait()
			n502 := 0
			for _, c := range codes {
				if c == 502 {
					n502++
				}
			}
			if n502 == 0 {
				t.Errorf("codes %v: want some 502 from a full backlog", codes)
			}
		},
		logs: []string{"(11: Resource temporarily unavailable) while connecting to upstream"},
		fpm:  []string{"server reached pm.max_children setting (1), consider raising it"},
	}}

	specs := make([]HostSpec, len(cases))
	for i, c := range cases {
		specs[i] = c.spec
		specs[i].Name = c.name
	}
	t0 := time.Now()
	hosts := StartHosts(t, specs...)
	t.Logf("%d hosts up in %v", len(hosts), time.Since(t0).Round(time.Millisecond))
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := hosts[i].For(t)
			if c.setup != nil {
				c.setup(t, h)
			}
			if c.run != nil {
				c.run(t, h)
			} else if code, body, err := h.CurlFull("/app/x"); code != c.code {
				t.Errorf("GET /app/x = %d %q %v, want %d", code, body, err, c.code)
			}
			log := h.ErrorLog()
			for _, want := range c.logs {
				if !strings.Contains(log, want) {
					t.Errorf("error log lacks %q:\n%s", want, log)
				}
			}
			if len(c.fpm) > 0 {
				// php-fpm's master logs asynchronously (the maintenance
				// timer runs once a second).
				var fpmLog string
				_ = h.waitFor("php-fpm log", 5*time.Second, func() (bool, error) {
					fpmLog = h.ReadFile(h.Paths.FPMLog)
					for _, want := range c.fpm {
						if !strings.Contains(fpmLog, want) {
							return false, nil
						}
					}
					return true, nil
				})
				for _, want := range c.fpm {
					if !strings.Contains(fpmLog, want) {
						t.Errorf("php-fpm log lacks %q:\n%s", want, fpmLog)
					}
				}
			}
		})
	}
}
