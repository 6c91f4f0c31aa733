package playbooks

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/badgateway/badgateway/knowledge"
)

func TestParseResolve(t *testing.T) {
	// What the resolve step prints: a name, then what getent ahosts gave, deduplicated.
	out := "app.internal 10.0.0.9\ngone.internal\nv6.internal 2001:db8::5 10.0.0.7\n"
	got, err := ParseResolve([]byte(out))
	want := []knowledge.Resolution{{Name: "app.internal", Addresses: []string{"10.0.0.9"}}, {Name: "gone.internal"}, {Name: "v6.internal", Addresses: []string{"2001:db8::5", "10.0.0.7"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := ParseResolve([]byte("app.internal not-an-ip\n")); err == nil {
		t.Error("garbage addresses must be reported")
	}
}

func TestParseDockerPS(t *testing.T) {
	// docker ps -a --no-trunc --format '{{json .}}' (Docker 24).
	out := `{"Command":"\"/docker-entrypoint.…\"","CreatedAt":"2026-11-25 08:00:01 +0000 UTC","ID":"8c1f","Image":"nginx:1.25","Labels":"","LocalVolumes":"0","Mounts":"","Names":"shop-nginx-1","Networks":"shop_default","Ports":"0.0.0.0:80-\u003e80/tcp","RunningFor":"2 hours ago","Size":"0B","State":"running","Status":"Up 2 hours"}
{"Command":"\"python app.py\"","ID":"77aa","Image":"shop/app:2.4","Names":"shop-app-1","Ports":"","State":"exited","Status":"Exited (137) 4 minutes ago"}
`
	got, err := ParseDockerPS([]byte(out))
	if err != nil || len(got) != 2 || got[0].Name != "shop-nginx-1" || !got[0].Running() || got[1].Running() || got[1].Status != "Exited (137) 4 minutes ago" {
		t.Fatalf("got %+v, %v", got, err)
	}
	if names := nginxContainers(got); !reflect.DeepEqual(names, []string{"shop-nginx-1"}) {
		t.Errorf("nginx containers %v", names)
	}
	if cs, err := ParseDockerPS(nil); err != nil || len(cs) != 0 {
		t.Errorf("no docker: %v %v", cs, err)
	}
}

func TestDockerSince(t *testing.T) {
	for window, want := range map[time.Duration]string{0: "3600s", 15 * time.Minute: "3600s", 2 * time.Hour: "7500s"} {
		if got := dockerSince(window); got != want {
			t.Errorf("dockerSince(%v) = %s, want %s", window, got, want)
		}
	}
}

// Run without root, the note names the steps the system refused (their
// stderr says so), not a log step whose lines mention Permission denied.
func TestNotRootNoteNamesRefusedStepsOnly(t *testing.T) {
	uid := 1000
	rep := &Report{Steps: []*StepResult{
		{ID: "nginx_error_log", Stdout: []byte(`2026/11/25 10:02:11 [crit] 17#17: *1 connect() to unix:/run/php/php8.2-fpm.sock failed (13: Permission denied) while connecting to upstream`)},
		{ID: "fpm_log", Stderr: []byte("tail: cannot open '/var/log/php8.2-fpm.log' for reading: Permission denied\n")},
	}}
	note := notRootNote(rep, &knowledge.HostInfo{User: "deploy", UID: &uid}, "en")
	if !strings.Contains(note, "Ran as deploy") || !strings.Contains(note, "Refused in: fpm_log.") {
		t.Errorf("note %q", note)
	}
	if root := 0; notRootNote(rep, &knowledge.HostInfo{UID: &root}, "en") != "" {
		t.Error("root gets no note")
	}
}
