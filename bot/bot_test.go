package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/knowledge"
)

const inventory = `ssh:
  user: root
hosts:
  - name: web-01
    address: 127.0.0.1
    port: 1
    labels: [web]
  - name: web-02
    address: 127.0.0.1
    port: 1
    labels: [web]
  - name: db-01
    address: 127.0.0.1
    port: 1
`

func testConfig(t *testing.T, extra string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(inventory+extra), config.Options{LookupEnv: func(string) (string, bool) { return "", false }, Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestParse(t *testing.T) {
	cfg := testConfig(t, "")
	cases := []struct {
		text  string
		want  intentKind
		hosts string
		since time.Duration
	}{
		{"", intentHelp, "", 0},
		{"help", intentHelp, "", 0},
		{"hosts", intentHosts, "", 0},
		{"/502 web-01", intentDiagnose, "web-01", defaultSince},
		{"/502 web-01 --since 2h", intentDiagnose, "web-01", 2 * time.Hour},
		{"/502 web-* @web --since=30m --site shop.example.com", intentDiagnose, "web-* @web", 30 * time.Minute},
		{"/502", intentBad, "", 0},
		{"/502 web-01 --since forever", intentBad, "", 0},
		{"/502 web-01 --since 900h", intentBad, "", 0},
		{"/502 web-01 --force", intentBad, "", 0},
		{"/502 web-01;reboot", intentBad, "", 0},
		{"/502 $(reboot)", intentBad, "", 0},
		{"/502 `id`", intentBad, "", 0},
		{"web-01 is 502ing", intentDiagnose, "web-01", defaultSince},
		{"web-01 为什么 502", intentDiagnose, "web-01", defaultSince},
		{"web-01为什么502了？", intentDiagnose, "web-01", defaultSince},
		{"can you check @web please", intentDiagnose, "@web", defaultSince},
		{"web-9 is down", intentDiagnose, "web-9", defaultSince}, // Select will suggest web-01, web-02
		{"web-9 为什么 502", intentDiagnose, "web-9", defaultSince},
		{"why is web-9 502ing?", intentDiagnose, "web-9", defaultSince},
		{"why does nginx answer 502?", intentKnowledge, "", 0},
		{"what does web-9 mean in a 502 error?", intentKnowledge, "", 0},
		{"upstream-01 502 是什么意思", intentKnowledge, "", 0},
		{"what does upstream sent too big header mean?", intentKnowledge, "", 0},
		{"max_children 是什么意思", intentKnowledge, "", 0},
		{`2026/11/25 10:02:11 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: a, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:8080/", host: "a"`, intentExplain, "", 0},
		{"connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: a", intentExplain, "", 0},
		{"[25-Nov-2026 10:02:11] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it", intentExplain, "", 0},
		{"\x00\x01garbage \xff\xfe", intentKnowledge, "", 0},
		{"/502 what does max_children mean?", intentKnowledge, "", 0},
		{"/502 is web-01 broken again", intentDiagnose, "web-01", defaultSince},
		{"/502 web-9", intentDiagnose, "web-9", defaultSince},
	}
	for _, tc := range cases {
		got := parse(tc.text, cfg)
		if got.intent != tc.want || strings.Join(got.hosts, " ") != tc.hosts || got.since != tc.since {
			t.Errorf("parse(%q) = %+v, want intent %d hosts %q since %v", tc.text, got, tc.want, tc.hosts, tc.since)
		}
		if got.intent == intentBad && (got.problem == "" || strings.Contains(got.problem, "\n")) {
			t.Errorf("parse(%q): a bad request needs a one-line reason, got %q", tc.text, got.problem)
		}
	}
}

func newTestBot(t *testing.T, cfg *config.Config) *Bot {
	t.Helper()
	b, err := New(cfg, "nginx-502")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandleAnswersInTheAskersLanguage(t *testing.T) {
	b := newTestBot(t, testConfig(t, ""))
	ctx := context.Background()
	r := b.Handle(ctx, Request{Platform: PlatformConsole, Text: "max_children 是什么意思"}, nil)
	if r.Kind != KindKnowledge || r.Lang != "zh" || !strings.Contains(r.Text, "pm.max_children") || knowledge.DetectLang(r.Text) != "zh" {
		t.Errorf("knowledge reply: %+v", r)
	}
	paste := "网站 502 了，日志：\n2026/11/25 10:02:11 [error] 1#1: *1 upstream prematurely closed connection while reading response header from upstream, client: 1.2.3.4, server: a, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:3000/\", host: \"a\""
	r = b.Handle(ctx, Request{Platform: PlatformSlack, UserID: "U1", Text: paste}, nil)
	if r.Kind != KindDiagnosis || r.Lang != "zh" || r.Diagnoses[0].Causes[0].ID != "upstream_closed_early" {
		t.Errorf("pasted lines: %+v", r)
	}
	r = b.Handle(ctx, Request{Platform: PlatformConsole, Text: "web-1 is 502ing"}, nil)
	if r.Kind != KindError || !strings.Contains(r.Text, "did you mean web-01") {
		t.Errorf("unknown host: %+v", r)
	}
}

// Chat requests are denied unless a rule lists the host and the requester;
// both outcomes are audited. The console is the local operator.
func TestAccessIsDeniedByDefaultAndAudited(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	cfg := testConfig(t, "access:\n  - hosts: [localhost]\n    slack_users: [U0OK1]\naudit_log: "+audit+"\n")
	b := newTestBot(t, cfg)
	ctx := context.Background()

	r := b.Handle(ctx, Request{Platform: PlatformSlack, UserID: "U0OTHER1", ChannelID: "C1", Text: "/502 localhost"}, nil)
	if r.Kind != KindError || !strings.Contains(r.Text, "You may not diagnose localhost") {
		t.Fatalf("stranger: %+v", r)
	}
	r = b.Handle(ctx, Request{Platform: PlatformSlack, UserID: "U0OK1", ChannelID: "C1", Text: "/502 web-01"}, nil)
	if r.Kind != KindError {
		t.Fatalf("a rule for localhost must not open web-01: %+v", r)
	}
	var steps []string
	r = b.Handle(ctx, Request{Platform: PlatformSlack, UserID: "U0OK1", ChannelID: "C1", Text: "/502 localhost"}, func(s string) { steps = append(steps, s) })
	if r.Kind != KindDiagnosis || r.Diagnoses[0].Target != "localhost" || len(r.Diagnoses[0].Steps) < 10 {
		t.Fatalf("allowed user: %+v", r)
	}
	if len(steps) < 10 || !strings.HasPrefix(steps[0], "localhost: ") {
		t.Errorf("progress: %v", steps)
	}
	// The console is not subject to access rules.
	if r := b.Handle(ctx, Request{Platform: PlatformConsole, Text: "/502 localhost"}, nil); r.Kind != KindDiagnosis {
		t.Errorf("console: %+v", r)
	}
	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	var allowed []bool
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e struct {
			User    string `json:"user"`
			Allowed bool   `json:"allowed"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		allowed = append(allowed, e.Allowed)
	}
	if len(allowed) != 4 || allowed[0] || allowed[1] || !allowed[2] || !allowed[3] {
		t.Errorf("audit: %v\n%s", allowed, data)
	}
}

func TestConsoleGroupsPastedLinesAndAnswersEachMessage(t *testing.T) {
	b := newTestBot(t, testConfig(t, ""))
	in := strings.Join([]string{
		"help",
		`2026/11/25 10:02:11 [error] 1#1: *1 connect() to unix:/run/php/php8.2-fpm.sock failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: a, request: "GET / HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "a"`,
		`Nov 25 10:02:10 web-01 kernel: Out of memory: Killed process 4321 (php-fpm8.2) total-vm:812345kB, anon-rss:512000kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:1234kB oom_score_adj:0`,
		"/502 nowhere",
		"",
	}, "\n")
	var out bytes.Buffer
	c := &Console{Bot: b, In: strings.NewReader(in), Out: &out}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.Contains(text, "I tell you why nginx answers 502") {
		t.Errorf("no help:\n%s", text)
	}
	// The two pasted lines are one message: the OOM kill explains the refusal.
	if strings.Count(text, "502 diagnosis for pasted lines") != 1 || !strings.Contains(text, "[oom_killed, 502,") {
		t.Errorf("pasted lines not diagnosed together:\n%s", text)
	}
	if !strings.Contains(text, `unknown host "nowhere"`) {
		t.Errorf("unknown host not reported:\n%s", text)
	}
}

// Whatever is typed, parsing never panics, and nothing that could be shell syntax
// becomes a host or an option value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"/502 web-01 --since 1h", "web-01 为什么 502", "/502 $(id)", "help", "2026/11/25 10:02:11 [error] 1#1: *1 x, client: 1", "/502 --site", "@web down"} {
		f.Add(s)
	}
	cfg, err := config.Parse("test.yaml", []byte(inventory), config.Options{LookupEnv: func(string) (string, bool) { return "", false }, Home: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		in := parse(text, cfg)
		for _, h := range append(append([]string{}, in.hosts...), in.site) {
			if strings.ContainsAny(h, " ;|&$`'\"\\<>(){}\n") {
				t.Fatalf("unsafe token %q from %q", h, text)
			}
		}
	})
}

// In chat, a mistyped host gets close matches only among the hosts the asker
// may diagnose, and never the inventory's labels; in the asker's language.
func TestUnknownHostsDoNotLeakTheInventory(t *testing.T) {
	cfg := testConfig(t, "access:\n  - hosts: [web-01]\n    slack_users: [U0WEB]\n")
	b := newTestBot(t, cfg)
	ctx := context.Background()
	ask := func(user, text string) Reply {
		return b.Handle(ctx, Request{Platform: PlatformSlack, UserID: user, ChannelID: "C1", Text: text}, nil)
	}
	if r := ask("U0WEB", "web-1 is 502ing"); r.Kind != KindError || !strings.Contains(r.Text, "did you mean web-01?") || strings.Contains(r.Text, "web-02") {
		t.Errorf("allowed on web-01 only: %q", r.Text)
	}
	if r := ask("U0NOBODY", "web-1 is 502ing"); r.Kind != KindError || strings.Contains(r.Text, "web-0") {
		t.Errorf("allowed nowhere, yet offered hosts: %q", r.Text)
	}
	if r := ask("U0NOBODY", "/502 @dbz --since 1h"); r.Kind != KindError || strings.Contains(r.Text, "@web") || strings.Contains(r.Text, "web") {
		t.Errorf("unknown label: %q", r.Text)
	}
	if r := ask("U0WEB", "web-1 为什么 502"); !strings.Contains(r.Text, "未知主机 \"web-1\"，你是不是想找 web-01？") {
		t.Errorf("in Chinese: %q", r.Text)
	}
	// The console is the operator: the whole inventory.
	if r := b.Handle(ctx, Request{Platform: PlatformConsole, Text: "web-1 is 502ing"}, nil); !strings.Contains(r.Text, "web-01, web-02") {
		t.Errorf("console: %q", r.Text)
	}
}

// "Why does nginx 502?" with nothing more specific gets the usual causes, not the help.
func TestGeneralQuestionGetsTheCommonCauses(t *testing.T) {
	b := newTestBot(t, testConfig(t, ""))
	for text, lang := range map[string]string{"why is nginx 502?": "en", "为什么会 502": "zh"} {
		r := b.Handle(context.Background(), Request{Platform: PlatformConsole, Text: text}, nil)
		if r.Kind != KindKnowledge || r.Lang != lang || !strings.Contains(r.Text, "[upstream_down]") || !strings.Contains(r.Text, "/502") {
			t.Errorf("%q: %+v", text, r)
		}
	}
}
