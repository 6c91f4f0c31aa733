package slackbot

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/badgateway/badgateway/knowledge"
)

func slash(user, text string) map[string]any {
	return map[string]any{"command": "/502", "text": text, "user_id": user, "user_name": "someone", "channel_id": channelID,
		"team_id": "T0TEAM", "response_url": "http://127.0.0.1:1/unused", "trigger_id": "1.2.3"}
}

func callback(event map[string]any) map[string]any {
	return map[string]any{"type": "event_callback", "team_id": "T0TEAM", "api_app_id": "A0APP", "event": event,
		"event_id": fmt.Sprintf("Ev%d", time.Now().UnixNano()), "event_time": time.Now().Unix()}
}

func mention(user, channel, ts, text string) map[string]any {
	return callback(map[string]any{"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts})
}

func dm(fields map[string]any) map[string]any {
	ev := map[string]any{"type": "message", "channel": "D0DM", "channel_type": "im", "user": okUser, "ts": "1700000200.000100"}
	for k, v := range fields {
		ev[k] = v
	}
	return callback(ev)
}

// finalOf waits for the message whose blocks hold a diagnosis header.
func finalOf(t *testing.T, f *fakeSlack, methods ...string) sent {
	t.Helper()
	var final sent
	waitFor(t, "the final reply", func() bool {
		for _, c := range f.callsOf(methods...) {
			if s := parseSent(t, c); len(s.blocksOf("header")) > 0 {
				final = s
				return true
			}
		}
		return false
	})
	return final
}

// A slash command is acknowledged at once (ephemerally), then one message
// appears in the channel, is edited with live progress no more than once per
// editEvery, and ends as the diagnosis of this machine with a Re-run button.
func TestSlashCommandShowsLiveProgressThenTheDiagnosis(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "")
	h.delay.Store(int64(300 * time.Millisecond))
	h.a.editEvery = 250 * time.Millisecond
	h.run(t)

	at := f.envelope("slash_commands", "env-slash", slash(okUser, "localhost"))
	a := f.waitAck(t, "env-slash", at)
	var p map[string]string
	if err := json.Unmarshal(a.Payload, &p); err != nil {
		t.Fatalf("ack payload %s: %v", a.Payload, err)
	}
	if p["response_type"] != "ephemeral" || !strings.Contains(p["text"], "/502 localhost") || len(a.Payload) >= 20<<10 {
		t.Errorf("the ack should tell the requester alone that work started: %s", a.Payload)
	}

	final := finalOf(t, f, "chat.update")
	posts := f.callsOf("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("want exactly one posted message (then edits), got %d", len(posts))
	}
	placeholder := parseSent(t, posts[0])
	if placeholder.v.Get("channel") != channelID || !strings.Contains(placeholder.all(), "Diagnosing") || placeholder.v.Get("thread_ts") != "" {
		t.Errorf("progress message: %v\n%s", placeholder.v, placeholder.all())
	}
	if !a.at.Before(final.at) {
		t.Errorf("the ack came after the answer")
	}
	var progress []sent
	for _, c := range f.callsOf("chat.update") {
		s := parseSent(t, c)
		if c.v.Get("ts") != "1700000000.000001" || c.v.Get("channel") != channelID {
			t.Errorf("an edit of another message: %v", c.v)
		}
		if c.at.Before(final.at) {
			progress = append(progress, s)
		}
	}
	if len(progress) == 0 {
		t.Fatal("no progress edit before the final reply")
	}
	last := placeholder.at
	for _, s := range progress {
		if !regexp.MustCompile(`localhost: \d+/\d+ \w+`).MatchString(s.all()) {
			t.Errorf("progress edit without a step count:\n%s", s.all())
		}
		if gap := s.at.Sub(last); gap < 200*time.Millisecond {
			t.Errorf("progress edits %v apart, want at most one per 250ms", gap)
		}
		last = s.at
	}
	text := final.all()
	for _, want := range []string{"502 diagnosis for localhost", "steps", "/502 localhost", "Re-run"} {
		if !strings.Contains(text, want) {
			t.Errorf("final reply lacks %q:\n%s", want, text)
		}
	}
	if len(final.blocksOf("actions")) != 1 {
		t.Errorf("want one Re-run button, got %d actions blocks", len(final.blocksOf("actions")))
	}
	if n := len(f.callsOf("chat.postEphemeral")); n != 0 {
		t.Errorf("%d ephemeral messages for an allowed request", n)
	}
	if h.runs.Load() != 1 {
		t.Errorf("%d diagnoses ran, want 1", h.runs.Load())
	}
}

const refusedLine = `2026/11/25 10:02:11 [error] 812#812: *41 connect() to unix:/run/php/php8.2-fpm.sock failed (111: Connection refused) while connecting to upstream, client: 203.0.113.7, server: shop.example.com, request: "GET / HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "<http://shop.example.com|shop.example.com>"`

// Log lines pasted in a mention are explained in the mention's thread, once,
// even when Slack delivers the event again; no host is touched.
func TestMentionWithPastedLogsIsAnsweredOnceInItsThread(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "")
	h.run(t)

	text := "<@" + botUserID + "> our shop is down:\n```" + refusedLine + "\n" + refusedLine + "```"
	ev := mention(okUser, channelID, "1700000100.000200", text)
	f.waitAck(t, "env-m1", f.envelope("events_api", "env-m1", ev))
	// Slack resends an event it thinks was lost.
	f.waitAck(t, "env-m2", f.envelope("events_api", "env-m2", ev))

	final := finalOf(t, f, "chat.postMessage")
	if final.v.Get("thread_ts") != "1700000100.000200" || final.v.Get("channel") != channelID {
		t.Errorf("reply not in the mention's thread: %v", final.v)
	}
	all := final.all()
	for _, want := range []string{"pasted lines", "upstream_down", "HTTP 502", "Connection refused"} {
		if !strings.Contains(all, want) {
			t.Errorf("reply lacks %q:\n%s", want, all)
		}
	}
	if len(final.blocksOf("actions")) != 0 {
		t.Error("pasted lines cannot be re-run, but the reply has a button")
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(f.callsOf("chat.postMessage", "chat.update", "chat.postEphemeral")); n != 1 {
		t.Errorf("%d messages for one mention, want 1", n)
	}
	if h.runs.Load() != 0 {
		t.Errorf("pasted lines connected to %d hosts", h.runs.Load())
	}
}

// A question in Chinese is answered in Chinese. In a DM, Slack sends a
// mention of the bot as both message.im and app_mention: one answer.
func TestChineseQuestionInADirectMessageIsAnsweredOnceInChinese(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "")
	h.run(t)

	ts := "1700000300.000100"
	text := "<@" + botUserID + "> max_children 是什么意思"
	f.waitAck(t, "env-im", f.envelope("events_api", "env-im", dm(map[string]any{"ts": ts, "text": text})))
	f.waitAck(t, "env-am", f.envelope("events_api", "env-am", mention(okUser, "D0DM", ts, text)))

	var reply sent
	waitFor(t, "the answer", func() bool {
		if c := f.callsOf("chat.postMessage"); len(c) > 0 {
			reply = parseSent(t, c[0])
			return true
		}
		return false
	})
	time.Sleep(300 * time.Millisecond)
	if n := len(f.callsOf("chat.postMessage", "chat.update", "chat.postEphemeral")); n != 1 {
		t.Errorf("%d messages for one question, want 1", n)
	}
	all := reply.all()
	if reply.v.Get("channel") != "D0DM" || !strings.Contains(all, "pm.max_children") || knowledge.DetectLang(all) != "zh" || !strings.Contains(all, "原因") {
		t.Errorf("want a Chinese answer about pm.max_children in the DM, got %v:\n%s", reply.v, all)
	}
	if reply.v.Get("thread_ts") != "" {
		t.Errorf("a DM answer should not open a thread: %v", reply.v)
	}
	if h.runs.Load() != 0 {
		t.Error("a question connected to a host")
	}
}

// A user no rule allows gets a refusal only they can see, in the thread of
// their mention or next to their command, and no diagnosis runs.
func TestDeniedUserGetsAnEphemeralRefusalAndNothingRuns(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "")
	h.run(t)

	f.waitAck(t, "env-d1", f.envelope("slash_commands", "env-d1", slash(strangerUser, "localhost")))
	f.waitAck(t, "env-d2", f.envelope("events_api", "env-d2", mention(strangerUser, channelID, "1700000400.000100", "<@"+botUserID+"> is localhost 502ing?")))
	waitFor(t, "two refusals", func() bool { return len(f.callsOf("chat.postEphemeral")) == 2 })
	time.Sleep(500 * time.Millisecond) // longer than placeholderAfter: nothing public may follow
	for _, c := range f.callsOf("chat.postEphemeral") {
		s := parseSent(t, c)
		if c.v.Get("user") != strangerUser || c.v.Get("channel") != channelID || !strings.Contains(s.all(), "You may not diagnose localhost") {
			t.Errorf("refusal: %v\n%s", c.v, s.all())
		}
	}
	threads := []string{f.callsOf("chat.postEphemeral")[0].v.Get("thread_ts"), f.callsOf("chat.postEphemeral")[1].v.Get("thread_ts")}
	if !(threads[0] == "" && threads[1] == "1700000400.000100" || threads[1] == "" && threads[0] == "1700000400.000100") {
		t.Errorf("refusal threads %q: the mention's refusal belongs in its thread", threads)
	}
	if n := len(f.callsOf("chat.postMessage", "chat.update")); n != 0 {
		t.Errorf("%d public messages for denied requests", n)
	}
	if h.runs.Load() != 0 {
		t.Errorf("a denied request ran %d diagnoses", h.runs.Load())
	}
	audit, err := os.ReadFile(h.audit)
	if err != nil || strings.Count(string(audit), `"allowed":false`) != 2 {
		t.Errorf("audit log should record both refusals: %v\n%s", err, audit)
	}
}

// The bot's own messages, other bots', edits and plain channel chatter are
// acknowledged and ignored.
func TestIgnoresBotsEditsAndChatter(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "")
	h.run(t)

	ignored := []map[string]any{
		dm(map[string]any{"user": botUserID, "text": "help", "ts": "1.1"}),
		dm(map[string]any{"bot_id": "B0OTHER", "text": "help", "ts": "1.2"}),
		dm(map[string]any{"subtype": "message_changed", "text": "help", "ts": "1.3"}),
		dm(map[string]any{"subtype": "bot_message", "bot_id": botBotID, "text": "help", "ts": "1.4"}),
		dm(map[string]any{"channel": channelID, "channel_type": "channel", "text": "localhost is down", "ts": "1.5"}),
		mention(botUserID, channelID, "1.6", "<@"+botUserID+"> help"),
		callback(map[string]any{"type": "app_mention", "user": okUser, "bot_id": "B0OTHER", "text": "<@" + botUserID + "> help", "ts": "1.7", "channel": channelID}),
	}
	for i, ev := range ignored {
		id := fmt.Sprintf("env-ign-%d", i)
		f.waitAck(t, id, f.envelope("events_api", id, ev))
	}
	f.waitAck(t, "env-ok", f.envelope("events_api", "env-ok", dm(map[string]any{"text": "help", "ts": "1.9"})))
	waitFor(t, "the answer to the real DM", func() bool { return len(f.callsOf("chat.postMessage")) > 0 })
	time.Sleep(300 * time.Millisecond)
	calls := f.callsOf("chat.postMessage", "chat.update", "chat.postEphemeral")
	if len(calls) != 1 || !strings.Contains(parseSent(t, calls[0]).all(), "I tell you why nginx answers 502") {
		t.Errorf("want only the help for the real DM, got %d messages", len(calls))
	}
	if h.runs.Load() != 0 {
		t.Error("an ignored message ran a diagnosis")
	}
}

// The Re-run button diagnoses again under the clicker's rights.
func TestRerunButton(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "")
	h.run(t)

	click := func(user string) map[string]any {
		return map[string]any{"type": "block_actions", "user": map[string]any{"id": user}, "channel": map[string]any{"id": channelID},
			"container":    map[string]any{"type": "message", "channel_id": channelID, "message_ts": "1700000000.000009"},
			"response_url": "http://127.0.0.1:1/unused", "trigger_id": "1.2.3",
			"actions": []any{map[string]any{"type": "button", "action_id": rerunAction, "value": "/502 localhost", "block_id": "b"}}}
	}
	f.waitAck(t, "env-b1", f.envelope("interactive", "env-b1", click(okUser)))
	final := finalOf(t, f, "chat.update", "chat.postMessage")
	if !strings.Contains(final.all(), "502 diagnosis for localhost") || final.v.Get("channel") != channelID {
		t.Errorf("re-run reply: %v\n%s", final.v, final.all())
	}
	f.waitAck(t, "env-b2", f.envelope("interactive", "env-b2", click(strangerUser)))
	waitFor(t, "the stranger's refusal", func() bool { return len(f.callsOf("chat.postEphemeral")) == 1 })
	if c := f.callsOf("chat.postEphemeral")[0]; c.v.Get("user") != strangerUser {
		t.Errorf("refusal went to %q", c.v.Get("user"))
	}
	if h.runs.Load() != 1 {
		t.Errorf("%d diagnoses ran, want 1 (the stranger's click must not run one)", h.runs.Load())
	}
}

// An envelope the library cannot parse is still acknowledged, or Slack
// would resend it for ever.
func TestUnknownEnvelopeIsAcked(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "")
	h.run(t)
	f.waitAck(t, "env-odd", f.envelope("events_api", "env-odd", callback(map[string]any{"type": "no_such_event_type", "ts": "1.1"})))
}

// Cancelling Run stops the running diagnosis; its message still ends with
// what was found and says the bot stopped, and Run returns.
func TestShutdownFinishesTheMessageAndReturns(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "")
	h.delay.Store(int64(time.Hour))
	h.run(t)

	f.waitAck(t, "env-s", f.envelope("slash_commands", "env-s", slash(okUser, "localhost")))
	waitFor(t, "the progress message", func() bool { return len(f.callsOf("chat.postMessage")) == 1 })
	start := time.Now()
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v to return", d)
	}
	final := finalOf(t, f, "chat.update")
	if !strings.Contains(final.all(), "badgateway stopped before this diagnosis finished") {
		t.Errorf("the final message should say the diagnosis was cut short:\n%s", final.all())
	}
}

// 300 distinct pasted lines still make a message Slack accepts.
func TestHugePasteStaysWithinLimits(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "")
	h.run(t)
	var paste strings.Builder
	for i := range 300 {
		fmt.Fprintf(&paste, "2026/11/25 10:%02d:%02d [error] 812#812: *%d connect() to unix:/run/php/app%03d%s.sock failed (111: Connection refused) while connecting to upstream, client: 203.0.113.%d, server: shop.example.com, request: \"GET /p/%d HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/app%03d.sock:\", host: \"shop.example.com\"\n",
			i/60, i%60, i, i, strings.Repeat("x", i), i%250, i, i)
	}
	f.waitAck(t, "env-big", f.envelope("events_api", "env-big", dm(map[string]any{"text": paste.String()})))
	final := finalOf(t, f, "chat.postMessage") // finalOf checks every limit
	if !strings.Contains(final.all(), "upstream_down") || !strings.Contains(final.all(), "Connection refused") {
		t.Errorf("reply:\n%s", final.all())
	}
}

// A rule that names a Slack user group admits its members: groups are read
// with usergroups.list (once, then cached), by id.
func TestAccessByUserGroup(t *testing.T) {
	f := newFakeSlack(t)
	f.groups = map[string][]string{"S0ONCALL": {"U0ONCALL"}, "S0OTHER": {strangerUser}}
	h := newHarness(t, f.GetAPIURL(), true, "  - hosts: [localhost]\n    slack_groups: [S0ONCALL]\n")
	h.run(t)
	f.waitAck(t, "env-g1", f.envelope("slash_commands", "env-g1", slash("U0ONCALL", "localhost")))
	finalOf(t, f, "chat.update", "chat.postMessage")
	f.waitAck(t, "env-g2", f.envelope("slash_commands", "env-g2", slash(strangerUser, "localhost")))
	waitFor(t, "the refusal", func() bool { return len(f.callsOf("chat.postEphemeral")) == 1 })
	if h.runs.Load() != 1 {
		t.Errorf("%d diagnoses ran, want 1 (the group member's)", h.runs.Load())
	}
	if n := len(f.callsOf("usergroups.list")); n != 1 {
		t.Errorf("usergroups.list called %d times, want once", n)
	}
}

// The hosts someone may diagnose are theirs to see: a list asked for in a
// channel is shown to them alone.
func TestHostsListIsShownToTheAskerOnly(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "  - hosts: [web-01]\n    slack_users: ["+okUser+"]\n")
	h.run(t)
	f.waitAck(t, "env-h", f.envelope("events_api", "env-h", mention(okUser, channelID, "1700000500.000100", "<@"+botUserID+"> hosts")))
	waitFor(t, "the list", func() bool { return len(f.callsOf("chat.postEphemeral")) == 1 })
	c := f.callsOf("chat.postEphemeral")[0]
	if c.v.Get("user") != okUser || !strings.Contains(parseSent(t, c).all(), "web-01") {
		t.Errorf("hosts list: %v\n%s", c.v, parseSent(t, c).all())
	}
	if n := len(f.callsOf("chat.postMessage")); n != 0 {
		t.Errorf("%d public messages", n)
	}
}

// At most maxRunning diagnoses run at once; the rest wait, and are told so
// when the bot stops before their turn.
func TestConcurrencyIsBounded(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "")
	h.delay.Store(int64(time.Hour))
	h.run(t)
	for i := range maxRunning + 2 {
		id := fmt.Sprintf("env-c%d", i)
		f.waitAck(t, id, f.envelope("slash_commands", id, slash(okUser, "localhost")))
	}
	waitFor(t, "the first diagnoses to start", func() bool { return h.runs.Load() == maxRunning })
	time.Sleep(300 * time.Millisecond)
	if n := h.runs.Load(); n != maxRunning {
		t.Fatalf("%d diagnoses running, want %d", n, maxRunning)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	waiting := 0
	for _, c := range f.callsOf("chat.postEphemeral") {
		if strings.Contains(parseSent(t, c).all(), "shutting down") {
			waiting++
		}
	}
	if waiting != 2 {
		t.Errorf("%d queued requesters told the bot is stopping, want 2", waiting)
	}
}
