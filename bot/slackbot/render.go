package slackbot

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/knowledge"
)

// Slack's limits for a message (slack-go enforces none of them, and Slack
// refuses the whole message with invalid_blocks when one is exceeded).
const (
	maxBlocks       = 50
	maxSectionText  = 3000
	maxHeaderText   = 150
	maxContextElems = 10
	maxContextText  = 2000 // kept below the section limit: context text is small print
	maxFallbackText = 4000 // Slack truncates past 40,000; 4,000 is what it recommends
	maxButtonValue  = 2000
	maxEvidenceLine = 600 // one long line must not push every other line out of the proof
	maxFixSections  = 3
	// Diagnoses of more hosts than this are shown in short form, so a reply
	// for @web still fits in 50 blocks.
	compactAfter = 3
)

// rerunAction is the action_id of the Re-run button; its value is the request text.
const rerunAction = "rerun"

// words are the labels of a reply, per language (the same texts as knowledge.RenderText).
type words struct {
	colon, header, why, proof, fix, confirm, baota, others, explainedBy, failedSteps, seen string
	noEvidence, noEvidenceHint, hostNoEvidence, hostHint                                   string
	confidence, truncated, moreLines, moreHosts, moreOthers, footer                        string
	diagnosing, requestedBy, rerun, working, stopped, timedOut, busy, shutdown, oops       string
}

var texts = map[string]words{
	"en": {
		colon:          ": ",
		header:         "502 diagnosis for %s",
		why:            "Why",
		proof:          "Proof",
		fix:            "Fix",
		confirm:        "Confirm",
		baota:          "BaoTa/aaPanel",
		others:         "Other candidates",
		explainedBy:    "explained by %s",
		failedSteps:    "Steps that failed",
		seen:           "last seen %s",
		noEvidence:     "No 502/504 evidence found (%d lines read).",
		noEvidenceHint: "Paste the nginx error.log lines around the failure (and the php-fpm log or `dmesg` if you have them), or run `/502 HOST` to look at the host itself.",
		hostNoEvidence: "No 502/504 evidence on %s: the logs of the window hold no upstream errors, and every upstream and socket checked is up.",
		hostHint:       "If users still see errors, widen the window (--since 2h), narrow to the site (--site NAME), or check the load balancer in front of nginx.",
		confidence:     "confidence",
		truncated:      "…(truncated)",
		moreLines:      "…(truncated: %d more lines)",
		moreHosts:      "…(truncated: %d more hosts; run /502 HOST for each)",
		moreOthers:     "…and %d more",
		footer:         "took %s · %d steps · %d log lines read",
		diagnosing:     "Diagnosing",
		requestedBy:    "asked by",
		rerun:          "Re-run",
		working:        "Working on",
		stopped:        "badgateway stopped before this diagnosis finished; run it again.",
		timedOut:       "The diagnosis ran out of time (%s); what it found so far is above.",
		busy:           "Too many diagnoses are running; try again in a minute.",
		shutdown:       "badgateway is shutting down; try again in a minute.",
		oops:           "Something went wrong inside badgateway; the error is in its log.",
	},
	"zh": {
		colon:          "：",
		header:         "%s 的 502 诊断",
		why:            "原因",
		proof:          "证据",
		fix:            "修复",
		confirm:        "确认方法",
		baota:          "宝塔面板",
		others:         "其他可能原因",
		explainedBy:    "由 %s 导致",
		failedSteps:    "失败的步骤",
		seen:           "最近一次 %s",
		noEvidence:     "没有找到 502/504 的证据（读取了 %d 行）。",
		noEvidenceHint: "请贴出出错时间附近的 nginx error.log（如有，再加上 php-fpm 日志或 `dmesg` 输出），或用 `/502 主机名` 直接检查主机。",
		hostNoEvidence: "%s 上没有 502/504 的证据：时间窗口内的日志没有上游错误，检查过的上游和套接字都正常。",
		hostHint:       "如果用户仍然看到错误，请扩大时间窗口（--since 2h）、限定站点（--site 站点名），或检查 nginx 前面的负载均衡。",
		confidence:     "置信度",
		truncated:      "…（已截断）",
		moreLines:      "…（已截断：还有 %d 行）",
		moreHosts:      "…（已截断：还有 %d 台主机，请逐台运行 /502 主机名）",
		moreOthers:     "…还有 %d 个",
		footer:         "用时 %s · %d 个步骤 · 读取 %d 行日志",
		diagnosing:     "正在诊断",
		requestedBy:    "发起人",
		rerun:          "重新诊断",
		working:        "正在处理",
		stopped:        "badgateway 在诊断完成前停止了，请重新运行。",
		timedOut:       "诊断超时（%s），以上是目前的发现。",
		busy:           "正在运行的诊断太多，请一分钟后再试。",
		shutdown:       "badgateway 正在停止，请一分钟后再试。",
		oops:           "badgateway 内部出错，详情见其日志。",
	},
}

func wordsFor(lang string) words {
	if w, ok := texts[lang]; ok {
		return w
	}
	return texts["en"]
}

// message is one Slack message: Block Kit plus the fallback text that
// notifications and old clients show.
type message struct {
	Text   string
	Blocks []slack.Block
}

func (m message) options() []slack.MsgOption {
	// The text is escaped by esc already; slack-go's escaping would do it twice.
	return []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...)}
}

// renderOpts carries what a reply's rendering needs beyond the reply.
type renderOpts struct {
	rerun string // request text for the Re-run button; "" for none
	note  string // a line added at the end (timeouts, shutdown)
}

// renderReply turns a bot reply into a message within Slack's limits.
func renderReply(r bot.Reply, o renderOpts) message {
	w := wordsFor(r.Lang)
	var m message
	switch r.Kind {
	case bot.KindDiagnosis:
		m = renderDiagnoses(r.Diagnoses, w, o.rerun)
	case bot.KindHelp:
		// Help is a table of commands: a code block keeps its columns.
		m = message{Text: clip(esc(r.Text), maxFallbackText, w.truncated),
			Blocks: []slack.Block{section(codeBlock("", strings.Split(strings.TrimRight(r.Text, "\n"), "\n"), w))}}
	case bot.KindError:
		t := "⚠️ " + esc(strings.TrimSpace(r.Text))
		m = message{Text: clip(t, maxFallbackText, w.truncated), Blocks: []slack.Block{section(clip(t, maxSectionText, w.truncated))}}
	default:
		m = renderPlain(r.Text, w)
	}
	if o.note != "" && len(m.Blocks) < maxBlocks {
		m.Blocks = append(m.Blocks, contextBlock([]string{"⚠️ " + esc(o.note)}, w))
	}
	return m
}

// renderPlain packs paragraphs of plain text into as few sections as fit,
// ending with a mark when they do not all fit.
func renderPlain(text string, w words) message {
	text = strings.TrimSpace(text)
	m := message{Text: clip(esc(text), maxFallbackText, w.truncated)}
	var cur string
	flush := func() {
		if cur != "" {
			m.Blocks = append(m.Blocks, section(cur))
			cur = ""
		}
	}
	truncated := false
	for _, p := range strings.Split(text, "\n\n") {
		p = esc(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if cur != "" && runes(cur)+2+runes(p) > maxSectionText {
			flush()
		}
		// Room for this section, the mark and a note.
		if len(m.Blocks) >= maxBlocks-2 {
			truncated = true
			break
		}
		if cur != "" {
			cur += "\n\n"
		}
		cur += p
		if runes(cur) > maxSectionText {
			cur = clip(cur, maxSectionText, w.truncated)
			flush()
		}
	}
	flush()
	if len(m.Blocks) == 0 {
		m.Blocks = []slack.Block{section("…")}
	}
	if truncated {
		m.Blocks = append(m.Blocks, contextBlock([]string{w.truncated}, w))
	}
	return m
}

// renderDiagnoses renders one diagnosis per host, most blocks for the first
// hosts, and says how many hosts did not fit.
func renderDiagnoses(ds []knowledge.Diagnosis, w words, rerun string) message {
	compact := len(ds) > compactAfter
	var fallback []string
	var out []slack.Block
	// Room for the truncation mark, the note and the button.
	budget := maxBlocks - 3
	shown := 0
	for i, d := range ds {
		var sb strings.Builder
		_ = knowledge.RenderText(&sb, d)
		fallback = append(fallback, sb.String())
		bl := diagnosisBlocks(d, w, compact)
		if i > 0 {
			bl = append([]slack.Block{slack.NewDividerBlock()}, bl...)
		}
		if len(out)+len(bl) > budget {
			break
		}
		out = append(out, bl...)
		shown++
	}
	if rest := len(ds) - shown; rest > 0 {
		var names []string
		for _, d := range ds[shown:] {
			names = append(names, esc(d.String()))
		}
		out = append(out, contextBlock([]string{fmt.Sprintf(w.moreHosts, rest), strings.Join(names, "; ")}, w))
	}
	if rerun != "" && runes(rerun) <= maxButtonValue && hasHost(ds) {
		out = append(out, slack.NewActionBlock("", slack.NewButtonBlockElement(rerunAction, rerun,
			slack.NewTextBlockObject(slack.PlainTextType, "🔁 "+w.rerun, true, false))))
	}
	return message{Text: clip(esc(strings.Join(fallback, "\n\n")), maxFallbackText, w.truncated), Blocks: out}
}

func hasHost(ds []knowledge.Diagnosis) bool {
	for _, d := range ds {
		if d.Target != "-" && d.Target != "" {
			return true
		}
	}
	return false
}

// diagnosisBlocks renders one host: the top cause first (id, status,
// confidence), its proof, the panel steps on a panel host, the fix, then
// the other candidates in small print. At most 13 blocks, 6 when compact.
func diagnosisBlocks(d knowledge.Diagnosis, w words, compact bool) []slack.Block {
	head := fmt.Sprintf(w.header, knowledge.DisplayTarget(d))
	if d.Layout != "" && d.Layout != "unknown" {
		head += " (" + d.Layout + ")"
	}
	out := []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, clip(head, maxHeaderText, "…"), true, false))}
	if d.Error != "" {
		out = append(out, section(clip("✗ "+esc(d.Error), maxSectionText, w.truncated)))
	}
	if len(d.Notes) > 0 {
		out = append(out, section(clip("⚠ "+esc(strings.Join(d.Notes, "\n⚠ ")), maxSectionText, w.truncated)))
	}
	if len(d.Causes) == 0 {
		if d.Verdict == knowledge.VerdictNoEvidence {
			var t string
			if d.Target != "-" && d.Target != "" {
				t = fmt.Sprintf(w.hostNoEvidence, d.Target) + "\n" + w.hostHint
			} else {
				t = fmt.Sprintf(w.noEvidence, d.Stats.Lines) + "\n" + w.noEvidenceHint
			}
			out = append(out, section(clip(esc(t), maxSectionText, w.truncated)))
		}
	} else {
		top := d.Causes[0]
		t := fmt.Sprintf("*▶ %s*\n`%s` · HTTP %d · %.0f%% %s", esc(top.Title), esc(top.ID), top.Status, top.Confidence*100, w.confidence)
		if s := strings.TrimSpace(top.Summary); s != "" && !compact {
			t += "\n*" + w.why + "*" + w.colon + esc(s)
		}
		out = append(out, section(clip(t, maxSectionText, w.truncated)))
		var lines []string
		for _, e := range top.Evidence {
			meta := fmt.Sprintf("×%d %s", e.Count, e.Source)
			if e.LastSeen != "" {
				meta += " (" + fmt.Sprintf(w.seen, strings.Replace(e.LastSeen, "T", " ", 1)) + ")"
			}
			lines = append(lines, meta, "  "+clip(strings.ReplaceAll(e.Text, "\n", " "), maxEvidenceLine, "…"))
		}
		if len(lines) > 0 {
			out = append(out, section(codeBlock("*"+w.proof+"*", lines, w)))
		}
		if !compact {
			// On a panel host the panel is where the engineer will act: its steps come first.
			if d.Layout == "baota" && strings.TrimSpace(top.BaoTa) != "" {
				out = append(out, section(clip("*"+w.baota+"*\n"+esc(knowledge.PanelText(top.BaoTa)), maxSectionText, w.truncated)))
			}
			out = append(out, fixSections(top.Fixes, w)...)
			if c := strings.TrimSpace(top.Confirm); c != "" {
				out = append(out, section(clip("*"+w.confirm+"*\n"+esc(c), maxSectionText, w.truncated)))
			}
		}
		if len(d.Causes) > 1 {
			els := []string{"*" + w.others + "*"}
			limit := maxContextElems - 2
			if compact {
				limit = 2
			}
			for i, f := range d.Causes[1:] {
				if i == limit {
					els = append(els, fmt.Sprintf(w.moreOthers, len(d.Causes)-1-i))
					break
				}
				e := fmt.Sprintf("• %s `%s` %.0f%%", esc(f.Title), esc(f.ID), f.Confidence*100)
				if f.ExplainedBy != "" {
					e += " — " + fmt.Sprintf(w.explainedBy, "`"+esc(f.ExplainedBy)+"`")
				}
				els = append(els, e)
			}
			out = append(out, contextBlock(els, w))
		}
	}
	var failed []string
	for _, s := range d.Steps {
		if s.Error != "" {
			failed = append(failed, esc(s.ID+": "+s.Error))
		}
	}
	if len(failed) > 0 {
		out = append(out, contextBlock([]string{"*" + w.failedSteps + "*", strings.Join(failed, "\n")}, w))
	}
	if !compact && (len(d.Steps) > 0 || d.Stats.Lines > 0) {
		took := (time.Duration(d.DurationMS) * time.Millisecond).Round(100 * time.Millisecond).String()
		out = append(out, contextBlock([]string{fmt.Sprintf(w.footer, took, len(d.Steps), d.Stats.Lines)}, w))
	}
	return out
}

// fixSections numbers the fixes; a fix's commands and config go in a code block.
func fixSections(fixes []string, w words) []slack.Block {
	if len(fixes) == 0 {
		return nil
	}
	var items []string
	for i, fx := range fixes {
		text, code, _ := strings.Cut(strings.TrimSpace(fx), "\n")
		item := fmt.Sprintf("%d. %s", i+1, esc(text))
		if code = strings.TrimRight(code, "\n"); code != "" {
			item += "\n" + fence(esc(code))
		}
		items = append(items, item)
	}
	var secs []string
	cur := "*" + w.fix + "*"
	for _, item := range items {
		if runes(cur)+1+runes(item) > maxSectionText {
			secs = append(secs, cur)
			cur = clip(item, maxSectionText, w.truncated)
			continue
		}
		cur += "\n" + item
	}
	secs = append(secs, cur)
	if len(secs) > maxFixSections {
		// Out of room: end on a visible mark rather than drop fixes silently.
		secs = secs[:maxFixSections]
		last := secs[len(secs)-1]
		if runes(last)+1+runes(w.truncated) <= maxSectionText {
			last += "\n" + w.truncated
		} else {
			last = clip(last, maxSectionText-1, w.truncated)
		}
		secs[len(secs)-1] = last
	}
	out := make([]slack.Block, len(secs))
	for i, t := range secs {
		out[i] = section(t)
	}
	return out
}

// codeBlock puts lines (unescaped) in a code block under a title, whole lines
// only, ending with a mark saying how many lines did not fit.
func codeBlock(title string, lines []string, w words) string {
	head := title
	if head != "" {
		head += "\n"
	}
	head += "```\n"
	const tail = "\n```"
	var body []string
	size := runes(head) + runes(tail)
	for i, l := range lines {
		l = strings.ReplaceAll(esc(l), "```", "`\u200b``")
		markRoom := runes(fmt.Sprintf(w.moreLines, len(lines)-i)) + 1
		if size+runes(l)+1+markRoom > maxSectionText {
			if len(body) == 0 {
				// A single line longer than the block: show its start.
				body = append(body, clip(l, maxSectionText-size-markRoom-1, "…"))
				i++
			}
			if i < len(lines) {
				body = append(body, fmt.Sprintf(w.moreLines, len(lines)-i))
			}
			return head + strings.Join(body, "\n") + tail
		}
		body = append(body, l)
		size += runes(l) + 1
	}
	return head + strings.Join(body, "\n") + tail
}

// renderProgress is the message edited while a diagnosis runs.
func renderProgress(text, userID string, lines []string, took time.Duration, lang string) message {
	w := wordsFor(lang)
	head := fmt.Sprintf("🔎 *%s* `%s`…", w.diagnosing, esc(clipRunes(oneLine(text), 200)))
	if userID != "" {
		head += fmt.Sprintf(" (%s <@%s>)", w.requestedBy, userID)
	}
	m := message{Text: fmt.Sprintf("%s %s…", w.diagnosing, esc(clipRunes(oneLine(text), 200))), Blocks: []slack.Block{section(head)}}
	status := []string{fmt.Sprintf("⏱ %ds", int(took.Seconds()))}
	if len(lines) > 0 {
		status = append(status, esc(strings.Join(lines, "\n")))
	}
	m.Blocks = append(m.Blocks, contextBlock(status, w))
	return m
}

func section(mrkdwn string) *slack.SectionBlock {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, mrkdwn, false, false), nil, nil)
}

// contextBlock makes small print of escaped mrkdwn elements, within the
// context block's limits.
func contextBlock(els []string, w words) *slack.ContextBlock {
	if len(els) > maxContextElems {
		els = append(els[:maxContextElems-1], w.truncated)
	}
	var mixed []slack.MixedElement
	for _, e := range els {
		if strings.TrimSpace(e) == "" {
			continue
		}
		mixed = append(mixed, slack.NewTextBlockObject(slack.MarkdownType, clip(e, maxContextText, w.truncated), false, false))
	}
	if len(mixed) == 0 {
		mixed = append(mixed, slack.NewTextBlockObject(slack.MarkdownType, "…", false, false))
	}
	return slack.NewContextBlock("", mixed...)
}

// esc escapes the three characters Slack treats as markup: without it a log
// line holding <!channel> would notify everyone in the channel.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// fence wraps escaped text in a code block that its own backticks cannot close.
func fence(s string) string {
	return "```\n" + strings.ReplaceAll(s, "```", "`\u200b``") + "\n```"
}

// clip shortens escaped mrkdwn to n characters with a visible mark, without
// cutting a character, an &entity; or leaving a code block open.
func clip(s string, n int, mark string) string {
	if runes(s) <= n {
		return s
	}
	keep := n - runes(mark)
	cut := trimEntity(clipRunes(s, keep))
	if strings.Count(cut, "```")%2 == 1 {
		cut = strings.TrimRight(trimEntity(clipRunes(s, keep-4)), "`")
		if strings.Count(cut, "```")%2 == 1 {
			cut += "\n```"
		}
	}
	return cut + mark
}

// clipRunes returns the first n characters of s.
func clipRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

func trimEntity(s string) string {
	if i := strings.LastIndexByte(s, '&'); i >= 0 && !strings.Contains(s[i:], ";") {
		return s[:i]
	}
	return s
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
