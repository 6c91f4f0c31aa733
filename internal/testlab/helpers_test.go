package testlab

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHelpers covers the helpers and layout options the smoke test does
// not: custom site names, aapanel, pool changes, nginx stop/start, PIDs,
// files, and traffic between two hosts over the lab bridge.
func TestHelpers(t *testing.T) {
	RequireLab(t)
	hosts := StartHosts(t,
		HostSpec{Name: "app", NoFPM: true, NoNginx: true,
			Backend: &BackendSpec{Mode: "ok", Args: []string{"-listen=0.0.0.0:8080", "-status=201"}}},
		HostSpec{Name: "web", SiteName: "shop"},
		HostSpec{Name: "aa", Layout: "aapanel", SiteName: "shop.test"},
	)
	app, web, aa := hosts[0], hosts[1], hosts[2]

	t.Run("host-to-host", func(t *testing.T) {
		web := web.For(t)
		if app.PID("nginx") != 0 || app.PID("php-fpm") != 0 || app.PID("backend") == 0 {
			t.Errorf("app host should run only the backend: %+v", app.Processes())
		}
		if _, err := web.Exec("test -L /etc/nginx/sites-enabled/shop && test ! -e /etc/nginx/sites-enabled/default"); err != nil {
			t.Errorf("site shop not enabled alone: %v", err)
		}
		web.SetNginxSite(proxySite("proxy_pass http://" + app.Addr + ":8080;"))
		if code := web.Curl("/app/x"); code != 201 {
			t.Errorf("web -> app: %d, want 201", code)
		}
		app.For(t).Iptables("-A", "INPUT", "-p", "tcp", "--dport", "8080", "-s", web.Addr, "-j", "REJECT", "--reject-with", "tcp-reset")
		if code := web.Curl("/app/x"); code != 502 {
			t.Errorf("web -> app rejected: %d, want 502", code)
		}
		if log := web.ErrorLog(); !strings.Contains(log, "(111: Connection refused) while connecting to upstream") {
			t.Errorf("error log:\n%s", log)
		}
	})

	t.Run("nginx-stop-start", func(t *testing.T) {
		web := web.For(t)
		old := web.PID("nginx")
		web.StopNginx("QUIT")
		if code := web.Curl("/"); code != 0 {
			t.Errorf("nginx stopped but GET / = %d", code)
		}
		web.StartNginx()
		if pid := web.PID("nginx"); pid == 0 || pid == old {
			t.Errorf("nginx pid %d after restart (was %d)", pid, old)
		}
	})

	t.Run("aapanel", func(t *testing.T) {
		aa := aa.For(t)
		if cfg := aa.ReadFile("/www/server/panel/config/config.json"); !strings.Contains(cfg, `"brand": "aaPanel"`) {
			t.Errorf("config.json: %s", cfg)
		}
		if !strings.HasSuffix(aa.Paths.SiteConf, "/vhost/nginx/shop.test.conf") || aa.Paths.DocRoot != "/www/wwwroot/shop.test" {
			t.Errorf("paths: %+v", *aa.Paths)
		}
		if code, body, _ := aa.CurlFull("/"); code != 200 || body != "ok" {
			t.Errorf("GET / = %d %q", code, body)
		}
		// Panel-style pool change: static pool of 3, TCP listener.
		aa.SetFPMPool(strings.Replace(btPool, "pm = dynamic", "pm = static", 1) + "pm.max_children = 3\n")
		if n := len(procsOf(aa, "php-fpm")); n != 4 {
			t.Errorf("want master + 3 static workers, got %d: %+v", n, aa.Processes())
		}
		aa.WriteFile("/www/wwwroot/shop.test/who.php", "<?php echo get_current_user(), ' ', posix_getpwuid(posix_geteuid())['name'];\n")
		if code, body, _ := aa.CurlFull("/who.php"); code != 200 || !strings.HasSuffix(body, " www") {
			t.Errorf("GET /who.php = %d %q", code, body)
		}
		if got := aa.MustExec("cat " + aa.Paths.FPMPIDFile); strings.TrimSpace(got) != strconv.Itoa(aa.PID("php-fpm")) {
			t.Errorf("pid file %q, PID %d", got, aa.PID("php-fpm"))
		}
	})
}

func procsOf(h *Host, name string) []Proc {
	_, all := h.daemon(name)
	return all
}

// TestScale measures twenty hosts (a quarter BaoTa, each with a backend)
// coming up and going down at once; set TESTLAB_SCALE=1 to run it.
func TestScale(t *testing.T) {
	if os.Getenv("TESTLAB_SCALE") == "" {
		t.Skip("set TESTLAB_SCALE=1 to measure 20 hosts")
	}
	RequireLab(t)
	specs := make([]HostSpec, 20)
	for i := range specs {
		specs[i] = HostSpec{Backend: &BackendSpec{Mode: "ok"}}
		if i%4 == 0 {
			specs[i].Layout = "baota"
		}
	}
	t0 := time.Now()
	hosts := StartHosts(t, specs...)
	t.Logf("%d hosts up in %v", len(hosts), time.Since(t0).Round(time.Millisecond))
	for _, h := range hosts {
		if code := h.Curl("/"); code != 200 {
			t.Errorf("%s: GET / = %d", h.Name, code)
		}
	}
	t0 = time.Now()
	StopAll(hosts...)
	t.Logf("%d hosts stopped in %v", len(hosts), time.Since(t0).Round(time.Millisecond))
}
