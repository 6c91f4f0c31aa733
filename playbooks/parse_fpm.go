package playbooks

import (
	"fmt"
	"path"
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

// ParseFPMConfig reads the output of
//
//	for f in $FILES; do [ -f "$f" ] || continue; echo "# file: $f"; cat "$f"; echo; done; true
//
// with $FILES = FPMConfigFiles: php-fpm's main files and pool files, each after a
// "# file: PATH" marker ("==> PATH <==" from `tail -n +1 FILES…` works too). The
// echo after cat keeps a file without a final newline from swallowing the next
// marker. Files are php's INI dialect: "; comment", "[section]", "key = value",
// values optionally quoted, "; comment" after an unquoted value.
//
// A file with a [global] section (or directives before any section, which
// php-fpm also takes as global) is a master; its include= globs (relative ones
// against the directory above the file's, php-fpm's usual prefix) tie pool files
// to it, and its error_log becomes their ErrorLog. BaoTa puts [global] and [www]
// in one php-fpm.conf, which is its own master.
func ParseFPMConfig(out []byte) (knowledge.FPMConfig, error) {
	p := newProblems("fpm_pool")
	cfg := knowledge.FPMConfig{Files: []string{}}
	file, fileLine := "", 0
	master := -1 // index in cfg.Masters of the current file's master part
	pool := -1   // index in cfg.Pools of the section being read; -1 in [global] or before any
	inGlobal := false
	poolDirs := map[int]map[string]string{}
	getMaster := func() *knowledge.FPMMaster {
		if master < 0 {
			cfg.Masters = append(cfg.Masters, knowledge.FPMMaster{File: file})
			master = len(cfg.Masters) - 1
		}
		return &cfg.Masters[master]
	}
	eachLine(out, func(n int, line string) {
		if name, ok := fileMarker(line); ok {
			file, fileLine, master, pool, inGlobal = name, 0, -1, -1, false
			cfg.Files = append(cfg.Files, name)
			return
		}
		fileLine++
		bad := func(format string, args ...any) {
			lp := LineProblem{Line: n, File: file, FileLine: fileLine}
			lp.Msg = fmt.Sprintf(format, args...)
			p.addProblem(lp)
		}
		t := strings.TrimSpace(line)
		if t == "" || t[0] == ';' || t[0] == '#' {
			return
		}
		if t[0] == '[' {
			end := strings.IndexByte(t, ']')
			if end < 0 {
				bad("unclosed section header %q", t)
				return
			}
			name := strings.TrimSpace(t[1:end])
			if name == "global" {
				getMaster()
				pool, inGlobal = -1, true
				return
			}
			cfg.Pools = append(cfg.Pools, knowledge.FPMPool{File: file, Line: fileLine, Name: name})
			pool, inGlobal = len(cfg.Pools)-1, false
			return
		}
		key, val, ok := strings.Cut(t, "=")
		if !ok {
			bad("want key = value, got %q", t)
			return
		}
		key = strings.TrimSpace(key)
		val, err := iniValue(val)
		if err != "" {
			bad("%s: %s", key, err)
		}
		if key == "" {
			bad("no key before = in %q", t)
			return
		}
		if pool < 0 || inGlobal {
			m := getMaster()
			if m.Directives == nil {
				m.Directives = map[string]string{}
			}
			m.Directives[key] = val
			switch key {
			case "pid":
				m.PIDFile = val
			case "error_log":
				m.ErrorLog = val
			case "include":
				inc := val
				if !strings.HasPrefix(inc, "/") && file != "" {
					inc = path.Join(path.Dir(path.Dir(file)), inc)
				}
				m.Includes = append(m.Includes, inc)
			}
			return
		}
		pl := &cfg.Pools[pool]
		// php-fpm expands $pool in a pool's values (listen = /run/php/$pool.sock).
		val = strings.ReplaceAll(val, "$pool", pl.Name)
		if poolDirs[pool] == nil {
			poolDirs[pool] = map[string]string{}
		}
		poolDirs[pool][key] = val
		num := func(dst *int) {
			if v, ok := atoiField(val); ok {
				*dst = v
			} else {
				bad("%s: want a number, got %q", key, val)
			}
		}
		switch key {
		case "user":
			pl.User = val
		case "group":
			pl.Group = val
		case "listen":
			pl.Listen = val
		case "listen.owner":
			pl.ListenOwner = val
		case "listen.group":
			pl.ListenGroup = val
		case "listen.mode":
			pl.ListenMode = val
		case "listen.acl_users":
			pl.ListenACLUsers = val
		case "listen.acl_groups":
			pl.ListenACLGroups = val
		case "listen.allowed_clients":
			pl.ListenAllowedClients = val
		case "listen.backlog":
			num(&pl.ListenBacklog)
		case "pm":
			pl.PM = val
		case "pm.max_children":
			num(&pl.MaxChildren)
		case "pm.start_servers":
			num(&pl.StartServers)
		case "pm.min_spare_servers":
			num(&pl.MinSpare)
		case "pm.max_spare_servers":
			num(&pl.MaxSpare)
		case "pm.max_requests":
			num(&pl.MaxRequests)
		case "pm.status_path":
			pl.StatusPath = val
		case "request_terminate_timeout":
			pl.RequestTerminateTimeout = val
		case "request_slowlog_timeout":
			pl.SlowlogTimeout = val
		}
	})
	for i, d := range poolDirs {
		cfg.Pools[i].Directives = d
	}
	// Pools × masters is quadratic on hostile input; a budget keeps it linear.
	budget := 100000 + len(out)
	owner := map[string]int{} // pool file -> master index, -1 for none
	for i := range cfg.Pools {
		pl := &cfg.Pools[i]
		mi, ok := owner[pl.File]
		if !ok {
			mi = -1
			for j, m := range cfg.Masters {
				if budget -= 1 + len(m.Includes); budget < 0 {
					break
				}
				if fpmOwns(m, pl.File) {
					mi = j
					break
				}
			}
			owner[pl.File] = mi
		}
		if mi >= 0 {
			pl.Master, pl.ErrorLog = cfg.Masters[mi].File, cfg.Masters[mi].ErrorLog
		}
	}
	if len(cfg.Files) == 0 && len(cfg.Masters) == 0 && len(cfg.Pools) == 0 && len(p.e.Problems) == 0 {
		p.add(0, "no php-fpm configuration in the output (no file matched?)")
	}
	return cfg, p.err()
}

func fpmOwns(m knowledge.FPMMaster, file string) bool {
	if m.File == file {
		return true
	}
	for _, inc := range m.Includes {
		if ok, _ := path.Match(inc, file); ok {
			return true
		}
	}
	return false
}

// iniValue unquotes a php INI value: "…" (with \" and \\), '…', or bare up to a
// ";" comment. err is non-empty for an unclosed quote; the value is kept.
func iniValue(v string) (val, err string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", ""
	}
	switch v[0] {
	case '"':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			if c == '\\' && i+1 < len(v) && (v[i+1] == '"' || v[i+1] == '\\') {
				b.WriteByte(v[i+1])
				i++
				continue
			}
			if c == '"' {
				return b.String(), ""
			}
			b.WriteByte(c)
		}
		return b.String(), "unclosed double quote"
	case '\'':
		if end := strings.IndexByte(v[1:], '\''); end >= 0 {
			return v[1 : 1+end], ""
		}
		return v[1:], "unclosed single quote"
	}
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v, ""
}
