package knowledge

import (
	"strings"
	"testing"
)

// nginx in docker proxies to app:8080; the app container of the same compose
// project exited: the diagnosis names the container and how to bring it back.
func TestStoppedComposeContainerExplainsRefusals(t *testing.T) {
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	col.AddLine(`2026-11-25T10:02:11.412Z 2026/11/25 10:02:11 [error] 29#29: *17 connect() failed (111: Connection refused) while connecting to upstream, client: 172.18.0.1, server: shop.example.com, request: "GET / HTTP/1.1", upstream: "http://172.18.0.3:8080/", host: "shop.example.com"`, "docker:shop-nginx-1")
	col.AddHostFacts(HostFacts{Containers: []Container{
		{Name: "shop-nginx-1", Image: "nginx:1.25", Status: "Up 3 hours"},
		{Name: "shop-app-1", Image: "shop/app:2.4", Status: "Exited (137) 4 minutes ago"},
		{Name: "other-db-1", Image: "postgres:16", Status: "Exited (0) 2 days ago"},
	}})
	d := col.Diagnosis(Options{Target: "docker-host"})
	all := topProof(t, d, "upstream_down")
	if !strings.Contains(all, "shop-app-1") || strings.Contains(all, "other-db-1") {
		t.Errorf("evidence should name shop-app-1 and only it:\n%s", all)
	}
	if !strings.Contains(strings.Join(d.Causes[0].Fixes, "\n"), "docker start shop-app-1") {
		t.Errorf("fixes: %v", d.Causes[0].Fixes)
	}
}

// topProof fails unless id ranks first, and returns its evidence lines.
func topProof(t *testing.T, d Diagnosis, id string) string {
	t.Helper()
	if len(d.Causes) == 0 || d.Causes[0].ID != id {
		t.Fatalf("top %v, want %s", ids(d), id)
	}
	var proof []string
	for _, e := range d.Causes[0].Evidence {
		proof = append(proof, e.Text)
	}
	return strings.Join(proof, "\n")
}

func TestComposeProject(t *testing.T) {
	for name, want := range map[string]string{"shop-app-1": "shop", "my-shop-web-12": "my-shop", "shop_app_1": "shop", "nginx": "", "app-web": ""} {
		if got := composeProject(name); got != want {
			t.Errorf("composeProject(%q) = %q, want %q", name, got, want)
		}
	}
}

// nginx still connects to the address app.internal had when nginx started; the
// name now resolves elsewhere: upstream_stale_dns ranks above the refusals.
func TestStaleDNSExplainsRefusals(t *testing.T) {
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	for i := 0; i < 3; i++ {
		col.AddLine(`2026/11/25 10:02:11 [error] 29#29: *17 connect() failed (111: Connection refused) while connecting to upstream, client: 10.1.0.1, server: shop, request: "GET / HTTP/1.1", upstream: "http://10.0.0.5:8080/", host: "shop"`, "error.log")
	}
	pass := &NginxPass{Directive: "proxy_pass", Target: "http://app.internal:8080", Scheme: "http", Address: "app.internal:8080", Host: "app.internal", Port: 8080, File: "/etc/nginx/sites-enabled/shop", Line: 7}
	col.AddHostFacts(HostFacts{
		Nginx:       &NginxConfig{Servers: []NginxServer{{ServerNames: []string{"shop"}, Locations: []NginxLocation{{Kind: "location", Path: "/", Parent: -1, Pass: pass}}}}},
		Resolutions: []Resolution{{Name: "app.internal", Addresses: []string{"10.0.0.9"}}},
	})
	for _, lang := range []string{"en", "zh"} {
		d := col.Diagnosis(Options{Target: "web-01", Lang: lang})
		if all := topProof(t, d, "upstream_stale_dns"); !strings.Contains(all, "10.0.0.9") || !strings.Contains(all, "/etc/nginx/sites-enabled/shop:7") {
			t.Errorf("%s: proof %q", lang, all)
		}
		if f := finding(d, "upstream_down"); f == nil || f.ExplainedBy != "upstream_stale_dns" {
			t.Errorf("%s: upstream_down should be explained by the stale address: %+v", lang, f)
		}
	}
	// The same refusals while the name still resolves to the address nginx uses: no stale DNS.
	col = NewAnalyzer(mustBuiltin(t)).NewCollector()
	col.AddLine(`2026/11/25 10:02:11 [error] 29#29: *17 connect() failed (111: Connection refused) while connecting to upstream, client: 10.1.0.1, server: shop, request: "GET / HTTP/1.1", upstream: "http://10.0.0.5:8080/", host: "shop"`, "error.log")
	col.AddHostFacts(HostFacts{
		Nginx:       &NginxConfig{Servers: []NginxServer{{Locations: []NginxLocation{{Kind: "location", Path: "/", Parent: -1, Pass: pass}}}}},
		Resolutions: []Resolution{{Name: "app.internal", Addresses: []string{"10.0.0.5"}}},
	})
	if d := col.Diagnosis(Options{}); finding(d, "upstream_stale_dns") != nil {
		t.Errorf("a name that still resolves to the address in use is not stale: %v", ids(d))
	}
}

// A proxy_pass to a gunicorn socket has nothing to do with php-fpm's pools.
func TestUnixProxySocketIsNotComparedWithPHPPools(t *testing.T) {
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	col.AddLine(`2026/11/25 10:02:11 [crit] 29#29: *17 connect() to unix:/run/gunicorn.sock failed (2: No such file or directory) while connecting to upstream, client: 10.1.0.1, server: app, request: "GET / HTTP/1.1", upstream: "http://unix:/run/gunicorn.sock:/", host: "app"`, "error.log")
	pass := &NginxPass{Directive: "proxy_pass", Target: "http://unix:/run/gunicorn.sock", Scheme: "http", Address: "unix:/run/gunicorn.sock", Socket: "/run/gunicorn.sock", File: "/etc/nginx/sites-enabled/app", Line: 9}
	col.AddHostFacts(HostFacts{
		Nginx:   &NginxConfig{Servers: []NginxServer{{Locations: []NginxLocation{{Kind: "location", Path: "/", Parent: -1, Pass: pass}}}}},
		FPM:     &FPMConfig{Pools: []FPMPool{{Name: "www", File: "/etc/php/8.2/fpm/pool.d/www.conf", Listen: "/run/php/php8.2-fpm.sock"}}},
		Sockets: []SocketStat{{Path: "/run/gunicorn.sock", Exists: false, Error: "No such file or directory"}},
	})
	d := col.Diagnosis(Options{})
	if d.Causes[0].ID != "upstream_socket_missing" || finding(d, "upstream_wrong_address") != nil {
		t.Errorf("got %v; a gunicorn socket must not be blamed on php-fpm's pool", ids(d))
	}
}

// nginx is gone and apache2 took port 80 after a reboot: nginx_down, with the
// holder of the port named in the proof and the fix.
func TestNginxDownPortTaken(t *testing.T) {
	nginx := &NginxConfig{Files: []string{"/etc/nginx/nginx.conf"}, Servers: []NginxServer{
		{File: "/etc/nginx/sites-enabled/shop", Line: 1, Listen: []string{"80 default_server", "[::]:80 default_server"}},
		{File: "/etc/nginx/sites-enabled/shop", Line: 20, Listen: []string{"443 ssl http2"}},
	}}
	facts := HostFacts{
		Nginx:     nginx,
		Processes: []Process{{PID: 1, Comm: "init", Args: "/sbin/init"}, {PID: 812, Comm: "apache2", Args: "/usr/sbin/apache2 -k start"}},
		Listeners: []Listener{{Proto: "tcp", Local: "*:80", Host: "*", Port: 80, Process: "apache2", PID: 812}},
		Services:  []ServiceState{{Name: "nginx", Active: "failed"}},
		Layout:    "debian",
	}
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	col.AddHostFacts(facts)
	d := col.Diagnosis(Options{Target: "web-01"})
	all := topProof(t, d, "nginx_down")
	for _, want := range []string{"no nginx process is running", "nginx.service is failed",
		"port 80 is held by apache2 (pid 812)", "nothing listens on port 443"} {
		if !strings.Contains(all, want) {
			t.Errorf("evidence lacks %q:\n%s", want, all)
		}
	}
	fixes := strings.Join(d.Causes[0].Fixes, "\n")
	if !strings.Contains(fixes, "kill 812") || !strings.Contains(fixes, "systemctl start nginx") {
		t.Errorf("fixes: %s", fixes)
	}

	// The same host with nginx running: nothing to say.
	facts.Processes = append(facts.Processes, Process{PID: 900, Comm: "nginx", Args: "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"})
	col = NewAnalyzer(mustBuiltin(t)).NewCollector()
	col.AddHostFacts(facts)
	if d := col.Diagnosis(Options{}); finding(d, "nginx_down") != nil {
		t.Errorf("nginx runs, yet %v", ids(d))
	}
	// A host with neither an nginx config nor an nginx unit is not an nginx host.
	col = NewAnalyzer(mustBuiltin(t)).NewCollector()
	col.AddHostFacts(HostFacts{Processes: facts.Processes[:2]})
	if d := col.Diagnosis(Options{}); finding(d, "nginx_down") != nil {
		t.Errorf("no nginx here, yet %v", ids(d))
	}
}

// A restart met a broken config: nginx is down because of it, so the config
// error ranks first and explains nginx_down.
func TestBrokenConfigExplainsNginxDown(t *testing.T) {
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	col.AddHostFacts(HostFacts{
		Nginx: &NginxConfig{TestResult: "failed", Messages: []string{
			`nginx: [emerg] unknown directive "proxy_passs" in /etc/nginx/sites-enabled/shop:14`,
			"nginx: configuration file /etc/nginx/nginx.conf test failed"}},
		Processes: []Process{{PID: 1, Comm: "init", Args: "/sbin/init"}},
	})
	d := col.Diagnosis(Options{})
	if len(d.Causes) < 2 || d.Causes[0].ID != "nginx_config_invalid" {
		t.Fatalf("top %v, want nginx_config_invalid", ids(d))
	}
	if f := finding(d, "nginx_down"); f == nil || f.ExplainedBy != "nginx_config_invalid" {
		t.Errorf("nginx_down should be explained by the broken config: %+v", f)
	}
}

func TestListenPort(t *testing.T) {
	for in, want := range map[string]int{"80": 80, "443 ssl http2": 443, "[::]:8443 ssl": 8443, "127.0.0.1:8080 default_server": 8080,
		"*:81": 81, "127.0.0.1": 80, "unix:/run/nginx.sock": 0, "localhost:8000": 8000} {
		if got := listenPort(in); got != want {
			t.Errorf("listenPort(%q) = %d, want %d", in, got, want)
		}
	}
}
