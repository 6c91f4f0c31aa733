package knowledge

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// HostFacts is what a playbook learned about one host. Nil and empty fields mean
// the step gave nothing; rules then stay silent rather than guess.
type HostFacts struct {
	Host        *HostInfo
	Nginx       *NginxConfig
	Processes   []Process
	Listeners   []Listener
	Services    []ServiceState
	Disks       []Filesystem
	Memory      *Memory
	Limits      []Limits
	SELinux     *SELinux
	FPM         *FPMConfig
	Sockets     []SocketStat
	Probes      []Probe
	Containers  []Container
	Resolutions []Resolution
	Layout      string
	Site        string // --site: only this server_name's upstreams count
}

// hostFix is a fix written for this host, shown before the catalog's general ones.
type hostFix struct{ en, zh string }

// AddHostFacts joins host state with the log evidence already collected: it
// confirms, refines (a refused connection while the backend listens elsewhere is a
// wrong address) and finds broken upstreams the logs did not mention.
func (c *Collector) AddHostFacts(f HostFacts) {
	r := hostRules{c: c, f: f}
	r.nginxConfig()
	r.nginxDown()
	r.unixUpstreams()
	r.tcpUpstreams()
	r.probes()
	r.permissions()
	r.disks()
	r.pool()
	r.load()
	r.limits()
	r.containers()
	r.staleDNS()
}

type hostRules struct {
	c *Collector
	f HostFacts
}

// fact records host evidence for cause id; en is shown as the proof line, zh in
// a Chinese reply. en also keys the evidence group, so grouping does not depend on
// the reply's language.
func (r *hostRules) fact(id, source, en, zh string, vars map[string]string) {
	cause := r.c.a.Catalog.Cause(id)
	if cause == nil {
		return
	}
	if vars == nil {
		vars = map[string]string{}
	}
	line := Line{Message: en, Raw: en}
	r.c.add(cause, 1, &line, zh, vars, "host:"+source)
	for k, v := range vars {
		if r.c.hostVars[id] == nil {
			r.c.hostVars[id] = map[string]string{}
		}
		r.c.hostVars[id][k] = v
	}
}

func (r *hostRules) fix(id, en, zh string) {
	r.c.hostFixes[id] = append(r.c.hostFixes[id], hostFix{en, zh})
}

// has reports log evidence (not host facts) for cause id about upstream u ("" = any).
func (r *hostRules) has(id, upstream string) bool {
	ce := r.c.causes[id]
	if ce == nil {
		return false
	}
	for _, g := range ce.groups {
		if strings.HasPrefix(g.source, "host:") {
			continue
		}
		if upstream == "" || g.vars["upstream"] == upstream {
			return true
		}
	}
	return false
}

func (r *hostRules) nginxConfig() {
	n := r.f.Nginx
	if n == nil || n.TestResult != "failed" {
		return
	}
	for _, m := range n.Messages {
		if strings.Contains(m, "[emerg]") || strings.Contains(m, "test failed") {
			// nginx's own words: quoted as written in either language.
			r.fact("nginx_config_invalid", "nginx -t", m, m, nil)
		}
	}
}

// nginxDown: without an nginx master nothing answers on the web ports, and a
// load balancer or CDN in front answers 502 for the host.
func (r *hostRules) nginxDown() {
	if len(r.f.Processes) == 0 || r.f.Layout == "docker" {
		return // no process list to judge by; a container's state is docker's to tell
	}
	for _, p := range r.f.Processes {
		if p.Comm == "nginx" || strings.HasPrefix(p.Args, "nginx: master process") {
			return
		}
	}
	unit := ""
	for _, s := range r.f.Services {
		if s.Name == "nginx" && s.Active != "unknown" {
			unit = s.Active
		}
	}
	var stopped []Container
	for _, c := range r.f.Containers {
		if !c.Running() && c.Nginx() {
			stopped = append(stopped, c)
		}
	}
	if r.f.Nginx == nil && unit == "" && len(stopped) == 0 {
		return // nothing says nginx is meant to run here
	}
	r.fact("nginx_down", "ps", "no nginx process is running (ps)", "没有正在运行的 nginx 进程（ps）", nil)
	if len(stopped) > 0 {
		// nginx is a container here: its state and its start are docker's.
		for _, c := range stopped {
			// Status is docker's own text (Exited (1) 5 minutes ago): kept as written.
			r.fact("nginx_down", "docker ps", fmt.Sprintf("container %s (%s) is %s", c.Name, c.Image, c.Status),
				fmt.Sprintf("容器 %s（%s）的状态为 %s", c.Name, c.Image, c.Status), map[string]string{"container": c.Name})
			r.fix("nginx_down",
				fmt.Sprintf("On this host: `docker logs --tail 50 %s` shows why nginx stopped (a config error, a port taken, memory); `docker start %s` brings it back.", c.Name, c.Name),
				fmt.Sprintf("本机：`docker logs --tail 50 %s` 查看 nginx 停止的原因（配置错误、端口被占用、内存）；`docker start %s` 重新启动。", c.Name, c.Name))
		}
		return
	}
	if unit != "" && unit != "active" {
		r.fact("nginx_down", "systemctl", "nginx.service is "+unit, "nginx.service 的状态为 "+unit, nil)
	}
	for _, port := range r.nginxPorts() {
		if len(r.f.Listeners) == 0 {
			break
		}
		l := r.tcpListening(port.port)
		switch {
		case l == nil:
			r.fact("nginx_down", "ss",
				fmt.Sprintf("nothing listens on port %d, where nginx should (listen in %s)", port.port, port.at),
				fmt.Sprintf("端口 %d 上没有任何进程监听，而 nginx 应在此监听（listen 位于 %s）", port.port, port.at), nil)
		case l.Process != "":
			vars := map[string]string{"port": strconv.Itoa(port.port), "holder": l.Process}
			r.fact("nginx_down", "ss",
				fmt.Sprintf("port %d is held by %s (pid %d): nginx cannot bind it (listen in %s)", port.port, l.Process, l.PID, port.at),
				fmt.Sprintf("端口 %d 被 %s（pid %d）占用：nginx 无法绑定（listen 位于 %s）", port.port, l.Process, l.PID, port.at), vars)
			r.fix("nginx_down",
				fmt.Sprintf("On this host: %s (pid %d) holds port %d. Stop it (`kill %d`, or stop its service and disable it) or move it to another port, then start nginx.", l.Process, l.PID, port.port, l.PID),
				fmt.Sprintf("本机：%s（pid %d）占用了端口 %d。停掉它（`kill %d`，或停止并禁用它的服务）或改到其他端口，然后启动 nginx。", l.Process, l.PID, port.port, l.PID))
		}
	}
	start := "nginx -t && nginx"
	switch {
	case r.f.Layout == "baota":
		start = "/www/server/nginx/sbin/nginx -t -c /www/server/nginx/conf/nginx.conf && /etc/init.d/nginx start"
	case unit != "":
		start = "nginx -t && systemctl start nginx"
	case r.f.Nginx != nil && len(r.f.Nginx.Files) > 0:
		start = fmt.Sprintf("nginx -t -c %[1]s && nginx -c %[1]s", r.f.Nginx.Files[0])
	}
	r.fix("nginx_down",
		fmt.Sprintf("On this host: `%s`; then find out why it stopped: `tail -n 30 %s` and `dmesg -T | grep -i 'killed process'`.", start, r.nginxErrorLog()),
		fmt.Sprintf("本机：`%s`；再查明它为什么停止：`tail -n 30 %s` 和 `dmesg -T | grep -i 'killed process'`。", start, r.nginxErrorLog()))
}

type nginxPort struct {
	port int
	at   string // file:line of the server block
}

// nginxPorts lists the TCP ports nginx's servers listen on, each once, in config order.
func (r *hostRules) nginxPorts() []nginxPort {
	if r.f.Nginx == nil {
		return nil
	}
	var out []nginxPort
	seen := map[int]bool{}
	for _, srv := range r.f.Nginx.Servers {
		for _, l := range srv.Listen {
			port := listenPort(l)
			if port == 0 || seen[port] {
				continue
			}
			seen[port] = true
			out = append(out, nginxPort{port, where(srv.File, srv.Line)})
		}
	}
	return out
}

// listenPort reads the port of an nginx listen directive: "80", "[::]:443 ssl",
// "127.0.0.1:8080 default_server", "*:80"; 0 for unix sockets. A bare address
// without a port listens on 80.
func listenPort(listen string) int {
	addr, _, _ := strings.Cut(strings.TrimSpace(listen), " ")
	if addr == "" || strings.HasPrefix(addr, "unix:") {
		return 0
	}
	if p, err := strconv.Atoi(addr); err == nil {
		return p
	}
	if _, port := SplitAddr(addr); port > 0 {
		return port
	}
	return 80
}

func (r *hostRules) nginxErrorLog() string {
	if r.f.Nginx != nil {
		for _, l := range r.f.Nginx.ErrorLogs {
			if strings.HasPrefix(l.Path, "/") {
				return l.Path
			}
		}
	}
	if r.f.Layout == "baota" {
		return "/www/wwwlogs/nginx_error.log"
	}
	return "/var/log/nginx/error.log"
}

// passTarget is one place nginx sends requests to.
type passTarget struct {
	pass    NginxPass
	address string // unix:/path or host:port
}

func (r *hostRules) passes() []passTarget {
	if r.f.Nginx == nil || r.f.Nginx.InContainer {
		return nil // a container's upstreams cannot be checked from the host
	}
	var out []passTarget
	seen := map[string]bool{}
	add := func(p NginxPass, addr string) {
		if addr == "" || seen[addr] {
			return
		}
		seen[addr] = true
		out = append(out, passTarget{pass: p, address: addr})
	}
	ups := map[string]NginxUpstream{}
	for _, u := range r.f.Nginx.Upstreams {
		ups[u.Name] = u
	}
	for _, s := range r.f.Nginx.Servers {
		if r.f.Site != "" && !slices.Contains(s.ServerNames, r.f.Site) {
			continue
		}
		for _, l := range s.Locations {
			if l.Pass == nil || l.Pass.UsesVariable {
				continue
			}
			if u, ok := ups[l.Pass.Address]; ok {
				for _, us := range u.Servers {
					p := *l.Pass
					p.File, p.Line = u.File, us.Line
					add(p, us.Address)
				}
				continue
			}
			add(*l.Pass, l.Pass.Address)
		}
	}
	return out
}

func (r *hostRules) fpmRunning() bool {
	for _, p := range r.f.Processes {
		if strings.HasPrefix(p.Args, "php-fpm: master process") {
			return true
		}
	}
	return false
}

func (r *hostRules) unixListening(path string) bool {
	for _, l := range r.f.Listeners {
		if l.Proto == "unix" && l.Local == path {
			return true
		}
	}
	return false
}

func (r *hostRules) stat(path string) *SocketStat {
	for i := range r.f.Sockets {
		if r.f.Sockets[i].Path == path {
			return &r.f.Sockets[i]
		}
	}
	return nil
}

func (r *hostRules) poolFor(listen string) *FPMPool {
	if r.f.FPM == nil {
		return nil
	}
	for i := range r.f.FPM.Pools {
		if r.f.FPM.Pools[i].Listen == listen {
			return &r.f.FPM.Pools[i]
		}
	}
	return nil
}

func where(file string, line int) string {
	if file == "" {
		return ""
	}
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// unixUpstreams checks every unix socket nginx passes to against php-fpm's pools,
// the process list, the listening sockets and the socket file itself.
func (r *hostRules) unixUpstreams() {
	for _, t := range r.passes() {
		path, ok := strings.CutPrefix(t.address, "unix:")
		if !ok {
			continue
		}
		st := r.stat(path)
		missing := st != nil && !st.Exists && st.Error == "No such file or directory"
		listening := r.unixListening(path)
		logged := r.has("upstream_down", t.address) || r.has("upstream_socket_missing", t.address)
		if !logged && !missing && (listening || len(r.f.Listeners) == 0) {
			continue
		}
		vars := map[string]string{"upstream": t.address, "socket": path}
		pool := r.poolFor(path)
		if pool == nil && t.pass.Scheme == "fastcgi" && r.f.FPM != nil && len(r.f.FPM.Pools) > 0 {
			// php-fpm is configured, but no pool listens where nginx looks.
			other := r.f.FPM.Pools[0]
			for _, p := range r.f.FPM.Pools {
				if p.ListenSocket() != "" {
					other = p // nginx names a socket, so the pool it meant most likely listens on one
					break
				}
			}
			vars["pool_file"] = other.File
			r.fact("upstream_wrong_address", "nginx -T",
				fmt.Sprintf("nginx passes to %s (%s)", t.address, where(t.pass.File, t.pass.Line)),
				fmt.Sprintf("nginx 把请求转发到 %s（%s）", t.address, where(t.pass.File, t.pass.Line)), vars)
			var listens, listensZh []string
			for _, p := range r.f.FPM.Pools {
				listens = append(listens, fmt.Sprintf("pool %s listens on %s (%s)", p.Name, p.Listen, where(p.File, p.Line)))
				listensZh = append(listensZh, fmt.Sprintf("进程池 %s 监听 %s（%s）", p.Name, p.Listen, where(p.File, p.Line)))
			}
			r.fact("upstream_wrong_address", "php-fpm config",
				"no php-fpm pool listens there: "+strings.Join(listens, "; "),
				"没有任何 php-fpm 进程池监听该地址："+strings.Join(listensZh, "；"), vars)
			r.fix("upstream_wrong_address",
				fmt.Sprintf("Make nginx and php-fpm agree: in %s set `%s unix:%s;` (then `nginx -t && nginx -s reload`), or set `listen = %s` in %s and restart php-fpm.",
					where(t.pass.File, t.pass.Line), t.pass.Directive, other.Listen, path, other.File),
				fmt.Sprintf("让 nginx 与 php-fpm 指向同一个地址：在 %s 写 `%s unix:%s;`（然后 `nginx -t && nginx -s reload`），或在 %s 中设置 `listen = %s` 并重启 php-fpm。",
					where(t.pass.File, t.pass.Line), t.pass.Directive, other.Listen, other.File, path))
			continue
		}
		if pool == nil {
			continue
		}
		vars["pool_file"] = pool.File
		if !r.fpmRunning() {
			if start, version := fpmStart(pool.File, r.systemd()); start != "" {
				vars["php_version"] = version
				r.fix("upstream_down",
					fmt.Sprintf("On this host: start %s with `%s`, then find out why it stopped: `tail -n 50 %s` and `dmesg -T | grep -i -E 'killed process|segfault'`.", fpmName(version), start, cmp.Or(r.fpmLog(), "the php-fpm log")),
					fmt.Sprintf("本机：用 `%s` 启动 %s，再查明它为什么停止：`tail -n 50 %s` 和 `dmesg -T | grep -i -E 'killed process|segfault'`。", start, fpmName(version), cmp.Or(r.fpmLog(), "php-fpm 日志")))
			}
			r.fact("upstream_down", "ps", "no php-fpm master process is running (ps)", "没有正在运行的 php-fpm 主进程（ps）", vars)
			r.fact("upstream_down", "php-fpm config",
				fmt.Sprintf("pool %s (%s) should listen on %s", pool.Name, where(pool.File, pool.Line), path),
				fmt.Sprintf("进程池 %s（%s）应监听 %s", pool.Name, where(pool.File, pool.Line), path), vars)
			if st != nil && st.Exists && !listening {
				r.fact("upstream_down", "stat",
					fmt.Sprintf("%s exists but nothing listens on it: left behind by a php-fpm that was killed", path),
					fmt.Sprintf("%s 文件还在，但没有进程监听：是被杀掉的 php-fpm 留下的", path), vars)
			}
			for _, s := range r.f.Services {
				if strings.Contains(s.Name, "php") && s.Active != "unknown" && s.Active != "active" {
					// The state is systemctl's word (inactive, failed): kept as written.
					r.fact("upstream_down", "systemctl", fmt.Sprintf("%s is %s", s.Name, s.Active), fmt.Sprintf("%s 的状态为 %s", s.Name, s.Active), vars)
				}
			}
			continue
		}
		if st != nil && st.Exists && !listening && len(r.f.Listeners) > 0 {
			r.fact("upstream_down", "ss",
				fmt.Sprintf("%s exists but no process listens on it (ss -lx)", path),
				fmt.Sprintf("%s 存在，但没有进程在监听（ss -lx）", path), vars)
		}
	}
}

// systemd reports whether systemctl answered for some unit.
func (r *hostRules) systemd() bool {
	for _, s := range r.f.Services {
		if s.Active != "unknown" {
			return true
		}
	}
	return false
}

func (r *hostRules) fpmLog() string {
	if r.f.FPM == nil {
		return ""
	}
	for _, m := range r.f.FPM.Masters {
		if strings.HasPrefix(m.ErrorLog, "/") {
			return m.ErrorLog
		}
	}
	return ""
}

func fpmName(version string) string {
	if version == "" {
		return "php-fpm"
	}
	return "php-fpm (PHP " + version + ")"
}

// fpmStart names the command that starts the php-fpm owning a pool file, by layout:
// Debian /etc/php/8.2/fpm, RHEL /etc/php-fpm.d, BaoTa /www/server/php/74.
func fpmStart(poolFile string, systemd bool) (cmd, version string) {
	switch {
	case strings.HasPrefix(poolFile, "/www/server/php/"):
		v := strings.SplitN(strings.TrimPrefix(poolFile, "/www/server/php/"), "/", 2)[0]
		if len(v) == 2 {
			version = v[:1] + "." + v[1:]
		}
		return "/etc/init.d/php-fpm-" + v + " start", version
	case strings.HasPrefix(poolFile, "/etc/php/"):
		v := strings.SplitN(strings.TrimPrefix(poolFile, "/etc/php/"), "/", 2)[0]
		if systemd {
			return "systemctl start php" + v + "-fpm", v
		}
		return "service php" + v + "-fpm start", v
	case strings.HasPrefix(poolFile, "/etc/php-fpm"):
		if systemd {
			return "systemctl start php-fpm", ""
		}
		return "service php-fpm start", ""
	}
	return "", ""
}

// local reports whether host names this machine, where ss can see the listener.
func local(host string, self *HostInfo) bool {
	switch host {
	case "127.0.0.1", "localhost", "::1", "0.0.0.0", "::", "*", "":
		return true
	}
	return strings.HasPrefix(host, "127.")
}

// SplitAddr splits "host:port" or "[v6]:port" into host (no brackets) and port;
// the port is 0 when there is none (unix:/path included).
func SplitAddr(addr string) (string, int) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, 0
	}
	port, _ := strconv.Atoi(addr[i+1:])
	return strings.Trim(addr[:i], "[]"), port
}

func (r *hostRules) tcpListening(port int) *Listener {
	for i := range r.f.Listeners {
		l := &r.f.Listeners[i]
		if l.Proto == "tcp" && l.Port == port {
			return l
		}
	}
	return nil
}

// tcpUpstreams: a refused local TCP upstream while the backend listens on another port.
func (r *hostRules) tcpUpstreams() {
	if len(r.f.Listeners) == 0 {
		return
	}
	used := map[int]bool{22: true}
	for _, t := range r.passes() {
		if _, p := SplitAddr(t.address); p > 0 {
			used[p] = true
		}
	}
	for _, t := range r.passes() {
		host, port := SplitAddr(t.address)
		if port == 0 || !local(host, r.f.Host) || !r.has("upstream_down", t.address) && !r.probeRefused(t.address) {
			continue
		}
		if r.tcpListening(port) != nil {
			continue
		}
		vars := map[string]string{"upstream": t.address}
		var candidates []Listener
		for _, l := range r.f.Listeners {
			if l.Proto != "tcp" || used[l.Port] || l.Process == "nginx" || l.Process == "sshd" || l.Port == 0 {
				continue
			}
			if t.pass.Scheme == "fastcgi" && !strings.HasPrefix(l.Process, "php-fpm") {
				continue
			}
			if t.pass.Scheme != "fastcgi" && strings.HasPrefix(l.Process, "php-fpm") {
				continue
			}
			candidates = append(candidates, l)
		}
		if len(candidates) == 1 {
			l := candidates[0]
			vars["listening"] = l.Local
			r.fact("upstream_wrong_address", "ss",
				fmt.Sprintf("nothing listens on %s, where nginx sends requests (%s); %s (pid %d) listens on %s", t.address, where(t.pass.File, t.pass.Line), l.Process, l.PID, l.Local),
				fmt.Sprintf("nginx 把请求发往 %s（%s），但没有进程监听该地址；%s（pid %d）监听的是 %s", t.address, where(t.pass.File, t.pass.Line), l.Process, l.PID, l.Local), vars)
			r.fix("upstream_wrong_address",
				fmt.Sprintf("Point nginx at the port the backend really uses: in %s change %s to %s, then `nginx -t && nginx -s reload` (or move the backend back to %s).", where(t.pass.File, t.pass.Line), t.address, l.Local, t.address),
				fmt.Sprintf("让 nginx 指向后端实际监听的端口：在 %s 把 %s 改成 %s，然后 `nginx -t && nginx -s reload`（或让后端改回监听 %s）。", where(t.pass.File, t.pass.Line), t.address, l.Local, t.address))
			continue
		}
		r.fact("upstream_down", "ss",
			fmt.Sprintf("nothing listens on %s (ss -ltn), where nginx sends requests (%s)", t.address, where(t.pass.File, t.pass.Line)),
			fmt.Sprintf("nginx 把请求发往 %s（%s），但没有进程监听该地址（ss -ltn）", t.address, where(t.pass.File, t.pass.Line)), vars)
	}
}

func (r *hostRules) probeRefused(target string) bool {
	for _, p := range r.f.Probes {
		if p.Target == target && p.Result == "error" && strings.Contains(strings.ToLower(p.Detail), "refused") {
			return true
		}
	}
	return false
}

// probes: what a direct connection from the host says, even when the logs are quiet.
func (r *hostRules) probes() {
	mine := map[string]bool{}
	for _, t := range r.passes() {
		mine[t.address] = true
	}
	for _, p := range r.f.Probes {
		if r.f.Site != "" && !mine[p.Target] {
			continue // another site's upstream
		}
		vars := map[string]string{"upstream": p.Target}
		detail := strings.ToLower(p.Detail)
		switch {
		case p.Result == "timeout":
			r.fact("upstream_connect_timeout", "probe",
				fmt.Sprintf("connecting from the host to %s timed out after 3 s (packets dropped: firewall or host down)", p.Target),
				fmt.Sprintf("从本机连接 %s 3 秒后超时（数据包被丢弃：防火墙拦截或对端主机宕机）", p.Target), vars)
		case p.Result == "error" && strings.Contains(detail, "refused"):
			host, _ := SplitAddr(p.Target)
			if local(host, r.f.Host) && r.c.causes["upstream_wrong_address"] != nil {
				continue // already explained by the listener rule
			}
			r.fact("upstream_down", "probe",
				fmt.Sprintf("connecting from the host to %s: connection refused", p.Target),
				fmt.Sprintf("从本机连接 %s：连接被拒绝", p.Target), vars)
		case p.Result == "error" && (strings.Contains(detail, "no route") || strings.Contains(detail, "unreachable")):
			// Detail is the system's error text (no route to host): quoted as written.
			r.fact("upstream_unreachable", "probe",
				fmt.Sprintf("connecting from the host to %s: %s", p.Target, p.Detail),
				fmt.Sprintf("从本机连接 %s 失败：%s", p.Target, p.Detail), vars)
		}
	}
}

// permissions: who may open the socket nginx is denied.
func (r *hostRules) permissions() {
	if !r.has("upstream_permission_denied", "") {
		return
	}
	if r.f.SELinux != nil && r.f.SELinux.Mode == "Enforcing" {
		r.fact("selinux_blocked", "getenforce", "SELinux is Enforcing", "SELinux 处于 Enforcing 模式", nil)
		r.fix("selinux_blocked",
			"Confirm with `ausearch -m avc -ts recent | grep nginx`; allow nginx to connect with `setsebool -P httpd_can_network_connect 1` (TCP) or label the socket's directory `httpd_var_run_t`.",
			"先用 `ausearch -m avc -ts recent | grep nginx` 确认；TCP 上游用 `setsebool -P httpd_can_network_connect 1` 允许 nginx 连接，unix 套接字则把其目录标记为 `httpd_var_run_t`。")
	}
	user := r.nginxUser()
	for _, t := range r.passes() {
		path, ok := strings.CutPrefix(t.address, "unix:")
		if !ok || !r.has("upstream_permission_denied", t.address) {
			continue
		}
		st := r.stat(path)
		if st == nil || !st.Exists {
			continue
		}
		vars := map[string]string{"upstream": t.address, "socket": path}
		r.fact("upstream_permission_denied", "stat",
			fmt.Sprintf("%s is owned by %s:%s with mode %s; nginx workers run as %s", path, st.Owner, st.Group, st.Mode, user),
			fmt.Sprintf("%s 属主为 %s:%s、权限 %s；nginx worker 以 %s 运行", path, st.Owner, st.Group, st.Mode, user), vars)
		if pool := r.poolFor(path); pool != nil {
			vars["pool_file"] = pool.File
			r.fix("upstream_permission_denied",
				fmt.Sprintf("In %s (pool %s) set `listen.owner = %s`, `listen.group = %s`, `listen.mode = 0660`, then restart php-fpm so it recreates the socket.", where(pool.File, pool.Line), pool.Name, user, user),
				fmt.Sprintf("在 %s（进程池 %s）中设置 `listen.owner = %s`、`listen.group = %s`、`listen.mode = 0660`，然后重启 php-fpm 让它重新创建套接字。", where(pool.File, pool.Line), pool.Name, user, user))
		}
	}
}

// nginxUser is the user nginx's workers run as.
func (r *hostRules) nginxUser() string {
	for _, p := range r.f.Processes {
		if strings.HasPrefix(p.Args, "nginx: worker process") {
			return p.User
		}
	}
	if r.f.Nginx != nil && r.f.Nginx.User != "" {
		return strings.Fields(r.f.Nginx.User)[0]
	}
	return "nobody"
}

// disks: full or read-only filesystems nginx or the backend write to.
func (r *hostRules) disks() {
	for _, d := range r.f.Disks {
		switch d.Type {
		case "squashfs", "iso9660", "proc", "sysfs", "cgroup", "cgroup2", "devtmpfs", "overlay":
			if d.Type != "overlay" || d.Mount != "/" {
				continue
			}
		}
		vars := map[string]string{"mount": d.Mount}
		if d.UsePercent >= 98 {
			r.fact("disk_full", "df",
				fmt.Sprintf("%s (%s) is %d%% full: %d MB free", d.Mount, d.Device, d.UsePercent, d.AvailKB/1024),
				fmt.Sprintf("%s（%s）已用 %d%%，仅剩 %d MB", d.Mount, d.Device, d.UsePercent, d.AvailKB/1024), vars)
		}
		if d.IUsePercent >= 98 {
			r.fact("disk_full", "df -i",
				fmt.Sprintf("%s (%s) has used %d%% of its inodes", d.Mount, d.Device, d.IUsePercent),
				fmt.Sprintf("%s（%s）的 inode 已用 %d%%", d.Mount, d.Device, d.IUsePercent), vars)
		}
		if d.ReadOnly && writableMount(d.Mount) {
			r.fact("readonly_fs", "mounts",
				fmt.Sprintf("%s (%s) is mounted read-only", d.Mount, d.Device),
				fmt.Sprintf("%s（%s）以只读方式挂载", d.Mount, d.Device), vars)
		}
	}
}

// writableMount: mounts that must be writable for nginx, php-fpm and their logs.
func writableMount(m string) bool {
	switch m {
	case "/", "/var", "/var/log", "/var/lib", "/var/lib/nginx", "/var/cache", "/tmp", "/run", "/www", "/www/wwwlogs", "/www/server":
		return true
	}
	return false
}

// pool: size pm.max_children from free memory and the workers' real size.
func (r *hostRules) pool() {
	if !r.has("fpm_max_children", "") || r.f.FPM == nil {
		return
	}
	var rss []int
	for _, p := range r.f.Processes {
		if strings.HasPrefix(p.Args, "php-fpm: pool ") && p.RSSKB > 0 {
			rss = append(rss, p.RSSKB)
		}
	}
	for _, pool := range r.f.FPM.Pools {
		vars := map[string]string{"pool_file": pool.File, "max_children": strconv.Itoa(pool.MaxChildren)}
		// The Chinese line is built alongside the English one, piece by piece.
		text := fmt.Sprintf("pool %s (%s): pm = %s, pm.max_children = %d", pool.Name, where(pool.File, pool.Line), cmp.Or(pool.PM, "dynamic"), pool.MaxChildren)
		textZh := fmt.Sprintf("进程池 %s（%s）：pm = %s，pm.max_children = %d", pool.Name, where(pool.File, pool.Line), cmp.Or(pool.PM, "dynamic"), pool.MaxChildren)
		if len(rss) > 0 && r.f.Memory != nil && r.f.Memory.AvailableMB > 0 {
			sort.Ints(rss)
			total := 0
			for _, v := range rss {
				total += v
			}
			avgMB := max(1, total/len(rss)/1024)
			// The workers already running keep their memory; the rest of what is available can hold more.
			suggest := (r.f.Memory.AvailableMB*8/10 + total/1024) / avgMB
			vars["suggested_max_children"] = strconv.Itoa(suggest)
			text += fmt.Sprintf("; %d workers average %d MB, %d MB available", len(rss), avgMB, r.f.Memory.AvailableMB)
			textZh += fmt.Sprintf("；%d 个 worker 平均每个 %d MB，可用内存 %d MB", len(rss), avgMB, r.f.Memory.AvailableMB)
			if suggest > pool.MaxChildren {
				r.fix("fpm_max_children",
					fmt.Sprintf("On this host: set `pm.max_children = %d` in %s (80%% of available memory ÷ %d MB per worker), then reload php-fpm.", suggest, where(pool.File, pool.Line), avgMB),
					fmt.Sprintf("本机建议：在 %s 中设置 `pm.max_children = %d`（可用内存的 80%% ÷ 每个 worker %d MB），然后重载 php-fpm。", where(pool.File, pool.Line), suggest, avgMB))
			} else {
				r.fix("fpm_max_children",
					fmt.Sprintf("On this host memory is the limit: %d workers of %d MB already use what is available; make requests faster or add memory rather than raising pm.max_children.", len(rss), avgMB),
					fmt.Sprintf("本机内存已是瓶颈：%d 个 worker、每个 %d MB 已经用掉了可用内存；应优化请求耗时或加内存，而不是继续调大 pm.max_children。", len(rss), avgMB))
			}
		}
		r.fact("fpm_max_children", "php-fpm config", text, textZh, vars)
	}
}

// load: timeouts on a saturated host are the host's fault first.
func (r *hostRules) load() {
	h := r.f.Host
	if h == nil || h.CPUs == 0 {
		return
	}
	if !r.has("upstream_timeout", "") && !r.has("upstream_connect_timeout", "") {
		return
	}
	// Sustained: a busy minute is not a saturated host, and the 15-minute average
	// only gets there when the machine has been overrun for a while.
	if cpus := float64(h.CPUs); h.Load1 >= 4*cpus && h.Load5 >= 3*cpus && h.Load15 >= 2*cpus {
		r.fact("host_overloaded", "loadavg",
			fmt.Sprintf("load average %.1f %.1f %.1f on %d CPUs", h.Load1, h.Load5, h.Load15, h.CPUs),
			fmt.Sprintf("负载 %.1f %.1f %.1f（共 %d 个 CPU）", h.Load1, h.Load5, h.Load15, h.CPUs), nil)
	}
	if m := r.f.Memory; m != nil && m.SwapTotalMB > 0 && m.SwapUsedMB*2 > m.SwapTotalMB {
		r.fact("host_overloaded", "free",
			fmt.Sprintf("%d of %d MB swap in use: the host is swapping", m.SwapUsedMB, m.SwapTotalMB),
			fmt.Sprintf("swap 已用 %d MB（共 %d MB）：主机正在频繁换页", m.SwapUsedMB, m.SwapTotalMB), nil)
	}
}

// limits: the open-file limit nginx's workers or php-fpm run with, when the logs show it was hit.
func (r *hostRules) limits() {
	if !r.has("fd_exhausted", "") {
		return
	}
	for _, l := range r.f.Limits {
		var p *Process
		for i := range r.f.Processes {
			if r.f.Processes[i].PID == l.PID {
				p = &r.f.Processes[i]
			}
		}
		if p == nil || l.NoFileSoft < 0 {
			continue
		}
		switch {
		case strings.HasPrefix(p.Args, "nginx: master process"):
			n := r.f.Nginx
			if n != nil && n.WorkerRlimitNoFile > 0 {
				r.fact("fd_exhausted", "nginx -T",
					fmt.Sprintf("nginx workers may open %d files (worker_rlimit_nofile); worker_connections is %d", n.WorkerRlimitNoFile, n.WorkerConnections),
					fmt.Sprintf("nginx worker 最多可打开 %d 个文件（worker_rlimit_nofile）；worker_connections 为 %d", n.WorkerRlimitNoFile, n.WorkerConnections), nil)
				continue
			}
			text := fmt.Sprintf("the nginx master (pid %d) runs with a soft nofile limit of %d (hard %d), which its workers inherit: no worker_rlimit_nofile is set", l.PID, l.NoFileSoft, l.NoFileHard)
			textZh := fmt.Sprintf("nginx 主进程（pid %d）的 nofile 软限制为 %d（硬限制 %d），worker 会继承这个值：未设置 worker_rlimit_nofile", l.PID, l.NoFileSoft, l.NoFileHard)
			if n != nil && n.WorkerConnections > 0 {
				text += fmt.Sprintf("; worker_connections is %d, and a proxied request holds two descriptors", n.WorkerConnections)
				textZh += fmt.Sprintf("；worker_connections 为 %d，而每个被代理的请求要占用两个文件描述符", n.WorkerConnections)
			}
			r.fact("fd_exhausted", "limits", text, textZh, nil)
			if n != nil && len(n.Files) > 0 {
				want := max(65535, 2*n.WorkerConnections)
				r.fix("fd_exhausted",
					fmt.Sprintf("On this host: add `worker_rlimit_nofile %d;` to the main context of %s (at least twice worker_connections), then `nginx -t && nginx -s reload`.", want, n.Files[0]),
					fmt.Sprintf("本机：在 %s 的主配置段加入 `worker_rlimit_nofile %d;`（至少为 worker_connections 的两倍），然后 `nginx -t && nginx -s reload`。", n.Files[0], want))
			}
		case strings.HasPrefix(p.Args, "php-fpm: master process"):
			r.fact("fd_exhausted", "limits",
				fmt.Sprintf("the php-fpm master (pid %d) runs with a soft nofile limit of %d (hard %d)", l.PID, l.NoFileSoft, l.NoFileHard),
				fmt.Sprintf("php-fpm 主进程（pid %d）的 nofile 软限制为 %d（硬限制 %d）", l.PID, l.NoFileSoft, l.NoFileHard), nil)
		}
	}
}

// containers: with nginx in docker, a stopped container of the same compose project
// is the likely upstream that refuses, times out or no longer resolves.
func (r *hostRules) containers() {
	var nginx []Container
	for _, c := range r.f.Containers {
		if c.Running() && c.Nginx() {
			nginx = append(nginx, c)
		}
	}
	if len(nginx) == 0 {
		return
	}
	symptom := false
	for _, id := range []string{"upstream_down", "upstream_unreachable", "upstream_connect_timeout", "dns_resolve_failed", "no_live_upstreams"} {
		symptom = symptom || r.has(id, "")
	}
	if !symptom {
		return
	}
	for _, c := range r.f.Containers {
		if c.Running() {
			continue
		}
		for _, n := range nginx {
			if p := composeProject(c.Name); p == "" || p != composeProject(n.Name) {
				continue
			}
			vars := map[string]string{"container": c.Name}
			// Status is docker's own text (Exited (137) 4 minutes ago): kept as written.
			r.fact("upstream_down", "docker ps",
				fmt.Sprintf("container %s (%s), in the same compose project as %s, is %s", c.Name, c.Image, n.Name, c.Status),
				fmt.Sprintf("与 %s 同属一个 compose 项目的容器 %s（%s）状态为 %s", n.Name, c.Name, c.Image, c.Status), vars)
			r.fix("upstream_down",
				fmt.Sprintf("On this host: `docker logs --tail 100 %s` shows why it stopped (`docker inspect -f '{{.State.OOMKilled}}' %s` says whether memory did it); `docker start %s` brings it back.", c.Name, c.Name, c.Name),
				fmt.Sprintf("本机：`docker logs --tail 100 %s` 查看停止原因（`docker inspect -f '{{.State.OOMKilled}}' %s` 可确认是否因内存被杀）；`docker start %s` 重新启动。", c.Name, c.Name, c.Name))
			break
		}
	}
}

// composeProject is the project part of a compose container name:
// "shop-app-1" (compose v2) or "shop_app_1" (v1) → "shop"; "" for other names.
func composeProject(name string) string {
	for _, sep := range []string{"-", "_"} {
		parts := strings.Split(name, sep)
		if len(parts) >= 3 {
			if _, err := strconv.Atoi(parts[len(parts)-1]); err == nil {
				return strings.Join(parts[:len(parts)-2], sep)
			}
		}
	}
	return ""
}

// staleDNS: nginx resolved an upstream name when it started and still connects to
// that address, while the name now resolves elsewhere (a container or VM moved).
func (r *hostRules) staleDNS() {
	if len(r.f.Resolutions) == 0 {
		return
	}
	now := map[string][]string{}
	for _, res := range r.f.Resolutions {
		now[res.Name] = res.Addresses
	}
	for _, id := range []string{"upstream_down", "upstream_connect_timeout", "upstream_unreachable"} {
		ce := r.c.causes[id]
		if ce == nil {
			continue
		}
		for _, g := range ce.groups {
			ip, port := SplitAddr(g.vars["upstream"])
			if net.ParseIP(ip) == nil || port == 0 {
				continue
			}
			for _, t := range r.passes() {
				name, p := SplitAddr(t.address)
				addrs, known := now[name]
				if p != port || !known || len(addrs) == 0 || slices.Contains(addrs, ip) {
					continue
				}
				vars := map[string]string{"upstream": t.address, "name": name}
				r.fact("upstream_stale_dns", "getent",
					fmt.Sprintf("nginx connects to %s:%d for %s (%s), but %s now resolves to %s", ip, port, name, where(t.pass.File, t.pass.Line), name, strings.Join(addrs, ", ")),
					fmt.Sprintf("nginx 为 %s（%s）连接的是 %s:%d，但 %s 现在解析为 %s", name, where(t.pass.File, t.pass.Line), ip, port, name, strings.Join(addrs, ", ")), vars)
				r.fix("upstream_stale_dns",
					fmt.Sprintf("On this host: `nginx -t && nginx -s reload` makes nginx resolve %s again; to follow future moves, resolve at run time (`resolver` plus a variable in proxy_pass, or `server %s:%d resolve;` in a zone'd upstream on nginx ≥ 1.27.3).", name, name, port),
					fmt.Sprintf("本机：`nginx -t && nginx -s reload` 让 nginx 重新解析 %s；要跟上以后的地址变化，改为运行时解析（配置 `resolver` 并在 proxy_pass 中使用变量，或在 nginx ≥ 1.27.3 的带 zone 的 upstream 中写 `server %s:%d resolve;`）。", name, name, port))
			}
		}
	}
}
