package discordbot

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/knowledge"
)

var moreEvidence = regexp.MustCompile(`… \d+ more evidence lines not shown|… 另有 \d+ 行证据未显示`)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// valid checks messages with the same independent rules the fake Discord applies.
func valid(t *testing.T, what string, msgs []outMessage) {
	t.Helper()
	if len(msgs) == 0 || len(msgs) > maxMessages {
		t.Fatalf("%s: %d messages", what, len(msgs))
	}
	for i, m := range msgs {
		data, _ := json.Marshal(map[string]any{"content": m.Content, "embeds": m.Embeds, "allowed_mentions": noMentions()})
		var w wireMsg
		if err := json.Unmarshal(data, &w); err != nil {
			t.Fatal(err)
		}
		if p := checkMessage(w, true); p != "" {
			t.Errorf("%s: message %d would be refused: %s", what, i, p)
		}
		if !utf8.ValidString(w.text()) {
			t.Errorf("%s: message %d cuts a character in half", what, i)
		}
		for _, e := range m.Embeds {
			texts := []string{e.Description}
			for _, f := range e.Fields {
				texts = append(texts, f.Value)
			}
			for _, s := range texts {
				if strings.Count(s, "```")%2 != 0 {
					t.Errorf("%s: a code block is left open:\n%s", what, s)
				}
			}
		}
	}
}

// huge is a diagnosis far past every limit: 300 distinct evidence lines
// (with Chinese and emoji, which count double in UTF-16), 40 causes with long
// titles, 30 long fixes, long panel and confirm texts and many failed steps.
func huge(lang string) knowledge.Diagnosis {
	var ev []knowledge.Evidence
	for i := range 300 {
		ev = append(ev, knowledge.Evidence{Source: "nginx_error_log:/var/log/nginx/error.log", Count: int64(300 - i),
			Text: fmt.Sprintf("2026/11/25 10:%02d:%02d [error] 812#812: *%d connect() to unix:/run/php/php8.2-fpm.sock failed (111: Connection refused) 连接被拒绝 🔥 ```%s", i/60, i%60, i, strings.Repeat("x", 600))})
	}
	var causes []knowledge.Finding
	for i := range 40 {
		causes = append(causes, knowledge.Finding{
			ID: fmt.Sprintf("cause_%02d", i), Title: strings.Repeat("php-fpm is not running 🔥 ", 20), Status: 502, Confidence: 0.9 - float64(i)/100,
			Summary: strings.Repeat("Nothing answers on the socket, so nginx gives up. ", 60), ExplainedBy: "cause_00",
		})
	}
	top := &causes[0]
	top.Evidence = ev
	top.ExplainedBy = ""
	for i := range 30 {
		top.Fixes = append(top.Fixes, fmt.Sprintf("Restart php-fpm, step %d %s\n$ systemctl restart php8.2-fpm\n%s", i, strings.Repeat("and check the pool ", 40), strings.Repeat("pm.max_children = 50\n", 120)))
	}
	top.Confirm = strings.Repeat("systemctl status php8.2-fpm ", 300)
	top.BaoTa = "宝塔：" + strings.Repeat("软件商店 → PHP-8.2 → 设置 → 重启。", 200)
	var steps []knowledge.StepReport
	for i := range 60 {
		steps = append(steps, knowledge.StepReport{ID: fmt.Sprintf("step_%d", i), Error: strings.Repeat("permission denied ", 30)})
	}
	return knowledge.Diagnosis{Target: "web-01", Layout: "baota", Verdict: knowledge.VerdictCauseFound, Causes: causes, Steps: steps,
		Error: strings.Repeat("partial ", 1000), Lang: lang, DurationMS: 840}
}

func TestHugeRepliesRespectDiscordLimits(t *testing.T) {
	for _, lang := range []string{"en", "zh"} {
		d := huge(lang)
		msgs := render(bot.Reply{Kind: bot.KindDiagnosis, Lang: lang, Diagnoses: []knowledge.Diagnosis{d}})
		valid(t, "one huge diagnosis ("+lang+")", msgs)
		if len(msgs) != 1 || len(msgs[0].Embeds) != 1 {
			t.Fatalf("%s: one host is one embed, got %d messages", lang, len(msgs))
		}
		e := msgs[0].Embeds[0]
		// Truncation is visible: the title ends in "…", the proof says how many lines it left out.
		if !strings.HasSuffix(e.Title, "…") || !moreEvidence.MatchString(e.Description) {
			t.Errorf("%s: truncation is not visible:\n%s\n%s", lang, e.Title, e.Description)
		}
		if !strings.Contains(e.Description, "×300 2026/11/25 10:00:00") {
			t.Errorf("%s: the most frequent evidence line is not first:\n%s", lang, e.Description)
		}
		if strings.Contains(e.Description, "🔥 ```") {
			t.Errorf("%s: quoted backticks can close the proof block", lang)
		}
		// The panel comes first on a BaoTa host.
		if e.Fields[0].Name != textsFor(lang).baota {
			t.Errorf("%s: first field %q", lang, e.Fields[0].Name)
		}
	}
	for _, n := range []int{2, 7, 28, 29, 60, 300} {
		ds := make([]knowledge.Diagnosis, n)
		for i := range ds {
			ds[i] = huge("en")
			ds[i].Target = fmt.Sprintf("web-%03d", i+1)
		}
		msgs := render(bot.Reply{Kind: bot.KindDiagnosis, Lang: "en", Diagnoses: ds})
		valid(t, fmt.Sprintf("%d huge diagnoses", n), msgs)
		var all strings.Builder
		for _, m := range msgs {
			all.WriteString(m.Content)
			for _, e := range m.Embeds {
				if e.Author != nil {
					all.WriteString(e.Author.Name)
				}
				all.WriteString(e.Description)
			}
		}
		// Every host is named, or the reply says how many it left out.
		missing := 0
		for i := range ds {
			if !strings.Contains(all.String(), ds[i].Target) {
				missing++
			}
		}
		if missing > 0 && !strings.Contains(all.String(), fmt.Sprintf("… %d more not shown", missing)) {
			t.Errorf("%d hosts: %d are not named and no note says so", n, missing)
		}
	}
}

func TestTextRepliesRespectDiscordLimits(t *testing.T) {
	long := strings.Repeat("A line of a catalog answer that goes on for a while, 一行中文说明。\n", 400)
	cases := []bot.Reply{
		{Kind: bot.KindKnowledge, Lang: "en", Text: "upstream sent too big header  [upstream_header_too_big, 502]\n\n" + long},
		{Kind: bot.KindKnowledge, Lang: "zh", Text: strings.Repeat("没有换行的超长中文文本", 2000)},
		{Kind: bot.KindHelp, Lang: "en", Text: long},
		{Kind: bot.KindError, Lang: "en", Text: strings.Repeat("unknown host ", 500)},
		{Kind: bot.KindKnowledge, Lang: "en", Text: ""},
	}
	for i, r := range cases {
		msgs := render(r)
		valid(t, fmt.Sprintf("reply %d (%s)", i, r.Kind), msgs)
	}
	msgs := render(cases[0])
	if e := msgs[0].Embeds[0]; e.Title != "upstream sent too big header" || e.Footer.Text != "upstream_header_too_big · 502" {
		t.Errorf("catalog answer head: %q / %+v", e.Title, e.Footer)
	}
	if got := render(bot.Reply{Kind: bot.KindHelp, Text: "help\n  /502 web-01"}); got[0].Content != "```\nhelp\n  /502 web-01\n```" {
		t.Errorf("help: %q", got[0].Content)
	}
}

func TestClipNeverExceedsAndNeverSplitsCharacters(t *testing.T) {
	inputs := []string{"", "short", strings.Repeat("é", 50), strings.Repeat("🔥", 50), strings.Repeat("中", 50),
		"text ```\ncode line\ncode line\n``` after", "```\n" + strings.Repeat("🔥code\n", 30) + "```"}
	for _, s := range inputs {
		for n := 6; n <= 80; n++ {
			for name, f := range map[string]func(string, int) string{"clip": clip, "clipMD": clipMD} {
				got := f(s, n)
				if textLen(got) > n || !utf8.ValidString(got) {
					t.Fatalf("%s(%q, %d) = %q (%d)", name, s, n, got, textLen(got))
				}
				if textLen(s) > n && !strings.Contains(got, "…") {
					t.Fatalf("%s(%q, %d) = %q: the cut is not visible", name, s, n, got)
				}
				if name == "clipMD" && strings.Count(s, "```")%2 == 0 && strings.Count(got, "```")%2 != 0 {
					t.Fatalf("clipMD(%q, %d) = %q leaves a code block open", s, n, got)
				}
			}
		}
	}
	if textLen("🔥a") != 3 {
		t.Error("characters outside the BMP count as two, as in UTF-16")
	}
}

func TestColourByVerdict(t *testing.T) {
	cases := []struct {
		d    knowledge.Diagnosis
		want int
	}{
		{knowledge.Diagnosis{Target: "web-01", Verdict: knowledge.VerdictCauseFound, Causes: []knowledge.Finding{{ID: "upstream_down", Title: "down"}}}, colourCause},
		{knowledge.Diagnosis{Target: "web-01", Verdict: knowledge.VerdictNoEvidence}, colourNoEvidence},
		{knowledge.Diagnosis{Target: "web-01", Verdict: knowledge.VerdictUnreachable, Error: "connection refused"}, colourUnreachable},
	}
	for _, tc := range cases {
		if e := diagnosisEmbed(tc.d, maxEmbedsTotal); e.Color != tc.want {
			t.Errorf("%s: colour %#x, want %#x", tc.d.Verdict, e.Color, tc.want)
		}
	}
}

// The rendering of a typical diagnosis, as JSON, against a golden file
// (go test -run Golden -update rewrites it).
func TestRenderGolden(t *testing.T) {
	d := knowledge.Diagnosis{
		Target: "web-01", Layout: "debian", Verdict: knowledge.VerdictCauseFound, Lang: "en", DurationMS: 840,
		Causes: []knowledge.Finding{
			{ID: "oom_killed", Title: "The kernel killed php-fpm8.2 for memory", Status: 502, Confidence: 0.93,
				Summary: "The machine ran out of memory and the kernel killed php-fpm; nginx found nothing listening.",
				Evidence: []knowledge.Evidence{
					{Source: "kernel", Text: oomLine, Count: 1},
					{Source: "nginx_error_log:/var/log/nginx/error.log", Text: refusedLine, Count: 12},
				},
				Fixes:   []string{"Start php-fpm again:\n$ systemctl restart php8.2-fpm", "Lower pm.max_children so the pool fits in memory."},
				Confirm: "`dmesg -T | grep -i oom` shows the kill.",
				BaoTa:   "BaoTa: Software Store → PHP-8.2 → Restart."},
			{ID: "upstream_down", Title: "Nothing answers on unix:/run/php/php8.2-fpm.sock", Status: 502, Confidence: 0.61, ExplainedBy: "oom_killed"},
		},
		Steps: []knowledge.StepReport{{ID: "fpm_config", Error: "permission denied reading /etc/php/8.2/fpm/pool.d"}},
	}
	got, err := json.MarshalIndent(render(bot.Reply{Kind: bot.KindDiagnosis, Lang: "en", Diagnoses: []knowledge.Diagnosis{d}}), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "diagnosis.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("rendering changed; if intended, run go test -run Golden -update\n got: %s", got)
	}
}

// A partial diagnosis (run without root) says so, whatever the verdict.
func TestNotesShown(t *testing.T) {
	for _, d := range []knowledge.Diagnosis{
		{Target: "web-01", Verdict: knowledge.VerdictCauseFound, Causes: []knowledge.Finding{{ID: "upstream_down", Title: "down"}}},
		{Target: "web-01", Verdict: knowledge.VerdictNoEvidence},
	} {
		d.Notes = []string{"Ran as deploy, not root."}
		e := diagnosisEmbed(d, maxEmbedsTotal)
		found := false
		for _, f := range e.Fields {
			found = found || (f.Name == "⚠" && f.Value == "Ran as deploy, not root.")
		}
		if !found {
			t.Errorf("%s: no note field in %+v", d.Verdict, e.Fields)
		}
	}
}
