package knowledge

import (
	"regexp"
	"strings"
	"testing"
)

const langSock = "/run/php/php8.2-fpm.sock"

// langNginx is an nginx that passes PHP to php-fpm's socket.
func langNginx() *NginxConfig {
	return &NginxConfig{Servers: []NginxServer{{
		File: "/etc/nginx/sites-enabled/shop", Line: 1, ServerNames: []string{"shop"},
		Locations: []NginxLocation{{Kind: "location", Path: `\.php$`, Modifier: "~", File: "/etc/nginx/sites-enabled/shop", Line: 9,
			Pass: &NginxPass{Directive: "fastcgi_pass", Target: "unix:" + langSock, Scheme: "fastcgi", Address: "unix:" + langSock, Socket: langSock, File: "/etc/nginx/sites-enabled/shop", Line: 10}}},
	}}}
}

// hostEvidence is the proof text of f that came from host state, not from logs.
func hostEvidence(f *Finding) []string {
	var out []string
	for _, e := range f.Evidence {
		if strings.HasPrefix(e.Source, "host:") {
			out = append(out, e.Text)
		}
	}
	return out
}

// A space after Chinese punctuation or before a full-width bracket reads as a typo
// (the same rule the catalog's Chinese texts are held to).
var strayZhSpace = regexp.MustCompile(`[，。；：、）]\s+\S|\p{Han}\s+（`)

// php-fpm is down and its socket left behind: a Chinese reply proves it with
// Chinese host facts, an English one with English, and the nginx log line is
// quoted as written in both.
func TestHostFactsFollowReplyLanguage(t *testing.T) {
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	for _, l := range strings.Split(strings.TrimSpace(refused("2026/11/25 10:02:11", 3, langSock)), "\n") {
		col.AddLine(l, "/var/log/nginx/error.log")
	}
	col.AddHostFacts(HostFacts{
		Nginx:    langNginx(),
		FPM:      &FPMConfig{Pools: []FPMPool{{File: "/etc/php/8.2/fpm/pool.d/www.conf", Line: 4, Name: "www", Listen: langSock}}},
		Sockets:  []SocketStat{{Path: langSock, Exists: true, Type: "socket", Owner: "www-data", Group: "www-data", Mode: "0660"}},
		Services: []ServiceState{{Name: "php8.2-fpm.service", Active: "failed"}},
	})

	zh := col.Diagnosis(Options{Lang: "zh", MaxEvidence: 20})
	en := col.Diagnosis(Options{Lang: "en", MaxEvidence: 20})
	fz, fe := finding(zh, "upstream_down"), finding(en, "upstream_down")
	if fz == nil || fe == nil {
		t.Fatalf("upstream_down missing: zh %v, en %v", ids(zh), ids(en))
	}

	hz, he := hostEvidence(fz), hostEvidence(fe)
	if len(hz) < 3 || len(hz) != len(he) {
		t.Fatalf("host evidence: zh %d lines, en %d; want the same 3 or more:\nzh %q\nen %q", len(hz), len(he), hz, he)
	}
	for i := range hz {
		if DetectLang(hz[i]) != "zh" {
			t.Errorf("zh reply, host evidence in English: %q", hz[i])
		}
		if m := strayZhSpace.FindString(hz[i]); m != "" {
			t.Errorf("stray space in Chinese evidence at %q: %s", m, hz[i])
		}
		if DetectLang(he[i]) != "en" {
			t.Errorf("en reply, host evidence not English: %q", he[i])
		}
	}
	for _, want := range []string{"没有正在运行的 php-fpm 主进程（ps）", "进程池 www（/etc/php/8.2/fpm/pool.d/www.conf:4）应监听 " + langSock} {
		if !strings.Contains(strings.Join(hz, "\n"), want) {
			t.Errorf("zh host evidence lacks %q:\n%s", want, strings.Join(hz, "\n"))
		}
	}
	if !strings.Contains(strings.Join(he, "\n"), "no php-fpm master process is running (ps)") {
		t.Errorf("en host evidence:\n%s", strings.Join(he, "\n"))
	}

	// Language changes the words only: the same groups, in the same order, with
	// the same counts; and log lines are never translated.
	if len(fz.Evidence) != len(fe.Evidence) {
		t.Fatalf("evidence: zh %d lines, en %d", len(fz.Evidence), len(fe.Evidence))
	}
	for i := range fz.Evidence {
		z, e := fz.Evidence[i], fe.Evidence[i]
		if z.Source != e.Source || z.Count != e.Count {
			t.Errorf("evidence %d: zh %s ×%d, en %s ×%d", i, z.Source, z.Count, e.Source, e.Count)
		}
		if !strings.HasPrefix(z.Source, "host:") && z.Text != e.Text {
			t.Errorf("log line translated:\nzh %s\nen %s", z.Text, e.Text)
		}
	}
}

func TestHostFactRulesAreBilingual(t *testing.T) {
	cases := []struct {
		name   string
		logs   []string
		facts  HostFacts
		cause  string
		source string
		en, zh string
	}{
		{
			name:   "disk full",
			facts:  HostFacts{Disks: []Filesystem{{Device: "/dev/vda1", Mount: "/", Type: "ext4", UsePercent: 100, AvailKB: 10240, IUsePercent: 99}}},
			cause:  "disk_full",
			source: "host:df",
			en:     "/ (/dev/vda1) is 100% full: 10 MB free",
			zh:     "/（/dev/vda1）已用 100%，仅剩 10 MB",
		},
		{
			name:   "inodes",
			facts:  HostFacts{Disks: []Filesystem{{Device: "/dev/vda1", Mount: "/", Type: "ext4", UsePercent: 40, IUsePercent: 100}}},
			cause:  "disk_full",
			source: "host:df -i",
			en:     "/ (/dev/vda1) has used 100% of its inodes",
			zh:     "/（/dev/vda1）的 inode 已用 100%",
		},
		{
			name:   "read-only mount",
			facts:  HostFacts{Disks: []Filesystem{{Device: "/dev/vdb1", Mount: "/var", Type: "xfs", UsePercent: 50, ReadOnly: true}}},
			cause:  "readonly_fs",
			source: "host:mounts",
			en:     "/var (/dev/vdb1) is mounted read-only",
			zh:     "/var（/dev/vdb1）以只读方式挂载",
		},
		{
			name: "socket permissions",
			logs: []string{`2026/11/25 10:02:11 [crit] 1533#1533: *9 connect() to unix:` + langSock + ` failed (13: Permission denied) while connecting to upstream, client: 10.0.0.9, server: shop, request: "GET /index.php HTTP/1.1", upstream: "fastcgi://unix:` + langSock + `:", host: "shop"`},
			facts: HostFacts{
				Nginx:     langNginx(),
				Processes: []Process{{PID: 1534, User: "www-data", Args: "nginx: worker process"}},
				Sockets:   []SocketStat{{Path: langSock, Exists: true, Type: "socket", Owner: "root", Group: "root", Mode: "0660"}},
			},
			cause:  "upstream_permission_denied",
			source: "host:stat",
			en:     langSock + " is owned by root:root with mode 0660; nginx workers run as www-data",
			zh:     langSock + " 属主为 root:root、权限 0660；nginx worker 以 www-data 运行",
		},
		{
			name:   "probe timeout",
			facts:  HostFacts{Probes: []Probe{{Target: "10.0.0.5:8080", Result: "timeout"}}},
			cause:  "upstream_connect_timeout",
			source: "host:probe",
			en:     "connecting from the host to 10.0.0.5:8080 timed out after 3 s",
			zh:     "从本机连接 10.0.0.5:8080 3 秒后超时",
		},
		{
			// Built piece by piece: the Chinese line must get every piece too.
			name: "pool size",
			logs: []string{`[25-Nov-2026 10:02:11] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it`},
			facts: HostFacts{
				FPM:       &FPMConfig{Pools: []FPMPool{{File: "/etc/php/8.2/fpm/pool.d/www.conf", Line: 4, Name: "www", Listen: langSock, PM: "dynamic", MaxChildren: 5}}},
				Processes: []Process{{PID: 2001, Args: "php-fpm: pool www", RSSKB: 81920}, {PID: 2002, Args: "php-fpm: pool www", RSSKB: 81920}},
				Memory:    &Memory{AvailableMB: 2000},
			},
			cause:  "fpm_max_children",
			source: "host:php-fpm config",
			en:     "pool www (/etc/php/8.2/fpm/pool.d/www.conf:4): pm = dynamic, pm.max_children = 5; 2 workers average 80 MB, 2000 MB available",
			zh:     "进程池 www（/etc/php/8.2/fpm/pool.d/www.conf:4）：pm = dynamic，pm.max_children = 5；2 个 worker 平均每个 80 MB，可用内存 2000 MB",
		},
	}
	a := NewAnalyzer(mustBuiltin(t))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			col := a.NewCollector()
			for _, l := range tc.logs {
				col.AddLine(l, "error.log")
			}
			col.AddHostFacts(tc.facts)
			for _, lang := range []string{"en", "zh"} {
				want := tc.en
				if lang == "zh" {
					want = tc.zh
				}
				f := finding(col.Diagnosis(Options{Lang: lang, MaxEvidence: 20}), tc.cause)
				if f == nil {
					t.Fatalf("%s: no %s finding", lang, tc.cause)
				}
				var got []string
				for _, e := range f.Evidence {
					if e.Source != tc.source {
						continue
					}
					got = append(got, e.Text)
					if DetectLang(e.Text) != lang {
						t.Errorf("%s reply, %s evidence in the other language: %q", lang, tc.source, e.Text)
					}
					if m := strayZhSpace.FindString(e.Text); lang == "zh" && m != "" {
						t.Errorf("stray space in Chinese evidence at %q: %s", m, e.Text)
					}
				}
				if !strings.Contains(strings.Join(got, "\n"), want) {
					t.Errorf("%s: %s evidence %q lacks %q", lang, tc.source, got, want)
				}
			}
		})
	}
}
