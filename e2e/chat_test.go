package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/bot/slackbot"
	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/internal/testlab"
)

// The whole product path: a /502 slash command in Slack (HTTP mode, signed),
// access checked, one SSH connection to a real broken host, the playbook, the
// diagnosis, and the answer posted and edited in the channel.
func TestSlackSlashCommandDiagnosesABrokenHost(t *testing.T) {
	h := brokenChatHost(t, "chat-01")

	// Slack's Web API: record what the bot posts and edits.
	var mu sync.Mutex
	var calls []url.Values
	var methods []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		method := strings.TrimPrefix(r.URL.Path, "/api/")
		mu.Lock()
		calls = append(calls, r.PostForm)
		methods = append(methods, method)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true,"user_id":"U0BOT1","bot_id":"B0BOT1","team_id":"T1","channel":"C0OPS1","ts":"1700000000.000001"}`)
	}))
	defer api.Close()

	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	cfg, b := chatBot(t, h, fmt.Sprintf("slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n  signing_secret: ${SLACK_SIGNING_SECRET}\n  api_url: %s/api/\n", api.URL),
		"slack_users: [U0OPS1]", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1-2-e2e", "SLACK_SIGNING_SECRET": secret})
	audit := cfg.AuditLog
	a, err := slackbot.New(cfg, b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := serveAdapter(t, a)

	slash := func(user, text string) int {
		form := url.Values{"command": {"/502"}, "text": {text}, "user_id": {user}, "channel_id": {"C0OPS1"},
			"team_id": {"T1"}, "response_url": {api.URL + "/hook"}, "trigger_id": {"1.2.3"}}.Encode()
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(secret))
		fmt.Fprintf(mac, "v0:%s:%s", ts, form)
		req, _ := http.NewRequest("POST", srv.URL+"/slack/commands", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("the slash command was answered after %v; Slack gives up after 3 s", d)
		}
		return resp.StatusCode
	}

	// Someone without an access rule: refused, and nothing touches the host.
	if code := slash("U0STRANGER1", h.Name); code != 200 {
		t.Fatalf("stranger's command: HTTP %d", code)
	}
	// The on-call engineer.
	if code := slash("U0OPS1", h.Name); code != 200 {
		t.Fatalf("slash command: HTTP %d", code)
	}
	var answer string
	deadline := time.Now().Add(60 * time.Second)
	for answer == "" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		for i, m := range methods {
			if (m == "chat.update" || m == "chat.postMessage") && strings.Contains(calls[i].Get("blocks")+calls[i].Get("text"), "upstream_down") {
				answer = calls[i].Get("blocks") + calls[i].Get("text")
			}
		}
		mu.Unlock()
	}
	if answer == "" {
		mu.Lock()
		t.Fatalf("no answer naming upstream_down was posted; calls: %v", methods)
	}
	if !strings.Contains(answer, "php-fpm") {
		t.Errorf("the answer should say php-fpm is not running:\n%s", answer)
	}
	log, _ := os.ReadFile(audit)
	if !strings.Contains(string(log), `"user":"U0STRANGER1"`) || !strings.Contains(string(log), `"allowed":false`) || !strings.Contains(string(log), `"allowed":true`) {
		t.Errorf("audit log should hold the refusal and the diagnosis:\n%s", log)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, m := range methods {
		if m == "chat.postMessage" && strings.Contains(calls[i].Get("text")+calls[i].Get("blocks"), "may not") {
			t.Errorf("the refusal was posted in the channel instead of to the requester alone")
		}
	}
}

// brokenChatHost is a lab host whose php-fpm was stopped (SIGTERM), so
// nginx answers 502: what the chat tests ask about.
func brokenChatHost(t *testing.T, name string) *testlab.Host {
	t.Helper()
	testlab.RequireLab(t)
	h := testlab.StartHost(t, testlab.HostSpec{Name: name})
	h.StopFPM("TERM")
	if got := h.Curl("/index.php"); got != 502 {
		t.Fatalf("nginx answered %d, want 502 with php-fpm stopped", got)
	}
	return h
}

// chatBot loads a chat config: the platform's section, h as the only host,
// and one access rule for it (e.g. "slack_users: [U0OPS1]"); secrets from
// env; an audit log. It builds the bot on it.
func chatBot(t *testing.T, h *testlab.Host, platform, rule string, env map[string]string) (*config.Config, *bot.Bot) {
	t.Helper()
	yaml := platform + fmt.Sprintf(`hosts:
  - name: %s
    address: %s
    user: root
    identity_files: [%s]
    known_hosts: %s
access:
  - hosts: [%s]
    %s
`, h.Name, h.Addr, h.ClientKey, h.KnownHosts, h.Name, rule)
	cfg, err := config.Parse("chat.yaml", []byte(yaml), config.Options{Home: t.TempDir(), LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.AuditLog = filepath.Join(t.TempDir(), "audit.jsonl")
	b, err := bot.New(cfg, "nginx-502")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, b
}

// serveAdapter runs a chat adapter and serves its HTTP handler until the
// test ends (then the adapter is stopped and waited for).
func serveAdapter(t *testing.T, a interface {
	Run(context.Context) error
	Handler() http.Handler
}) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
	})
	return srv
}
