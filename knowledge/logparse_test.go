package knowledge

import (
	"strings"
	"testing"
	"time"
)

func utcTime(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
}

// The reference instant of most samples, as nginx and php-fpm write it (zone-less,
// so read as UTC).
var tNov25 = utcTime(2026, time.November, 25, 10, 2, 11, 0)

const (
	ngxRefused    = `2026/11/25 10:02:11 [error] 812#812: *41 connect() to unix:/run/php/php8.2-fpm.sock failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET /index.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "localhost"`
	ngxRefusedMsg = `connect() to unix:/run/php/php8.2-fpm.sock failed (111: Connection refused) while connecting to upstream`
	oomMsg        = `Out of memory: Killed process 4321 (php-fpm8.2) total-vm:812345kB, anon-rss:512000kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:1234kB oom_score_adj:0`
	avcMsg        = `avc:  denied  { connectto } for  pid=812 comm="nginx" path="/run/php-fpm/www.sock" scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:system_r:unconfined_t:s0 tclass=unix_stream_socket permissive=0`
)

// ngxRefusedLine is what every wrapped or cut form of ngxRefused should give,
// apart from the parts the cut removed.
var ngxRefusedLine = Line{
	Kind: KindNginx, Time: tNov25, Level: "error", PID: 812, TID: 812, Conn: 41,
	Message: ngxRefusedMsg, Client: "127.0.0.1", Server: "_", Request: "GET /index.php HTTP/1.1",
	Upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", Host: "localhost",
}

func withLine(l Line, f func(*Line)) Line {
	f(&l)
	return l
}

var parseCases = []struct {
	name string
	in   string
	want Line // Raw is checked separately
}{
	// ---- nginx error.log ----
	{"nginx fastcgi unix socket refused", ngxRefused, ngxRefusedLine},
	{"nginx CRLF", ngxRefused + "\r\n", ngxRefusedLine},
	{"nginx LF", ngxRefused + "\n", ngxRefusedLine},
	{"nginx emerg without connection",
		`2026/11/25 10:02:11 [emerg] 1234#1234: bind() to 0.0.0.0:80 failed (98: Address already in use)`,
		Line{Kind: KindNginx, Time: tNov25, Level: "emerg", PID: 1234, TID: 1234,
			Message: "bind() to 0.0.0.0:80 failed (98: Address already in use)"}},
	{"nginx alert worker signal",
		`2026/11/25 10:02:11 [alert] 12#12: worker process 13 exited on signal 11`,
		Line{Kind: KindNginx, Time: tNov25, Level: "alert", PID: 12, TID: 12,
			Message: "worker process 13 exited on signal 11"}},
	{"nginx IPv6 client and upstream, commas in request and referrer",
		`2026/11/25 10:02:11 [error] 31#31: *7 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 2001:db8::5, server: example.com, request: "POST /api/v1/items?x=1,2 HTTP/2.0", upstream: "http://[::1]:8080/api/v1/items?x=1,2", host: "example.com", referrer: "https://example.com/a, b"`,
		Line{Kind: KindNginx, Time: tNov25, Level: "error", PID: 31, TID: 31, Conn: 7,
			Message: "upstream timed out (110: Connection timed out) while reading response header from upstream",
			Client:  "2001:db8::5", Server: "example.com", Request: "POST /api/v1/items?x=1,2 HTTP/2.0",
			Upstream: "http://[::1]:8080/api/v1/items?x=1,2", Host: "example.com"}},
	{"nginx grpc",
		`2026/11/25 10:02:11 [error] 29#29: *3 upstream prematurely closed connection while reading response header from upstream, client: 10.0.0.2, server: grpc.local, request: "POST /helloworld.Greeter/SayHello HTTP/2.0", upstream: "grpc://127.0.0.1:50051", host: "grpc.local:443"`,
		Line{Kind: KindNginx, Time: tNov25, Level: "error", PID: 29, TID: 29, Conn: 3,
			Message: "upstream prematurely closed connection while reading response header from upstream",
			Client:  "10.0.0.2", Server: "grpc.local", Request: "POST /helloworld.Greeter/SayHello HTTP/2.0",
			Upstream: "grpc://127.0.0.1:50051", Host: "grpc.local:443"}},
	{"nginx uwsgi with empty server name",
		`2026/11/25 10:02:11 [error] 7#7: *12 connect() failed (111: Connection refused) while connecting to upstream, client: 172.18.0.1, server: , request: "GET / HTTP/1.1", upstream: "uwsgi://172.18.0.3:3031", host: "localhost:8080"`,
		Line{Kind: KindNginx, Time: tNov25, Level: "error", PID: 7, TID: 7, Conn: 12,
			Message: "connect() failed (111: Connection refused) while connecting to upstream",
			Client:  "172.18.0.1", Server: "", Request: "GET / HTTP/1.1",
			Upstream: "uwsgi://172.18.0.3:3031", Host: "localhost:8080"}},
	{"nginx FastCGI stderr quoting a fake client",
		`2026/11/25 10:02:11 [error] 812#812: *41 FastCGI sent in stderr: "PHP message: PHP Fatal error:  Uncaught Error: bad input ", client: x" in /var/www/html/db.php:3" while reading response header from upstream, client: 127.0.0.1, server: localhost, request: "GET /db.php HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "localhost"`,
		Line{Kind: KindNginx, Time: tNov25, Level: "error", PID: 812, TID: 812, Conn: 41,
			Message: `FastCGI sent in stderr: "PHP message: PHP Fatal error:  Uncaught Error: bad input ", client: x" in /var/www/html/db.php:3" while reading response header from upstream`,
			Client:  "127.0.0.1", Server: "localhost", Request: "GET /db.php HTTP/1.1",
			Upstream: "fastcgi://127.0.0.1:9000", Host: "localhost"}},
	// nginx writes the request line, Host and Referer with %V, i.e. raw: a '"' in
	// them is not escaped (ngx_http_log_error_handler). Since 1.21.1 a request line
	// with spaces is refused with 400 and logged at info, verbatim:
	{"nginx forged upstream in a refused request line",
		`2026/11/25 10:02:11 [info] 812#812: *7 client sent invalid request while reading client request line, client: 203.0.113.9, server: _, request: "GET /?a=", upstream: "http://evil" HTTP/1.1"`,
		Line{Kind: KindNginx, Time: tNov25, Level: "info", PID: 812, TID: 812, Conn: 7,
			Message: "client sent invalid request while reading client request line",
			Client:  "203.0.113.9", Server: "_", Request: `GET /?a=", upstream: "http://evil" HTTP/1.1`}},
	// Older nginx passed such a request upstream; proxy_pass then logs the raw URI
	// inside upstream too.
	{"nginx forged upstream reaching a backend (nginx < 1.21.1)",
		`2026/11/25 10:02:11 [error] 812#812: *41 connect() to 127.0.0.1:8080 failed (111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: _, request: "GET /?a=", upstream: "http://evil" HTTP/1.1", upstream: "http://127.0.0.1:8080/?a=", upstream: "http://evil"", host: "example.com"`,
		Line{Kind: KindNginx, Time: tNov25, Level: "error", PID: 812, TID: 812, Conn: 41,
			Message: "connect() to 127.0.0.1:8080 failed (111: Connection refused) while connecting to upstream",
			Client:  "203.0.113.9", Server: "_", Request: `GET /?a=", upstream: "http://evil" HTTP/1.1`,
			Upstream: `http://127.0.0.1:8080/?a=", upstream: "http://evil"`, Host: "example.com"}},
	{"nginx forged fields in the referrer",
		`2026/11/25 10:02:11 [error] 812#812: *41 connect() to 127.0.0.1:8080 failed (111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: _, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:8080/", host: "example.com", referrer: "x", upstream: "http://evil", host: "evil", client: 6.6.6.6, server: evil"`,
		Line{Kind: KindNginx, Time: tNov25, Level: "error", PID: 812, TID: 812, Conn: 41,
			Message: "connect() to 127.0.0.1:8080 failed (111: Connection refused) while connecting to upstream",
			Client:  "203.0.113.9", Server: "_", Request: "GET / HTTP/1.1",
			Upstream: "http://127.0.0.1:8080/", Host: "example.com"}},
	// open() quotes the decoded URI, so %2C%20client%3A%20… becomes ", client: …".
	{"nginx forged client in a decoded path",
		`2026/11/25 10:02:11 [error] 812#812: *41 open() "/var/www/html/a, client: 6.6.6.6, server: evil, x" failed (2: No such file or directory), client: 203.0.113.9, server: example.com, request: "GET /a%2C%20client%3A%206.6.6.6%2C%20server%3A%20evil%2C%20x HTTP/1.1", host: "example.com"`,
		Line{Kind: KindNginx, Time: tNov25, Level: "error", PID: 812, TID: 812, Conn: 41,
			Message: `open() "/var/www/html/a, client: 6.6.6.6, server: evil, x" failed (2: No such file or directory)`,
			Client:  "203.0.113.9", Server: "example.com",
			Request: "GET /a%2C%20client%3A%206.6.6.6%2C%20server%3A%20evil%2C%20x HTTP/1.1", Host: "example.com"}},
	{"nginx subrequest",
		`2026/11/25 10:02:11 [error] 812#812: *41 connect() failed (111: Connection refused) while connecting to upstream, client: 10.1.2.3, server: app.local, request: "GET /page HTTP/1.1", subrequest: "/auth", upstream: "http://127.0.0.1:9001/auth", host: "app.local"`,
		Line{Kind: KindNginx, Time: tNov25, Level: "error", PID: 812, TID: 812, Conn: 41,
			Message: "connect() failed (111: Connection refused) while connecting to upstream",
			Client:  "10.1.2.3", Server: "app.local", Request: "GET /page HTTP/1.1",
			Upstream: "http://127.0.0.1:9001/auth", Host: "app.local"}},
	// nginx cuts a record at NGX_MAX_ERROR_STR (2048) bytes, mid-value.
	{"nginx cut inside the request",
		`2026/11/25 10:02:11 [error] 812#812: *41 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.1.2.3, server: app.local, request: "GET /search?q=aaaaaaaaaaaa`,
		Line{Kind: KindNginx, Time: tNov25, Level: "error", PID: 812, TID: 812, Conn: 41,
			Message: "upstream timed out (110: Connection timed out) while reading response header from upstream",
			Client:  "10.1.2.3", Server: "app.local", Request: "GET /search?q=aaaaaaaaaaaa"}},
	{"nginx stream module",
		`2026/11/25 10:02:11 [error] 30#30: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: 0.0.0.0:3306, upstream: "127.0.0.1:3306", bytes from/to client:0/0, bytes from/to upstream:0/0`,
		Line{Kind: KindNginx, Time: tNov25, Level: "error", PID: 30, TID: 30, Conn: 5,
			Message: "connect() failed (111: Connection refused) while connecting to upstream",
			Client:  "1.2.3.4", Server: "0.0.0.0:3306", Upstream: "127.0.0.1:3306"}},
	{"nginx unix client and no request",
		`2026/11/25 10:02:11 [info] 30#30: *9 client closed connection while waiting for request, client: unix:, server: unix:/run/nginx.sock`,
		Line{Kind: KindNginx, Time: tNov25, Level: "info", PID: 30, TID: 30, Conn: 9,
			Message: "client closed connection while waiting for request",
			Client:  "unix:", Server: "unix:/run/nginx.sock"}},
	{"nginx impossible date keeps the line",
		`2026/02/30 10:02:11 [warn] 1#1: conflicting server name "a" on 0.0.0.0:80, ignored`,
		Line{Kind: KindNginx, Level: "warn", PID: 1, TID: 1,
			Message: `conflicting server name "a" on 0.0.0.0:80, ignored`}},
	{"nginx stderr emerg",
		`nginx: [emerg] unknown directive "foo" in /etc/nginx/nginx.conf:12`,
		Line{Kind: KindNginx, Level: "emerg", Message: `unknown directive "foo" in /etc/nginx/nginx.conf:12`}},
	{"nginx -t failure",
		`nginx: configuration file /etc/nginx/nginx.conf test failed`,
		Line{Kind: KindNginx, Message: "configuration file /etc/nginx/nginx.conf test failed"}},

	// ---- nginx, cut or wrapped ----
	{"nginx from the connection number", ngxRefused[strings.Index(ngxRefused, "*41"):],
		withLine(ngxRefusedLine, func(l *Line) { l.Time, l.Level, l.PID, l.TID = time.Time{}, "", 0, 0 })},
	{"nginx from the message", ngxRefused[strings.Index(ngxRefused, "connect()"):],
		withLine(ngxRefusedLine, func(l *Line) { l.Time, l.Level, l.PID, l.TID, l.Conn = time.Time{}, "", 0, 0, 0 })},
	{"nginx without the date", ngxRefused[strings.Index(ngxRefused, "[error]"):],
		withLine(ngxRefusedLine, func(l *Line) { l.Time = time.Time{} })},
	{"nginx without date and level", ngxRefused[strings.Index(ngxRefused, "812#"):],
		withLine(ngxRefusedLine, func(l *Line) { l.Time, l.Level = time.Time{}, "" })},
	{"nginx indented paste", "   \t" + ngxRefused + "  ", ngxRefusedLine},
	{"docker compose", "web-1  | " + ngxRefused, ngxRefusedLine},
	{"docker compose v1", "nginx_1    | " + ngxRefused, ngxRefusedLine},
	{"CRI", "2026-11-25T10:02:11.123456789Z stderr F " + ngxRefused, ngxRefusedLine},
	{"docker logs -t", "2026-11-25T10:02:11.123456789Z " + ngxRefused, ngxRefusedLine},
	{"kubectl --prefix", "[pod/web-7d9f8c-x2k4q/nginx] " + ngxRefused, ngxRefusedLine},
	{"CRI inside compose", "web-1  | 2026-11-25T10:02:11.5Z stdout F " + ngxRefused, ngxRefusedLine},
	{"journald nginx", "Nov 25 10:02:11 web-01 nginx[812]: " + ngxRefused, ngxRefusedLine},
	{"syslog with priority", "<187>Nov 25 10:02:11 web-01 nginx: " + ngxRefused, ngxRefusedLine},
	{"ISO syslog nginx", "2026-11-25T10:02:11.123456+00:00 web-01 nginx[812]: " + ngxRefused, ngxRefusedLine},
	{"journald nginx stderr takes the pid from the tag",
		`Nov 25 10:02:11 web-01 nginx[812]: nginx: [emerg] unknown directive "foo" in /etc/nginx/sites-enabled/default:3`,
		Line{Kind: KindNginx, Level: "emerg", PID: 812,
			Message: `unknown directive "foo" in /etc/nginx/sites-enabled/default:3`}},
	{"grep prefix", "/var/log/nginx/error.log:" + ngxRefused, ngxRefusedLine},
	{"grep -n prefix", "error.log.1:12:" + ngxRefused, ngxRefusedLine},
	{"CRI with the nginx line cut",
		"2026-11-25T10:02:12Z stderr F " + ngxRefused[strings.Index(ngxRefused, "*41"):],
		withLine(ngxRefusedLine, func(l *Line) {
			l.Time, l.Level, l.PID, l.TID = utcTime(2026, time.November, 25, 10, 2, 12, 0), "", 0, 0
		})},

	// ---- php-fpm ----
	{"fpm max_children",
		`[25-Nov-2026 10:02:11] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it`,
		Line{Kind: KindFPM, Time: tNov25, Level: "WARNING", Pool: "www",
			Message: "server reached pm.max_children setting (5), consider raising it"}},
	{"fpm child segfault",
		`[25-Nov-2026 10:02:11] WARNING: [pool www] child 1234 exited on signal 11 (SIGSEGV - core dumped) after 12.345678 seconds from start`,
		Line{Kind: KindFPM, Time: tNov25, Level: "WARNING", Pool: "www", PID: 1234,
			Message: "child 1234 exited on signal 11 (SIGSEGV - core dumped) after 12.345678 seconds from start"}},
	{"fpm running",
		`[25-Nov-2026 10:02:11] NOTICE: fpm is running, pid 1`,
		Line{Kind: KindFPM, Time: tNov25, Level: "NOTICE", PID: 1, Message: "fpm is running, pid 1"}},
	{"fpm bind error with microseconds",
		`[25-Nov-2026 10:02:11.123456] ERROR: unable to bind listening socket for address '/run/php/php8.2-fpm.sock': No such file or directory (2)`,
		Line{Kind: KindFPM, Time: utcTime(2026, time.November, 25, 10, 2, 11, 123456000), Level: "ERROR",
			Message: "unable to bind listening socket for address '/run/php/php8.2-fpm.sock': No such file or directory (2)"}},
	{"fpm said into stderr",
		`[25-Nov-2026 10:02:11] WARNING: [pool www] child 99 said into stderr: "NOTICE: PHP message: PHP Warning:  Undefined variable $x in /var/www/html/index.php on line 3"`,
		Line{Kind: KindFPM, Time: tNov25, Level: "WARNING", Pool: "www", PID: 99,
			Message: `child 99 said into stderr: "NOTICE: PHP message: PHP Warning:  Undefined variable $x in /var/www/html/index.php on line 3"`}},
	{"fpm BaoTa pool with a dot",
		`[25-Nov-2026 10:02:11] WARNING: [pool site.example_com] seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning 8 children, there are 0 idle, and 13 total children`,
		Line{Kind: KindFPM, Time: tNov25, Level: "WARNING", Pool: "site.example_com",
			Message: "seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning 8 children, there are 0 idle, and 13 total children"}},
	{"fpm slow log header",
		`[25-Nov-2026 10:02:11]  [pool www] pid 1234`,
		Line{Kind: KindFPM, Time: tNov25, Pool: "www", PID: 1234, Message: "pid 1234"}},
	{"fpm child line without time",
		`WARNING: [pool www] child 7 exited with code 1 after 0.003 seconds from start`,
		Line{Kind: KindFPM, Level: "WARNING", Pool: "www", PID: 7,
			Message: "child 7 exited with code 1 after 0.003 seconds from start"}},
	{"fpm through syslog",
		`Nov 25 10:02:11 web-01 php-fpm[1022]: [WARNING] [pool www] server reached pm.max_children setting (5), consider raising it`,
		Line{Kind: KindFPM, Level: "WARNING", Pool: "www", PID: 1022,
			Message: "server reached pm.max_children setting (5), consider raising it"}},
	{"fpm in docker compose",
		`php-1  | [25-Nov-2026 10:02:11] NOTICE: ready to handle connections`,
		Line{Kind: KindFPM, Time: tNov25, Level: "NOTICE", Message: "ready to handle connections"}},

	// ---- kernel ----
	{"dmesg OOM", "[123456.789012] " + oomMsg,
		Line{Kind: KindKernel, PID: 4321, Process: "php-fpm8.2", Message: oomMsg}},
	{"dmesg -T OOM", "[Wed Nov 25 10:02:11 2026] " + oomMsg,
		Line{Kind: KindKernel, Time: tNov25, PID: 4321, Process: "php-fpm8.2", Message: oomMsg}},
	{"dmesg -T padded day", "[Thu Nov  5 10:02:11 2026] " + oomMsg,
		Line{Kind: KindKernel, Time: utcTime(2026, time.November, 5, 10, 2, 11, 0), PID: 4321, Process: "php-fpm8.2", Message: oomMsg}},
	{"journal kernel OOM has no year", "Nov 25 10:02:11 web-01 kernel: [123.456] " + oomMsg,
		Line{Kind: KindKernel, PID: 4321, Process: "php-fpm8.2", Message: oomMsg}},
	{"ISO syslog kernel OOM", "2026-11-25T10:02:11.123456+00:00 web-01 kernel: " + oomMsg,
		Line{Kind: KindKernel, Time: utcTime(2026, time.November, 25, 10, 2, 11, 123456000), PID: 4321, Process: "php-fpm8.2", Message: oomMsg}},
	{"journalctl short-iso with offset", "2026-11-25T11:02:11+0100 web-01 kernel: " + oomMsg,
		Line{Kind: KindKernel, Time: tNov25, PID: 4321, Process: "php-fpm8.2", Message: oomMsg}},
	{"bare OOM", oomMsg, Line{Kind: KindKernel, PID: 4321, Process: "php-fpm8.2", Message: oomMsg}},
	{"older kernel OOM",
		`[ 5012.3] Out of memory: Kill process 4321 (php-fpm) score 900 or sacrifice child`,
		Line{Kind: KindKernel, PID: 4321, Process: "php-fpm",
			Message: "Out of memory: Kill process 4321 (php-fpm) score 900 or sacrifice child"}},
	{"oom-kill summary",
		`[123456.789000] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/php8.2-fpm.service,task=php-fpm8.2,pid=4321,uid=33`,
		Line{Kind: KindKernel, PID: 4321, Process: "php-fpm8.2",
			Message: "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/php8.2-fpm.service,task=php-fpm8.2,pid=4321,uid=33"}},
	{"memory cgroup OOM",
		`[ 99.000001] Memory cgroup out of memory: Killed process 4321 (php-fpm8.2) total-vm:812345kB, anon-rss:512000kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:1234kB oom_score_adj:0`,
		Line{Kind: KindKernel, PID: 4321, Process: "php-fpm8.2",
			Message: "Memory cgroup out of memory: Killed process 4321 (php-fpm8.2) total-vm:812345kB, anon-rss:512000kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:1234kB oom_score_adj:0"}},
	// The invoker is not the victim, so Process stays empty.
	{"invoked oom-killer",
		`[ 99.000000] php-fpm8.2 invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0`,
		Line{Kind: KindKernel,
			Message: "php-fpm8.2 invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0"}},
	{"segfault",
		`[ 5012.345678] php-fpm8.2[1234]: segfault at 0 ip 00007f3a1c2b4d10 sp 00007ffd1e2f3a40 error 4 in libphp.so[7f3a1c000000+a00000]`,
		Line{Kind: KindKernel, PID: 1234, Process: "php-fpm8.2",
			Message: "php-fpm8.2[1234]: segfault at 0 ip 00007f3a1c2b4d10 sp 00007ffd1e2f3a40 error 4 in libphp.so[7f3a1c000000+a00000]"}},
	{"bare segfault",
		`php-fpm8.2[1234]: segfault at 0 ip 00007f3a1c2b4d10 sp 00007ffd1e2f3a40 error 4 in libphp.so[7f3a1c000000+a00000]`,
		Line{Kind: KindKernel, PID: 1234, Process: "php-fpm8.2",
			Message: "php-fpm8.2[1234]: segfault at 0 ip 00007f3a1c2b4d10 sp 00007ffd1e2f3a40 error 4 in libphp.so[7f3a1c000000+a00000]"}},
	{"general protection fault",
		`Nov 25 10:02:11 web-01 kernel: traps: php-fpm8.2[1234] general protection fault ip:7f3a1c2b4d10 sp:7ffd1e2f3a40 error:0 in libc.so.6[7f3a1c000000+195000]`,
		Line{Kind: KindKernel, PID: 1234, Process: "php-fpm8.2",
			Message: "traps: php-fpm8.2[1234] general protection fault ip:7f3a1c2b4d10 sp:7ffd1e2f3a40 error:0 in libc.so.6[7f3a1c000000+195000]"}},
	{"ext4 error",
		`[ 9.100000] EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm nginx: reading directory lblock 0`,
		Line{Kind: KindKernel, Message: "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm nginx: reading directory lblock 0"}},
	{"remount read-only",
		`Nov 25 10:02:11 web-01 kernel: EXT4-fs (sda1): Remounting filesystem read-only`,
		Line{Kind: KindKernel, Message: "EXT4-fs (sda1): Remounting filesystem read-only"}},

	// ---- audit ----
	{"audit.log AVC", "type=AVC msg=audit(1764064931.123:456): " + avcMsg,
		Line{Kind: KindAudit, Time: utcTime(2025, time.November, 25, 10, 2, 11, 123000000), PID: 812, Process: "nginx", Message: avcMsg}},
	{"audit.log with node", "node=web-01 type=AVC msg=audit(1764064931.123:456): " + avcMsg,
		Line{Kind: KindAudit, Time: utcTime(2025, time.November, 25, 10, 2, 11, 123000000), PID: 812, Process: "nginx", Message: avcMsg}},
	{"journald AVC", "Nov 25 10:02:11 web-01 audit[812]: AVC " + avcMsg,
		Line{Kind: KindAudit, PID: 812, Process: "nginx", Message: avcMsg}},
	{"kernel audit AVC", "Nov 25 10:02:11 web-01 kernel: audit: type=1400 audit(1764064931.123:456): " + avcMsg,
		Line{Kind: KindAudit, Time: utcTime(2025, time.November, 25, 10, 2, 11, 123000000), PID: 812, Process: "nginx", Message: avcMsg}},
	{"dmesg audit AVC", "[ 812.000001] audit: type=1400 audit(1764064931.123:456): " + avcMsg,
		Line{Kind: KindAudit, Time: utcTime(2025, time.November, 25, 10, 2, 11, 123000000), PID: 812, Process: "nginx", Message: avcMsg}},
	{"bare AVC", avcMsg, Line{Kind: KindAudit, PID: 812, Process: "nginx", Message: avcMsg}},
	{"audit SYSCALL with hex comm",
		`type=SYSCALL msg=audit(1764064931.123:456): arch=c000003e syscall=42 success=no exit=-13 ppid=1 pid=812 uid=33 comm=70687020666F6F exe="/usr/sbin/nginx"`,
		Line{Kind: KindAudit, Time: utcTime(2025, time.November, 25, 10, 2, 11, 123000000), PID: 812, Process: "php foo",
			Message: `arch=c000003e syscall=42 success=no exit=-13 ppid=1 pid=812 uid=33 comm=70687020666F6F exe="/usr/sbin/nginx"`}},

	// ---- other ----
	{"empty", "", Line{}},
	{"newline only", "\r\n", Line{}},
	{"whitespace", " \t  ", Line{}},
	{"garbage", "\x00\xff\xfe[\x01*9 ]:\"", Line{Message: "\x00\xff\xfe[\x01*9 ]:\""}},
	{"invalid UTF-8 in an nginx line",
		"2026/11/25 10:02:11 [error] 1#1: *2 open() \"/srv/\xc3\x28\" failed (2: No such file or directory), client: ::1, server: s, request: \"GET /\xc3\x28 HTTP/1.1\", host: \"h\"",
		Line{Kind: KindNginx, Time: tNov25, Level: "error", PID: 1, TID: 1, Conn: 2,
			Message: "open() \"/srv/\xc3\x28\" failed (2: No such file or directory)",
			Client:  "::1", Server: "s", Request: "GET /\xc3\x28 HTTP/1.1", Host: "h"}},
	{"partial upstream only",
		`upstream: "http://127.0.0.1:8080/"`,
		Line{Message: `upstream: "http://127.0.0.1:8080/"`, Upstream: "http://127.0.0.1:8080/"}},
	{"unknown text with context fields",
		`see this: foo, upstream: "fastcgi://127.0.0.1:9000", host: "example.com"`,
		Line{Message: `see this: foo, upstream: "fastcgi://127.0.0.1:9000", host: "example.com"`,
			Upstream: "fastcgi://127.0.0.1:9000", Host: "example.com"}},
	{"systemd line is other",
		`Nov 25 10:02:11 web-01 systemd[1]: php8.2-fpm.service: Main process exited, code=killed, status=11/SEGV`,
		Line{Message: "Nov 25 10:02:11 web-01 systemd[1]: php8.2-fpm.service: Main process exited, code=killed, status=11/SEGV"}},
	{"unknown text in a CRI record keeps the CRI time",
		`2026-11-25T10:02:11Z stdout F 10.0.0.1 - - [25/Nov/2026:10:02:11 +0000] "GET / HTTP/1.1" 502 157`,
		Line{Time: tNov25, Message: `2026-11-25T10:02:11Z stdout F 10.0.0.1 - - [25/Nov/2026:10:02:11 +0000] "GET / HTTP/1.1" 502 157`}},
	// Apache's error log looks like dmesg -T; it must not become a kernel line.
	{"apache 2.2 is not dmesg",
		`[Wed Nov 25 10:02:11 2026] [error] [client 1.2.3.4] File does not exist: /var/www/favicon.ico`,
		Line{Message: `[Wed Nov 25 10:02:11 2026] [error] [client 1.2.3.4] File does not exist: /var/www/favicon.ico`}},
	{"apache 2.4 is not dmesg",
		`[Wed Nov 25 10:02:11.123456 2026] [proxy_fcgi:error] [pid 1234:tid 140] [client 1.2.3.4:5678] AH01079: failed to make connection to backend: 127.0.0.1`,
		Line{Message: `[Wed Nov 25 10:02:11.123456 2026] [proxy_fcgi:error] [pid 1234:tid 140] [client 1.2.3.4:5678] AH01079: failed to make connection to backend: 127.0.0.1`}},
	{"huge connection number",
		`*99999999999999999999999 upstream timed out`,
		Line{Kind: KindNginx, Message: "upstream timed out"}},
}

func TestParseLine(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseLine([]byte(tc.in))
			if want := strings.TrimRight(tc.in, "\r\n"); got.Raw != want {
				t.Errorf("Raw = %q, want %q", got.Raw, want)
			}
			checkLine(t, got, tc.want)
		})
	}
}

func checkLine(t *testing.T, got, want Line) {
	t.Helper()
	if got.Kind != want.Kind {
		t.Errorf("Kind = %d, want %d", got.Kind, want.Kind)
	}
	if !got.Time.Equal(want.Time) {
		t.Errorf("Time = %v, want %v", got.Time, want.Time)
	}
	if got.PID != want.PID || got.TID != want.TID || got.Conn != want.Conn {
		t.Errorf("PID, TID, Conn = %d, %d, %d, want %d, %d, %d", got.PID, got.TID, got.Conn, want.PID, want.TID, want.Conn)
	}
	for _, f := range []struct{ name, got, want string }{
		{"Level", got.Level, want.Level},
		{"Message", got.Message, want.Message},
		{"Client", got.Client, want.Client},
		{"Server", got.Server, want.Server},
		{"Request", got.Request, want.Request},
		{"Upstream", got.Upstream, want.Upstream},
		{"Host", got.Host, want.Host},
		{"Pool", got.Pool, want.Pool},
		{"Process", got.Process, want.Process},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
}

// The reader never aliases its input buffer.
func TestParseLineCopies(t *testing.T) {
	buf := []byte(ngxRefused)
	l := ParseLine(buf)
	for i := range buf {
		buf[i] = 'x'
	}
	checkLine(t, l, ngxRefusedLine)
	if l.Raw != ngxRefused {
		t.Errorf("Raw changed with the buffer: %q", l.Raw)
	}
}

func TestParseLineHuge(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	in := strings.Replace(ngxRefused, "/index.php", "/"+long, 1)
	got := ParseLine([]byte(in))
	want := withLine(ngxRefusedLine, func(l *Line) { l.Request = "GET /" + long + " HTTP/1.1" })
	checkLine(t, got, want)

	// Inputs crafted to defeat the candidate searches must still take linear time:
	// a quadratic scan of these would run for minutes.
	for name, in := range map[string]string{
		"clients":  strings.Repeat(`, client: 1, server: 2, request: "x", host: "y", z`, 1<<14),
		"requests": ", client: 1, server: 2, request: \"" + strings.Repeat(`x", host: "`, 1<<16),
		"quotes":   strings.Repeat(`", `, 1<<18),
		"prefixes": strings.Repeat("web-1 | ", 1<<16),
		"brackets": strings.Repeat("[", 1<<20),
	} {
		start := time.Now()
		l := ParseLine([]byte(in))
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: %d bytes took %v", name, len(in), d)
		}
		if l.Raw != in {
			t.Errorf("%s: Raw differs", name)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l := ParseLine(in)
		if want := strings.TrimRight(string(in), "\r\n"); l.Raw != want {
			t.Fatalf("Raw = %q, want %q", l.Raw, want)
		}
		if l.Kind > KindAudit {
			t.Fatalf("Kind = %d", l.Kind)
		}
		// Every text field is a piece of the line (Process may be hex-decoded).
		for name, v := range map[string]string{
			"Level": l.Level, "Message": l.Message, "Client": l.Client, "Server": l.Server,
			"Request": l.Request, "Upstream": l.Upstream, "Host": l.Host, "Pool": l.Pool,
		} {
			if !strings.Contains(l.Raw, v) {
				t.Fatalf("%s = %q is not in Raw %q", name, v, l.Raw)
			}
		}
		if l.Kind == KindOther && l.Message != strings.TrimSpace(l.Raw) {
			t.Fatalf("KindOther Message = %q, want the trimmed line", l.Message)
		}
		if l.PID < 0 || l.TID < 0 || l.Conn < 0 {
			t.Fatalf("negative ids: %d %d %d", l.PID, l.TID, l.Conn)
		}
	})
}

func BenchmarkParseLine(b *testing.B) {
	raw := []byte(ngxRefused)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		ParseLine(raw)
	}
}
