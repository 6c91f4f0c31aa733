package knowledge

import (
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// The ids of shared/CAUSES.md, copied so the project tests without ../shared.
var contractCauseIDs = []string{
	"upstream_down", "upstream_wrong_address", "upstream_socket_missing", "upstream_permission_denied",
	"selinux_blocked", "protocol_mismatch", "upstream_invalid_response", "header_too_big",
	"upstream_timeout", "upstream_connect_timeout", "upstream_unreachable", "upstream_reset",
	"upstream_closed_early", "fpm_max_children", "backlog_full", "backend_crash", "oom_killed",
	"disk_full", "readonly_fs", "fd_exhausted", "ssl_upstream_handshake", "resolver_missing",
	"dns_resolve_failed", "no_live_upstreams", "body_too_large", "nginx_config_invalid",
	"nginx_temp_unwritable", "ephemeral_ports_exhausted", "worker_connections_exhausted",
	"upstream_stale_dns", "host_overloaded",
}

func mustBuiltin(t testing.TB) *Catalog {
	t.Helper()
	cat, err := LoadBuiltin()
	if err != nil {
		t.Fatalf("built-in catalog: %v", err)
	}
	return cat
}

func TestCatalogHasEveryContractCause(t *testing.T) {
	cat := mustBuiltin(t)
	for _, id := range contractCauseIDs {
		if cat.Cause(id) == nil {
			t.Errorf("cause %q from CAUSES.md is missing from knowledge/causes/", id)
		}
	}
}

// Every example line must make its cause the top finding on its own, and every
// near-miss must not produce the cause at all.
func TestCatalogExamples(t *testing.T) {
	cat := mustBuiltin(t)
	a := NewAnalyzer(cat)
	for _, c := range cat.Causes {
		t.Run(c.ID, func(t *testing.T) {
			for _, line := range c.Examples.Match {
				col := a.NewCollector()
				col.AddLine(line, "example")
				d := col.Diagnosis(Options{Target: "-"})
				if len(d.Causes) == 0 || d.Causes[0].ID != c.ID {
					t.Errorf("example should rank %s first, got %v\n  line: %s", c.ID, ids(d), line)
				}
			}
			for _, line := range c.Examples.NoMatch {
				col := a.NewCollector()
				col.AddLine(line, "example")
				d := col.Diagnosis(Options{Target: "-"})
				for _, f := range d.Causes {
					if f.ID == c.ID {
						t.Errorf("near-miss must not produce %s\n  line: %s", c.ID, line)
					}
				}
			}
		})
	}
}

func ids(d Diagnosis) []string {
	var out []string
	for _, f := range d.Causes {
		out = append(out, f.ID)
	}
	return out
}

func TestCatalogErrorsNameFileAndLine(t *testing.T) {
	valid, err := BuiltinFS().(interface {
		ReadFile(string) ([]byte, error)
	}).ReadFile("upstream_down.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, file, body, want string
	}{
		{"unknown field", "upstream_down.yaml", strings.Replace(string(valid), "severity: 4", "severity: 4\nseverty: 3", 1), "upstream_down.yaml:4: field severty not found"},
		{"bad regex", "upstream_down.yaml", strings.Replace(string(valid), `regex: '(?:connect`, `regex: '((?:connect`, 1), "upstream_down.yaml:"},
		{"missing zh", "upstream_down.yaml", strings.Replace(string(valid), `  zh: "{upstream|上游}上没有进程在监听：后端服务没有运行"`, "", 1), "upstream_down.yaml:4: title.zh is missing"},
		{"id differs from file", "other.yaml", string(valid), `other.yaml:1: id "upstream_down" does not match the file name "other"`},
		{"unknown reference", "upstream_down.yaml", regexp.MustCompile(`leads_to: \[[^\]]*\]`).ReplaceAllString(string(valid), "leads_to: [no_such_cause]"), `refers to unknown cause "no_such_cause"`},
		{"bad status", "upstream_down.yaml", strings.Replace(string(valid), "status: 502", "status: 200", 1), "upstream_down.yaml:2: status 200"},
		{"broken yaml", "upstream_down.yaml", "id: [\n", "upstream_down.yaml:1: did not find expected node content"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{tc.file: {Data: []byte(tc.body)}})
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	if _, err := Load(fstest.MapFS{"a.yaml": {Data: valid}, "b.yaml": {Data: valid}}); err == nil || !strings.Contains(err.Error(), "duplicate cause id") && !strings.Contains(err.Error(), "does not match the file name") {
		t.Errorf("duplicate ids: got %v", err)
	}
}

// YAML folding joins lines with a space, which reads as a typo between Chinese characters.
func TestChineseTextsHaveNoFoldingSpaces(t *testing.T) {
	cat := mustBuiltin(t)
	bad := regexp.MustCompile(`[，。；：、）]\s+\S|\p{Han}\s+（`)
	for _, c := range cat.Causes {
		texts := []Text{c.Title, c.Summary, c.Confirm, c.BaoTa}
		for _, f := range c.Fixes {
			texts = append(texts, f.Text)
		}
		for _, tx := range texts {
			if m := bad.FindString(tx.Zh); m != "" {
				t.Errorf("%s: stray space in Chinese text at %q: %s", c.ID, m, tx.Zh)
			}
		}
	}
}
