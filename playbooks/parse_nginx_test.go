package playbooks

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/badgateway/badgateway/knowledge"
)

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustNginx(t *testing.T, name string) knowledge.NginxConfig {
	t.Helper()
	cfg, err := ParseNginxT(testdata(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}

// loc finds the location block of the server named server whose kind and path
// (or condition, for if blocks) match; it fails the test if there is none.
func loc(t *testing.T, cfg knowledge.NginxConfig, server, kind, pathOrCond string) (int, int, knowledge.NginxLocation) {
	t.Helper()
	for si, s := range cfg.Servers {
		if !slices.Contains(s.ServerNames, server) {
			continue
		}
		for li, l := range s.Locations {
			if l.Kind == kind && (l.Path == pathOrCond || l.Cond == pathOrCond) {
				return si, li, l
			}
		}
	}
	t.Fatalf("no %s %q in server %q", kind, pathOrCond, server)
	return 0, 0, knowledge.NginxLocation{}
}

func checkPass(t *testing.T, l knowledge.NginxLocation, want knowledge.NginxPass) {
	t.Helper()
	if l.Pass == nil {
		t.Fatalf("%s %s at %s:%d: no pass, want %+v", l.Kind, l.Path, l.File, l.Line, want)
	}
	if !reflect.DeepEqual(*l.Pass, want) {
		t.Errorf("%s %s at %s:%d:\n got %+v\nwant %+v", l.Kind, l.Path, l.File, l.Line, *l.Pass, want)
	}
}

func TestNginxTDebianLayout(t *testing.T) {
	cfg := mustNginx(t, "nginx_T.app.txt")
	const (
		main    = "/tmp/bgw/nginx/nginx.conf"
		app     = "/tmp/bgw/nginx/sites-enabled/app.conf"
		php     = "/tmp/bgw/nginx/sites-enabled/php.conf"
		snippet = "/tmp/bgw/nginx/snippets/php-fpm.conf"
	)
	if cfg.TestResult != "successful" || len(cfg.Messages) != 2 {
		t.Errorf("verdict %q, messages %q", cfg.TestResult, cfg.Messages)
	}
	wantFiles := []string{main, "/tmp/bgw/nginx/mime.types", "/tmp/bgw/nginx/conf.d/timeouts.conf", app, php, snippet, "/etc/nginx/fastcgi_params"}
	if !slices.Equal(cfg.Files, wantFiles) {
		t.Errorf("files %q", cfg.Files)
	}
	if cfg.User != "www-data" || cfg.WorkerProcesses != "2" || cfg.WorkerConnections != 512 || cfg.WorkerRlimitNoFile != 4096 || cfg.PIDFile != "/tmp/bgw/run/nginx.pid" {
		t.Errorf("main level: %q %q %d %d %q", cfg.User, cfg.WorkerProcesses, cfg.WorkerConnections, cfg.WorkerRlimitNoFile, cfg.PIDFile)
	}
	if want := []knowledge.NginxLog{{Path: "/tmp/bgw/log/error.log", Options: "warn", File: main, Line: 6}}; !reflect.DeepEqual(cfg.ErrorLogs, want) {
		t.Errorf("error logs %+v", cfg.ErrorLogs)
	}
	if len(cfg.Servers) != 2 {
		t.Fatalf("%d servers, want 2", len(cfg.Servers))
	}

	// Upstream named by a portless proxy_pass.
	si, li, l := loc(t, cfg, "app.test", "location", "/")
	checkPass(t, l, knowledge.NginxPass{Directive: "proxy_pass", Target: "http://app_backend", Scheme: "http",
		Address: "app_backend", Host: "app_backend", Upstream: "app_backend", File: app, Line: 12})
	if l.File != app || l.Line != 11 || l.Via != main+":51" || l.Parent != -1 {
		t.Errorf("location / at %s:%d via %q parent %d", l.File, l.Line, l.Via, l.Parent)
	}
	// Quoted strings: escaped quotes and ";" inside, an empty string; repeated directives in order.
	if got, want := l.Directives["proxy_set_header"], "Connection \nX-Note a \"quoted\" value; with semicolon"; got != want {
		t.Errorf("proxy_set_header %q, want %q", got, want)
	}
	// Timeouts inherit location → server → http.
	if v, _ := cfg.Effective(si, li, "proxy_read_timeout"); v != "120s" {
		t.Errorf("proxy_read_timeout at / = %q, want the server's 120s", v)
	}
	if v, _ := cfg.Effective(si, li, "proxy_connect_timeout"); v != "5s" {
		t.Errorf("proxy_connect_timeout at / = %q, want conf.d's 5s", v)
	}

	_, api, l := loc(t, cfg, "app.test", "location", "/api/")
	checkPass(t, l, knowledge.NginxPass{Directive: "proxy_pass", Target: "http://127.0.0.1:8084/v1/", Scheme: "http",
		Address: "127.0.0.1:8084", Host: "127.0.0.1", Port: 8084, URI: "/v1/", File: app, Line: 19})

	// A nested location with a proxy_pass to a unix socket, inheriting /api/'s timeout.
	_, li, l = loc(t, cfg, "app.test", "location", "/api/upload")
	checkPass(t, l, knowledge.NginxPass{Directive: "proxy_pass", Target: "http://unix:/tmp/bgw/run/upload.sock:/upload", Scheme: "http",
		Address: "unix:/tmp/bgw/run/upload.sock", Socket: "/tmp/bgw/run/upload.sock", URI: "/upload", File: app, Line: 23})
	if l.Parent != api {
		t.Errorf("/api/upload parent %d, want %d", l.Parent, api)
	}
	if v, _ := cfg.Effective(si, li, "proxy_read_timeout"); v != "5s" {
		t.Errorf("proxy_read_timeout at /api/upload = %q, want /api/'s 5s", v)
	}
	if v, _ := cfg.Effective(si, li, "client_max_body_size"); v != "100m" {
		t.Errorf("client_max_body_size at /api/upload = %q", v)
	}

	_, _, l = loc(t, cfg, "app.test", "location", "/dyn")
	checkPass(t, l, knowledge.NginxPass{Directive: "proxy_pass", Target: "http://$target", Scheme: "http", UsesVariable: true, File: app, Line: 29})

	_, _, l = loc(t, cfg, "app.test", "location", "/grpc")
	if l.Modifier != "=" {
		t.Errorf("/grpc modifier %q", l.Modifier)
	}
	checkPass(t, l, knowledge.NginxPass{Directive: "grpc_pass", Target: "grpc://[::1]:50051", Scheme: "grpc",
		Address: "[::1]:50051", Host: "::1", Port: 50051, File: app, Line: 32})

	// fastcgi_pass inside if{} is the if block's pass; uwsgi_pass is the location's.
	_, legacy, l := loc(t, cfg, "app.test", "location", "/legacy")
	checkPass(t, l, knowledge.NginxPass{Directive: "uwsgi_pass", Target: "unix:/tmp/bgw/run/uwsgi.sock", Scheme: "uwsgi",
		Address: "unix:/tmp/bgw/run/uwsgi.sock", Socket: "/tmp/bgw/run/uwsgi.sock", File: app, Line: 38})
	_, _, l = loc(t, cfg, "app.test", "if", "($request_method = POST)")
	if l.Parent != legacy || l.Line != 35 {
		t.Errorf("if block parent %d line %d", l.Parent, l.Line)
	}
	checkPass(t, l, knowledge.NginxPass{Directive: "fastcgi_pass", Target: "php_pool", Scheme: "fastcgi",
		Address: "php_pool", Host: "php_pool", Upstream: "php_pool", File: app, Line: 36})

	// A named location; https gets port 443 as nginx gives it.
	_, _, l = loc(t, cfg, "app.test", "location", "@fallback")
	checkPass(t, l, knowledge.NginxPass{Directive: "proxy_pass", Target: "https://localhost", Scheme: "https",
		Address: "localhost:443", Host: "localhost", Port: 443, File: app, Line: 43})

	// The PHP location comes from a snippet included inside server{}.
	si, li, l = loc(t, cfg, "php.test", "location", `[^/]\.php(/|$)`)
	if l.Modifier != "~" || l.File != snippet || l.Line != 2 || l.Via != php+":7" {
		t.Errorf("php location %q at %s:%d via %q", l.Modifier, l.File, l.Line, l.Via)
	}
	checkPass(t, l, knowledge.NginxPass{Directive: "fastcgi_pass", Target: "unix:/tmp/bgw/run/php-fpm-www.sock", Scheme: "fastcgi",
		Address: "unix:/tmp/bgw/run/php-fpm-www.sock", Socket: "/tmp/bgw/run/php-fpm-www.sock", File: snippet, Line: 5})
	if v, _ := cfg.Effective(si, li, "fastcgi_read_timeout"); v != "60s" {
		t.Errorf("fastcgi_read_timeout = %q, want conf.d's 60s", v)
	}
	if v, _ := cfg.Effective(si, li, "fastcgi_buffers"); v != "16 16k" {
		t.Errorf("fastcgi_buffers = %q", v)
	}
	// fastcgi_params, dumped once, is expanded at both of its include sites.
	if n := strings.Count(l.Directives["fastcgi_param"], "\n") + 1; n != 22 {
		t.Errorf("%d fastcgi_param in the PHP location, want 21 from fastcgi_params + 1", n)
	}
	_, _, l = loc(t, cfg, "php.test", "location", "/status")
	if !strings.Contains(l.Directives["fastcgi_param"], "SCRIPT_NAME $fastcgi_script_name") {
		t.Errorf("/status lacks fastcgi_params: %q", l.Directives["fastcgi_param"])
	}
	if l.Pass == nil || l.Pass.Address != "127.0.0.1:9082" || l.Pass.Port != 9082 {
		t.Errorf("/status pass %+v", l.Pass)
	}

	if len(cfg.Upstreams) != 2 {
		t.Fatalf("upstreams %+v", cfg.Upstreams)
	}
	up := cfg.Upstreams[0]
	if up.Name != "app_backend" || up.Keepalive != 16 || up.File != main || up.Line != 40 ||
		!reflect.DeepEqual(up.Servers, []knowledge.NginxUpstreamServer{
			{Address: "127.0.0.1:8082", Params: "max_fails=3 fail_timeout=10s", Line: 41},
			{Address: "127.0.0.1:8083", Params: "backup", Line: 42},
		}) {
		t.Errorf("upstream %+v", up)
	}
	if got, want := cfg.UnixSockets(), []string{"/tmp/bgw/run/upload.sock", "/tmp/bgw/run/uwsgi.sock", "/tmp/bgw/run/php-fpm-www.sock"}; !slices.Equal(got, want) {
		t.Errorf("UnixSockets %q, want %q", got, want)
	}
	// map and geo bodies are data: none of their keys may leak into directives.
	for _, k := range []string{"default", "''", "127.0.0.0/8", "~^ws;x", "text/html"} {
		if _, ok := cfg.Directives[k]; ok {
			t.Errorf("block body entry %q taken as an http directive", k)
		}
	}
	for k, want := range map[string]string{
		"client_body_temp_path": "/tmp/bgw/tmp/body", "proxy_temp_path": "/tmp/bgw/tmp/proxy 1 2",
		"fastcgi_temp_path": "/tmp/bgw/tmp/fastcgi", "resolver": "127.0.0.1 valid=30s", "proxy_read_timeout": "30s",
	} {
		if cfg.Directives[k] != want {
			t.Errorf("http %s = %q, want %q", k, cfg.Directives[k], want)
		}
	}
	if !slices.Equal(cfg.Resolvers, []string{"127.0.0.1 valid=30s"}) {
		t.Errorf("resolvers %q", cfg.Resolvers)
	}
	var sites knowledge.NginxInclude
	for _, inc := range cfg.Includes {
		if inc.Pattern == "/tmp/bgw/nginx/sites-enabled/*" {
			sites = inc
		}
	}
	if sites.File != main || sites.Line != 51 || !slices.Equal(sites.Matched, []string{app, php}) {
		t.Errorf("sites-enabled include %+v", sites)
	}
}

func TestNginxTBaoTa(t *testing.T) {
	cfg := mustNginx(t, "nginx_T.baota.txt")
	const (
		conf  = "/tmp/bgw/bt/www/server/nginx/conf/"
		vhost = "/tmp/bgw/bt/www/server/panel/vhost/nginx/example.com.conf"
	)
	if cfg.WorkerRlimitNoFile != 51200 || cfg.WorkerConnections != 51200 {
		t.Errorf("limits %d %d", cfg.WorkerRlimitNoFile, cfg.WorkerConnections)
	}
	// crit: nginx will not log the [error] lines that name a 502's cause.
	if len(cfg.ErrorLogs) != 1 || cfg.ErrorLogs[0].Options != "crit" {
		t.Errorf("error logs %+v", cfg.ErrorLogs)
	}
	si, li, l := loc(t, cfg, "example.com", "location", `[^/]\.php(/|$)`)
	if l.File != conf+"enable-php-82.conf" || l.Line != 1 || l.Via != vhost+":22" {
		t.Errorf("PHP location at %s:%d via %q", l.File, l.Line, l.Via)
	}
	checkPass(t, l, knowledge.NginxPass{Directive: "fastcgi_pass", Target: "unix:/tmp/bgw/bt/www/tmp/php-cgi-82.sock", Scheme: "fastcgi",
		Address: "unix:/tmp/bgw/bt/www/tmp/php-cgi-82.sock", Socket: "/tmp/bgw/bt/www/tmp/php-cgi-82.sock", File: conf + "enable-php-82.conf", Line: 4})
	if v, _ := cfg.Effective(si, li, "fastcgi_read_timeout"); v != "300" {
		t.Errorf("fastcgi_read_timeout %q", v)
	}
	if v, _ := cfg.Effective(si, li, "client_max_body_size"); v != "50m" {
		t.Errorf("client_max_body_size %q", v)
	}
	// pathinfo.conf, included inside the PHP location, brings an if{}.
	_, _, ifl := loc(t, cfg, "example.com", "if", `($fastcgi_script_name ~ ^(.+?\.php)(/.+)$ )`)
	if ifl.Parent != li || ifl.File != conf+"pathinfo.conf" || ifl.Line != 2 || ifl.Via != conf+"enable-php-82.conf:7" {
		t.Errorf("pathinfo if: parent %d at %s:%d via %q", ifl.Parent, ifl.File, ifl.Line, ifl.Via)
	}
	// The phpMyAdmin server uses the older enable-php.conf and /tmp/php-cgi.sock.
	_, _, l = loc(t, cfg, "phpmyadmin", "location", `[^/]\.php(/|$)`)
	if l.Pass == nil || l.Pass.Socket != "/tmp/php-cgi.sock" || l.File != conf+"enable-php.conf" {
		t.Errorf("phpmyadmin PHP location %+v", l)
	}
	s := cfg.Servers[si]
	if s.File != vhost || s.Via != conf+"nginx.conf:83" || !slices.Equal(s.Listen, []string{"80"}) {
		t.Errorf("vhost server at %s via %q listen %q", s.File, s.Via, s.Listen)
	}
	if len(s.ErrorLogs) != 1 || s.ErrorLogs[0].Path != "/tmp/bgw/bt/www/wwwlogs/example.com.error.log" {
		t.Errorf("vhost error logs %+v", s.ErrorLogs)
	}
}

func TestNginxTStockDebian(t *testing.T) {
	cfg := mustNginx(t, "nginx_T.stock.txt")
	if len(cfg.Servers) != 1 {
		t.Fatalf("%d servers", len(cfg.Servers))
	}
	s := cfg.Servers[0]
	if !slices.Equal(s.Listen, []string{"80 default_server", "[::]:80 default_server"}) || s.Root != "/var/www/html" || s.File != "/etc/nginx/sites-enabled/default" {
		t.Errorf("server %+v", s)
	}
	if len(s.Locations) != 1 || s.Locations[0].Path != "/" || s.Locations[0].Pass != nil || s.Locations[0].Directives["try_files"] != "$uri $uri/ =404" {
		t.Errorf("locations %+v", s.Locations)
	}
	for _, inc := range cfg.Includes {
		if inc.Pattern == "/etc/nginx/modules-enabled/*.conf" && len(inc.Matched) != 0 {
			t.Errorf("modules-enabled matched %q", inc.Matched)
		}
	}
	if len(cfg.Includes) != 4 {
		t.Errorf("includes %+v", cfg.Includes)
	}
}

func TestNginxTRHELHandWritten(t *testing.T) {
	cfg := mustNginx(t, "rhel/nginx_T.rhel8.txt")
	if !slices.Contains(cfg.Messages, `nginx: [warn] conflicting server name "_" on [::]:80, ignored`) {
		t.Errorf("messages %q", cfg.Messages)
	}
	// php.conf from default.d is included inside the default server{} and passes to
	// the php-fpm upstream of conf.d/php-fpm.conf, defined after the server that uses it.
	_, _, l := loc(t, cfg, "_", "location", `\.php$`)
	checkPass(t, l, knowledge.NginxPass{Directive: "fastcgi_pass", Target: "php-fpm", Scheme: "fastcgi",
		Address: "php-fpm", Host: "php-fpm", Upstream: "php-fpm", File: "/etc/nginx/default.d/php.conf", Line: 13})
	if l.Via != "/etc/nginx/nginx.conf:45" {
		t.Errorf("via %q", l.Via)
	}
	if got := cfg.UnixSockets(); !slices.Equal(got, []string{"/run/php-fpm/www.sock"}) {
		t.Errorf("UnixSockets %q", got)
	}
	// conf.d/*.conf is read in glob order: app.conf's server comes first.
	if cfg.Servers[0].ServerNames[0] != "app.example.com" || cfg.Servers[0].Locations[0].Pass.Address != "127.0.0.1:3000" {
		t.Errorf("first server %+v", cfg.Servers[0])
	}
	if cfg.Servers[1].Directives["index"] != "index.php index.html index.htm" {
		t.Errorf("index from default.d: %q", cfg.Servers[1].Directives["index"])
	}
}

func TestNginxTFailedTest(t *testing.T) {
	for name, want := range map[string]string{
		"nginx_T.failed.txt":         `unknown directive "stream" in /tmp/bgw/bt/www/server/nginx/conf/nginx.conf:7`,
		"nginx_T.emerg_upstream.txt": `host not found in upstream "backend.invalid" in /tmp/bgw/warn/sites-enabled/dup.conf:4`,
	} {
		cfg, err := ParseNginxT(testdata(t, name))
		if err != nil {
			t.Errorf("%s: a failed test is an answer, not a parse error: %v", name, err)
		}
		if cfg.TestResult != "failed" || len(cfg.Messages) != 2 || !strings.HasSuffix(cfg.Messages[0], want) || len(cfg.Servers) != 0 {
			t.Errorf("%s: verdict %q messages %q", name, cfg.TestResult, cfg.Messages)
		}
	}
	cfg := mustNginx(t, "nginx_T.warn.txt")
	if cfg.TestResult != "successful" || !strings.Contains(cfg.Messages[0], `[warn] 17171#17171: conflicting server name "php.test"`) || len(cfg.Servers) != 3 {
		t.Errorf("warn: %q %q %d servers", cfg.TestResult, cfg.Messages, len(cfg.Servers))
	}
}

func TestNginxTNotADump(t *testing.T) {
	for _, in := range []string{"", "hello\nworld\n", "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful\n"} {
		_, err := ParseNginxT([]byte(in))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "no \"# configuration file\" section") {
			t.Errorf("%q: err %v", in, err)
		}
	}
}

// dump builds nginx -T output from name, content pairs.
func dump(files ...string) []byte {
	var b strings.Builder
	for i := 0; i+1 < len(files); i += 2 {
		b.WriteString("# configuration file " + files[i] + ":\n" + files[i+1] + "\n")
	}
	return []byte(b.String())
}

func TestNginxTLexer(t *testing.T) {
	out := dump("/etc/nginx/nginx.conf", `events {}
http {
    log_format x '"$a" \'b\' c;d' "e\"f" g\;h;   # comment; with { and }
    add_header X-A "${host}:x#y{z}";
    content_by_lua_block {
        local t = { a = "}" } -- }
        ngx.say("{")
    }
    server {
        server_name a.test;
        location ~\.php$ { fastcgi_pass 127.0.0.1:9000; }
        location =/exact { proxy_pass http://[::1]; }
        location ^~/static/ { proxy_pass http://Backend:8080/; }
        location ~* "\.(JPG|png){1}$" { scgi_pass unix:/run/scgi.sock; }
        location /m { memcached_pass 10.0.0.1:11211; }
    }
    upstream backend { server 127.0.0.1:8080; }
}`)
	cfg, err := ParseNginxT(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Directives["log_format"], `x "$a" 'b' c;d e"f g\;h`; got != want {
		t.Errorf("log_format %q, want %q", got, want)
	}
	if got, want := cfg.Directives["add_header"], "X-A ${host}:x#y{z}"; got != want {
		t.Errorf("add_header %q, want %q", got, want)
	}
	if _, ok := cfg.Directives["ngx.say"]; ok || len(cfg.Servers) != 1 {
		t.Errorf("the Lua block's body leaked: %v, %d servers", cfg.Directives, len(cfg.Servers))
	}
	want := []struct{ mod, path, addr string }{
		{"~", `\.php$`, "127.0.0.1:9000"},
		{"=", "/exact", "[::1]:80"},
		{"^~", "/static/", "Backend:8080"},
		{"~*", `\.(JPG|png){1}$`, "unix:/run/scgi.sock"},
		{"", "/m", "10.0.0.1:11211"},
	}
	locs := cfg.Servers[0].Locations
	if len(locs) != len(want) {
		t.Fatalf("locations %+v", locs)
	}
	for i, w := range want {
		if locs[i].Modifier != w.mod || locs[i].Path != w.path || locs[i].Pass == nil || locs[i].Pass.Address != w.addr {
			t.Errorf("location %d: %q %q %+v, want %+v", i, locs[i].Modifier, locs[i].Path, locs[i].Pass, w)
		}
	}
	// A port keeps nginx from matching an upstream; case does not.
	if locs[2].Pass.Upstream != "" {
		t.Errorf("Backend:8080 linked to upstream %q", locs[2].Pass.Upstream)
	}
	if locs[0].Line != 11 || locs[4].Line != 15 {
		t.Errorf("lines %d %d", locs[0].Line, locs[4].Line)
	}
}

func TestNginxTIncludes(t *testing.T) {
	// b.conf is dumped before a.conf (it was read first by the http-level include),
	// yet the server's glob must walk them in sorted order; c.conf is included from
	// two places and dumped once; d.conf includes itself. Relative paths are
	// relative to the main file's directory, not to the including file's.
	out := dump(
		"/opt/nginx/conf/nginx.conf", "http {\n include ./sites/b.conf;\n server {\n  server_name s;\n  include sites/*.conf;\n  include ../conf/d.conf;\n }\n}",
		"/opt/nginx/conf/sites/b.conf", "location /b { include /opt/nginx/conf/c.conf; }",
		"/opt/nginx/conf/c.conf", "proxy_read_timeout 7s;",
		"/opt/nginx/conf/sites/a.conf", "location /a { include c.conf; }",
		"/opt/nginx/conf/d.conf", "include d.conf;\nlocation /d {}",
	)
	cfg, err := ParseNginxT(out)
	var pe *ParseError
	if !errors.As(err, &pe) || len(pe.Problems) != 1 || !strings.Contains(pe.Problems[0].Msg, "includes itself") ||
		pe.Problems[0].File != "/opt/nginx/conf/d.conf" || pe.Problems[0].FileLine != 1 {
		t.Fatalf("err %v", err)
	}
	var paths []string
	for _, l := range cfg.Servers[0].Locations {
		paths = append(paths, l.Path)
		if l.Path != "/d" && l.Directives["proxy_read_timeout"] != "7s" {
			t.Errorf("%s: c.conf not expanded: %v", l.Path, l.Directives)
		}
	}
	// ./sites/b.conf at http level adds a location outside any server: ignored.
	if !slices.Equal(paths, []string{"/a", "/b", "/d"}) {
		t.Errorf("locations %q, want /a /b /d", paths)
	}
}

func TestNginxTErrorsKeepPartialResults(t *testing.T) {
	out := []byte("nginx: the configuration file /e/nginx.conf syntax is ok\n" +
		"nginx: configuration file /e/nginx.conf test is successful\n" +
		string(dump(
			"/e/nginx.conf", "http {\n  include /e/site.conf;\n}",
			"/e/site.conf", "server {\n  server_name ok;\n  location / { proxy_pass http://127.0.0.1:1 }\n}\n}\nserver { server_name \"unterminated;\n}",
		)) +
		// stderr arriving after the dump is moved out, not parsed as configuration.
		"nginx: [warn] late line\n")
	cfg, err := ParseNginxT(out)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err %v", err)
	}
	want := []LineProblem{
		{Line: 10, File: "/e/site.conf", FileLine: 3, Msg: `unexpected "}" (missing ";" after "proxy_pass"?)`},
		{Line: 12, File: "/e/site.conf", FileLine: 5, Msg: `unexpected "}"`},
		{Line: 13, File: "/e/site.conf", FileLine: 6, Msg: `unexpected end of file in a "-quoted string`},
		{Line: 13, File: "/e/site.conf", FileLine: 6, Msg: `unexpected end of file, expecting ";" or "}" after "server_name"`},
		{Line: 13, File: "/e/site.conf", FileLine: 6, Msg: `unexpected end of file, expecting "}" to close "server"`},
	}
	if !reflect.DeepEqual(pe.Problems, want) {
		t.Errorf("problems:\n%v\nwant\n%v", pe.Problems, want)
	}
	if !strings.Contains(err.Error(), "nginx_t: /e/site.conf:3 (output line 10): unexpected") {
		t.Errorf("error text %q", err)
	}
	if len(cfg.Servers) != 2 || cfg.Servers[0].Locations[0].Pass == nil || cfg.Servers[0].Locations[0].Pass.Address != "127.0.0.1:1" {
		t.Errorf("partial result lost: %+v", cfg.Servers)
	}
	if cfg.TestResult != "successful" || cfg.Messages[2] != "nginx: [warn] late line" {
		t.Errorf("messages %q", cfg.Messages)
	}
}

func TestParseNginxPass(t *testing.T) {
	for _, tc := range []struct {
		dir, target string
		want        knowledge.NginxPass
	}{
		{"proxy_pass", "HTTP://127.0.0.1:8080/app?x=1", knowledge.NginxPass{Scheme: "http", Address: "127.0.0.1:8080", Host: "127.0.0.1", Port: 8080, URI: "/app?x=1"}},
		{"proxy_pass", "http://unix:/run/app.sock", knowledge.NginxPass{Scheme: "http", Address: "unix:/run/app.sock", Socket: "/run/app.sock"}},
		{"proxy_pass", "https://[2001:db8::1]:8443", knowledge.NginxPass{Scheme: "https", Address: "[2001:db8::1]:8443", Host: "2001:db8::1", Port: 8443}},
		{"proxy_pass", "http://$upstream$request_uri", knowledge.NginxPass{Scheme: "http", UsesVariable: true}},
		{"fastcgi_pass", "unix:/run/php/php8.2-fpm.sock", knowledge.NginxPass{Scheme: "fastcgi", Address: "unix:/run/php/php8.2-fpm.sock", Socket: "/run/php/php8.2-fpm.sock"}},
		{"fastcgi_pass", "localhost:9000", knowledge.NginxPass{Scheme: "fastcgi", Address: "localhost:9000", Host: "localhost", Port: 9000}},
		{"uwsgi_pass", "suwsgi://127.0.0.1:3031", knowledge.NginxPass{Scheme: "suwsgi", Address: "127.0.0.1:3031", Host: "127.0.0.1", Port: 3031}},
		{"grpc_pass", "grpcs://api.internal:443", knowledge.NginxPass{Scheme: "grpcs", Address: "api.internal:443", Host: "api.internal", Port: 443}},
		{"scgi_pass", "127.0.0.1:99999", knowledge.NginxPass{Scheme: "scgi", Address: "127.0.0.1:99999", Host: "127.0.0.1"}},
	} {
		got := parseNginxPass(tc.dir, tc.target)
		tc.want.Directive, tc.want.Target = tc.dir, tc.target
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %s:\n got %+v\nwant %+v", tc.dir, tc.target, got, tc.want)
		}
	}
}

// TestNginxTStaysLinear feeds inputs that would take quadratic or exponential
// time to a naive parser: each include doubling the previous (2^40 directives
// if expanded), a directive repeated at one level, deep nesting.
func TestNginxTStaysLinear(t *testing.T) {
	var files []string
	files = append(files, "/n/nginx.conf", "include /n/l0.conf;")
	for i := 0; i < 40; i++ {
		next := "/n/l" + strconv.Itoa(i+1) + ".conf"
		files = append(files, "/n/l"+strconv.Itoa(i)+".conf", "include "+next+"; include "+next+";")
	}
	files = append(files, "/n/l40.conf", "worker_processes 1;")
	repeated := "http { server { location / {" + strings.Repeat("fastcgi_param A b;", 100000) + "} } }"
	deep := strings.Repeat("location / {", 100000)
	for name, in := range map[string][]byte{
		"doubling includes": dump(files...),
		"repeated":          dump("/r/nginx.conf", repeated),
		"deep":              dump("/d/nginx.conf", "http { server { "+deep),
	} {
		start := time.Now()
		_, err := ParseNginxT(in)
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("%s: %v for %d bytes", name, el, len(in))
		}
		if name != "repeated" && err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParseNginxT(f *testing.F) {
	for _, name := range []string{"nginx_T.app.txt", "nginx_T.baota.txt", "nginx_T.stock.txt", "nginx_T.failed.txt", "rhel/nginx_T.rhel8.txt"} {
		f.Add(testdata(f, name))
	}
	f.Add(dump("/a/nginx.conf", "http { include b/*.conf; server { location ~ \"x{\" { proxy_pass http://u; } } upstream u { server unix:/s; } }", "/a/b/c.conf", "include ../nginx.conf;"))
	f.Add([]byte("# configuration file /x:\n'\\\n\"${\n}}{{;;"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg, err := ParseNginxT(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 || len(pe.Problems) > maxProblems {
				t.Fatalf("error %v is not a ParseError with 1..%d problems", err, maxProblems)
			}
		}
		for _, s := range cfg.Servers {
			for i, l := range s.Locations {
				if l.Parent >= i || l.Parent < -1 {
					t.Fatalf("location %d has parent %d", i, l.Parent)
				}
				if l.Pass != nil && !slices.Contains(cfg.Files, l.Pass.File) {
					t.Fatalf("pass in %q, not a dumped file", l.Pass.File)
				}
			}
		}
	})
}

// With nginx only in containers, the step says so instead of dumping the
// host's idle files: no error, and nothing for the host rules to misread.
func TestParseNginxTContained(t *testing.T) {
	cfg, err := ParseNginxT([]byte(ContainedMark + ": pid 4242, container unknown\n"))
	if err != nil || !cfg.InContainer || cfg.Container != "" || len(cfg.Servers) != 0 {
		t.Fatalf("cfg %+v, err %v", cfg, err)
	}
	// The container could be named: its files follow, as the step prints them.
	dump := ContainedMark + ": pid 4242, container shop-nginx-1\n" +
		"# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { include /etc/nginx/conf.d/*.conf; }\n\n" +
		"# configuration file /etc/nginx/conf.d/shop.conf:\nserver { listen 80; server_name shop.test; location / { proxy_pass http://app:8080; } }\n\n"
	cfg, err = ParseNginxT([]byte(dump))
	if err != nil || !cfg.InContainer || cfg.Container != "shop-nginx-1" || len(cfg.Messages) != 0 ||
		len(cfg.Servers) != 1 || cfg.Servers[0].ServerNames[0] != "shop.test" {
		t.Fatalf("cfg %+v, err %v", cfg, err)
	}
	if got := tcpTargets(cfg); got != nil {
		t.Errorf("a container's upstreams are not probed from the host: %v", got)
	}
	if _, err := ParseNginxT([]byte("# badgateway: something else\n")); err == nil {
		t.Error("any other comment is still not nginx -T output")
	}
}

func TestNginxMasters(t *testing.T) {
	procs := []knowledge.Process{
		{PID: 10, Args: "nginx: master process /usr/sbin/nginx -g daemon off;"},
		{PID: 11, Args: "nginx: worker process"},
		{PID: 20, Args: "nginx: master process /www/server/nginx/sbin/nginx -c /www/server/nginx/conf/nginx.conf"},
	}
	ms := nginxMasters(procs)
	if len(ms) != 2 || ms[0].PID != 10 || ms[0].Binary != "/usr/sbin/nginx" || ms[1].Conf != "/www/server/nginx/conf/nginx.conf" {
		t.Fatalf("masters %+v", ms)
	}
	if m := nginxMaster(procs); m == nil || m.PID != 10 {
		t.Errorf("first master %+v", m)
	}
}
