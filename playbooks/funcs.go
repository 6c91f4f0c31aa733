package playbooks

import (
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/badgateway/badgateway/knowledge"
	"github.com/badgateway/badgateway/remote"
)

// Template functions. quote and quoteEach print; the others only compute values
// from facts, for quote, quoteEach, range, with and if.
func init() {
	funcs["quote"] = func(v any) string { return remote.Quote(fmt.Sprint(v)) }
	funcs["quoteEach"] = quoteEach
	funcs["nginxMaster"] = nginxMaster
	funcs["nginxMasters"] = nginxMasters
	funcs["fpmMasterConfs"] = fpmMasterConfs
	funcs["masterPIDs"] = masterPIDs
	funcs["errorLogs"] = errorLogs
	funcs["fpmLogs"] = fpmLogs
	funcs["sockets"] = sockets
	funcs["tcpTargets"] = tcpTargets
	funcs["nginxContainers"] = nginxContainers
	funcs["upstreamNames"] = upstreamNames
}

// upstreamNames lists the host names (not addresses) nginx connects to, which it
// resolved once when it started.
func upstreamNames(n knowledge.NginxConfig) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range tcpTargets(n) {
		host, _ := knowledge.SplitAddr(t)
		if host == "" || host == "localhost" || net.ParseIP(host) != nil || seen[host] {
			continue
		}
		seen[host] = true
		out = append(out, host)
	}
	return out
}

// nginxContainers lists running containers whose image or name says nginx
// (nginx, openresty, bitnami/nginx, nginx-proxy…).
func nginxContainers(cs []knowledge.Container) []string {
	var out []string
	for _, c := range cs {
		if c.Running() && c.Nginx() {
			out = append(out, c.Name)
		}
	}
	return out
}

func quoteEach(v any) string {
	var words []string
	switch v := v.(type) {
	case []string:
		words = v
	case []int:
		for _, n := range v {
			words = append(words, strconv.Itoa(n))
		}
	case string:
		words = []string{v}
	case nil:
	default:
		words = []string{fmt.Sprint(v)}
	}
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = remote.Quote(w)
	}
	return strings.Join(q, " ")
}

// NginxMaster is the running nginx master as ps shows it.
type NginxMaster struct {
	PID    int
	Binary string // absolute path from the command line, "" when it was not absolute
	Conf   string // -c FILE
	Prefix string // -p DIR
}

// nginxMaster finds the running master: a panel's nginx is not on PATH and may use
// another config, so the binary and -c come from its command line.
func nginxMaster(procs []knowledge.Process) *NginxMaster {
	if ms := nginxMasters(procs); len(ms) > 0 {
		return &ms[0]
	}
	return nil
}

// nginxMasters are all the masters ps shows, containers' included.
func nginxMasters(procs []knowledge.Process) []NginxMaster {
	var out []NginxMaster
	for _, p := range procs {
		rest, ok := strings.CutPrefix(p.Args, "nginx: master process ")
		if !ok {
			continue
		}
		m := NginxMaster{PID: p.PID}
		words := strings.Fields(rest)
		if len(words) > 0 && strings.HasPrefix(words[0], "/") {
			m.Binary = words[0]
		}
		for i := 1; i+1 < len(words); i++ {
			switch words[i] {
			case "-c":
				m.Conf = words[i+1]
			case "-p":
				m.Prefix = words[i+1]
			}
		}
		out = append(out, m)
	}
	return out
}

// fpmMasterConfs lists the config files of running php-fpm masters
// ("php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)").
func fpmMasterConfs(procs []knowledge.Process) []string {
	var out []string
	for _, p := range procs {
		rest, ok := strings.CutPrefix(p.Args, "php-fpm: master process (")
		if !ok {
			continue
		}
		if conf := strings.TrimSuffix(rest, ")"); strings.HasPrefix(conf, "/") {
			out = append(out, conf)
		}
	}
	return out
}

// masterPIDs lists the pids of nginx and php-fpm masters, whose limits matter.
func masterPIDs(procs []knowledge.Process) []int {
	var out []int
	for _, p := range procs {
		if strings.HasPrefix(p.Args, "nginx: master process") || strings.HasPrefix(p.Args, "php-fpm: master process") {
			out = append(out, p.PID)
		}
	}
	return out
}

// errorLogs lists nginx's error log files; with site set, only the main ones and
// those of servers whose server_name is site.
func errorLogs(cfg knowledge.NginxConfig, site string) []string {
	if cfg.InContainer {
		return nil // the container's paths; docker_logs reads what it writes
	}
	var out []string
	seen := map[string]bool{}
	add := func(logs []knowledge.NginxLog) {
		for _, l := range logs {
			if strings.HasPrefix(l.Path, "/") && !seen[l.Path] {
				seen[l.Path] = true
				out = append(out, l.Path)
			}
		}
	}
	add(cfg.ErrorLogs)
	for _, s := range cfg.Servers {
		if site == "" || slices.Contains(s.ServerNames, site) {
			add(s.ErrorLogs)
		}
	}
	if len(out) == 0 {
		// nginx's compiled-in default, used when no error_log is configured.
		out = append(out, "/var/log/nginx/error.log")
	}
	return out
}

// fpmLogs lists php-fpm's error logs that are files.
func fpmLogs(cfg knowledge.FPMConfig) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range cfg.Masters {
		l := m.ErrorLog
		if l != "" && !strings.HasPrefix(l, "/") {
			// php-fpm resolves a relative error_log against its prefix, /usr or the build's.
			l = path.Join(path.Dir(path.Dir(m.File)), l)
		}
		if strings.HasPrefix(l, "/") && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

// sockets lists every unix socket nginx passes to or php-fpm listens on.
func sockets(n knowledge.NginxConfig, f knowledge.FPMConfig) []string {
	var out []string
	seen := map[string]bool{}
	mine := n.UnixSockets()
	if n.InContainer {
		mine = nil // paths inside the container
	}
	for _, s := range append(mine, f.UnixSockets()...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// tcpTargets lists host:port of every TCP upstream nginx passes to, for probing.
func tcpTargets(n knowledge.NginxConfig) []string {
	if n.InContainer {
		return nil // names and addresses of the container's network, not this host's
	}
	var out []string
	seen := map[string]bool{}
	add := func(hostport string) {
		if hostport == "" || strings.HasPrefix(hostport, "unix:") || seen[hostport] {
			return
		}
		if _, port := knowledge.SplitAddr(hostport); port > 0 {
			seen[hostport] = true
			out = append(out, hostport)
		}
	}
	upstreams := map[string]bool{}
	for _, u := range n.Upstreams {
		upstreams[u.Name] = true
		for _, s := range u.Servers {
			add(s.Address)
		}
	}
	for _, s := range n.Servers {
		for _, l := range s.Locations {
			if l.Pass != nil && !l.Pass.UsesVariable && !upstreams[l.Pass.Address] {
				add(l.Pass.Address)
			}
		}
	}
	return out
}
