package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/badgateway/badgateway/internal/testlab"
	"github.com/badgateway/badgateway/knowledge"
)

// Most servers are not entered as root, and many logins print a greeting.
// One host with php-fpm stopped is
// diagnosed as a user with passwordless sudo (`sudo: true`, the real sudo),
// as that user without sudo (nginx -T then fails on its pid file, the
// files are read directly), as a user sudo refuses, and as a user that
// cannot read the logs (nginx's are 0640 www-data:adm, as logrotate leaves
// them on Debian; php-fpm's is root's).
func TestDiagnoseAsOtherUsers(t *testing.T) {
	testlab.RequireLab(t)
	testlab.RequireSudo(t)
	h := testlab.StartHost(t, testlab.HostSpec{Name: "e2e-users"})
	h.StopFPM("TERM")
	// deploy's login shell talks, on both streams, as many real ones do.
	h.WriteFile("/home/"+testlab.SudoUser+"/.bashrc", "echo 'Welcome to e2e-users, deploy!'\necho 'pyenv: cannot rehash: /home/deploy/.pyenv/shims is not writable' >&2\n")
	if got := h.Curl("/index.php"); got != 502 {
		t.Fatalf("php-fpm stopped: nginx answered %d, want 502", got)
	}

	t.Run("sudo", func(t *testing.T) {
		d, text, err := diagnoseAs(t, h, testlab.SudoUser, true)
		if err != nil {
			t.Fatal(err)
		}
		wantTop(t, d, text, "upstream_down")
		if len(d.Notes) != 0 || failedSteps(d) != nil {
			t.Errorf("through sudo nothing should be missing: notes %q, failed steps %v", d.Notes, failedSteps(d))
		}
	})
	t.Run("no sudo, adm group", func(t *testing.T) {
		d, text, err := diagnoseAs(t, h, testlab.SudoUser, false)
		if err != nil {
			t.Fatal(err)
		}
		wantTop(t, d, text, "upstream_down")
		wantEvidence(t, d, "upstream_socket_missing", "connect() to unix:/run/php/php8.2-fpm.sock failed")
		if f := find(d, "nginx_config_invalid"); f != nil {
			t.Errorf("nginx -t failing for want of root is not a broken config: %+v", f.Evidence)
		}
		if failed := failedSteps(d); failed != nil {
			t.Errorf("failed steps %v", failed)
		}
		// A panel's nginx too: its -T fails the same way, its files are read instead.
		bt := testlab.StartHost(t, testlab.HostSpec{Name: "e2e-users-bt", Layout: "baota"})
		bt.StopFPM("TERM")
		d, text, err = diagnoseAs(t, bt, testlab.SudoUser, false)
		if err != nil {
			t.Fatal(err)
		}
		wantTop(t, d, text, "upstream_down")
		wantFix(t, d, "/etc/init.d/php-fpm-82 start")
		if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "Ran as deploy, not root") || !strings.Contains(d.Notes[0], "nginx_config") {
			t.Errorf("notes %q: should say the run was not root and nginx -T was refused", d.Notes)
		}
	})
	t.Run("sudo refused", func(t *testing.T) {
		_, _, err := diagnoseAs(t, h, testlab.PlainUser, true)
		if err == nil || !strings.Contains(err.Error(), "sudo -n refused for user intern (sudo: a password is required)") ||
			!strings.Contains(err.Error(), "NOPASSWD") || strings.Count(strings.TrimSpace(err.Error()), "\n") > 0 {
			t.Fatalf("want one line saying sudo refused and what to do, got %v", err)
		}
		// hosts check says the same before any incident.
		out, err := exec.Command(binary, "hosts", "check", "--config", labConfig(t, h, testlab.PlainUser, true)).Output()
		if err == nil || !strings.Contains(string(out), h.Name) || !strings.Contains(string(out), "FAIL") || !strings.Contains(string(out), "sudo -n refused") {
			t.Errorf("hosts check as intern with sudo: %v\n%s", err, out)
		}
		out, err = exec.Command(binary, "hosts", "check", "--config", labConfig(t, h, testlab.SudoUser, true)).Output()
		if err != nil || !strings.Contains(string(out), " ok ") || !strings.Contains(string(out), "commands run as root") {
			t.Errorf("hosts check as deploy with sudo: %v\n%s", err, out)
		}
		out, err = exec.Command(binary, "hosts", "check", "--config", labConfig(t, h, testlab.SudoUser, false)).Output()
		if err != nil || !strings.Contains(string(out), "commands run as deploy") {
			t.Errorf("hosts check as deploy without sudo: %v\n%s", err, out)
		}
	})
	t.Run("no sudo, no logs", func(t *testing.T) {
		d, text, err := diagnoseAs(t, h, testlab.PlainUser, false)
		if err != nil {
			t.Fatal(err)
		}
		saveTranscript(t, "not root", "logged in as intern, no sudo, php-fpm stopped", text)
		// The host facts still find the stopped php-fpm; the log lines are out of reach.
		wantTop(t, d, text, "upstream_down")
		if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "nginx_error_log") || !strings.Contains(d.Notes[0], "fpm_log") {
			t.Errorf("notes %q: should name the log steps that were refused", d.Notes)
		}
	})
}

func wantTop(t *testing.T, d knowledge.Diagnosis, text, id string) {
	t.Helper()
	if len(d.Causes) == 0 || d.Causes[0].ID != id {
		t.Fatalf("top cause %v, want %s\n%s\nsteps: %+v", ids(d), id, text, d.Steps)
	}
}

func failedSteps(d knowledge.Diagnosis) []string {
	var out []string
	for _, s := range d.Steps {
		if s.Error != "" {
			out = append(out, s.ID+": "+s.Error)
		}
	}
	return out
}
