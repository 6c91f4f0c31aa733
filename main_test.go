package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/badgateway/badgateway/internal/testlab"
	"github.com/badgateway/badgateway/knowledge"
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestExplainSampleLog(t *testing.T) {
	code, out, errOut := runCLI(t, "", "explain", "--file", "examples/error.log")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "[fpm_max_children, 504,") || !strings.Contains(out, "502 diagnosis for examples/error.log") {
		t.Errorf("unexpected output:\n%s", out)
	}
}

func TestExplainJSONFromStdinFollowsTheContract(t *testing.T) {
	log := `2026/11/25 10:02:11 [error] 812#812: *41 connect() to unix:/run/php/php8.2-fpm.sock failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET /index.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "localhost"` + "\n"
	code, out, _ := runCLI(t, log, "explain", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, key := range []string{"target", "verdict", "causes", "steps", "duration_ms", "error"} {
		if _, ok := d[key]; !ok {
			t.Errorf("JSON lacks %q", key)
		}
	}
	if d["target"] != "-" || d["verdict"] != "cause_found" {
		t.Errorf("target %v verdict %v", d["target"], d["verdict"])
	}
	c := d["causes"].([]any)[0].(map[string]any)
	ev := c["evidence"].([]any)[0].(map[string]any)
	if c["id"] != "upstream_down" || c["status"] != 502.0 || ev["source"] != "nginx_error_log:stdin" || !strings.Contains(ev["text"].(string), "Connection refused") {
		t.Errorf("cause %v", c)
	}
	if conf := c["confidence"].(float64); conf <= 0 || conf > 1 {
		t.Errorf("confidence %v", conf)
	}
}

func TestExplainRepliesInChineseWhenAskedInChinese(t *testing.T) {
	log := "网站 502 了\n2026/11/25 10:02:11 [error] 1#1: *1 upstream prematurely closed connection while reading response header from upstream, client: 1.2.3.4, server: a, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:3000/\", host: \"a\"\n"
	_, out, _ := runCLI(t, log, "explain")
	if knowledge.DetectLang(out) != "zh" || !strings.Contains(out, "证据") {
		t.Errorf("want a Chinese reply:\n%s", out)
	}
	_, out, _ = runCLI(t, log, "explain", "--lang", "en")
	if strings.Contains(out, "证据") {
		t.Errorf("--lang en ignored:\n%s", out)
	}
}

func TestUsageErrorsAreOneLineWithExit2(t *testing.T) {
	cases := [][]string{
		{"explain", "--format", "yaml"},
		{"explain", "--file", "/nonexistent/error.log"},
		{"explain", "--lang", "fr"},
		{"frobnicate"},
		{"kb", "show", "no_such"},
		{"diagnose"},
		{"diagnose", "web-01"},
		{"diagnose", "localhost", "--since", "-5m"},
		{"diagnose", "localhost", "--config", "/nonexistent.yaml"},
	}
	for _, args := range cases {
		code, _, errOut := runCLI(t, "", args...)
		if code != 2 || strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 || !strings.HasPrefix(errOut, "badgateway: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", args, code, errOut)
		}
	}
	_, _, errOut := runCLI(t, "", "diagnose", "web-01")
	if !strings.Contains(errOut, `unknown host "web-01"`) {
		t.Errorf("unknown host message: %q", errOut)
	}
}

func TestKBSearch(t *testing.T) {
	for query, want := range map[string]string{
		"too big header":       "header_too_big",
		"max_children":         "fpm_max_children",
		"client_max_body_size": "body_too_large",
	} {
		code, out, _ := runCLI(t, "", "kb", "search", query)
		first := strings.Fields(out)
		if code != 0 || len(first) == 0 || first[0] != want {
			t.Errorf("kb search %q: exit %d, first hit %v, want %s\n%s", query, code, first, want, out)
		}
	}
	// Chinese questions find Chinese keywords.
	if _, out, _ := runCLI(t, "", "kb", "search", "超时"); !strings.Contains(strings.Join(strings.Split(out, "\n")[:3], "\n"), "upstream_timeout") {
		t.Errorf("kb search 超时: upstream_timeout not in the first three:\n%s", out)
	}
	code, out, _ := runCLI(t, "", "kb", "show", "oom_killed", "--lang", "zh")
	if code != 0 || !strings.Contains(out, "宝塔") {
		t.Errorf("kb show zh: %d\n%s", code, out)
	}
}

func TestDiagnoseLocalhostJSON(t *testing.T) {
	t.Setenv("BADGATEWAY_CONFIG", "")
	t.Chdir(t.TempDir()) // no ./config.yaml: the default inventory of localhost
	code, out, errOut := runCLI(t, "", "diagnose", "localhost", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var d knowledge.Diagnosis
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Target != "localhost" || len(d.Steps) < 10 {
		t.Fatalf("target %q steps %d", d.Target, len(d.Steps))
	}
	for _, s := range d.Steps {
		if s.ID == "processes" && (s.Error != "" || s.ExitCode != 0) {
			t.Errorf("processes step failed: %+v", s)
		}
	}
	if d.Facts["host"] == nil || d.Facts["processes"] == nil || d.Facts["disk"] == nil {
		t.Errorf("facts missing: %v", keys(d.Facts))
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A host whose key is not in known_hosts, or that does not answer, is refused
// with exit 1 and one line that says what to do.
func TestDiagnoseRefusesUnknownAndUnreachableHosts(t *testing.T) {
	sshd := testlab.StartSSHD(t)
	dir := t.TempDir()
	emptyKnown := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(emptyKnown, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf(`ssh:
  user: root
  identity_files: [%s]
  known_hosts: %s
  connect_timeout: 2s
hosts:
  - name: web-01
    address: 127.0.0.1
    port: %d
  - name: web-02
    address: 127.0.0.1
    port: 1
`, sshd.ClientKeyPath, emptyKnown, sshd.Port)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "", "diagnose", "web-01", "--config", cfg, "--format", "json")
	if code != 1 || !strings.Contains(errOut, "host key not in") || !strings.Contains(errOut, "badgateway hosts trust web-01") {
		t.Errorf("unknown key: exit %d, %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "", "diagnose", "web-02", "--config", cfg)
	if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("unreachable: exit %d, %q", code, errOut)
	}

	// hosts check logs in to every host at once and says, per host, what is wrong.
	code, out, errOut := runCLI(t, "", "hosts", "check", "--config", cfg)
	if code != 1 || !regexp.MustCompile(`(?m)^web-01\s+FAIL\s+.*host key not in.*badgateway hosts trust web-01`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^web-02\s+FAIL\s+.*connection refused`).MatchString(out) || !strings.Contains(errOut, "2 of 2 hosts failed") {
		t.Errorf("hosts check before trust: exit %d\n%s%s", code, out, errOut)
	}

	// Trusting the key after confirming it makes the host usable.
	code, out, errOut = runCLI(t, "y\n", "hosts", "trust", "web-01", "--config", cfg)
	if code != 0 || !strings.Contains(out, "SHA256:") || !strings.Contains(out, "Added to") {
		t.Fatalf("trust: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "diagnose", "web-01", "--config", cfg, "--format", "json")
	if code != 0 {
		t.Fatalf("after trust: exit %d: %s", code, errOut)
	}
	var d knowledge.Diagnosis
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.Target != "web-01" || d.Facts["processes"] == nil {
		t.Errorf("diagnose over SSH: %v %+v", err, d.Steps)
	}
	code, out, errOut = runCLI(t, "", "hosts", "check", "web-01", "--config", cfg)
	if code != 0 || !regexp.MustCompile(`(?m)^web-01\s+ok\s+\d`).MatchString(out) {
		t.Errorf("hosts check after trust: exit %d\n%s%s", code, out, errOut)
	}
	// Saying no adds nothing.
	code, out, _ = runCLI(t, "n\n", "hosts", "trust", "web-01", "--config", cfg)
	if code != 0 || !strings.Contains(out, "Not added.") {
		t.Errorf("declined trust: %d %s", code, out)
	}
}
