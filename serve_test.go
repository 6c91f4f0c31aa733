package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/internal/testlab"
)

// serve answers /healthz and /metrics, mounts Slack's HTTP mode, checks its
// signatures, and stops cleanly when its context ends.
func TestServeHTTPEndpoints(t *testing.T) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	// Slack's Web API, as far as this test needs it: every method says ok.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true,"user_id":"U0BOT1","team_id":"T1","bot_id":"B0BOT1","channel":"C0AAA1","ts":"1.2"}`)
	}))
	defer api.Close()
	cfg, err := config.Parse("serve.yaml", []byte(`
http:
  listen: 127.0.0.1:0
slack:
  bot_token: ${SLACK_BOT_TOKEN}
  signing_secret: ${SLACK_SIGNING_SECRET}
  api_url: `+api.URL+`/api/
`), config.Options{LookupEnv: func(k string) (string, bool) {
		return map[string]string{"SLACK_BOT_TOKEN": "xoxb-1-2-test", "SLACK_SIGNING_SECRET": secret}[k], true
	}, Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	logs := &testlab.SyncBuffer{}
	go func() {
		done <- runServe(ctx, env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: logs}, cfg, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not listen")
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "badgateway_start_time_seconds") {
		t.Errorf("/metrics: %d %q", code, body)
	}

	form := url.Values{"command": {"/502"}, "text": {"help"}, "user_id": {"U0AAA1"}, "channel_id": {"C0AAA1"}, "team_id": {"T1"}, "response_url": {"http://127.0.0.1:1/hook"}}.Encode()
	post := func(sig string) int {
		req, _ := http.NewRequest("POST", "http://"+addr+"/slack/commands", strings.NewReader(form))
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		if sig == "" {
			mac := hmac.New(sha256.New, []byte(secret))
			fmt.Fprintf(mac, "v0:%s:%s", ts, form)
			sig = "v0=" + hex.EncodeToString(mac.Sum(nil))
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("v0=0000"); code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d, want 401", code)
	}
	if code := post(""); code != http.StatusOK {
		t.Errorf("signed slash command: %d, want 200", code)
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), "xoxb-1-2-test") {
		t.Error("a secret reached the log")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}
