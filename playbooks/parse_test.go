package playbooks

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/badgateway/badgateway/knowledge"
)

// Outputs for the tests are in testdata/ (real, Debian 12: see its README) and
// testdata/rhel/ (hand-written RHEL formats).

func wantProblemAt(t *testing.T, err error, line int, substr string) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want a *ParseError about line %d, got %v", line, err)
	}
	for _, p := range pe.Problems {
		if p.Line == line && strings.Contains(p.Msg, substr) {
			return
		}
	}
	t.Errorf("no problem at line %d containing %q in %v", line, substr, err)
}

func TestRegistry(t *testing.T) {
	want := map[string]any{
		"nginx_t": knowledge.NginxConfig{}, "ss_listen": []knowledge.Listener{}, "ps": []knowledge.Process{},
		"systemctl_is_active": []knowledge.ServiceState{}, "df": []knowledge.Filesystem{}, "free": knowledge.Memory{},
		"limits": []knowledge.Limits{}, "getenforce": knowledge.SELinux{}, "fpm_pool": knowledge.FPMConfig{},
		"stat_socket": []knowledge.SocketStat{},
	}
	for name, typ := range want {
		p := Parsers[name]
		if p == nil {
			t.Errorf("no parser %q", name)
			continue
		}
		if Commands[name] == "" {
			t.Errorf("parser %q has no command", name)
		}
		v, _ := p(nil)
		if reflect.TypeOf(v) != reflect.TypeOf(typ) {
			t.Errorf("%s returns %T, want %T", name, v, typ)
		}
	}
	for name := range Commands {
		if want[name] == nil {
			t.Errorf("command for unknown parser %q", name)
		}
	}
}

// TestParsersSurviveGarbage: any bytes give a value and at most an error.
func TestParsersSurviveGarbage(t *testing.T) {
	inputs := []string{"", "\n\n", "\x00\xff\xfe", "a|b|c|d|e\n", "Filesystem Inodes\n1 2 3 4% /\n", "users:((\"x\",pid=1\n",
		"# file: \n[\n=\nkey\n", "total\nMem: x\n", "Max open files\n", "  1 2\n", "stat: cannot stat\n", strings.Repeat("{", 1000)}
	for name, p := range Parsers {
		for _, in := range inputs {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s panicked on %q: %v", name, in, r)
					}
				}()
				_, err := p([]byte(in))
				var pe *ParseError
				if err != nil && !errors.As(err, &pe) {
					t.Errorf("%s on %q: error %v is not a *ParseError", name, in, err)
				}
			}()
		}
	}
}

// TestParsersStayLinear: a few MB of plausible, distinct lines must not take
// quadratic time (each fpm file is a master whose include matches nothing, so a
// naive pool-to-master search is pools × masters).
func TestParsersStayLinear(t *testing.T) {
	gens := map[string]func(i int) string{
		"ss_listen": func(i int) string {
			return fmt.Sprintf("tcp   LISTEN 0      511        127.0.0.1:%d      0.0.0.0:*    users:((\"nginx\",pid=%d,fd=7),(\"nginx\",pid=15339,fd=7))\n", i%65536, i)
		},
		"ps": func(i int) string {
			return fmt.Sprintf("%10d      15338 www-data                                 4484 nginx           nginx: worker process\n", i)
		},
		"systemctl_is_active": func(i int) string {
			return fmt.Sprintf("# unit: u%d\nSystem has not been booted with systemd as init system (PID 1). Can't operate.\n", i)
		},
		"df": func(i int) string {
			return fmt.Sprintf("/dev/vda                  264212084 11868504  83632760      13%% /a b %d\n/dev/vda /a\\040b\\040%d ext4 rw 0 0\n", i, i)
		},
		"free": func(int) string { return "Swap:              0           0           0\n" },
		"limits": func(i int) string {
			return fmt.Sprintf("# file: /proc/%d/limits\nMax open files            1024                 524288               files     \n", i)
		},
		"getenforce": func(int) string { return "Enforcing\n" },
		"fpm_pool": func(i int) string {
			return fmt.Sprintf("# file: /m/%d.conf\n[global]\ninclude=/nomatch/*.conf\n[p%d]\nlisten = /run/$pool.sock\n", i, i)
		},
		"stat_socket": func(i int) string { return fmt.Sprintf("/run/php/%d.sock|socket|www-data|www-data|660\n", i) },
	}
	for name, gen := range gens {
		var b strings.Builder
		for i := 0; b.Len() < 4<<20; i++ {
			b.WriteString(gen(i))
		}
		start := time.Now()
		Parsers[name]([]byte(b.String()))
		if el := time.Since(start); el > 10*time.Second {
			t.Errorf("%s: %v for %d bytes", name, el, b.Len())
		}
	}
}

func TestSSListenDebian(t *testing.T) {
	ls, err := ParseSSListen(testdata(t, "ss.debian12.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []knowledge.Listener{
		{Proto: "unix", Local: "/tmp/bgw/run/php-fpm-www.sock", Process: "php-fpm8.2", PID: 15325, PIDs: []int{15329, 15328, 15325}, Backlog: 511},
		{Proto: "unix", Local: "/tmp/bgw/bt/www/tmp/php-cgi-82.sock", Process: "php-fpm8.2", PID: 15331, PIDs: []int{15336, 15335, 15334, 15333, 15332, 15331}, Backlog: 4096},
		{Proto: "tcp", Local: "127.0.0.1:8081", Host: "127.0.0.1", Port: 8081, Process: "nginx", PID: 15338, PIDs: []int{15340, 15339, 15338}, Backlog: 511},
		{Proto: "tcp", Local: "127.0.0.1:8080", Host: "127.0.0.1", Port: 8080, Process: "nginx", PID: 15338, PIDs: []int{15340, 15339, 15338}, Backlog: 511},
		{Proto: "tcp", Local: "127.0.0.1:9082", Host: "127.0.0.1", Port: 9082, Process: "php-fpm8.2", PID: 15325, PIDs: []int{15327, 15326, 15325}, Backlog: 4096},
		{Proto: "tcp", Local: "0.0.0.0:2024", Host: "0.0.0.0", Port: 2024, Backlog: 128},
		{Proto: "tcp", Local: "[::ffff:127.0.0.1]:8086", Host: "::ffff:127.0.0.1", Port: 8086, Process: "python3", PID: 15341, PIDs: []int{15341}, Backlog: 7, Queue: 3},
		{Proto: "tcp", Local: "[::1]:8081", Host: "::1", Port: 8081, Process: "nginx", PID: 15338, PIDs: []int{15340, 15339, 15338}, Backlog: 511},
	}
	if !reflect.DeepEqual(ls, want) {
		t.Errorf("got\n%+v\nwant\n%+v", ls, want)
	}
	// ss -ltnp has no Netid column: the same TCP rows.
	tcp, err := ParseSSListen(testdata(t, "ss_tcp_only.debian12.txt"))
	if err != nil || !reflect.DeepEqual(tcp, want[2:]) {
		t.Errorf("tcp only: %v\n%+v", err, tcp)
	}
}

func TestSSListenRHEL7HandWritten(t *testing.T) {
	ls, err := ParseSSListen(testdata(t, "rhel/ss.rhel7.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []knowledge.Listener{
		{Proto: "unix", Local: "/run/php-fpm/www.sock", Process: "php-fpm", PID: 1045, PIDs: []int{1109, 1108, 1045}, Backlog: 128},
		{Proto: "tcp", Local: "*:22", Host: "*", Port: 22, Process: "sshd", PID: 1052, PIDs: []int{1052}, Backlog: 128},
		{Proto: "tcp", Local: "*:80", Host: "*", Port: 80, Process: "nginx", PID: 1246, PIDs: []int{1247, 1246}, Backlog: 511},
		{Proto: "tcp", Local: "127.0.0.1:9000", Host: "127.0.0.1", Port: 9000, Process: "php-fpm", PID: 1045, PIDs: []int{1045}, Backlog: 128, Queue: 129},
		{Proto: "tcp", Local: ":::22", Host: "::", Port: 22, Process: "sshd", PID: 1052, PIDs: []int{1052}, Backlog: 128},
		{Proto: "tcp", Local: ":::80", Host: "::", Port: 80, Process: "nginx", PID: 1246, PIDs: []int{1247, 1246}, Backlog: 511},
	}
	if !reflect.DeepEqual(ls, want) {
		t.Errorf("got\n%+v\nwant\n%+v", ls, want)
	}
}

func TestSSListenOddLines(t *testing.T) {
	in := "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" +
		"u_str LISTEN 0 5 /tmp/a dir/x.sock 77 * 0 users:((\"my app\",pid=9,fd=3))\n" +
		"tcp LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:*\n" +
		"tcp LISTEN zero 5 1.2.3.4:5 *:*\n" +
		"tcp ESTAB 0 0 127.0.0.1:5 127.0.0.1:6\n"
	ls, err := ParseSSListen([]byte(in))
	wantProblemAt(t, err, 4, "not numbers")
	want := []knowledge.Listener{
		{Proto: "unix", Local: "/tmp/a dir/x.sock", Process: "my app", PID: 9, PIDs: []int{9}, Backlog: 5},
		{Proto: "tcp", Local: "127.0.0.53%lo:53", Host: "127.0.0.53", Port: 53, Backlog: 4096},
	}
	if !reflect.DeepEqual(ls, want) {
		t.Errorf("got %+v", ls)
	}
}

func TestPSDebian(t *testing.T) {
	ps, err := ParsePS(testdata(t, "ps.debian12.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 20 {
		t.Fatalf("%d processes, want 20", len(ps))
	}
	byPID := map[int]knowledge.Process{}
	for _, p := range ps {
		byPID[p.PID] = p
	}
	for _, want := range []knowledge.Process{
		{PID: 3, PPID: 2, User: "root", Comm: "pool_workqueue_", Args: "[pool_workqueue_release]"},
		{PID: 15325, PPID: 1, User: "root", RSSKB: 6696, Comm: "php-fpm8.2", Args: "php-fpm: master process (/tmp/bgw/fpm/php-fpm.conf)"},
		{PID: 15328, PPID: 15325, User: "www-data", RSSKB: 8708, Comm: "php-fpm8.2", Args: "php-fpm: pool www"},
		{PID: 15339, PPID: 15338, User: "www-data", RSSKB: 4484, Comm: "nginx", Args: "nginx: worker process"},
		{PID: 16462, PPID: 16420, User: "root", Comm: "my worker 1", Args: "[my worker 1] <defunct>"},
	} {
		if got := byPID[want.PID]; got != want {
			t.Errorf("pid %d: got %+v, want %+v", want.PID, got, want)
		}
	}
	if p := byPID[16420]; p.Comm != "my worker 1" || p.RSSKB != 167400 || !strings.HasPrefix(p.Args, "/root/.pyenv/versions/3.11.7/bin/python3 -c") {
		t.Errorf("renamed process %+v", p)
	}
}

func TestPSOtherWidths(t *testing.T) {
	// Real lines of `ps -eo pid=,ppid=,user:32=,rss=,comm=,args=` (default widths) on
	// the same machine: rss overflowed its 5 columns and ate into comm's padding.
	in := "15823 15821 root                             321012 big one        /root/.pyenv/versions/3.11.7/bin/python3 -c x\n" +
		"    2     0 root                                 0 kthreadd        [kthreadd]\n" +
		"  PID  PPID USER RSS COMMAND COMMAND\n" +
		"x 1 root 1 a b\n" +
		"12\n"
	ps, err := ParsePS([]byte(in))
	wantProblemAt(t, err, 4, "must be numbers")
	wantProblemAt(t, err, 5, "want pid")
	want := []knowledge.Process{
		{PID: 15823, PPID: 15821, User: "root", RSSKB: 321012, Comm: "big one", Args: "/root/.pyenv/versions/3.11.7/bin/python3 -c x"},
		{PID: 2, User: "root", Comm: "kthreadd", Args: "[kthreadd]"},
	}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("got %+v", ps)
	}
}

func TestSystemctl(t *testing.T) {
	down := "System has not been booted with systemd as init system (PID 1). Can't operate. Failed to connect to bus: Host is down"
	noSystemd := []knowledge.ServiceState{
		{Name: "nginx", Active: "unknown", Detail: down},
		{Name: "php8.2-fpm", Active: "unknown", Detail: down},
	}
	rhel := []knowledge.ServiceState{
		{Name: "nginx", Active: "active"}, {Name: "php-fpm", Active: "failed"},
		{Name: "httpd", Active: "inactive"}, {Name: "no-such-unit", Active: "unknown"},
	}
	for file, want := range map[string][]knowledge.ServiceState{
		"systemctl.debian12.txt":          noSystemd,
		"systemctl_printf.debian12.txt":   noSystemd,
		"rhel/systemctl.rhel7.txt":        rhel,
		"rhel/systemctl_printf.rhel7.txt": rhel[:3],
	} {
		got, err := ParseSystemctl(testdata(t, file))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v\n got %+v\nwant %+v", file, err, got, want)
		}
	}
	got, err := ParseSystemctl([]byte("# unit: a\n# unit: b\nactivating\nnonsense\n"))
	if err != nil || !reflect.DeepEqual(got, []knowledge.ServiceState{{Name: "a", Active: "unknown"}, {Name: "b", Active: "activating", Detail: "nonsense"}}) {
		t.Errorf("%v %+v", err, got)
	}
	_, err = ParseSystemctl([]byte("nginx active\nlonely\n"))
	wantProblemAt(t, err, 2, "unit name")
}

func TestDFDebian(t *testing.T) {
	fss, err := ParseDF(testdata(t, "df.debian12.txt"))
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]knowledge.Filesystem{}
	for _, f := range fss {
		by[f.Mount] = f
	}
	if len(fss) != 8 {
		t.Errorf("%d filesystems", len(fss))
	}
	for _, want := range []knowledge.Filesystem{
		{Device: "bgwfull", Mount: "/tmp/bgw/full", Type: "tmpfs", SizeKB: 1024, UsedKB: 992, AvailKB: 32, UsePercent: 97, Inodes: 3085510, IUsed: 2, IFree: 3085508, IUsePercent: 1},
		{Device: "bgwro", Mount: "/tmp/bgw/ro", Type: "tmpfs", SizeKB: 64, AvailKB: 64, Inodes: 3085510, IUsed: 1, IFree: 3085509, IUsePercent: 1, ReadOnly: true},
		{Device: "bgwinodes", Mount: "/tmp/bgw/inodes", Type: "tmpfs", SizeKB: 1024, AvailKB: 1024, Inodes: 40, IUsed: 39, IFree: 1, IUsePercent: 98},
		{Device: "bgwspace", Mount: "/tmp/bgw/with space", Type: "tmpfs", SizeKB: 2048, AvailKB: 2048, Inodes: 3085510, IUsed: 1, IFree: 3085509, IUsePercent: 1},
	} {
		if got := by[want.Mount]; got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", want.Mount, got, want)
		}
	}
	if r := by["/"]; r.Device != "/dev/vda" || r.Type != "ext4" || r.UsePercent != 13 || r.IUsePercent != 3 || r.ReadOnly {
		t.Errorf("root %+v", r)
	}
}

func TestDFRHEL7HandWritten(t *testing.T) {
	fss, err := ParseDF(testdata(t, "rhel/df.rhel7.txt"))
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]knowledge.Filesystem{}
	for _, f := range fss {
		by[f.Mount] = f
	}
	if r := by["/"]; r.Device != "/dev/mapper/centos_web01-root" || r.Type != "xfs" || r.UsePercent != 100 || r.AvailKB != 4096 || r.IUsePercent != 1 {
		t.Errorf("root %+v", r)
	}
	if d := by["/var/lib/docker"]; d.Type != "btrfs" || d.IUsePercent != -1 || d.Inodes != 0 || d.UsePercent != 3 {
		t.Errorf("btrfs %+v", d)
	}
	if cd := by["/mnt/cd rom"]; !cd.ReadOnly || cd.Type != "iso9660" || cd.IUsePercent != -1 || cd.UsePercent != 100 {
		t.Errorf("cdrom %+v", cd)
	}
}

func TestDFOddInput(t *testing.T) {
	in := "Filesystem      Size  Used Avail Use% Mounted on\n/dev/vda 252G 12G 80G 13% /\n" +
		"Filesystem 512-blocks Used Available Capacity Mounted on\n//srv/my share 2048 1024 1024 50% /mnt/my share\n" +
		"df: /run/user/1000/gvfs: Transport endpoint is not connected\n" +
		"garbage\n"
	fss, err := ParseDF([]byte(in))
	wantProblemAt(t, err, 1, "unsupported df header")
	wantProblemAt(t, err, 6, "not a df")
	want := []knowledge.Filesystem{{Device: "//srv/my share", Mount: "/mnt/my share", SizeKB: 1024, UsedKB: 512, AvailKB: 512, UsePercent: 50, IUsePercent: -1}}
	if !reflect.DeepEqual(fss, want) {
		t.Errorf("got %+v", fss)
	}
}

func TestFree(t *testing.T) {
	for file, want := range map[string]knowledge.Memory{
		"free.debian12.txt":   {TotalMB: 24105, UsedMB: 348, FreeMB: 23697, SharedMB: 14, BuffCacheMB: 307, AvailableMB: 23757},
		"rhel/free.rhel7.txt": {TotalMB: 7821, UsedMB: 1203, FreeMB: 310, SharedMB: 395, BuffCacheMB: 6307, AvailableMB: 5896, SwapTotalMB: 2047, SwapFreeMB: 2047},
		// procps 3.2: used from the -/+ row, available estimated from it.
		"rhel/free.rhel6.txt": {TotalMB: 3832, UsedMB: 795, FreeMB: 215, BuffCacheMB: 2821, AvailableMB: 3037, AvailableEstimated: true, SwapTotalMB: 3967, SwapUsedMB: 12, SwapFreeMB: 3955},
	} {
		got, err := ParseFree(testdata(t, file))
		if err != nil || got != want {
			t.Errorf("%s: %v\n got %+v\nwant %+v", file, err, got, want)
		}
	}
	// free -o on old procps: no -/+ row, so the cache is taken out of used here.
	got, err := ParseFree([]byte("             total       used       free     shared    buffers     cached\nMem:          1000        900        100          0        100        500\n"))
	if err != nil || got.UsedMB != 300 || got.AvailableMB != 700 || !got.AvailableEstimated {
		t.Errorf("%v %+v", err, got)
	}
	_, err = ParseFree([]byte("              total        used\nMem:           x        1\n"))
	wantProblemAt(t, err, 2, `"x" is not a number`)
}

func TestLimits(t *testing.T) {
	ls, err := ParseLimits(testdata(t, "limits.debian12.txt"))
	want := []knowledge.Limits{
		{PID: 15338, NoFileSoft: 20000, NoFileHard: 20000, NProcSoft: 96365, NProcHard: 96365},
		// The worker got worker_rlimit_nofile 4096.
		{PID: 15339, NoFileSoft: 4096, NoFileHard: 4096, NProcSoft: 96365, NProcHard: 96365},
		{PID: 15325, NoFileSoft: 20000, NoFileHard: 20000, NProcSoft: 96365, NProcHard: 96365},
	}
	if err != nil || !reflect.DeepEqual(ls, want) {
		t.Errorf("%v\n got %+v", err, ls)
	}
	ls, err = ParseLimits(testdata(t, "limits_single.debian12.txt"))
	if err != nil || len(ls) != 1 || ls[0].PID != 0 || ls[0].NoFileSoft != 20000 {
		t.Errorf("%v %+v", err, ls)
	}
	in := "==> /proc/812/limits <==\nMax processes             unlimited            unlimited            processes\nMax open files            1024                 4096                 files\n\n" +
		"==> /proc/813/limits <==\ncat: /proc/813/limits: No such file or directory\nMax open files            lots                 4096                 files\nnonsense\n"
	ls, err = ParseLimits([]byte(in))
	wantProblemAt(t, err, 7, "neither numbers")
	wantProblemAt(t, err, 8, "not a /proc/PID/limits row")
	if len(ls) != 2 || ls[0] != (knowledge.Limits{PID: 812, NoFileSoft: 1024, NoFileHard: 4096, NProcSoft: -1, NProcHard: -1}) || ls[1].PID != 813 {
		t.Errorf("%+v", ls)
	}
}

func TestGetenforce(t *testing.T) {
	for in, want := range map[string]string{
		string(testdata(t, "getenforce.debian12.txt")):  "",
		string(testdata(t, "rhel/getenforce.rhel.txt")): "Enforcing",
		"Permissive\n": "Permissive",
		"bash: line 1: getenforce: command not found\n": "",
		"": "",
	} {
		got, err := ParseGetenforce([]byte(in))
		if err != nil || got.Mode != want {
			t.Errorf("%q: %v %q, want %q", in, err, got.Mode, want)
		}
	}
	_, err := ParseGetenforce([]byte("\nenforcing-ish\n"))
	wantProblemAt(t, err, 2, "unexpected getenforce answer")
}

func TestFPMConfigDebianAndBaoTa(t *testing.T) {
	cfg, err := ParseFPMConfig(testdata(t, "fpm.debian12.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const deb, bt = "/tmp/bgw/fpm/php-fpm.conf", "/tmp/bgw/bt/www/server/php/82/etc/php-fpm.conf"
	if len(cfg.Files) != 4 || len(cfg.Masters) != 2 || len(cfg.Pools) != 3 {
		t.Fatalf("%d files, %d masters, %d pools", len(cfg.Files), len(cfg.Masters), len(cfg.Pools))
	}
	if m := cfg.Masters[0]; m.File != deb || m.ErrorLog != "/tmp/bgw/log/php8.2-fpm.log" || m.PIDFile != "/tmp/bgw/run/php-fpm.pid" ||
		!slices.Equal(m.Includes, []string{"/tmp/bgw/fpm/pool.d/*.conf"}) || m.Directives["process_control_timeout"] != "10s" {
		t.Errorf("master %+v", m)
	}
	www := cfg.Pools[1]
	want := knowledge.FPMPool{
		File: "/tmp/bgw/fpm/pool.d/www.conf", Line: 2, Master: deb, Name: "www", User: "www-data", Group: "www-data",
		Listen: "/tmp/bgw/run/php-fpm-www.sock", ListenOwner: "www-data", ListenGroup: "www-data", ListenMode: "0660",
		ListenBacklog: 511, PM: "dynamic", MaxChildren: 5, StartServers: 2, MinSpare: 1, MaxSpare: 3, MaxRequests: 500,
		RequestTerminateTimeout: "30s", SlowlogTimeout: "5s", StatusPath: "/status", ErrorLog: "/tmp/bgw/log/php8.2-fpm.log",
		Directives: www.Directives,
	}
	if !reflect.DeepEqual(www, want) {
		t.Errorf("www pool\n got %+v\nwant %+v", www, want)
	}
	for k, v := range map[string]string{"slowlog": "/tmp/bgw/log/www.slow.log", "env[PATH]": "/usr/local/bin:/usr/bin:/bin", "php_admin_value[memory_limit]": "128M"} {
		if www.Directives[k] != v {
			t.Errorf("www %s = %q, want %q", k, www.Directives[k], v)
		}
	}
	if api := cfg.Pools[0]; api.Name != "api" || api.Listen != "127.0.0.1:9082" || api.PM != "static" || api.MaxChildren != 2 || api.Master != deb || api.ListenSocket() != "" {
		t.Errorf("api pool %+v", api)
	}
	// BaoTa: [global] and [www] in one file; listen.backlog 8192 (the kernel cut it to 4096: see ss).
	if b := cfg.Pools[2]; b.File != bt || b.Line != 6 || b.Master != bt || b.ErrorLog != "/tmp/bgw/bt/www/server/php/82/var/log/php-fpm.log" ||
		b.Listen != "/tmp/bgw/bt/www/tmp/php-cgi-82.sock" || b.ListenMode != "0666" || b.ListenBacklog != 8192 || b.MaxChildren != 30 || b.RequestTerminateTimeout != "100" {
		t.Errorf("BaoTa pool %+v", b)
	}
	if got := cfg.UnixSockets(); !slices.Equal(got, []string{"/tmp/bgw/run/php-fpm-www.sock", "/tmp/bgw/bt/www/tmp/php-cgi-82.sock"}) {
		t.Errorf("UnixSockets %q", got)
	}
}

func TestFPMConfigRHEL8HandWritten(t *testing.T) {
	cfg, err := ParseFPMConfig(testdata(t, "rhel/fpm.rhel8.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// include= before [global] is global too.
	if len(cfg.Masters) != 1 || !slices.Equal(cfg.Masters[0].Includes, []string{"/etc/php-fpm.d/*.conf"}) || cfg.Masters[0].ErrorLog != "/var/log/php-fpm/error.log" {
		t.Fatalf("masters %+v", cfg.Masters)
	}
	p := cfg.Pools[0]
	if len(cfg.Pools) != 1 || p.Master != "/etc/php-fpm.conf" || p.ErrorLog != "/var/log/php-fpm/error.log" || p.User != "apache" ||
		p.Listen != "/run/php-fpm/www.sock" || p.ListenOwner != "" || p.ListenACLUsers != "apache,nginx" || p.MaxChildren != 50 ||
		p.Directives["php_value[session.save_path]"] != "/var/lib/php/session" {
		t.Errorf("pool %+v", p)
	}
}

func TestFPMConfigProblems(t *testing.T) {
	in := "==> /etc/php/8.2/fpm/pool.d/a.conf <==\n[a]\nlisten = \"/run/a b.sock\" ; the socket\npm.max_children = lots\nuser 'www'\n" +
		"group = 'www\n[b\nlisten.mode = 0660 ; comment\n"
	cfg, err := ParseFPMConfig([]byte(in))
	var pe *ParseError
	if !errors.As(err, &pe) || len(pe.Problems) != 4 {
		t.Fatalf("%v", err)
	}
	if p := pe.Problems[0]; p.Line != 4 || p.File != "/etc/php/8.2/fpm/pool.d/a.conf" || p.FileLine != 3 || !strings.Contains(p.Msg, "pm.max_children: want a number") {
		t.Errorf("first problem %+v", p)
	}
	wantProblemAt(t, err, 5, "want key = value")
	wantProblemAt(t, err, 6, "unclosed single quote")
	wantProblemAt(t, err, 7, "unclosed section header")
	if a := cfg.Pools[0]; a.Listen != "/run/a b.sock" || a.Group != "www" || a.ListenMode != "0660" || a.Master != "" {
		t.Errorf("pool %+v", a)
	}
}

func TestStatSockets(t *testing.T) {
	got, err := ParseStatSockets(testdata(t, "stat.debian12.txt"))
	want := []knowledge.SocketStat{
		{Path: "/tmp/bgw/run/php-fpm-www.sock", Exists: true, Type: "socket", Owner: "www-data", Group: "www-data", Mode: "0660"},
		{Path: "/tmp/bgw/bt/www/tmp/php-cgi-82.sock", Exists: true, Type: "socket", Owner: "www-data", Group: "www-data", Mode: "0666"},
		{Path: "/tmp/php-cgi-82.sock", Error: "No such file or directory"},
		{Path: "/tmp/bgw/run", Exists: true, Type: "directory", Owner: "root", Group: "root", Mode: "0755"},
		{Path: "/tmp/bgw/log/error.log", Exists: true, Type: "regular empty file", Owner: "root", Group: "root", Mode: "0644"},
		{Path: "/tmp/bgw/fpm/php-fpm.conf", Exists: true, Type: "regular file", Owner: "root", Group: "root", Mode: "0644"},
		{Path: "/tmp/bgw/run/upload.sock", Error: "No such file or directory"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%v\n got %+v", err, got)
	}
	got, err = ParseStatSockets(testdata(t, "rhel/stat.rhel7.txt"))
	want = []knowledge.SocketStat{
		{Path: "/run/php-fpm/www.sock", Error: "No such file or directory"},
		{Path: "/run/php-fpm", Exists: true, Type: "directory", Owner: "root", Group: "root", Mode: "0755"},
		{Path: "/var/lib/nginx/tmp", Exists: true, Type: "directory", Owner: "nginx", Group: "nginx", Mode: "0700"},
		{Path: "/var/lib/php/session/x", Error: "Permission denied"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("rhel: %v\n got %+v", err, got)
	}
	got, err = ParseStatSockets([]byte("/odd|name|socket|a|b|6600\n/x|socket|a|b|9\nstat: missing operand\n/y|socket\n"))
	wantProblemAt(t, err, 2, "not octal")
	wantProblemAt(t, err, 3, "unexpected stat message")
	wantProblemAt(t, err, 4, "want path|type")
	if !reflect.DeepEqual(got, []knowledge.SocketStat{{Path: "/odd|name", Exists: true, Type: "socket", Owner: "a", Group: "b", Mode: "6600"}}) {
		t.Errorf("got %+v", got)
	}
}

// FuzzParsers runs every parser on the same bytes: none may panic, and an error
// is always a *ParseError.
func FuzzParsers(f *testing.F) {
	for _, name := range []string{"ss.debian12.txt", "ps.debian12.txt", "df.debian12.txt", "free.debian12.txt", "limits.debian12.txt",
		"fpm.debian12.txt", "stat.debian12.txt", "systemctl_printf.debian12.txt", "rhel/free.rhel6.txt", "rhel/ss.rhel7.txt", "rhel/stat.rhel7.txt"} {
		f.Add(testdata(f, name))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for name, p := range Parsers {
			if name == "nginx_t" {
				continue // FuzzParseNginxT
			}
			_, err := p(in)
			var pe *ParseError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("%s: error %v is not a *ParseError", name, err)
			}
		}
	})
}
