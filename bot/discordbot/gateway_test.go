package discordbot

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/knowledge"
)

var progressLine = regexp.MustCompile(`(?m)^localhost  \d+/\d+ \S+`)

const (
	chanQuiet = "400000000000000003"
	chanDeny  = "400000000000000004"
	chanZh    = "400000000000000005"
)

const (
	refusedLine = `2026/11/25 10:02:11 [error] 812#812: *41 connect() to unix:/run/php/php8.2-fpm.sock failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: shop, request: "GET / HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "shop"`
	oomLine     = `Nov 25 10:02:10 web-01 kernel: Out of memory: Killed process 4321 (php-fpm8.2) total-vm:812345kB, anon-rss:512000kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:1234kB oom_score_adj:0`
)

// One gateway session serves every case: what a user sees for slash
// commands, autocomplete, mentions and refusals, through discordgo against
// the fake Discord.
func TestGateway(t *testing.T) {
	e := newEnv(t, envOptions{fleet: 40})
	e.run()

	t.Run("registers the commands with a bulk overwrite and identifies with the bot token", func(t *testing.T) {
		calls := e.app.snapshot()
		i := slices.IndexFunc(calls, func(c call) bool { return c.Route == "commands" })
		if i < 0 {
			t.Fatalf("no command registration:\n%s", dump(calls))
		}
		var cmds []struct {
			Name    string `json:"name"`
			Options []struct {
				Name         string `json:"name"`
				Type         int    `json:"type"`
				Required     bool   `json:"required"`
				Autocomplete bool   `json:"autocomplete"`
			} `json:"options"`
		}
		if err := json.Unmarshal(calls[i].Raw, &cmds); err != nil {
			t.Fatal(err)
		}
		if len(cmds) != 1 || cmds[0].Name != "502" || len(cmds[0].Options) != 3 {
			t.Fatalf("commands: %s", calls[i].Raw)
		}
		host, since, site := cmds[0].Options[0], cmds[0].Options[1], cmds[0].Options[2]
		if host.Name != "host" || host.Type != 3 || !host.Required || !host.Autocomplete ||
			since.Name != "since" || since.Required || site.Name != "site" || site.Required {
			t.Errorf("options: %s", calls[i].Raw)
		}
		e.app.mu.Lock()
		ids := slices.Clone(e.app.identifies)
		e.app.mu.Unlock()
		const guildMessages, directMessages = 1 << 9, 1 << 12
		if len(ids) != 1 || ids[0].Token != "Bot "+e.app.token || ids[0].Intents&guildMessages == 0 || ids[0].Intents&directMessages == 0 {
			t.Errorf("identify: %+v", ids)
		}
	})

	t.Run("/502 localhost: deferred at once, live progress, then the diagnosis", func(t *testing.T) {
		// This machine's state can change while the test runs (other packages'
		// lab hosts come and go): the answer must be the core's diagnosis from
		// before or from after it.
		before := e.diagnose(t, "/502 localhost")
		// Hold the diagnosis after two commands until a progress edit has been seen.
		release := e.hold(2)
		defer release()
		fi := e.command(alice, nil, chanOps, "en-US", map[string]string{"host": "localhost"})
		calls := e.app.waitFor(t, "the deferral", func(cs []call) bool { return len(callsFor(cs, fi.token)) > 0 })
		ack := callsFor(calls, fi.token)[0]
		if ack.Route != "callback" || ack.Type != 5 || ack.Msg.Flags&64 != 0 || ack.Status != 204 {
			t.Fatalf("first response: want a public deferral (type 5) accepted within 3 s, got %s %d flags %d status %d %s",
				ack.Route, ack.Type, ack.Msg.Flags, ack.Status, ack.Problem)
		}
		e.app.waitFor(t, "a progress edit", func(cs []call) bool {
			return slices.ContainsFunc(callsFor(cs, fi.token), func(c call) bool { return c.Route == "edit" && progressLine.MatchString(c.Msg.content()) })
		})
		release()
		e.app.waitFor(t, "the answer", func(cs []call) bool {
			return slices.ContainsFunc(callsFor(cs, fi.token), func(c call) bool { return c.Route == "edit" && len(c.Msg.Embeds) > 0 })
		})
		// What the user is left with: nothing may replace the answer later.
		time.Sleep(3 * e.a.EditInterval)
		mine := callsFor(e.app.snapshot(), fi.token)
		if err := refused(mine); err != nil {
			t.Fatal(err)
		}
		edits := mine[1:]
		if !strings.HasPrefix(edits[0].Msg.content(), "🔎 Diagnosing localhost…") {
			t.Errorf("first edit: %q", edits[0].Msg.content())
		}
		final := edits[len(edits)-1]
		if final.Route != "edit" || len(final.Msg.Embeds) != 1 || final.Msg.content() != "" {
			t.Fatalf("the answer must replace the status in the deferred message:\n%s", dump(mine))
		}
		// Progress is throttled: status edits at least EditInterval apart.
		for i := 1; i < len(edits)-1; i++ {
			if gap := edits[i].At.Sub(edits[i-1].At); gap < e.a.EditInterval*8/10 {
				t.Errorf("status edits %d and %d only %v apart", i-1, i, gap)
			}
		}
		// The answer is the core's diagnosis of this machine.
		after := e.diagnose(t, "/502 localhost")
		emb := final.Msg.Embeds[0]
		if emb.Author == nil || !strings.HasPrefix(emb.Author.Name, "502 diagnosis for localhost") {
			t.Errorf("author: %+v", emb.Author)
		}
		if !slices.ContainsFunc([]knowledge.Diagnosis{before, after}, func(want knowledge.Diagnosis) bool {
			return emb.Title == wantTitle(want) && emb.Color == wantColour(want)
		}) {
			t.Errorf("answer title %q colour %#x, want %q %#x", emb.Title, emb.Color, wantTitle(after), wantColour(after))
		}
	})

	t.Run("autocomplete offers only the hosts the requester may diagnose", func(t *testing.T) {
		cases := []struct {
			user, channel, typed string
			roles                []string
			want                 []string
		}{
			{alice, chanOps, "we", nil, []string{"web-01", "web-02", "@web"}},
			{alice, chanOps, "", nil, []string{"web-01", "web-02", "localhost", "@web"}},
			{carol, chanOps, "", []string{webRole}, []string{"web-01", "web-02", "@web"}},
			{bob, chanOps, "", nil, []string{}},
			{bob, chanOps, "db", nil, []string{}},
		}
		for _, tc := range cases {
			got := e.autocomplete(t, tc.user, tc.roles, tc.channel, tc.typed)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s typing %q: choices %q, want %q", tc.user, tc.typed, got, tc.want)
			}
		}
		// 40 fleet hosts are visible in the fleet channel: Discord takes at most 25.
		if got := e.autocomplete(t, bob, nil, chanFleet, "fleet"); len(got) != 25 || got[0] != "fleet-001" {
			t.Errorf("fleet choices: %d %q", len(got), got)
		}
	})

	t.Run("a refused command is deferred privately and runs nothing", func(t *testing.T) {
		before := e.connects.Load()
		for _, tc := range []struct{ user, host, want string }{
			{bob, "localhost", "You may not diagnose localhost"},
			{alice, "db-01", "You may not diagnose db-01"},
			{alice, "web-1", `did you mean web-01`},
		} {
			fi := e.command(tc.user, nil, chanOps, "en-US", map[string]string{"host": tc.host})
			calls := e.app.waitFor(t, "the refusal", func(cs []call) bool {
				return slices.ContainsFunc(callsFor(cs, fi.token), func(c call) bool { return c.Route == "edit" })
			})
			mine := callsFor(calls, fi.token)
			if len(mine) != 2 || mine[0].Type != 5 || mine[0].Msg.Flags&64 == 0 {
				t.Errorf("%s on %s: want an ephemeral deferral and one edit:\n%s", tc.user, tc.host, dump(mine))
				continue
			}
			if got := mine[1].Msg.content(); !strings.Contains(got, tc.want) {
				t.Errorf("%s on %s: %q, want %q", tc.user, tc.host, got, tc.want)
			}
		}
		if n := e.connects.Load(); n != before {
			t.Errorf("%d hosts were contacted for refused requests", n-before)
		}
		if audit := e.auditLines(t); !slices.ContainsFunc(audit, func(a auditLine) bool { return a.User == bob && !a.Allowed }) {
			t.Errorf("the refusal is not audited: %+v", audit)
		}
	})

	t.Run("options are single tokens, checked before deferring", func(t *testing.T) {
		fi := e.command(alice, nil, chanOps, "en-US", map[string]string{"host": "localhost --site evil", "since": "1h"})
		calls := e.app.waitFor(t, "the answer", func(cs []call) bool { return len(callsFor(cs, fi.token)) > 0 })
		c := callsFor(calls, fi.token)[0]
		if c.Type != 4 || c.Msg.Flags&64 == 0 || !strings.Contains(c.Msg.content(), "takes one host name") {
			t.Errorf("got %s", c.Raw)
		}
	})

	t.Run("an error the core finds after a public deferral still goes to the requester only", func(t *testing.T) {
		before := e.connects.Load()
		fi := e.command(alice, nil, chanOps, "en-US", map[string]string{"host": "localhost", "since": "forever"})
		calls := e.app.waitFor(t, "the private answer", func(cs []call) bool {
			return slices.ContainsFunc(callsFor(cs, fi.token), func(c call) bool { return c.Route == "followup" })
		})
		mine := callsFor(calls, fi.token)
		routes := []string{}
		for _, c := range mine {
			routes = append(routes, c.Route)
		}
		i := slices.Index(routes, "delete")
		j := slices.Index(routes, "followup")
		if mine[0].Type != 5 || i < 0 || j < i {
			t.Fatalf("want the public deferral removed, then a private follow-up:\n%s", dump(mine))
		}
		if f := mine[j]; f.Msg.Flags&64 == 0 || !strings.Contains(f.Msg.content(), "--since") {
			t.Errorf("follow-up: %s", f.Raw)
		}
		if e.connects.Load() != before {
			t.Error("a bad --since still ran a diagnosis")
		}
	})

	t.Run("a mention with pasted log lines is explained in the channel", func(t *testing.T) {
		text := "seeing 502s @everyone:\n" + refusedLine + "\n" + oomLine
		mid := e.message("", alice, false, chanOps, e.mention()+" "+text, true)
		calls := e.app.waitFor(t, "the reply", func(cs []call) bool { return len(repliesTo(cs, mid)) > 0 })
		reply := repliesTo(calls, mid)[0]
		if reply.Route != "send" || reply.Channel != chanOps || len(reply.Msg.Embeds) != 1 {
			t.Fatalf("reply:\n%s", dump(calls))
		}
		typing := slices.IndexFunc(calls, func(c call) bool { return c.Route == "typing" && c.Channel == chanOps })
		if typing < 0 || calls[typing].At.After(reply.At) {
			t.Error("no typing indicator before the reply")
		}
		want := e.diagnose(t, text)
		emb := reply.Msg.Embeds[0]
		if len(want.Causes) == 0 || want.Causes[0].ID != "oom_killed" {
			t.Fatalf("the core's diagnosis of the paste: %+v", want)
		}
		if emb.Title != wantTitle(want) || emb.Color != colourCause || !strings.Contains(emb.Description, "Out of memory: Killed process 4321") {
			t.Errorf("reply embed: %+v", emb)
		}
		if !strings.Contains(reply.Msg.text(), "oom_killed") {
			t.Errorf("the cause id is not shown:\n%s", reply.Msg.text())
		}
	})

	t.Run("a long paste sent as message.txt is read", func(t *testing.T) {
		paste := fake.attach("message.txt", "text/plain; charset=utf-8", []byte(strings.Repeat(refusedLine+"\n", 40)))
		photo := fake.attach("screenshot.png", "image/png", []byte("\x89PNG"))
		elsewhere := map[string]any{"id": "1", "filename": "evil.txt", "size": 10, "url": "http://127.0.0.2:9/evil.txt", "content_type": "text/plain"}
		mid := e.messageWith("", alice, false, chanOps, e.mention(), true, []map[string]any{photo, elsewhere, paste})
		calls := e.app.waitFor(t, "the reply", func(cs []call) bool { return len(repliesTo(cs, mid)) > 0 })
		if text := repliesTo(calls, mid)[0].Msg.text(); !strings.Contains(text, "upstream_down") || !strings.Contains(text, "×40") {
			t.Errorf("the paste was not explained:\n%s", text)
		}
		if !strings.Contains(e.logs.String(), "not on Discord's CDN") {
			t.Errorf("an attachment on another host should be refused and logged:\n%s", e.logs.String())
		}

		// A log bigger than the limit: its newest lines are read.
		big := []byte(strings.Repeat("2026/11/25 09:00:00 [notice] 1#1: signal process started\n", maxAttachmentBytes/56+1000) + refusedLine + "\n")
		mid = e.messageWith("", alice, false, chanOps, e.mention(), true, []map[string]any{fake.attach("error.log", "", big)})
		calls = e.app.waitFor(t, "the reply", func(cs []call) bool { return len(repliesTo(cs, mid)) > 0 })
		if text := repliesTo(calls, mid)[0].Msg.text(); !strings.Contains(text, "upstream_down") {
			t.Errorf("the tail of the big log was not explained:\n%s", text)
		}
		fake.mu.Lock()
		ranges := slices.Clone(fake.fileGets)
		fake.mu.Unlock()
		if !slices.ContainsFunc(ranges, func(g string) bool {
			return strings.HasSuffix(g, fmt.Sprintf("/error.log bytes=-%d", maxAttachmentBytes))
		}) {
			t.Errorf("downloads %q: the big log should be asked for its tail", ranges)
		}
		if slices.ContainsFunc(ranges, func(g string) bool { return strings.Contains(g, "screenshot.png") }) {
			t.Errorf("downloads %q: a picture is not text and must not be fetched", ranges)
		}
	})

	t.Run("a question in Chinese is answered in Chinese", func(t *testing.T) {
		mid := e.message("", alice, false, chanZh, e.mention()+" max_children 是什么意思", true)
		calls := e.app.waitFor(t, "the reply", func(cs []call) bool { return len(repliesTo(cs, mid)) > 0 })
		text := repliesTo(calls, mid)[0].Msg.text()
		if knowledge.DetectLang(text) != "zh" || !strings.Contains(text, "pm.max_children") || !strings.Contains(text, "修复") {
			t.Errorf("reply:\n%s", text)
		}
	})

	t.Run("a mention naming a host is diagnosed: status, progress, then the answer in its place", func(t *testing.T) {
		before := e.diagnose(t, "/502 localhost") // this machine may change meanwhile: see above
		release := e.hold(2)
		defer release()
		mid := e.message("", alice, false, chanOps, e.mention()+" localhost is 502ing", true)
		calls := e.app.waitFor(t, "the status message", func(cs []call) bool { return len(repliesTo(cs, mid)) > 0 })
		status := repliesTo(calls, mid)[0]
		if !strings.HasPrefix(status.Msg.content(), "🔎 Diagnosing…") || len(status.Msg.Embeds) != 0 {
			t.Errorf("status: %q", status.Msg.content())
		}
		release()
		var final call
		e.app.waitFor(t, "the answer", func(cs []call) bool {
			for _, c := range inChannel(cs, chanOps) {
				if c.Route == "medit" && len(c.Msg.Embeds) > 0 && c.At.After(status.At) {
					final = c
					return true
				}
			}
			return false
		})
		after := e.diagnose(t, "/502 localhost")
		if title := final.Msg.Embeds[0].Title; final.Msg.content() != "" || (title != wantTitle(before) && title != wantTitle(after)) {
			t.Errorf("the answer must replace the status: %q %+v", final.Msg.content(), final.Msg.Embeds[0])
		}
		if n := len(repliesTo(e.app.snapshot(), mid)); n != 1 {
			t.Errorf("%d messages posted for one mention, want the status alone (then edited)", n)
		}

		// A host that cannot be reached is a diagnosis too, not an error.
		mid = e.message("", alice, false, chanOps, e.mention()+" web-01 为什么 502", true)
		calls = e.app.waitFor(t, "the reply", func(cs []call) bool { return len(repliesTo(cs, mid)) > 0 })
		emb := repliesTo(calls, mid)[0].Msg.Embeds
		if len(emb) != 1 || emb[0].Title != "无法检查 web-01" || emb[0].Color != colourUnreachable || !strings.Contains(emb[0].Description, "connection refused") {
			t.Errorf("unreachable host: %+v", emb)
		}
	})

	t.Run("a refused mention is answered by direct message only", func(t *testing.T) {
		before := e.connects.Load()
		mid := e.message("", bob, false, chanDeny, e.mention()+" web-01 为什么 502", true)
		calls := e.app.waitFor(t, "the DM", func(cs []call) bool {
			return slices.ContainsFunc(cs, func(c call) bool { return c.Route == "send" && c.Channel == "dm"+bob })
		})
		dm := calls[slices.IndexFunc(calls, func(c call) bool { return c.Route == "send" && c.Channel == "dm"+bob })]
		if !strings.Contains(dm.Msg.content(), "你没有诊断 web-01 的权限") {
			t.Errorf("DM: %q", dm.Msg.content())
		}
		if r := repliesTo(calls, mid); len(r) > 0 {
			t.Errorf("the refusal was shown in the channel: %s", r[0].Raw)
		}
		if e.connects.Load() != before {
			t.Error("a refused mention ran a diagnosis")
		}
	})

	t.Run("bots, unmentioned messages and redeliveries get no answer", func(t *testing.T) {
		e.message("", e.app.botUser, true, chanQuiet, e.mention()+" web-01 is 502ing", true) // itself
		e.message("", otherBot, true, chanQuiet, e.mention()+" web-01 is 502ing", true)      // another bot
		e.message("", alice, false, chanQuiet, "web-01 is 502ing", false)                    // not for us
		mid := e.message("", alice, false, chanQuiet, e.mention()+" help", true)
		e.message(mid, alice, false, chanQuiet, e.mention()+" help", true) // the same message again
		e.app.waitFor(t, "the help", func(cs []call) bool { return len(repliesTo(cs, mid)) > 0 })
		time.Sleep(300 * time.Millisecond) // events run on their own goroutines: let stragglers show
		var sends, typing int
		for _, c := range inChannel(e.app.snapshot(), chanQuiet) {
			switch c.Route {
			case "send":
				sends++
			case "typing":
				typing++
			}
		}
		if sends != 1 || typing != 1 {
			t.Errorf("want one typing and one reply in the channel, got %d and %d:\n%s", typing, sends, dump(inChannel(e.app.snapshot(), chanQuiet)))
		}
		if r := repliesTo(e.app.snapshot(), mid)[0]; !strings.Contains(r.Msg.content(), "I tell you why nginx answers 502") {
			t.Errorf("help: %q", r.Msg.content())
		}
	})

	t.Run("a thread inherits its channel's rules", func(t *testing.T) {
		const inFleet, inOps = "450000000000000001", "450000000000000002"
		fake.addThread(inFleet, chanFleet)
		fake.addThread(inOps, chanOps)
		for i := range 2 { // the second time from the cache
			fi := e.command(bob, nil, inFleet, "en-US", map[string]string{"host": "fleet-001"})
			calls := e.app.waitFor(t, "the answer", func(cs []call) bool {
				return slices.ContainsFunc(callsFor(cs, fi.token), func(c call) bool { return c.Route == "edit" && len(c.Msg.Embeds) > 0 })
			})
			if mine := callsFor(calls, fi.token); mine[0].Type != 5 || mine[0].Msg.Flags&64 != 0 {
				t.Errorf("run %d: bob in a thread of the fleet channel: want a public deferral:\n%s", i, dump(mine))
			}
		}
		lookups := 0
		for _, c := range e.app.snapshot() {
			if c.Route == "channel" && c.Channel == inFleet {
				lookups++
			}
		}
		if lookups != 1 {
			t.Errorf("%d lookups of the thread, want 1 (then cached)", lookups)
		}
		fi := e.command(bob, nil, inOps, "en-US", map[string]string{"host": "fleet-001"})
		calls := e.app.waitFor(t, "the refusal", func(cs []call) bool {
			return slices.ContainsFunc(callsFor(cs, fi.token), func(c call) bool { return c.Route == "edit" })
		})
		if mine := callsFor(calls, fi.token); mine[0].Msg.Flags&64 == 0 || !strings.Contains(mine[len(mine)-1].Msg.content(), "You may not diagnose fleet-001") {
			t.Errorf("bob in a thread of the ops channel must be refused privately:\n%s", dump(mine))
		}
	})

	t.Run("forty hosts fit Discord's limits across a few messages", func(t *testing.T) {
		fi := e.command(bob, nil, chanFleet, "en-US", map[string]string{"host": "@fleet"})
		var mine []call
		e.app.waitFor(t, "every host answered", func(cs []call) bool {
			mine = callsFor(cs, fi.token)
			var text strings.Builder
			for _, c := range mine {
				if len(c.Msg.Embeds) > 0 {
					text.WriteString(c.Msg.text())
				}
			}
			for i := 1; i <= 40; i++ {
				if !strings.Contains(text.String(), fmt.Sprintf("fleet-%03d", i)) {
					return false
				}
			}
			return true
		})
		if err := refused(mine); err != nil {
			t.Fatal(err)
		}
		var answers int
		for _, c := range mine {
			if len(c.Msg.Embeds) > 0 {
				answers++
				if c.Route == "followup" && c.Msg.Flags&64 != 0 {
					t.Error("a public answer's follow-up is ephemeral")
				}
			}
		}
		if answers < 2 || answers > maxMessages {
			t.Errorf("the answer took %d messages, want 2 to %d", answers, maxMessages)
		}
		if c := mine[1]; c.Msg.content() != "🔎 Diagnosing @fleet…" {
			t.Errorf("status: %q", c.Msg.content())
		}
	})

	// Over the whole session: no reconnect, heartbeats acknowledged, and not
	// one request Discord would have refused.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		e.app.mu.Lock()
		ids, beats := len(e.app.identifies), e.app.heartbeats
		e.app.mu.Unlock()
		if ids != 1 {
			t.Errorf("identified %d times, want once (no reconnect)", ids)
		}
		if beats >= 3 || ids != 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("only %d heartbeats in 5 s at a 250 ms interval", beats)
			break
		}
	}
	if err := refused(e.app.snapshot()); err != nil {
		t.Error(err)
	}
}

// Cancelling Run's context stops the gateway and tells the requester whose
// diagnosis was cut short, instead of leaving them with "thinking…".
func TestShutdownTellsRequestersAndReturns(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.a.Run(ctx) }()
	for e.a.botID() == "" {
		time.Sleep(10 * time.Millisecond)
	}
	defer e.hold(1)() // the diagnosis hangs until shutdown cancels it
	fi := e.command(alice, nil, chanOps, "en-US", map[string]string{"host": "localhost"})
	e.app.waitFor(t, "the status", func(cs []call) bool {
		return slices.ContainsFunc(callsFor(cs, fi.token), func(c call) bool { return c.Route == "edit" })
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}
	mine := callsFor(e.app.snapshot(), fi.token)
	last := mine[len(mine)-1]
	if last.Route != "edit" || !strings.Contains(last.Msg.content(), "stopped before it finished") {
		t.Errorf("last word:\n%s", dump(mine))
	}
	e.app.mu.Lock()
	gw := e.app.gw
	e.app.mu.Unlock()
	if gw != nil {
		t.Error("the gateway connection is still open")
	}
	// After shutdown, a command is answered privately, not deferred forever.
	fi2, payload := e.app.interact(2, alice, nil, chanOps, "en-US", commandData(map[string]string{"host": "localhost"}, ""))
	_ = fi2
	resp, j := e.a.respond(decodeInteraction(t, payload))
	if j != nil || resp.Type != 4 || resp.Data.Flags&64 == 0 {
		t.Errorf("after shutdown: %+v", resp)
	}
}

// autocomplete asks for host choices over the gateway and returns their names.
func (e *env) autocomplete(t *testing.T, user string, roles []string, channel, typed string) []string {
	t.Helper()
	fi, payload := e.app.interact(4, user, roles, channel, "en-US", commandData(map[string]string{"host": typed}, "host"))
	e.app.dispatch(t, "INTERACTION_CREATE", payload)
	calls := e.app.waitFor(t, "the choices", func(cs []call) bool { return len(callsFor(cs, fi.token)) > 0 })
	c := callsFor(calls, fi.token)[0]
	if c.Type != 8 || c.Status != 204 {
		t.Fatalf("autocomplete answer: %s (%s)", c.Raw, c.Problem)
	}
	names := []string{}
	for _, ch := range c.Msg.Choices {
		if ch.Name != ch.Value {
			t.Errorf("choice %q has value %q", ch.Name, ch.Value)
		}
		names = append(names, ch.Name)
	}
	return names
}

// diagnose asks the core directly, as the console would, for comparison.
func (e *env) diagnose(t *testing.T, text string) knowledge.Diagnosis {
	t.Helper()
	r := e.a.bot.Handle(context.Background(), bot.Request{Platform: bot.PlatformConsole, UserID: "console", Text: text}, nil)
	if r.Kind != bot.KindDiagnosis || len(r.Diagnoses) != 1 {
		t.Fatalf("the core's own answer to %q: %+v", text, r)
	}
	return r.Diagnoses[0]
}

func wantTitle(d knowledge.Diagnosis) string {
	if len(d.Causes) > 0 {
		return clip(d.Causes[0].Title, maxTitle)
	}
	if d.Target == "-" {
		return fmt.Sprintf("No 502/504 evidence found (%d lines read)", d.Stats.Lines)
	}
	return "No 502/504 evidence on " + d.Target
}

func wantColour(d knowledge.Diagnosis) int {
	switch {
	case d.Verdict == knowledge.VerdictUnreachable:
		return colourUnreachable
	case len(d.Causes) > 0:
		return colourCause
	}
	return colourNoEvidence
}

// repliesTo are the bot's messages replying to message id.
func repliesTo(calls []call, id string) []call {
	var out []call
	for _, c := range calls {
		if c.Route == "send" && c.Msg.Reference != nil && c.Msg.Reference.MessageID == id {
			out = append(out, c)
		}
	}
	return out
}

type auditLine struct {
	User    string `json:"user"`
	Allowed bool   `json:"allowed"`
}

func (e *env) auditLines(t *testing.T) []auditLine {
	t.Helper()
	data, err := os.ReadFile(e.audit)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditLine
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var a auditLine
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, a)
	}
	return out
}
