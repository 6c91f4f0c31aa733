package e2e

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/badgateway/badgateway/bot/discordbot"
)

// The Discord path end to end: a signed /502 interaction posted to the HTTP
// interactions endpoint, deferred at once, access checked, one SSH
// connection to a real broken host, and the answer edited into the deferred
// reply through Discord's webhook API (a recording server on 127.0.0.1).
func TestDiscordSlashCommandDiagnosesABrokenHost(t *testing.T) {
	h := brokenChatHost(t, "chat-02")

	// Discord's REST API for interaction follow-ups: record every edit.
	type edit struct {
		path string
		body []byte
	}
	var mu sync.Mutex
	var edits []edit
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		edits = append(edits, edit{r.Method + " " + r.URL.Path, b})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"900000000000000001","channel_id":"400000000000000001","content":""}`)
	}))
	defer api.Close()

	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	const appID, oncall = "700000000000000001", "200000000000000001"
	cfg, b := chatBot(t, h, fmt.Sprintf("discord:\n  application_id: %q\n  public_key: ${DISCORD_PUBLIC_KEY}\n  api_url: %s/api/v9/\n", appID, api.URL),
		fmt.Sprintf("discord_users: [%q]", oncall), map[string]string{"DISCORD_PUBLIC_KEY": hex.EncodeToString(pub)})
	a, err := discordbot.New(cfg, b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := serveAdapter(t, a)

	command := func(user, token string) map[string]any {
		payload := map[string]any{
			"id": "800000000000000" + token[len(token)-3:], "application_id": appID, "type": 2, "token": token, "version": 1,
			"channel_id": "400000000000000001", "guild_id": "555555555555555555", "locale": "en-US",
			"member": map[string]any{"user": map[string]any{"id": user, "username": "oncall"}, "roles": []string{}},
			"data": map[string]any{"id": "600000000000000001", "name": discordbot.CommandName, "type": 1,
				"options": []any{map[string]any{"name": "host", "type": 3, "value": h.Name}}},
		}
		body, _ := json.Marshal(payload)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req, _ := http.NewRequest("POST", srv.URL+discordbot.InteractionsPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Signature-Timestamp", ts)
		req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(priv, append([]byte(ts), body...))))
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("interaction: HTTP %d, %v", resp.StatusCode, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("answered after %v; Discord gives up after 3 s", d)
		}
		return out
	}
	editsFor := func(token string) string {
		mu.Lock()
		defer mu.Unlock()
		var all strings.Builder
		for _, e := range edits {
			if strings.Contains(e.path, "/webhooks/"+appID+"/"+token+"/") {
				all.Write(e.body)
				all.WriteString("\n")
			}
		}
		return all.String()
	}

	// Someone without an access rule: a private deferral, then a refusal; the host is not touched.
	if out := command("200000000000000099", "tok-stranger-001"); out["type"] != 5.0 || out["data"] == nil {
		t.Fatalf("stranger: %v, want an ephemeral deferral", out)
	}
	// The on-call engineer: a public deferral, then the diagnosis.
	if out := command(oncall, "tok-oncall-002"); out["type"] != 5.0 || out["data"] != nil {
		t.Fatalf("on-call: %v, want a public deferral", out)
	}
	var answer string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if a := editsFor("tok-oncall-002"); strings.Contains(a, "upstream_down") {
			answer = a
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if answer == "" {
		t.Fatalf("no diagnosis was edited into the reply; edits:\n%s", editsFor("tok-oncall-002"))
	}
	for _, want := range []string{"502 diagnosis for " + h.Name, "no php-fpm master process is running", "php8.2-fpm"} {
		if !strings.Contains(answer, want) {
			t.Errorf("the answer lacks %q:\n%s", want, answer)
		}
	}
	if refusal := editsFor("tok-stranger-001"); !strings.Contains(refusal, "You may not diagnose "+h.Name) {
		t.Errorf("the stranger's refusal: %s", refusal)
	}
	if n := strings.Count(h.ReadFile("/var/log/sshd.log"), "Accepted publickey"); n != 1 {
		t.Errorf("%d SSH logins, want 1 (the stranger's request must not touch the host)", n)
	}
}
