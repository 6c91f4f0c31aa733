package knowledge

import "strings"

// Host facts: plain data that playbooks/parse*.go produce from command output and
// the diagnosis reads. Every value is as the host printed it unless a comment says
// otherwise; numbers a command could not give stay 0 (or -1 where 0 is meaningful).

// NginxConfig is what `nginx -T` tells about the configuration nginx would load.
type NginxConfig struct {
	// TestResult is "successful" or "failed" from nginx's own stderr verdict, ""
	// when stderr was not captured with the dump.
	TestResult string `json:"test_result,omitempty"`
	// Messages are nginx's stderr lines ([warn], [emerg], the verdict), in order.
	Messages []string `json:"messages,omitempty"`
	// Files lists every "# configuration file X:" section, in dump order.
	Files []string `json:"files"`
	// InContainer: the running nginx is in a container (Container, when it
	// could be named: the dump is then the container's, read with docker exec).
	// Its paths are the container's, not this host's.
	InContainer bool   `json:"in_container,omitempty"`
	Container   string `json:"container,omitempty"`

	User               string `json:"user,omitempty"`
	WorkerProcesses    string `json:"worker_processes,omitempty"`
	WorkerConnections  int    `json:"worker_connections,omitempty"`
	WorkerRlimitNoFile int64  `json:"worker_rlimit_nofile,omitempty"`
	PIDFile            string `json:"pid_file,omitempty"`

	ErrorLogs  []NginxLog     `json:"error_logs,omitempty"`  // main and http level
	AccessLogs []NginxLog     `json:"access_logs,omitempty"` // http level
	Includes   []NginxInclude `json:"includes,omitempty"`    // one per include directive (file:line)
	Resolvers  []string       `json:"resolvers,omitempty"`   // every resolver directive's value, any level
	// Directives are the http-level simple directives (see NginxServer.Directives).
	Directives map[string]string `json:"directives,omitempty"`
	Servers    []NginxServer     `json:"servers,omitempty"`
	Upstreams  []NginxUpstream   `json:"upstreams,omitempty"`
}

// NginxLog is one error_log or access_log directive.
type NginxLog struct {
	Path    string `json:"path"`              // "off", "stderr", "syslog:…" are kept as written
	Options string `json:"options,omitempty"` // the rest: a level for error_log, format etc. for access_log
	File    string `json:"file"`
	Line    int    `json:"line"`
}

// NginxInclude is one include directive and the dumped files it stood for.
type NginxInclude struct {
	Pattern string   `json:"pattern"` // absolute, as nginx resolved it
	File    string   `json:"file"`
	Line    int      `json:"line"`
	Matched []string `json:"matched"` // empty: the glob matched nothing
}

// NginxServer is one http server{} block.
type NginxServer struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// Via is "file:line" of the include directive that brought File in (the
	// innermost one), "" when File is the main configuration file.
	Via               string          `json:"via,omitempty"`
	Listen            []string        `json:"listen,omitempty"` // each listen directive as written
	ServerNames       []string        `json:"server_names,omitempty"`
	Root              string          `json:"root,omitempty"`
	ClientMaxBodySize string          `json:"client_max_body_size,omitempty"`
	ErrorLogs         []NginxLog      `json:"error_logs,omitempty"`
	AccessLogs        []NginxLog      `json:"access_logs,omitempty"`
	Locations         []NginxLocation `json:"locations,omitempty"`
	// Directives holds every simple (non-block) directive at this level except
	// include, listen and server_name: name -> arguments joined by one space.
	// A directive repeated at one level (proxy_set_header, fastcgi_param…) keeps
	// every value, in order, joined by "\n". Timeouts, buffers, temp paths,
	// client_max_body_size, resolver, proxy_ssl_server_name… are all here.
	Directives map[string]string `json:"directives,omitempty"`
}

// NginxLocation is a location{} block or one of nginx's implicit nested locations
// (an if{} or limit_except{} inside a location). Nested blocks are flattened into
// NginxServer.Locations after their parent.
type NginxLocation struct {
	Kind     string `json:"kind"`               // "location", "if", "limit_except"
	Modifier string `json:"modifier,omitempty"` // "=", "~", "~*", "^~" or ""
	Path     string `json:"path,omitempty"`     // the URI or regex; "@name" for named locations; "" for if/limit_except
	Cond     string `json:"cond,omitempty"`     // if: the condition's words, space-joined, quotes dropped; limit_except: the methods
	// Parent is the index in NginxServer.Locations of the enclosing block, -1 at server level.
	Parent int    `json:"parent"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Via    string `json:"via,omitempty"` // as NginxServer.Via
	// Pass is the block's own *_pass directive, nil when it has none.
	Pass       *NginxPass        `json:"pass,omitempty"`
	Directives map[string]string `json:"directives,omitempty"` // as NginxServer.Directives
}

// NginxPass is a proxy_pass, fastcgi_pass, uwsgi_pass, scgi_pass, grpc_pass or
// memcached_pass directive.
type NginxPass struct {
	Directive string `json:"directive"`
	Target    string `json:"target"` // as written
	// Scheme is the protocol nginx speaks to the upstream: http, https, fastcgi,
	// uwsgi, suwsgi, scgi, grpc, grpcs, memcached. Whether it goes over a unix
	// socket is Socket's business, not Scheme's.
	Scheme string `json:"scheme"`
	// Address is "host:port" (the scheme's default port added when nginx adds one),
	// "unix:/path", or an upstream name; "" when the target uses a variable.
	Address string `json:"address,omitempty"`
	Host    string `json:"host,omitempty"`   // without brackets for IPv6
	Port    int    `json:"port,omitempty"`   // 0 for unix sockets, upstream names and unknown
	Socket  string `json:"socket,omitempty"` // unix socket path
	URI     string `json:"uri,omitempty"`    // proxy_pass/grpc_pass URI part, e.g. "/v1/"
	// UsesVariable: the target contains $ and is only known at request time.
	UsesVariable bool `json:"uses_variable,omitempty"`
	// Upstream is the name of the upstream{} block the target refers to.
	Upstream string `json:"upstream,omitempty"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

// NginxUpstream is an http upstream{} block.
type NginxUpstream struct {
	Name       string                `json:"name"`
	Servers    []NginxUpstreamServer `json:"servers,omitempty"`
	Keepalive  int                   `json:"keepalive,omitempty"`
	Directives map[string]string     `json:"directives,omitempty"` // least_conn, zone, keepalive_timeout…
	File       string                `json:"file"`
	Line       int                   `json:"line"`
	Via        string                `json:"via,omitempty"` // as NginxServer.Via
}

// NginxUpstreamServer is one server line of an upstream block.
type NginxUpstreamServer struct {
	Address string `json:"address"`          // "127.0.0.1:8080", "unix:/run/app.sock", "app.internal"
	Params  string `json:"params,omitempty"` // "max_fails=3 fail_timeout=10s backup"
	Line    int    `json:"line"`
}

// Effective returns the value of directive name that applies at location loc of
// server srv (indexes into Servers and its Locations; loc < 0 for the server
// level): the innermost level that sets it, as nginx inherits. ok is false when no
// level sets it and nginx's built-in default applies.
func (c NginxConfig) Effective(srv, loc int, name string) (value string, ok bool) {
	if srv < 0 || srv >= len(c.Servers) {
		return "", false
	}
	s := &c.Servers[srv]
	// Parents always come before their children, so this walk ends; the step
	// bound is a guard against hand-built data.
	for steps := 0; loc >= 0 && loc < len(s.Locations) && steps <= len(s.Locations); steps++ {
		l := &s.Locations[loc]
		if v, ok := l.Directives[name]; ok {
			return v, true
		}
		loc = l.Parent
	}
	if v, ok := s.Directives[name]; ok {
		return v, true
	}
	v, ok := c.Directives[name]
	return v, ok
}

// UnixSockets lists, once each, the unix socket paths nginx passes requests to,
// from *_pass targets and upstream servers: the paths to stat.
func (c NginxConfig) UnixSockets() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, s := range c.Servers {
		for _, l := range s.Locations {
			if l.Pass != nil {
				add(l.Pass.Socket)
			}
		}
	}
	for _, u := range c.Upstreams {
		for _, us := range u.Servers {
			if p, ok := strings.CutPrefix(us.Address, "unix:"); ok {
				add(p)
			}
		}
	}
	return out
}

// Listener is one listening socket from ss.
type Listener struct {
	Proto string `json:"proto"` // "tcp" or "unix"
	// Local is as ss printed it: "127.0.0.1:8080", "[::]:80", "*:80",
	// "[::ffff:127.0.0.1]:8080", "/run/php/php8.2-fpm.sock".
	Local string `json:"local"`
	Host  string `json:"host,omitempty"` // Local's address without brackets or %iface: "::", "*", "0.0.0.0"
	Port  int    `json:"port,omitempty"`
	// Process and PID name the lowest PID among the socket's users (the master
	// for nginx and php-fpm); PIDs lists them all. Empty without root.
	Process string `json:"process,omitempty"`
	PID     int    `json:"pid,omitempty"`
	PIDs    []int  `json:"pids,omitempty"`
	Backlog int    `json:"backlog"` // Send-Q of a LISTEN socket: the accept queue's size
	Queue   int    `json:"queue"`   // Recv-Q of a LISTEN socket: connections waiting for accept()
}

// Process is one line of ps.
type Process struct {
	PID   int    `json:"pid"`
	PPID  int    `json:"ppid"`
	User  string `json:"user"`
	RSSKB int    `json:"rss_kb"`
	Comm  string `json:"comm"` // the kernel's task name (may contain spaces)
	Args  string `json:"args"` // command line; "[name]" for kernel threads, "… <defunct>" for zombies
}

// ServiceState is what systemctl is-active said about one unit.
type ServiceState struct {
	Name string `json:"name"`
	// Active is systemctl's word (active, inactive, failed, activating,
	// deactivating, reloading…), or "unknown" when systemctl could not answer.
	Active string `json:"active"`
	Detail string `json:"detail,omitempty"` // systemctl's message when it could not answer
}

// Filesystem is one mount from df, with its inode use and read-only flag.
type Filesystem struct {
	Device     string `json:"device"`
	Mount      string `json:"mount"`
	Type       string `json:"type,omitempty"` // from /proc/mounts
	SizeKB     int64  `json:"size_kb"`
	UsedKB     int64  `json:"used_kb"`
	AvailKB    int64  `json:"avail_kb"`
	UsePercent int    `json:"use_percent"` // -1 when df printed "-"
	Inodes     int64  `json:"inodes"`
	IUsed      int64  `json:"iused"`
	IFree      int64  `json:"ifree"`
	// IUsePercent is -1 when df printed "-" (btrfs, vfat: no fixed inode table)
	// or when there was no df -i output for this mount.
	IUsePercent int  `json:"iuse_percent"`
	ReadOnly    bool `json:"read_only"`
}

// Memory is free -m.
type Memory struct {
	TotalMB     int `json:"total_mb"`
	UsedMB      int `json:"used_mb"` // without buffers/cache, whatever the procps version
	FreeMB      int `json:"free_mb"`
	SharedMB    int `json:"shared_mb"`
	BuffCacheMB int `json:"buff_cache_mb"`
	AvailableMB int `json:"available_mb"`
	// AvailableEstimated: old procps had no "available" column; AvailableMB is
	// then free + buffers + cache, which overstates what can be had.
	AvailableEstimated bool `json:"available_estimated,omitempty"`
	SwapTotalMB        int  `json:"swap_total_mb"`
	SwapUsedMB         int  `json:"swap_used_mb"`
	SwapFreeMB         int  `json:"swap_free_mb"`
}

// Limits is /proc/PID/limits; -1 means unlimited.
type Limits struct {
	PID        int   `json:"pid"` // 0 when the output did not name the process
	NoFileSoft int64 `json:"nofile_soft"`
	NoFileHard int64 `json:"nofile_hard"`
	NProcSoft  int64 `json:"nproc_soft"`
	NProcHard  int64 `json:"nproc_hard"`
}

// SELinux is getenforce's answer.
type SELinux struct {
	Mode string `json:"mode"` // Enforcing, Permissive, Disabled; "" when getenforce is not installed
}

// FPMConfig is php-fpm's configuration: the main files ([global]) and every pool.
type FPMConfig struct {
	Files   []string    `json:"files"`
	Masters []FPMMaster `json:"masters,omitempty"`
	Pools   []FPMPool   `json:"pools,omitempty"`
}

// FPMMaster is a php-fpm.conf: its [global] section.
type FPMMaster struct {
	File       string            `json:"file"`
	PIDFile    string            `json:"pid_file,omitempty"`
	ErrorLog   string            `json:"error_log,omitempty"`
	Includes   []string          `json:"includes,omitempty"` // include= globs, absolute
	Directives map[string]string `json:"directives,omitempty"`
}

// FPMPool is one [pool] section. Values are as written, with $pool expanded as
// php-fpm does; settings left out stay "" or 0 (php-fpm's defaults then apply:
// listen.mode 0660, listen.backlog 511 on Linux, …).
type FPMPool struct {
	File string `json:"file"`
	Line int    `json:"line"` // of the [name] header
	// Master is the FPMMaster.File whose include= (or own body) holds this pool, "" if unknown.
	Master string `json:"master,omitempty"`
	Name   string `json:"name"`
	User   string `json:"user,omitempty"`
	Group  string `json:"group,omitempty"`
	// Listen is "/run/php/php8.2-fpm.sock", "127.0.0.1:9000", "[::]:9000" or "9000" (all addresses).
	Listen                  string            `json:"listen,omitempty"`
	ListenOwner             string            `json:"listen_owner,omitempty"`
	ListenGroup             string            `json:"listen_group,omitempty"`
	ListenMode              string            `json:"listen_mode,omitempty"`
	ListenACLUsers          string            `json:"listen_acl_users,omitempty"`
	ListenACLGroups         string            `json:"listen_acl_groups,omitempty"`
	ListenAllowedClients    string            `json:"listen_allowed_clients,omitempty"`
	ListenBacklog           int               `json:"listen_backlog,omitempty"`
	PM                      string            `json:"pm,omitempty"`
	MaxChildren             int               `json:"max_children,omitempty"`
	StartServers            int               `json:"start_servers,omitempty"`
	MinSpare                int               `json:"min_spare,omitempty"`
	MaxSpare                int               `json:"max_spare,omitempty"`
	MaxRequests             int               `json:"max_requests,omitempty"`
	RequestTerminateTimeout string            `json:"request_terminate_timeout,omitempty"`
	SlowlogTimeout          string            `json:"slowlog_timeout,omitempty"`
	StatusPath              string            `json:"status_path,omitempty"`
	ErrorLog                string            `json:"error_log,omitempty"` // the master's [global] error_log
	Directives              map[string]string `json:"directives,omitempty"`
}

// ListenSocket is the unix socket path the pool listens on, "" for TCP.
func (p FPMPool) ListenSocket() string {
	if strings.HasPrefix(p.Listen, "/") {
		return p.Listen
	}
	return ""
}

// UnixSockets lists, once each, the unix socket paths the pools listen on.
func (c FPMConfig) UnixSockets() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range c.Pools {
		if s := p.ListenSocket(); s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// SocketStat is one path as stat saw it.
type SocketStat struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	// Type is stat's %F: "socket", "regular file", "regular empty file",
	// "directory", "symbolic link", …
	Type  string `json:"type,omitempty"`
	Owner string `json:"owner,omitempty"`
	Group string `json:"group,omitempty"`
	Mode  string `json:"mode,omitempty"` // four octal digits: "0660", "4755"
	// Error is stat's reason when it failed ("No such file or directory",
	// "Permission denied"); with any reason but the first, Exists is unknown.
	Error string `json:"error,omitempty"`
}
