package knowledge

import (
	"strings"
	"testing"
)

// nginx in docker proxies to app:8080; the app container of the same compose
// project exited: the diagnosis names the container and how to bring it back.
func TestStoppedComposeContainerExplainsRefusals(t *testing.T) {
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	col.AddLine(`2026-11-25T10:02:11.412Z 2026/11/25 10:02:11 [error] 29#29: *17 connect() failed (111: Connection refused) while connecting to upstream, client: 172.18.0.1, server: shop.example.com, request: "GET / HTTP/1.1", upstream: "http://172.18.0.3:8080/", host: "shop.example.com"`, "docker:shop-nginx-1")
	col.AddHostFacts(HostFacts{Containers: []Container{
		{Name: "shop-nginx-1", Image: "nginx:1.25", Status: "Up 3 hours"},
		{Name: "shop-app-1", Image: "shop/app:2.4", Status: "Exited (137) 4 minutes ago"},
		{Name: "other-db-1", Image: "postgres:16", Status: "Exited (0) 2 days ago"},
	}})
	d := col.Diagnosis(Options{Target: "docker-host"})
	if len(d.Causes) == 0 || d.Causes[0].ID != "upstream_down" {
		t.Fatalf("top %v", ids(d))
	}
	var proof []string
	for _, e := range d.Causes[0].Evidence {
		proof = append(proof, e.Text)
	}
	all := strings.Join(proof, "\n")
	if !strings.Contains(all, "shop-app-1") || strings.Contains(all, "other-db-1") {
		t.Errorf("evidence should name shop-app-1 and only it:\n%s", all)
	}
	if !strings.Contains(strings.Join(d.Causes[0].Fixes, "\n"), "docker start shop-app-1") {
		t.Errorf("fixes: %v", d.Causes[0].Fixes)
	}
}

func TestComposeProject(t *testing.T) {
	for name, want := range map[string]string{"shop-app-1": "shop", "my-shop-web-12": "my-shop", "shop_app_1": "shop", "nginx": "", "app-web": ""} {
		if got := composeProject(name); got != want {
			t.Errorf("composeProject(%q) = %q, want %q", name, got, want)
		}
	}
}
