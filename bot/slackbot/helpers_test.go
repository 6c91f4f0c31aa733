package slackbot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/internal/testlab"
	"github.com/badgateway/badgateway/remote"
)

func TestMain(m *testing.M) {
	// slacktest logs through the standard logger, a line for every read of a
	// websocket the client has closed; keep the test output to our own.
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// Secret values the tests hand the adapter; they must never reach a log.
const (
	botToken      = "xoxb-1111-2222-SECRETBOTTOKEN"
	appToken      = "xapp-1-A111-3333-SECRETAPPTOKEN"
	signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	botUserID     = "U0BOT"
	botBotID      = "B0BOT"
	okUser        = "U0OK"
	strangerUser  = "U0NOPE"
	channelID     = "C0OPS"
)

// call is one Web API request the adapter made.
type call struct {
	method string
	at     time.Time
	v      url.Values
}

// ack is one Socket Mode acknowledgement the adapter sent.
type ack struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
	at         time.Time
}

// fakeSlack is slacktest's server with the chat methods recorded, so tests
// see what a user would see.
type fakeSlack struct {
	*slacktest.Server
	mu    sync.Mutex
	calls []call
	acks  []ack
	fail  map[string]string // method → Slack error to answer
	// groups is usergroups.list's answer: group id → member ids.
	groups map[string][]string
	ts     atomic.Int64
	files  map[string][]byte // url_private_download paths → content
	gets   []string          // file paths downloaded, in order
}

// share stores a file as Slack would and returns it as a message carries it.
func (f *fakeSlack) share(name, mimetype, filetype string, data []byte) map[string]any {
	id := fmt.Sprintf("F%06d", f.ts.Add(1))
	p := "/files-pri/T0TEAM-" + id + "/download/" + name
	f.mu.Lock()
	f.files[p] = data
	f.mu.Unlock()
	u := strings.TrimSuffix(f.GetAPIURL(), "/") + p
	return map[string]any{"id": id, "name": name, "mimetype": mimetype, "filetype": filetype, "size": len(data),
		"url_private": u, "url_private_download": u}
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{fail: map[string]string{}, files: map[string][]byte{}}
	record := func(method string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			f.mu.Lock()
			f.calls = append(f.calls, call{method: method, at: time.Now(), v: r.PostForm})
			errName := f.fail[method]
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			if errName != "" {
				fmt.Fprintf(w, `{"ok":false,"error":%q}`, errName)
				return
			}
			if method == "usergroups.list" {
				var ugs []map[string]any
				for id, users := range f.groups {
					ugs = append(ugs, map[string]any{"id": id, "users": users})
				}
				_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "usergroups": ugs})
				return
			}
			ts := r.PostForm.Get("ts")
			if method != "chat.update" {
				ts = fmt.Sprintf("1700000000.%06d", f.ts.Add(1))
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": ts, "message_ts": ts})
		}
	}
	f.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/auth.test", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"ok":true,"user_id":%q,"bot_id":%q,"team_id":"T0TEAM","user":"badgateway"}`, botUserID, botBotID)
		})
		// Shared files need the bot token, as on files.slack.com.
		c.Handle("/files-pri/", func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			data, ok := f.files[r.URL.Path]
			f.gets = append(f.gets, r.URL.Path)
			f.mu.Unlock()
			switch {
			case r.Header.Get("Authorization") != "Bearer "+botToken:
				http.Error(w, "not authorised", http.StatusForbidden)
			case !ok:
				http.NotFound(w, r)
			default:
				_, _ = w.Write(data)
			}
		})
		for _, m := range []string{"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete", "usergroups.list"} {
			c.Handle("/"+m, record(m))
		}
	})
	f.Start()
	stop := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		// SeenFeed is unbuffered: the fake's websocket reader blocks until it is read.
		defer close(drained)
		for {
			select {
			case m := <-f.SeenFeed:
				var a ack
				if json.Unmarshal([]byte(m), &a) == nil && a.EnvelopeID != "" {
					a.at = time.Now()
					f.mu.Lock()
					f.acks = append(f.acks, a)
					f.mu.Unlock()
				}
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-drained
		f.Stop()
	})
	return f
}

func (f *fakeSlack) failWith(method, slackErr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = slackErr
}

func (f *fakeSlack) callsOf(methods ...string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		for _, m := range methods {
			if c.method == m {
				out = append(out, c)
			}
		}
	}
	return out
}

func (f *fakeSlack) ackFor(id string) (ack, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.acks {
		if a.EnvelopeID == id {
			return a, true
		}
	}
	return ack{}, false
}

// envelope pushes one Socket Mode envelope to the bot and returns when it was sent.
func (f *fakeSlack) envelope(typ, id string, payload any) time.Time {
	b, err := json.Marshal(map[string]any{"type": typ, "envelope_id": id, "payload": payload, "accepts_response_payload": typ == "slash_commands"})
	if err != nil {
		panic(err)
	}
	f.SendToWebsocket(string(b))
	return time.Now()
}

// waitAck waits for the envelope's ack and checks it came within Slack's 3 s.
func (f *fakeSlack) waitAck(t *testing.T, id string, sent time.Time) ack {
	t.Helper()
	var a ack
	waitFor(t, "the ack of "+id, func() bool {
		var ok bool
		a, ok = f.ackFor(id)
		return ok
	})
	if d := a.at.Sub(sent); d > 3*time.Second {
		t.Errorf("ack of %s took %v, Slack wants it within 3s", id, d)
	}
	return a
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type harness struct {
	a     *Adapter
	bot   *bot.Bot
	logs  *testlab.SyncBuffer
	runs  *atomic.Int32 // hosts the bot connected to: diagnoses actually run
	delay *atomic.Int64 // added to every command, to look like a slow SSH host
	audit string
	stop  func() error
}

// slowRunner delays each command, so progress has time to be shown.
type slowRunner struct {
	remote.Runner
	delay *atomic.Int64
}

func (r slowRunner) Run(ctx context.Context, c remote.Command) (remote.Result, error) {
	select {
	case <-time.After(time.Duration(r.delay.Load())):
	case <-ctx.Done():
		return remote.Result{}, ctx.Err()
	}
	return r.Runner.Run(ctx, c)
}

// newHarness builds the real bot (built-in catalog and playbook, localhost
// diagnosed on this machine) and an adapter pointed at apiURL. okUser may
// diagnose localhost; rules adds access rules.
func newHarness(t *testing.T, apiURL string, socket bool, rules string) *harness {
	t.Helper()
	audit := t.TempDir() + "/audit.jsonl"
	yaml := "slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n  signing_secret: ${SLACK_SIGNING_SECRET}\n  api_url: " + apiURL + "\n"
	if socket {
		yaml += "  app_token: ${SLACK_APP_TOKEN}\n"
	}
	yaml += "hosts:\n  - name: web-01\n    address: 127.0.0.1\n    port: 1\n    labels: [web]\n" +
		"access:\n  - hosts: [localhost]\n    slack_users: [" + okUser + "]\n" + rules +
		"audit_log: " + audit + "\n"
	env := map[string]string{"SLACK_BOT_TOKEN": botToken, "SLACK_APP_TOKEN": appToken, "SLACK_SIGNING_SECRET": signingSecret}
	cfg, err := config.Parse("test.yaml", []byte(yaml), config.Options{Home: t.TempDir(), LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.New(cfg, "nginx-502")
	if err != nil {
		t.Fatal(err)
	}
	runs, delay := &atomic.Int32{}, &atomic.Int64{}
	b.Connect = func(ctx context.Context, h config.Host) (remote.Runner, error) {
		runs.Add(1)
		if !h.Local {
			return nil, fmt.Errorf("test: no SSH to %s", h.Name)
		}
		return slowRunner{remote.NewLocal(), delay}, nil
	}
	logs := &testlab.SyncBuffer{}
	a, err := New(cfg, b, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	// slacktest sends no websocket pings; the library would reconnect after pingInterval.
	a.pingInterval = time.Hour
	a.editEvery = 100 * time.Millisecond
	h := &harness{a: a, bot: b, logs: logs, runs: runs, delay: delay, audit: audit}
	t.Cleanup(func() {
		for _, s := range []string{botToken, appToken, signingSecret} {
			if strings.Contains(logs.String(), s) {
				t.Errorf("a secret is in the log:\n%s", logs.String())
			}
		}
		if t.Failed() {
			t.Logf("adapter log:\n%s", logs.String())
		}
	})
	return h
}

// run starts Run; h.stop cancels it and returns its error, and the end of
// the test does so too, checking that Run returns cleanly.
func (h *harness) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.a.Run(ctx) }()
	var once sync.Once
	var err error
	h.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = fmt.Errorf("Run did not return within 10s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// sent is a posted message as Slack would store it.
type sent struct {
	call
	blocks []map[string]any
}

func parseSent(t *testing.T, c call) sent {
	t.Helper()
	s := sent{call: c}
	if b := c.v.Get("blocks"); b != "" {
		if err := json.Unmarshal([]byte(b), &s.blocks); err != nil {
			t.Fatalf("%s: blocks are not JSON: %v", c.method, err)
		}
		var typed slack.Blocks
		if err := json.Unmarshal([]byte(b), &typed); err != nil {
			t.Fatalf("%s: blocks do not parse as Block Kit: %v", c.method, err)
		}
	}
	checkLimits(t, s)
	return s
}

// all is every text of the message, fallback and blocks, for content checks.
func (s sent) all() string {
	var b strings.Builder
	b.WriteString(s.v.Get("text"))
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if str, ok := e.(string); ok && (k == "text" || k == "value") {
					b.WriteString("\n" + str)
				} else {
					walk(e)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, bl := range s.blocks {
		walk(bl)
	}
	return b.String()
}

func (s sent) blocksOf(typ string) []map[string]any {
	var out []map[string]any
	for _, b := range s.blocks {
		if b["type"] == typ {
			out = append(out, b)
		}
	}
	return out
}

func textOf(b map[string]any) string {
	if t, ok := b["text"].(map[string]any); ok {
		s, _ := t["text"].(string)
		return s
	}
	return ""
}

// checkLimits fails when Slack would refuse the message (or cut it silently).
func checkLimits(t *testing.T, s sent) {
	t.Helper()
	rc := func(x string) int { return len([]rune(x)) }
	if n := rc(s.v.Get("text")); n > maxFallbackText {
		t.Errorf("%s: fallback text of %d characters (limit %d)", s.method, n, maxFallbackText)
	}
	if len(s.blocks) > 50 {
		t.Errorf("%s: %d blocks (limit 50)", s.method, len(s.blocks))
	}
	fences := func(where, x string) {
		if strings.Count(x, "```")%2 != 0 {
			t.Errorf("%s: %s leaves a code block open: %q", s.method, where, x)
		}
		if strings.ContainsAny(strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "").Replace(x), "<>") && !strings.Contains(x, "<@") {
			t.Errorf("%s: %s has unescaped < or >: %q", s.method, where, x)
		}
	}
	for i, b := range s.blocks {
		where := fmt.Sprintf("block %d (%v)", i, b["type"])
		switch b["type"] {
		case "header":
			tx := b["text"].(map[string]any)
			if tx["type"] != "plain_text" || rc(tx["text"].(string)) > 150 {
				t.Errorf("%s: %s: header must be plain_text ≤ 150: %v", s.method, where, tx)
			}
		case "section":
			if n := rc(textOf(b)); n > 3000 || n == 0 {
				t.Errorf("%s: %s: section text of %d characters (1..3000)", s.method, where, n)
			}
			fences(where, textOf(b))
			if f, ok := b["fields"].([]any); ok && len(f) > 10 {
				t.Errorf("%s: %s: %d fields (limit 10)", s.method, where, len(f))
			}
		case "context":
			els := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				t.Errorf("%s: %s: %d context elements (1..10)", s.method, where, len(els))
			}
			for _, e := range els {
				x := e.(map[string]any)["text"].(string)
				if rc(x) > 3000 {
					t.Errorf("%s: %s: context element of %d characters", s.method, where, rc(x))
				}
				fences(where, x)
			}
		case "actions":
			for _, e := range b["elements"].([]any) {
				el := e.(map[string]any)
				if v, _ := el["value"].(string); rc(v) > 2000 {
					t.Errorf("%s: %s: button value of %d characters (limit 2000)", s.method, where, rc(v))
				}
				if tx := el["text"].(map[string]any)["text"].(string); rc(tx) > 75 {
					t.Errorf("%s: %s: button text of %d characters (limit 75)", s.method, where, rc(tx))
				}
			}
		case "divider":
		default:
			t.Errorf("%s: %s: unexpected block type", s.method, where)
		}
	}
}
