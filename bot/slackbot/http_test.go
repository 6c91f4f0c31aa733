package slackbot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// httpMode runs an adapter in HTTP mode against the fake Web API f and
// serves its Handler; both stop when the test ends.
func httpMode(t *testing.T, f *fakeSlack) (*harness, *httptest.Server) {
	t.Helper()
	h := newHarness(t, f.GetAPIURL(), false, "")
	h.run(t)
	srv := httptest.NewServer(h.a.Handler())
	t.Cleanup(srv.Close)
	return h, srv
}

// signed builds a request as Slack sends it: v0 HMAC-SHA256 of "v0:TS:BODY".
func signed(t *testing.T, base, path, body string, ts time.Time, secret string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":" + body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return req
}

// responseURL records what the adapter posts to a slash command's response_url.
type responseURL struct {
	*httptest.Server
	mu    sync.Mutex
	posts []map[string]any
}

func newResponseURL(t *testing.T) *responseURL {
	r := &responseURL{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(req.Body).Decode(&m)
		r.mu.Lock()
		r.posts = append(r.posts, m)
		r.mu.Unlock()
		_, _ = io.WriteString(w, "ok") // Slack answers a response_url with a text body
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *responseURL) got() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.posts...)
}

func commandBody(user, text, responseURL string) string {
	return url.Values{"command": {"/502"}, "text": {text}, "user_id": {user}, "channel_id": {channelID}, "team_id": {"T0TEAM"},
		"response_url": {responseURL}, "trigger_id": {"1.2.3"}, "token": {"deprecated"}}.Encode()
}

// A signed slash command is answered within 3 s with an ephemeral ack, and
// the diagnosis then appears through the Web API.
func TestHTTPSlashCommand(t *testing.T) {
	f := newFakeSlack(t)
	_, srv := httpMode(t, f)
	ru := newResponseURL(t)

	start := time.Now()
	resp, err := http.DefaultClient.Do(signed(t, srv.URL, "/slack/commands", commandBody(okUser, "localhost", ru.URL), time.Now(), signingSecret))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != http.StatusOK || took > 3*time.Second {
		t.Fatalf("status %d after %v, want 200 within 3s", resp.StatusCode, took)
	}
	if body["response_type"] != "ephemeral" || !strings.Contains(body["text"], "/502 localhost") {
		t.Errorf("ack: %v", body)
	}
	final := finalOf(t, f, "chat.update", "chat.postMessage")
	if !strings.Contains(final.all(), "502 diagnosis for localhost") || final.v.Get("channel") != channelID {
		t.Errorf("final: %v\n%s", final.v, final.all())
	}
	if len(ru.got()) != 0 {
		t.Errorf("the Web API worked, yet %d posts went to response_url", len(ru.got()))
	}
}

// Where the bot may not post (not_in_channel), the reply goes through the
// command's response_url, in the channel, within the same limits.
func TestHTTPSlashCommandFallsBackToResponseURL(t *testing.T) {
	f := newFakeSlack(t)
	f.failWith("chat.postMessage", "not_in_channel")
	_, srv := httpMode(t, f)
	ru := newResponseURL(t)

	resp, err := http.DefaultClient.Do(signed(t, srv.URL, "/slack/commands", commandBody(okUser, "localhost", ru.URL), time.Now(), signingSecret))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, "a post to response_url", func() bool { return len(ru.got()) > 0 })
	p := ru.got()[0]
	blocks, _ := json.Marshal(p["blocks"])
	text, _ := p["text"].(string)
	s := parseSent(t, call{method: "response_url", v: url.Values{"blocks": {string(blocks)}, "text": {text}}})
	if p["response_type"] != "in_channel" || !strings.Contains(s.all(), "502 diagnosis for localhost") {
		t.Errorf("response_url post: %v\n%s", p["response_type"], s.all())
	}
}

// Anything not signed with the signing secret, or signed too long ago, is
// refused with 401 and starts nothing.
func TestHTTPRejectsUnsignedAndStaleRequests(t *testing.T) {
	f := newFakeSlack(t)
	h, srv := httpMode(t, f)
	body := commandBody(okUser, "localhost", "http://127.0.0.1:1/unused")

	cases := []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"wrong secret", func() *http.Request {
			return signed(t, srv.URL, "/slack/commands", body, time.Now(), "not-the-secret")
		}, 401},
		{"stale timestamp", func() *http.Request {
			return signed(t, srv.URL, "/slack/commands", body, time.Now().Add(-10*time.Minute), signingSecret)
		}, 401},
		{"future timestamp", func() *http.Request {
			return signed(t, srv.URL, "/slack/commands", body, time.Now().Add(10*time.Minute), signingSecret)
		}, 401},
		{"body changed after signing", func() *http.Request {
			r := signed(t, srv.URL, "/slack/commands", body, time.Now(), signingSecret)
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(body, okUser, strangerUser, 1)))
			r.ContentLength = -1
			return r
		}, 401},
		{"no signature headers", func() *http.Request {
			r := signed(t, srv.URL, "/slack/commands", body, time.Now(), signingSecret)
			r.Header.Del("X-Slack-Signature")
			return r
		}, 401},
		{"bad interaction signature", func() *http.Request {
			return signed(t, srv.URL, "/slack/interactivity", "payload=%7B%7D", time.Now(), "not-the-secret")
		}, 401},
		{"GET", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, srv.URL+"/slack/commands", nil)
			return r
		}, 405},
	}
	for _, tc := range cases {
		resp, err := http.DefaultClient.Do(tc.req())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(f.callsOf("chat.postMessage", "chat.update", "chat.postEphemeral")); n != 0 || h.runs.Load() != 0 {
		t.Errorf("refused requests led to %d messages and %d diagnoses", n, h.runs.Load())
	}
	if !strings.Contains(h.logs.String(), "refused an unsigned or stale request") {
		t.Error("refusals are not logged")
	}
}

// The Re-run button works over HTTP too.
func TestHTTPInteractivityRerun(t *testing.T) {
	f := newFakeSlack(t)
	_, srv := httpMode(t, f)

	payload, _ := json.Marshal(map[string]any{"type": "block_actions", "user": map[string]any{"id": okUser},
		"channel": map[string]any{"id": channelID}, "container": map[string]any{"type": "message", "channel_id": channelID, "message_ts": "1.2"},
		"actions": []any{map[string]any{"type": "button", "action_id": rerunAction, "block_id": "Xy1", "value": "/502 localhost"}}})
	resp, err := http.DefaultClient.Do(signed(t, srv.URL, "/slack/interactivity", url.Values{"payload": {string(payload)}}.Encode(), time.Now(), signingSecret))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	final := finalOf(t, f, "chat.update", "chat.postMessage")
	if !strings.Contains(final.all(), "502 diagnosis for localhost") {
		t.Errorf("re-run: %s", final.all())
	}
}

// A response_url lets anyone post to the channel for 30 minutes: when
// posting to it fails, the log says so without the URL.
func TestResponseURLStaysOutOfTheLog(t *testing.T) {
	f := newFakeSlack(t)
	f.failWith("chat.postMessage", "not_in_channel")
	h, srv := httpMode(t, f)
	hook := "http://127.0.0.1:1/commands/T0TEAM/123/SECRETHOOK"
	resp, err := http.DefaultClient.Do(signed(t, srv.URL, "/slack/commands", commandBody(okUser, "localhost", hook), time.Now(), signingSecret))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, "the failure to be logged", func() bool { return strings.Contains(h.logs.String(), "could not post the reply") })
	if logs := h.logs.String(); strings.Contains(logs, "SECRETHOOK") || !strings.Contains(logs, "<response_url>") {
		t.Errorf("the log should name <response_url>, not the URL:\n%s", logs)
	}
}

func postEvent(t *testing.T, base string, payload any, retry string) *http.Response {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	req := signed(t, base, "/slack/events", string(b), time.Now(), signingSecret)
	req.Header.Set("Content-Type", "application/json")
	if retry != "" {
		req.Header.Set("X-Slack-Retry-Num", retry)
		req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Events API over HTTP: Slack's URL check gets its challenge back; a
// mention is acknowledged at once and answered once in its thread, also
// when Slack retries it; an unsigned event is refused.
func TestHTTPEvents(t *testing.T) {
	f := newFakeSlack(t)
	_, srv := httpMode(t, f)

	resp := postEvent(t, srv.URL, map[string]any{"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}, "")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("url_verification: %d %q", resp.StatusCode, b)
	}

	ev := mention(okUser, channelID, "1700000300.000100", "<@"+botUserID+"> "+refusedLine)
	for _, retry := range []string{"", "1"} {
		start := time.Now()
		resp := postEvent(t, srv.URL, ev, retry)
		resp.Body.Close()
		if took := time.Since(start); resp.StatusCode != http.StatusOK || took > 3*time.Second {
			t.Fatalf("event (retry %q): status %d after %v, want 200 within 3s", retry, resp.StatusCode, took)
		}
	}
	final := finalOf(t, f, "chat.postMessage")
	if final.v.Get("thread_ts") != "1700000300.000100" || !strings.Contains(final.all(), "upstream_down") {
		t.Errorf("reply: %v\n%s", final.v, final.all())
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(f.callsOf("chat.postMessage", "chat.update", "chat.postEphemeral")); n != 1 {
		t.Errorf("%d messages for one mention sent twice, want 1", n)
	}

	body, _ := json.Marshal(mention(okUser, channelID, "1700000400.000100", "<@"+botUserID+"> help"))
	req := signed(t, srv.URL, "/slack/events", string(body), time.Now(), "not-the-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("badly signed event: status %d, want 401", resp.StatusCode)
	}
}

// A snippet shared in a DM (message subtype file_share) is read with the bot
// token and explained; a picture beside it is not fetched.
func TestHTTPSharedSnippetIsRead(t *testing.T) {
	f := newFakeSlack(t)
	_, srv := httpMode(t, f)

	snippet := f.share("nginx-error.log", "text/plain", "text", []byte(strings.Repeat(refusedLine+"\n", 12)))
	picture := f.share("graph.png", "image/png", "png", []byte("\x89PNG"))
	ev := dm(map[string]any{"subtype": "file_share", "text": "", "ts": "1700000500.000100", "files": []any{picture, snippet}})
	resp := postEvent(t, srv.URL, ev, "")
	resp.Body.Close()
	final := finalOf(t, f, "chat.postMessage", "chat.update")
	if all := final.all(); !strings.Contains(all, "upstream_down") || !strings.Contains(all, "×12") {
		t.Errorf("the snippet was not explained:\n%s", all)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.gets) != 1 || !strings.HasSuffix(f.gets[0], "/nginx-error.log") {
		t.Errorf("downloads %q, want the snippet alone", f.gets)
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 10}
	for _, p := range []string{"line1\n", "line2\n", "line3\n", "line4\n"} {
		_, _ = tb.Write([]byte(p))
	}
	if got := string(tb.bytes()); got != "line4\n" {
		t.Errorf("tail %q, want the last whole line", got)
	}
	small := &tailBuffer{max: 100}
	_, _ = small.Write([]byte("a\nb\n"))
	if got := string(small.bytes()); got != "a\nb\n" {
		t.Errorf("uncut %q", got)
	}
}
