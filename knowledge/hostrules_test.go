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
	if len(d.Causes) == 0 || d.Causes[0].ID != "upstream_down" {
		t.Fatalf("top %v", ids(d))
	}
	var proof []string
	for _, e := range d.Causes[0].Evidence {
		proof = append(proof, e.Text)
	}
	all := strings.Join(proof, "\n")
	if !strings.Contains(all, "shop-app-1") || strings.Contains(all, "other-db-1") {
		t.Errorf("evidence should name shop-app-1 and only it:\n%s", all)
	}
	if !strings.Contains(strings.Join(d.Causes[0].Fixes, "\n"), "docker start shop-app-1") {
		t.Errorf("fixes: %v", d.Causes[0].Fixes)
	}
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
		if len(d.Causes) == 0 || d.Causes[0].ID != "upstream_stale_dns" {
			t.Fatalf("%s: top %v", lang, ids(d))
		}
		var proof []string
		for _, e := range d.Causes[0].Evidence {
			proof = append(proof, e.Text)
		}
		if all := strings.Join(proof, "\n"); !strings.Contains(all, "10.0.0.9") || !strings.Contains(all, "/etc/nginx/sites-enabled/shop:7") {
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
