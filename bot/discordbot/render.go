package discordbot

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/knowledge"
)

// Discord's message limits. discordgo checks none of them and Discord refuses
// the whole message when one is exceeded, so every reply is fitted here.
const (
	maxContent     = 2000
	maxEmbeds      = 10
	maxTitle       = 256
	maxDescription = 4096
	maxFields      = 25
	maxFieldName   = 256
	maxFieldValue  = 1024
	maxFooter      = 2048
	maxAuthor      = 256
	maxEmbedsTotal = 6000

	// maxMessages caps one reply: past it, hosts are summarised rather than shown.
	maxMessages = 5
	// minEmbedBudget keeps a host's embed readable when many hosts share a message.
	minEmbedBudget = 1000
	// detailedHosts is how many hosts get their own embed; the rest share a
	// summary embed, which must still fit in the last message.
	detailedHosts = maxMessages*(maxEmbedsTotal/minEmbedBudget) - 3
)

// Embed colours by verdict, so the answer reads at a glance.
const (
	colourCause       = 0xE74C3C // red: a cause was found
	colourNoEvidence  = 0x2ECC71 // green: nothing points at a 502
	colourUnreachable = 0xF39C12 // orange: the host could not be examined
	colourInfo        = 0x3498DB // blue: knowledge and help
)

// outMessage is one Discord message, already within the limits.
type outMessage struct {
	Content string
	Embeds  []*discordgo.MessageEmbed
}

// texts are the adapter's own words; the diagnosis texts come from the core.
type phrases struct {
	header, noEvidenceHost, hostHint, noEvidencePaste, pasteHint, unreachable string
	proof, fix, confirm, baota, others, explainedBy, steps, errorLabel        string
	moreEvidence, moreFixes, moreLines, moreHosts, summary                    string
	diagnosing, diagnosingMany, working, queued, stopped, busy, privateFailed string
	badHost, badOption, unknownCommand, noComponents                          string
}

var phrasebook = map[string]phrases{
	"en": {
		header:          "502 diagnosis for %s",
		noEvidenceHost:  "No 502/504 evidence on %s",
		hostHint:        "The logs of the window hold no upstream errors, and every upstream and socket checked is up.\n\nIf users still see errors, widen the window (`since: 2h`), narrow to the site (`site: NAME`), or check the load balancer in front of nginx.",
		noEvidencePaste: "No 502/504 evidence found (%d lines read)",
		pasteHint:       "Paste the nginx error.log lines around the failure (and the php-fpm log or `dmesg` if you have them), or run `/502 HOST` to look at the host itself.",
		unreachable:     "Could not examine %s",
		proof:           "Proof",
		fix:             "Fix",
		confirm:         "Confirm",
		baota:           "BaoTa/aaPanel",
		others:          "Other candidates",
		explainedBy:     "explained by `%s`",
		steps:           "Steps that failed",
		errorLabel:      "Error",
		moreEvidence:    "… %d more evidence lines not shown",
		moreFixes:       "… %d more fixes not shown",
		moreLines:       "… %d more not shown",
		moreHosts:       "… %d more hosts not shown; ask for them one at a time",
		summary:         "Other hosts",
		diagnosing:      "🔎 Diagnosing %s…",
		diagnosingMany:  "🔎 Diagnosing…",
		working:         "🔎 Working on it…",
		queued:          "⏳ Waiting for a free slot: %d diagnoses are running…",
		stopped:         "⏹ This was stopped before it finished (badgateway is restarting or busy); ask again in a minute.",
		busy:            "⏹ badgateway is restarting; ask again in a minute.",
		privateFailed:   "I could not send you a direct message; use `/502` for a private answer.",
		badHost:         "`%s` takes one host name, glob (web-*) or @label",
		badOption:       "`%s` takes one value without spaces",
		unknownCommand:  "I only know `/502`.",
		noComponents:    "There is nothing to do for this button.",
	},
	"zh": {
		header:          "%s 的 502 诊断",
		noEvidenceHost:  "%s 上没有 502/504 的证据",
		hostHint:        "时间窗口内的日志没有上游错误，检查过的上游和套接字都正常。\n\n如果用户仍然看到错误，请扩大时间窗口（`since: 2h`）、限定站点（`site: 站点名`），或检查 nginx 前面的负载均衡。",
		noEvidencePaste: "没有找到 502/504 的证据（读取了 %d 行）",
		pasteHint:       "请贴出出错时间附近的 nginx error.log（如有，再加上 php-fpm 日志或 `dmesg` 输出），或运行 `/502 主机名` 直接检查主机。",
		unreachable:     "无法检查 %s",
		proof:           "证据",
		fix:             "修复",
		confirm:         "确认方法",
		baota:           "宝塔面板",
		others:          "其他可能原因",
		explainedBy:     "由 `%s` 导致",
		steps:           "失败的步骤",
		errorLabel:      "错误",
		moreEvidence:    "… 另有 %d 行证据未显示",
		moreFixes:       "… 另有 %d 条修复方法未显示",
		moreLines:       "… 另有 %d 条未显示",
		moreHosts:       "… 另有 %d 台主机未显示，请逐台询问",
		summary:         "其他主机",
		diagnosing:      "🔎 正在诊断 %s…",
		diagnosingMany:  "🔎 正在诊断…",
		working:         "🔎 正在处理…",
		queued:          "⏳ 正在排队：已有 %d 个诊断在运行…",
		stopped:         "⏹ 本次请求在完成前被中止（badgateway 正在重启或繁忙），请稍后再试。",
		busy:            "⏹ badgateway 正在重启，请稍后再试。",
		privateFailed:   "我无法给你发私信；请用 `/502` 获得只有你能看到的回答。",
		badHost:         "`%s` 只接受一个主机名、通配符（web-*）或 @标签",
		badOption:       "`%s` 只接受一个不含空格的值",
		unknownCommand:  "我只认识 `/502`。",
		noComponents:    "这个按钮没有可执行的操作。",
	},
}

func textsFor(lang string) phrases {
	if t, ok := phrasebook[lang]; ok {
		return t
	}
	return phrasebook["en"]
}

// render turns a reply into Discord messages, each within every limit.
func render(r bot.Reply) []outMessage {
	switch r.Kind {
	case bot.KindDiagnosis:
		return renderDiagnoses(r.Diagnoses, r.Lang)
	case bot.KindError:
		return []outMessage{{Content: errorContent(r.Text)}}
	case bot.KindHelp:
		return renderHelp(r.Text)
	}
	return renderKnowledge(r.Text, r.Lang)
}

func errorContent(text string) string {
	return clip("⚠️ "+strings.TrimSpace(text), maxContent)
}

// renderDiagnoses gives each host an embed; with many hosts each embed gets a
// smaller share of the 6000 characters a message may carry, so a fleet-wide
// request stays within a few messages.
func renderDiagnoses(ds []knowledge.Diagnosis, lang string) []outMessage {
	if len(ds) == 0 {
		return []outMessage{{Content: "—"}} // the core always diagnoses at least one host
	}
	shown := ds
	var rest []knowledge.Diagnosis
	if len(ds) > detailedHosts+1 {
		shown, rest = ds[:detailedHosts], ds[detailedHosts:]
	}
	budget := min(maxEmbedsTotal-50, max(minEmbedBudget, (maxEmbedsTotal-50)/len(shown)))
	embeds := make([]*discordgo.MessageEmbed, 0, len(shown)+1)
	for _, d := range shown {
		embeds = append(embeds, diagnosisEmbed(d, budget))
	}
	if len(rest) > 0 {
		embeds = append(embeds, summaryEmbed(rest, lang))
	}
	return pack("", embeds, lang)
}

// pack puts embeds into as few messages as the limits allow.
func pack(content string, embeds []*discordgo.MessageEmbed, lang string) []outMessage {
	msgs := []outMessage{{Content: clip(content, maxContent)}}
	for i, e := range embeds {
		cur := &msgs[len(msgs)-1]
		if len(cur.Embeds) == maxEmbeds || embedsLen(cur.Embeds)+embedLen(e) > maxEmbedsTotal {
			if len(msgs) == maxMessages {
				cur.Content = clip(cur.Content+"\n"+fmt.Sprintf(textsFor(lang).moreLines, len(embeds)-i), maxContent)
				break
			}
			msgs = append(msgs, outMessage{})
			cur = &msgs[len(msgs)-1]
		}
		cur.Embeds = append(cur.Embeds, e)
	}
	return msgs
}

func diagnosisEmbed(d knowledge.Diagnosis, budget int) *discordgo.MessageEmbed {
	t := textsFor(d.Lang)
	target := knowledge.DisplayTarget(d)
	head := fmt.Sprintf(t.header, target)
	if d.Layout != "" && d.Layout != "unknown" {
		head += " (" + d.Layout + ")"
	}
	e := &discordgo.MessageEmbed{Author: &discordgo.MessageEmbedAuthor{Name: head}}
	footer := []string{}
	switch {
	case d.Verdict == knowledge.VerdictUnreachable:
		e.Color = colourUnreachable
		e.Title = fmt.Sprintf(t.unreachable, target)
		e.Description = d.Error
	case len(d.Causes) == 0:
		e.Color = colourNoEvidence
		if d.Target != "-" && d.Target != "" {
			e.Title = fmt.Sprintf(t.noEvidenceHost, target)
			e.Description = t.hostHint
		} else {
			e.Title = fmt.Sprintf(t.noEvidencePaste, d.Stats.Lines)
			e.Description = t.pasteHint
		}
		if d.Error != "" {
			e.Fields = append(e.Fields, field(t.errorLabel, d.Error))
		}
	default:
		e.Color = colourCause
		top := d.Causes[0]
		e.Title = top.Title
		e.Fields = causeFields(d, t)
		footer = append(footer, fmt.Sprintf("%s · %d · %.0f%%", top.ID, top.Status, top.Confidence*100))
	}
	if len(d.Notes) > 0 {
		e.Fields = append(e.Fields, field("⚠", strings.Join(d.Notes, "\n")))
	}
	if f := failedSteps(d.Steps, t); f != "" {
		e.Fields = append(e.Fields, field(t.steps, f))
	}
	if d.DurationMS > 0 {
		footer = append(footer, fmt.Sprintf("%.1f s", float64(d.DurationMS)/1000))
	}
	if len(footer) > 0 {
		e.Footer = &discordgo.MessageEmbedFooter{Text: clip(strings.Join(footer, " · "), 200)}
	}
	// Share the budget by importance: the title, then the why and the proof,
	// then the fields in order (the fix first).
	e.Title = clip(e.Title, min(maxTitle, budget/4))
	e.Author.Name = clip(e.Author.Name, min(maxAuthor, budget/8))
	avail := budget - textLen(e.Title) - textLen(e.Author.Name)
	if e.Footer != nil {
		avail -= textLen(e.Footer.Text)
	}
	descBudget := min(maxDescription, max(100, avail*45/100))
	if len(d.Causes) > 0 {
		e.Description = proofText(d.Causes[0], t, descBudget)
	} else {
		e.Description = clipMD(e.Description, descBudget)
	}
	e.Fields = fitFields(e.Fields, avail-textLen(e.Description))
	fitEmbed(e, budget)
	return e
}

// fitFields fits fields into n characters: each first gets a few lines, the
// least important (last) are dropped if even that is too much, and what is
// left goes to the fields in order, so the first fix is shown whole.
func fitFields(fs []*discordgo.MessageEmbedField, n int) []*discordgo.MessageEmbedField {
	const floor = 200
	full := make([]string, len(fs))
	total := 0
	for i, f := range fs {
		full[i] = f.Value
		f.Name = clip(f.Name, maxFieldName)
		f.Value = clipMD(f.Value, floor)
		total += textLen(f.Name) + textLen(f.Value)
	}
	for total > n && len(fs) > 0 {
		last := fs[len(fs)-1]
		total -= textLen(last.Name) + textLen(last.Value)
		fs = fs[:len(fs)-1]
	}
	for i, f := range fs {
		extra := n - total
		if extra <= 0 {
			break
		}
		cur := textLen(f.Value)
		if want := min(maxFieldValue, textLen(full[i])); want > cur {
			f.Value = clipMD(full[i], min(want, cur+extra))
			total += textLen(f.Value) - cur
		}
	}
	return fs
}

// proofText is the top cause's why and as many proof lines as fit in n
// characters, saying how many it left out.
func proofText(top knowledge.Finding, t phrases, n int) string {
	var b strings.Builder
	b.WriteString(clip(strings.TrimSpace(top.Summary), max(100, n/3)))
	if len(top.Evidence) == 0 {
		return clipMD(b.String(), n)
	}
	b.WriteString("\n\n**" + t.proof + "**\n```\n")
	const closing = "```"
	// Room for the closing fence and the "more lines" note.
	room := n - textLen(b.String()) - len(closing) - textLen(fmt.Sprintf("\n"+t.moreEvidence, len(top.Evidence)))
	lineCap := min(500, max(120, n/2))
	shown := 0
	for _, ev := range top.Evidence {
		line := fmt.Sprintf("×%d %s\n", ev.Count, clip(oneLine(unfence(ev.Text)), lineCap))
		if textLen(line) > room {
			break
		}
		room -= textLen(line)
		b.WriteString(line)
		shown++
	}
	b.WriteString(closing)
	if more := len(top.Evidence) - shown; more > 0 {
		b.WriteString("\n" + fmt.Sprintf(t.moreEvidence, more))
	}
	return clipMD(b.String(), n)
}

func causeFields(d knowledge.Diagnosis, t phrases) []*discordgo.MessageEmbedField {
	top := d.Causes[0]
	var fs []*discordgo.MessageEmbedField
	baota := field(t.baota, knowledge.PanelText(top.BaoTa))
	// On a panel host the panel is where the engineer will act: show it first.
	panel := d.Layout == "baota" && top.BaoTa != ""
	if panel {
		fs = append(fs, baota)
	}
	const maxFixFields = 8
	for i, fx := range top.Fixes {
		name := t.fix
		if len(top.Fixes) > 1 {
			name = fmt.Sprintf("%s %d", t.fix, i+1)
		}
		if i == maxFixFields-1 && len(top.Fixes) > maxFixFields {
			fs = append(fs, field(name, fmt.Sprintf(t.moreFixes, len(top.Fixes)-i)))
			break
		}
		text, code, _ := strings.Cut(strings.TrimSpace(fx), "\n")
		if code != "" {
			text += "\n```\n" + unfence(code) + "\n```"
		}
		fs = append(fs, field(name, text))
	}
	if top.Confirm != "" {
		fs = append(fs, field(t.confirm, top.Confirm))
	}
	if top.BaoTa != "" && !panel && d.Layout == "" { // a diagnosed non-panel host has nothing to click
		fs = append(fs, baota)
	}
	if len(d.Causes) > 1 {
		var lines []string
		for _, f := range d.Causes[1:] {
			line := fmt.Sprintf("• %s · `%s` · %.0f%%", clip(oneLine(f.Title), 150), f.ID, f.Confidence*100)
			if f.ExplainedBy != "" {
				line += " — " + fmt.Sprintf(t.explainedBy, f.ExplainedBy)
			}
			lines = append(lines, line)
		}
		fs = append(fs, field(t.others, joinFitting(lines, maxFieldValue, t)))
	}
	if d.Error != "" {
		fs = append(fs, field(t.errorLabel, d.Error))
	}
	return fs
}

// summaryEmbed lists hosts beyond those shown in full, one line each.
func summaryEmbed(ds []knowledge.Diagnosis, lang string) *discordgo.MessageEmbed {
	t := textsFor(lang)
	lines := make([]string, 0, len(ds))
	for _, d := range ds {
		line := "• **" + knowledge.DisplayTarget(d) + "** " + d.Verdict
		switch {
		case len(d.Causes) > 0:
			line += fmt.Sprintf(" · `%s` %.0f%%", d.Causes[0].ID, d.Causes[0].Confidence*100)
		case d.Error != "":
			line += " · " + clip(oneLine(d.Error), 80)
		}
		lines = append(lines, clip(line, 200))
	}
	const budget = minEmbedBudget * 2
	e := &discordgo.MessageEmbed{Title: t.summary, Color: summaryColour(ds), Description: joinFitting(lines, budget-textLen(t.summary), t)}
	fitEmbed(e, budget)
	return e
}

func summaryColour(ds []knowledge.Diagnosis) int {
	c := colourNoEvidence
	for _, d := range ds {
		switch {
		case len(d.Causes) > 0:
			return colourCause
		case d.Verdict == knowledge.VerdictUnreachable:
			c = colourUnreachable
		}
	}
	return c
}

// joinFitting joins lines into at most n characters, saying how many were left out.
func joinFitting(lines []string, n int, t phrases) string {
	var b strings.Builder
	used := 0
	for i, l := range lines {
		sep := ""
		if i > 0 {
			sep = "\n"
		}
		need := used + textLen(sep+l)
		if later := len(lines) - i - 1; later > 0 {
			// Keep room for the note, should the next line not fit.
			need += textLen("\n" + fmt.Sprintf(t.moreLines, later))
		}
		if need > n {
			b.WriteString(sep + fmt.Sprintf(t.moreLines, len(lines)-i))
			break
		}
		b.WriteString(sep + l)
		used += textLen(sep + l)
	}
	return clip(b.String(), n)
}

func failedSteps(steps []knowledge.StepReport, t phrases) string {
	var lines []string
	for _, s := range steps {
		if s.Error != "" {
			lines = append(lines, clip(fmt.Sprintf("- `%s`: %s", s.ID, oneLine(s.Error)), 300))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return joinFitting(lines, maxFieldValue, t)
}

// renderHelp keeps the help's alignment in a code block.
func renderHelp(text string) []outMessage {
	text = strings.TrimRight(text, "\n")
	if block := "```\n" + unfence(text) + "\n```"; textLen(block) <= maxContent {
		return []outMessage{{Content: block}}
	}
	return renderKnowledge(text, "")
}

// causeLine is DescribeCause's first line: "Title  [id, 502]".
var causeLine = regexp.MustCompile(`^(.+?)\s+\[([a-z0-9_]+), (\d{3})\]$`)

// renderKnowledge shows a catalog answer (or any long text) in embeds,
// split at line ends; a catalog entry's first line becomes the title.
func renderKnowledge(text, lang string) []outMessage {
	text = strings.TrimSpace(text)
	first := &discordgo.MessageEmbed{Color: colourInfo}
	if head, body, _ := strings.Cut(text, "\n"); causeLine.MatchString(head) {
		m := causeLine.FindStringSubmatch(head)
		first.Title = clip(m[1], maxTitle)
		first.Footer = &discordgo.MessageEmbedFooter{Text: m[2] + " · " + m[3]}
		text = strings.TrimSpace(body)
	}
	chunks := splitLines(text, maxDescription-96)
	if len(chunks) == 0 {
		chunks = []string{"…"}
	}
	embeds := []*discordgo.MessageEmbed{first}
	first.Description = chunks[0]
	for _, c := range chunks[1:] {
		embeds = append(embeds, &discordgo.MessageEmbed{Color: colourInfo, Description: c})
	}
	for _, e := range embeds {
		fitEmbed(e, maxEmbedsTotal-50)
	}
	return pack("", embeds, lang)
}

func field(name, value string) *discordgo.MessageEmbedField {
	value = strings.TrimSpace(value)
	if value == "" {
		value = "—" // Discord refuses empty field values.
	}
	return &discordgo.MessageEmbedField{Name: name, Value: value}
}

// fitEmbed enforces every per-embed limit, then shrinks the embed to budget
// characters: the longest text is cut first (visibly, code fences kept closed),
// then fields are dropped from the end, the least important.
func fitEmbed(e *discordgo.MessageEmbed, budget int) {
	budget = min(budget, maxEmbedsTotal)
	e.Title = clip(e.Title, maxTitle)
	e.Description = clipMD(e.Description, maxDescription)
	if e.Author != nil {
		e.Author.Name = clip(e.Author.Name, maxAuthor)
	}
	if e.Footer != nil {
		e.Footer.Text = clip(e.Footer.Text, maxFooter)
	}
	if len(e.Fields) > maxFields {
		e.Fields = e.Fields[:maxFields]
	}
	for _, f := range e.Fields {
		f.Name = clip(f.Name, maxFieldName)
		f.Value = clipMD(f.Value, maxFieldValue)
	}
	for embedLen(e) > budget {
		over := embedLen(e) - budget
		longest := &e.Description
		for _, f := range e.Fields {
			if textLen(f.Value) > textLen(*longest) {
				longest = &f.Value
			}
		}
		if n := textLen(*longest); n > 200 {
			*longest = clipMD(*longest, max(200, n-over))
			continue
		}
		if len(e.Fields) > 0 {
			e.Fields = e.Fields[:len(e.Fields)-1]
			continue
		}
		// Only short texts are left: cut them all to a line.
		e.Title = clip(e.Title, 100)
		e.Description = clipMD(e.Description, 100)
		if e.Author != nil {
			e.Author.Name = clip(e.Author.Name, 100)
		}
		if e.Footer != nil {
			e.Footer.Text = clip(e.Footer.Text, 100)
		}
		break
	}
}

// embedLen counts what Discord counts towards the 6000 characters.
func embedLen(e *discordgo.MessageEmbed) int {
	n := textLen(e.Title) + textLen(e.Description)
	if e.Author != nil {
		n += textLen(e.Author.Name)
	}
	if e.Footer != nil {
		n += textLen(e.Footer.Text)
	}
	for _, f := range e.Fields {
		n += textLen(f.Name) + textLen(f.Value)
	}
	return n
}

func embedsLen(es []*discordgo.MessageEmbed) int {
	n := 0
	for _, e := range es {
		n += embedLen(e)
	}
	return n
}

// textLen counts UTF-16 code units, as Discord's clients do: never fewer than
// the characters, so a text that fits here fits there.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// clip cuts s to at most n characters, ending in "…" when it cut; never
// inside a character.
func clip(s string, n int) string {
	if textLen(s) <= n {
		return s
	}
	return cut(s, n-1) + "…"
}

// cut returns the longest prefix of s of at most n characters.
func cut(s string, n int) string {
	used := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if used+w > n {
			return s[:i]
		}
		used += w
	}
	return s
}

// clipMD is clip for markdown: a code block cut open is closed again, so the
// rest of the message does not turn into code.
func clipMD(s string, n int) string {
	if textLen(s) <= n {
		return s
	}
	const closeFence = "…\n```"
	c := strings.TrimRight(cut(s, max(0, n-textLen(closeFence))), "`")
	if strings.Count(c, "```")%2 == 1 {
		return c + closeFence
	}
	return c + "…"
}

// unfence keeps quoted text from closing the code block it is shown in.
func unfence(s string) string {
	return strings.ReplaceAll(s, "```", "`\u200b``")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// splitLines cuts s into chunks of at most n characters at line ends; a line
// longer than n is cut between characters.
func splitLines(s string, n int) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if c := strings.TrimRight(cur.String(), "\n"); c != "" {
			out = append(out, c)
		}
		cur.Reset()
	}
	for _, line := range strings.Split(s, "\n") {
		for textLen(line) > n {
			flush()
			head := cut(line, n)
			if head == "" { // cannot happen for n >= 2; guards the loop
				head, _ = firstRune(line)
			}
			out = append(out, head)
			line = line[len(head):]
		}
		if textLen(cur.String())+textLen(line)+1 > n {
			flush()
		}
		cur.WriteString(line + "\n")
	}
	flush()
	return out
}

func firstRune(s string) (string, int) {
	_, size := utf8.DecodeRuneInString(s)
	return s[:size], size
}
