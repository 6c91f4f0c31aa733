package slackbot

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/knowledge"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// asSent turns a rendered message into what chat.postMessage would carry.
func asSent(t *testing.T, m message) sent {
	t.Helper()
	b, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	return parseSent(t, call{method: "render", v: url.Values{"text": {m.Text}, "blocks": {string(b)}}})
}

// huge is a diagnosis far past every Slack limit: 300 distinct evidence
// lines, a 5,000-character summary, 30 long fixes, 40 other causes, a host
// name longer than a header.
func huge(target string) knowledge.Diagnosis {
	top := knowledge.Finding{ID: "upstream_down", Status: 502, Confidence: 0.93,
		Title:   strings.Repeat("php-fpm is not running ", 20),
		Summary: strings.Repeat("nothing answers on the socket. ", 160),
		Confirm: strings.Repeat("systemctl status php8.2-fpm ", 150),
		BaoTa:   "BaoTa: " + strings.Repeat("软件商店 → PHP-8.2 → 设置 → 重启 ", 200)}
	for i := range 300 {
		top.Evidence = append(top.Evidence, knowledge.Evidence{Source: "nginx_error_log:/var/log/nginx/error.log", Count: int64(300 - i),
			Text: fmt.Sprintf("2026/11/25 10:02:%02d [error] 812#812: *%d connect() to unix:/run/php/app%03d.sock failed (111: Connection refused) <!channel> & ``` %s", i%60, i, i, strings.Repeat("x", i))})
	}
	for i := range 30 {
		top.Fixes = append(top.Fixes, fmt.Sprintf("Fix number %d: %s\n$ systemctl restart php8.2-fpm\n%s", i, strings.Repeat("restart it ", 40), strings.Repeat("pm.max_children = 50\n", 30)))
	}
	d := knowledge.Diagnosis{Target: target, Layout: "baota", Verdict: knowledge.VerdictCauseFound, Lang: "en", Causes: []knowledge.Finding{top}}
	for i := range 40 {
		d.Causes = append(d.Causes, knowledge.Finding{ID: fmt.Sprintf("cause_%d", i), Title: strings.Repeat("other ", 100), Status: 502, Confidence: 0.5 - float64(i)/100, ExplainedBy: "upstream_down"})
	}
	for i := range 30 {
		d.Steps = append(d.Steps, knowledge.StepReport{ID: fmt.Sprintf("step_%d", i), Error: strings.Repeat("permission denied ", 20)})
	}
	return d
}

// However large the reply, the message is one Slack accepts, and what was
// cut says so.
func TestRenderHugeReplyStaysWithinLimits(t *testing.T) {
	one := asSent(t, renderReply(bot.Reply{Kind: bot.KindDiagnosis, Lang: "en", Diagnoses: []knowledge.Diagnosis{huge(strings.Repeat("web-", 60) + "01")}}, renderOpts{rerun: "/502 web-01"}))
	var proof string
	for _, b := range one.blocksOf("section") {
		if strings.HasPrefix(textOf(b), "*Proof*") {
			proof = textOf(b)
		}
	}
	if !strings.Contains(proof, "2026/11/25 10:02:00") || !strings.Contains(proof, "more lines)") {
		t.Errorf("the proof should start with the first line and say how many did not fit:\n%s", proof)
	}
	if !strings.HasSuffix(one.v.Get("text"), "…(truncated)") {
		t.Errorf("the fallback text should end in a truncation mark: …%s", one.v.Get("text")[len(one.v.Get("text"))-40:])
	}
	if all := one.all(); !strings.Contains(all, "Fix number 0") || !strings.Contains(all, "…(truncated)") || !strings.Contains(all, "and 32 more") {
		t.Errorf("fixes and other candidates should be cut with a mark:\n%s", all)
	}
	if h := textOf(one.blocksOf("header")[0]); !strings.HasSuffix(h, "…") {
		t.Errorf("header not cut: %q", h)
	}

	long := asSent(t, renderReply(bot.Reply{Kind: bot.KindKnowledge, Lang: "en", Text: strings.Repeat(strings.Repeat("word ", 700)+"\n\n", 200)}, renderOpts{}))
	if last := long.blocks[len(long.blocks)-1]; last["type"] != "context" || !strings.Contains(long.all(), "…(truncated)") {
		t.Errorf("a long answer should end with a truncation mark, ends with %v", last)
	}

	many := make([]knowledge.Diagnosis, 20)
	for i := range many {
		many[i] = huge(fmt.Sprintf("web-%02d", i))
	}
	multi := asSent(t, renderReply(bot.Reply{Kind: bot.KindDiagnosis, Lang: "en", Diagnoses: many}, renderOpts{rerun: "/502 @web", note: "timed out"}))
	if all := multi.all(); !strings.Contains(all, "more hosts; run /502 HOST for each") || !strings.Contains(all, "web-19: upstream_down") {
		t.Errorf("hosts that did not fit should be named:\n%s", all)
	}
	if len(multi.blocksOf("actions")) != 1 || !strings.Contains(multi.all(), "timed out") {
		t.Error("the button and the note must survive truncation")
	}
}

// Text from logs cannot notify a channel, mention someone or break out of a code block.
func TestRenderEscapesSlackMarkup(t *testing.T) {
	d := huge("web-01")
	d.Causes = d.Causes[:1]
	d.Causes[0].Evidence = d.Causes[0].Evidence[:2]
	d.Causes[0].Title = "<!here> & <@U0BOSS>"
	m := asSent(t, renderReply(bot.Reply{Kind: bot.KindDiagnosis, Lang: "en", Diagnoses: []knowledge.Diagnosis{d}}, renderOpts{}))
	all := m.all()
	for _, bad := range []string{"<!channel>", "<!here>", "<@U0BOSS>"} {
		if strings.Contains(all, bad) {
			t.Errorf("%s reached Slack unescaped", bad)
		}
	}
	if !strings.Contains(all, "&lt;!channel&gt; &amp;") || !strings.Contains(all, "&lt;!here&gt; &amp; &lt;@U0BOSS&gt;") {
		t.Errorf("markup should be escaped:\n%s", all)
	}
	e := asSent(t, renderReply(bot.Reply{Kind: bot.KindError, Lang: "en", Text: "unknown host \"<!channel>\""}, renderOpts{}))
	if strings.Contains(e.all(), "<!channel>") {
		t.Error("error text reached Slack unescaped")
	}
}

// On a panel host the panel steps come before the fix; elsewhere they are left out.
func TestRenderPanelStepsOnlyOnPanelHosts(t *testing.T) {
	d := huge("web-01")
	d.Causes = d.Causes[:1]
	order := func(layout string) (panel, fix int) {
		d.Layout = layout
		m := asSent(t, renderReply(bot.Reply{Kind: bot.KindDiagnosis, Lang: "en", Diagnoses: []knowledge.Diagnosis{d}}, renderOpts{}))
		panel, fix = -1, -1
		for i, b := range m.blocks {
			switch tx := textOf(b); {
			case strings.HasPrefix(tx, "*BaoTa/aaPanel*") && panel < 0:
				panel = i
			case strings.HasPrefix(tx, "*Fix*") && fix < 0:
				fix = i
			}
		}
		return panel, fix
	}
	if p, f := order("baota"); p < 0 || f < 0 || p > f {
		t.Errorf("baota host: panel steps at block %d, fix at %d", p, f)
	}
	if p, _ := order("debian"); p >= 0 {
		t.Errorf("debian host: panel steps shown at block %d", p)
	}
}

// The replies people read, byte for byte: run `go test ./bot/slackbot -run
// Golden -update` after an intended change and review the diff.
func TestRenderGolden(t *testing.T) {
	logText, err := os.ReadFile("../../examples/error.log")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := knowledge.LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, lang, layout, target string }{
		{"example.en.json", "en", "debian", "web-01"},
		{"example.baota.zh.json", "zh", "baota", "web-01"},
		{"pasted.en.json", "en", "", "-"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			col := knowledge.NewAnalyzer(cat).NewCollector()
			if err := col.Feed(bytes.NewReader(logText), "/var/log/nginx/error.log"); err != nil {
				t.Fatal(err)
			}
			d := col.Diagnosis(knowledge.Options{Target: tc.target, Lang: tc.lang})
			d.Layout = tc.layout
			if tc.target == "-" {
				d.Inputs = []string{"pasted lines"}
			}
			m := renderReply(bot.Reply{Kind: bot.KindDiagnosis, Lang: tc.lang, Diagnoses: []knowledge.Diagnosis{d}}, renderOpts{rerun: "/502 " + tc.target})
			asSent(t, m)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(map[string]any{"text": m.Text, "blocks": m.Blocks}); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := filepath.Join("testdata", "golden", tc.file)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file; run `go test ./bot/slackbot -run Golden -update` and review the diff.\ngot:\n%s", tc.file, got)
			}
		})
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 6, "abc…!!"},
		{"诊断诊断诊断", 5, "诊断…!!"},
		{"ab &amp; cd", 8, "ab …!!"}, // never half an entity
		{"x\n```\ncode code code\n```", 12, "x\n…!!"},
		{"```\ncode code code code\n```", 18, "```\ncode co\n```…!!"},
	} {
		got := clip(tc.in, tc.n, "…!!")
		if runes(got) > tc.n {
			t.Errorf("clip(%q, %d) = %q: %d characters", tc.in, tc.n, got, runes(got))
		}
		if strings.Count(got, "```")%2 != 0 {
			t.Errorf("clip(%q, %d) = %q leaves a code block open", tc.in, tc.n, got)
		}
		if got != tc.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// Slack sends back what people type with its own markup; the bot must see the text.
func TestPlainText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<@U0BOT> web-01 is 502ing", "web-01 is 502ing"},
		{"<@U0BOT|badgateway> help", "help"},
		{"hey <@U0BOT>, check <http://web-01.example.com|web-01.example.com>", "hey , check web-01.example.com"},
		{`upstream: "<http://127.0.0.1:8080/>", host: "<http://shop.example.com|shop.example.com>"`, `upstream: "http://127.0.0.1:8080/", host: "shop.example.com"`},
		{"```a &lt;b&gt; &amp;amp; c```", "a <b> &amp; c"},
		{"ask <@U0OTHER> in <#C0OPS|ops> <!here>", "ask <@U0OTHER> in <#C0OPS|ops> <!here>"},
	} {
		if got := plainText(tc.in, "U0BOT"); got != tc.want {
			t.Errorf("plainText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := plainText("<@U0WHO> localhost down", ""); got != "localhost down" {
		t.Errorf("before auth.test, a leading mention is the bot's: got %q", got)
	}
}

// A slash command's text reaches the core as a /502 command, except help and hosts.
func TestSlashOrigin(t *testing.T) {
	a := &Adapter{}
	for _, tc := range []struct{ in, want string }{
		{"web-01 --since 1h", "/502 web-01 --since 1h"},
		{"", ""},
		{"help", "help"},
		{"hosts", "hosts"},
		{"&lt;web&gt;", "/502 <web>"},
	} {
		if got := a.slashOrigin(slackCommand(tc.in)).text; got != tc.want {
			t.Errorf("slash %q → %q, want %q", tc.in, got, tc.want)
		}
	}
}

func slackCommand(text string) slack.SlashCommand {
	return slack.SlashCommand{Command: "/502", Text: text, UserID: okUser, ChannelID: channelID}
}

// A partial diagnosis (run without root) says so right under the header.
func TestRenderNotesUnderHeader(t *testing.T) {
	d := huge("web-01")
	d.Notes = []string{"Ran as deploy, not root: causes can be missed."}
	m := asSent(t, renderReply(bot.Reply{Kind: bot.KindDiagnosis, Lang: "en", Diagnoses: []knowledge.Diagnosis{d}}, renderOpts{}))
	if len(m.blocks) < 2 || textOf(m.blocks[1]) != "⚠ Ran as deploy, not root: causes can be missed." {
		t.Fatalf("second block %q, want the note", textOf(m.blocks[1]))
	}
}
