package playbooks

import (
	"strconv"
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

// ParseSSListen reads the output of
//
//	ss -ltnpx
//
// listening TCP and unix stream sockets with their processes (processes need
// root). The header line is kept because RHEL 7's ss has no -H; it is skipped
// here. Handled shapes:
//
//	Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess
//	tcp   LISTEN 0      511        127.0.0.1:8080       0.0.0.0:*    users:(("nginx",pid=813,fd=6),("nginx",pid=812,fd=6))
//	tcp   LISTEN 0      511            [::]:80             [::]:*    users:(…)
//	tcp   LISTEN 3      7    [::ffff:127.0.0.1]:8086          *:*    users:(…)
//	u_str LISTEN 0      511  /run/php/php8.2-fpm.sock 12345   * 0    users:(…)
//
// and RHEL 7's iproute 3.10: "*:80", ":::80" (IPv6 without brackets) and
// users:(("nginx",812,6)) without pid=/fd=. Output of `ss -ltnp` (no Netid
// column) is read too. Rows in other states than LISTEN are skipped.
func ParseSSListen(out []byte) ([]knowledge.Listener, error) {
	p := newProblems("ss_listen")
	var ls []knowledge.Listener
	eachLine(out, func(n int, line string) {
		if strings.TrimSpace(line) == "" {
			return
		}
		left, users := line, ""
		if i := strings.Index(line, "users:("); i >= 0 {
			left, users = line[:i], line[i:]
		}
		f := strings.Fields(left)
		if len(f) == 0 {
			p.add(n, "no columns before the process list in %q", line)
			return
		}
		if f[0] == "Netid" || f[0] == "State" {
			return
		}
		proto := ""
		switch {
		case f[0] == "tcp" || f[0] == "tcp6":
			proto, f = "tcp", f[1:]
		case strings.HasPrefix(f[0], "u_"):
			proto, f = "unix", f[1:]
		case ssNetids[f[0]]:
			return // udp, raw, netlink…: not what ss -ltnpx asks for
		}
		if len(f) < 5 {
			p.add(n, "want state, Recv-Q, Send-Q, local and peer address, got %q", line)
			return
		}
		if f[0] != "LISTEN" {
			return
		}
		recvq, ok1 := atoiField(f[1])
		sendq, ok2 := atoiField(f[2])
		if !ok1 || !ok2 {
			p.add(n, "Recv-Q/Send-Q are not numbers in %q", line)
			return
		}
		l := knowledge.Listener{Proto: proto, Queue: recvq, Backlog: sendq}
		addr := f[3:]
		if proto == "" {
			// No Netid column: a unix row has "path inode * 0", a TCP row "local peer".
			proto = "tcp"
			if len(addr) >= 4 {
				proto = "unix"
			}
			l.Proto = proto
		}
		if proto == "unix" {
			if len(addr) < 4 {
				p.add(n, "want path, inode, peer and peer inode in %q", line)
				return
			}
			// The path may hold spaces; inode, peer and peer inode are the last three fields.
			l.Local = strings.Join(addr[:len(addr)-3], " ")
		} else {
			if len(addr) != 2 {
				p.add(n, "want a local and a peer address in %q", line)
				return
			}
			l.Local = addr[0]
			l.Host, l.Port = ssHostPort(addr[0])
		}
		l.Process, l.PID, l.PIDs = ssUsers(users)
		ls = append(ls, l)
	})
	return ls, p.err()
}

var ssNetids = map[string]bool{"udp": true, "raw": true, "nl": true, "p_raw": true, "p_dgr": true, "sctp": true, "dccp": true, "mptcp": true, "v_str": true, "v_dgr": true, "xdp": true, "tipc": true}

// ssHostPort splits "127.0.0.1:80", "[::]:80", "*:80", ":::80" (old ss),
// "127.0.0.53%lo:53": the port is after the last colon.
func ssHostPort(s string) (string, int) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, 0
	}
	host := s[:i]
	port, err := strconv.Atoi(s[i+1:])
	if err != nil {
		port = 0
	}
	if j := strings.IndexByte(host, '%'); j >= 0 {
		rest := host[j:]
		host = host[:j]
		if strings.HasSuffix(rest, "]") {
			host += "]"
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return host, port
}

// ssUsers reads users:(("nginx",pid=813,fd=6),("nginx",pid=812,fd=6)) and the
// old users:(("nginx",813,6)); it returns the lowest PID and its name, and all
// PIDs in the order listed.
func ssUsers(s string) (name string, pid int, pids []int) {
	for {
		i := strings.Index(s, "((\"")
		j := strings.Index(s, ",(\"")
		switch {
		case i < 0 && j < 0:
			return name, pid, pids
		case i < 0 || (j >= 0 && j < i):
			i = j
		}
		s = s[i+3:]
		end := strings.Index(s, "\",")
		if end < 0 {
			return name, pid, pids
		}
		proc := s[:end]
		s = s[end+2:]
		// The first number after the name is the pid, with or without "pid=".
		field := s
		if k := strings.IndexAny(field, ",)"); k >= 0 {
			field = field[:k]
		}
		n, ok := atoiField(strings.TrimPrefix(field, "pid="))
		if !ok {
			continue
		}
		pids = append(pids, n)
		if pid == 0 || n < pid {
			name, pid = proc, n
		}
	}
}
