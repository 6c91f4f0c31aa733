package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/badgateway/badgateway/internal/testlab"
)

// composeNginx is shop-nginx-1's configuration: the app service by its
// compose name, resolved by Docker's DNS when nginx starts.
const composeNginx = `user www-data;
error_log /dev/stderr;
pid /run/nginx.pid;
events {}
http {
    access_log off;
    server {
        listen 80;
        server_name shop.test;
        location / {
            proxy_pass http://app:8080;
            proxy_connect_timeout 3s;
        }
    }
}
`

// nginx in Docker, compose style: a real Docker engine inside a lab host
// runs shop-nginx-1 (Debian's nginx) and shop-app-1 (labbackend) on the
// shop_default network. The fault: `docker stop shop-app-1`; its address is
// gone, so nginx's connect times out and it answers 504. The host also has
// Debian's nginx and php-fpm configured but not running: their files must
// not be mistaken for the containers'. Then nginx's own container stops.
func TestDiagnoseDockerCompose(t *testing.T) {
	testlab.RequireLab(t)
	h := testlab.StartHost(t, testlab.HostSpec{Name: "e2e-docker", Docker: true, NoFPM: true, NoNginx: true})
	h.StartDocker()
	h.WriteFile("/srv/shop/nginx.conf", composeNginx)
	h.MustExec("docker network create shop_default >/dev/null")
	h.MustExec("docker run -d --name shop-app-1 --network shop_default --network-alias app --label com.docker.compose.project=shop " +
		testlab.BackendImage + " " + h.Paths.BackendBin + " -mode ok -listen 0.0.0.0:8080 >/dev/null")
	h.MustExec("docker run -d --name shop-nginx-1 --network shop_default --label com.docker.compose.project=shop " +
		"-v /srv/shop/nginx.conf:/etc/nginx/nginx.conf:ro " + testlab.NginxImage + " /usr/sbin/nginx -g 'daemon off;' >/dev/null")
	ip := strings.TrimSpace(h.MustExec("docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' shop-nginx-1"))
	status := func() string {
		return strings.TrimSpace(h.MustExec("curl -s -o /dev/null -w '%{http_code}' --connect-timeout 3 --max-time 20 http://" + ip + "/ || true"))
	}
	if got := status(); got != "200" {
		t.Fatalf("healthy compose project: nginx answered %s, want 200\n%s", got, h.MustExec("docker logs shop-nginx-1 2>&1 | tail -5"))
	}
	h.MustExec("docker stop shop-app-1 >/dev/null")
	if got := status(); got != "504" {
		t.Fatalf("app stopped: nginx answered %s, want 504\n%s", got, h.MustExec("docker logs shop-nginx-1 2>&1 | tail -5"))
	}

	d, text := diagnose(t, h)
	saveTranscript(t, "docker compose app stopped", "docker stop shop-app-1 (nginx in a container proxies to app:8080)", text)
	if d.Layout != "docker" {
		t.Errorf("layout %q, want docker", d.Layout)
	}
	wantTop(t, d, text, "upstream_down")
	wantEvidence(t, d, "upstream_down", "container shop-app-1 (lab/backend), in the same compose project as shop-nginx-1, is Exited")
	wantFix(t, d, "docker start shop-app-1")
	wantEvidence(t, d, "upstream_connect_timeout", "upstream timed out (110: Connection timed out) while connecting to upstream")
	if strings.Contains(text, "php-fpm master") || strings.Contains(text, "php8.2-fpm.sock") {
		t.Errorf("the host's idle nginx and php-fpm files were taken for the containers':\n%s", text)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "nginx runs in container shop-nginx-1") {
		t.Errorf("notes %q: should say nginx runs in shop-nginx-1", d.Notes)
	}
	// The configuration is the container's, read with docker exec: --site finds the site.
	cfg, _ := json.Marshal(d.Facts["nginx_config"])
	if !strings.Contains(string(cfg), `"container":"shop-nginx-1"`) || !strings.Contains(string(cfg), `"shop.test"`) {
		t.Errorf("nginx_config facts should be the container's: %s", cfg)
	}
	d, text = diagnose(t, h, "--site", "shop.test")
	wantTop(t, d, text, "upstream_down")
	if d.Stats.OtherSite != 0 || find(d, "upstream_connect_timeout") == nil {
		t.Errorf("--site shop.test should keep the site's lines: %+v %v", d.Stats, ids(d))
	}

	// Then the app is back and nginx's own container stops: nothing answers on
	// its address (a load balancer in front would say 502).
	h.MustExec("docker start shop-app-1 >/dev/null && docker stop shop-nginx-1 >/dev/null")
	if got := status(); got != "000" {
		t.Fatalf("nginx's container stopped: got HTTP %s, want no answer", got)
	}
	d, text = diagnose(t, h)
	wantTop(t, d, text, "nginx_down")
	wantEvidence(t, d, "nginx_down", "container shop-nginx-1 (lab/nginx) is Exited")
	wantFix(t, d, "docker start shop-nginx-1")
	if strings.Contains(text, "nothing listens on port 80") {
		t.Errorf("the host's idle nginx config is not the container's:\n%s", text)
	}
}
