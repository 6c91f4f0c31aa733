package knowledge

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DetectLang answers "zh" when the text holds Chinese (two Chinese
// characters in a row, or one next to Chinese punctuation) and is text at
// all (under 1% invalid UTF-8), else "en": in binary garbage such pairs turn
// up by chance.
func DetectLang(s string) string {
	var prev rune
	chinese, runes, invalid := false, 0, 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		runes++
		if r == utf8.RuneError && size == 1 {
			invalid++
		}
		if han(r) && han(prev) && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Han, prev)) {
			chinese = true
		}
		prev = r
	}
	if chinese && invalid*100 < runes {
		return "zh"
	}
	return "en"
}

type labels struct {
	colon                                                                                                                                          string // ": " or "："
	header, noEvidence, noEvidenceHint, hostNoEvidence, hostHint, why, proof, fix, confirm, baota, others, explainedBy, steps, failed, times, seen string
}

var texts = map[string]labels{
	"en": {
		colon:          ": ",
		header:         "502 diagnosis for %s",
		noEvidence:     "No 502/504 evidence found (%d lines read).",
		noEvidenceHint: "Paste the nginx error.log lines around the failure (and the php-fpm log or `dmesg` if you have them), or run `badgateway diagnose HOST` to look at the host itself.",
		hostNoEvidence: "No 502/504 evidence on %s: the logs of the window hold no upstream errors, and every upstream and socket checked is up.",
		hostHint:       "If users still see errors, widen the window (--since 2h), narrow to the site (--site NAME), or check the load balancer in front of nginx.",
		why:            "Why",
		proof:          "Proof",
		fix:            "Fix",
		confirm:        "Confirm",
		baota:          "BaoTa/aaPanel",
		others:         "Other candidates",
		explainedBy:    "explained by %s",
		steps:          "Steps that failed",
		failed:         "failed",
		times:          "×%d",
		seen:           "last seen %s",
	},
	"zh": {
		colon:          "：",
		header:         "%s 的 502 诊断",
		noEvidence:     "没有找到 502/504 的证据（读取了 %d 行）。",
		noEvidenceHint: "请贴出出错时间附近的 nginx error.log（如有，再加上 php-fpm 日志或 `dmesg` 输出），或运行 `badgateway diagnose 主机名` 直接检查主机。",
		hostNoEvidence: "%s 上没有 502/504 的证据：时间窗口内的日志没有上游错误，检查过的上游和套接字都正常。",
		hostHint:       "如果用户仍然看到错误，请扩大时间窗口（--since 2h）、限定站点（--site 站点名），或检查 nginx 前面的负载均衡。",
		why:            "原因",
		proof:          "证据",
		fix:            "修复",
		confirm:        "确认方法",
		baota:          "宝塔面板",
		others:         "其他可能原因",
		explainedBy:    "由 %s 导致",
		steps:          "失败的步骤",
		failed:         "失败",
		times:          "×%d",
		seen:           "最近一次 %s",
	},
}

func labelsFor(lang string) labels {
	if l, ok := texts[lang]; ok {
		return l
	}
	return texts["en"]
}

// RenderJSON writes the diagnosis as the JSON contract shows.
func RenderJSON(w io.Writer, d Diagnosis) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// RenderText writes what a tired on-call engineer reads first: the top cause in one
// line, its proof, its fix, then the other candidates.
func RenderText(w io.Writer, d Diagnosis) error {
	l := labelsFor(d.Lang)
	var b strings.Builder
	target := DisplayTarget(d)
	head := fmt.Sprintf(l.header, target)
	if d.Layout != "" && d.Layout != "unknown" {
		if d.Lang == "zh" {
			head += "（" + d.Layout + "）"
		} else {
			head += " (" + d.Layout + ")"
		}
	}
	b.WriteString(head + "\n\n")
	if d.Error != "" {
		b.WriteString("✗ " + d.Error + "\n")
	}
	for _, n := range d.Notes {
		b.WriteString("⚠ " + n + "\n\n")
	}
	if len(d.Causes) == 0 {
		writeNoEvidence(&b, l, d, false)
	} else {
		top := d.Causes[0]
		fmt.Fprintf(&b, "▶ %s  [%s, %d, %.0f%%]\n\n", top.Title, top.ID, top.Status, top.Confidence*100)
		writeSection(&b, l, l.why, top.Summary)
		b.WriteString(l.proof + strings.TrimSpace(l.colon) + "\n")
		for _, e := range top.Evidence {
			writeEvidence(&b, l, e)
		}
		b.WriteString("\n")
		// On a panel host the panel is where the engineer will act: say where to click first.
		panel := d.Layout == "baota" && top.BaoTa != ""
		if panel {
			writeSection(&b, l, l.baota, top.BaoTa)
		}
		b.WriteString(l.fix + strings.TrimSpace(l.colon) + "\n")
		for i, fx := range top.Fixes {
			writeNumbered(&b, i+1, fx)
		}
		if top.Confirm != "" {
			b.WriteString("\n")
			writeSection(&b, l, l.confirm, top.Confirm)
		}
		// explain cannot know the host: the panel steps may help. A diagnosed
		// host of another layout has no panel to click in.
		if top.BaoTa != "" && !panel && d.Layout == "" {
			writeSection(&b, l, l.baota, top.BaoTa)
		}
		if len(d.Causes) > 1 {
			b.WriteString(l.others + strings.TrimSpace(l.colon) + "\n")
			for _, f := range d.Causes[1:] {
				fmt.Fprintf(&b, "  • %s  [%s, %d, %.0f%%]", f.Title, f.ID, f.Status, f.Confidence*100)
				if f.ExplainedBy != "" {
					fmt.Fprintf(&b, " — "+l.explainedBy, f.ExplainedBy)
				}
				b.WriteString("\n")
				if len(f.Evidence) > 0 {
					fmt.Fprintf(&b, "      %s %s\n", fmt.Sprintf(l.times, f.Evidence[0].Count), oneLine(f.Evidence[0].Text, 160))
				}
			}
		}
	}
	writeFailedSteps(&b, l, d.Steps, false)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSection(b *strings.Builder, l labels, label, text string) {
	text = strings.TrimSpace(text)
	if label == l.baota {
		text = PanelText(text)
	}
	fmt.Fprintf(b, "%s%s%s\n\n", label, l.colon, text)
}

func writeEvidence(b *strings.Builder, l labels, e Evidence) {
	fmt.Fprintf(b, "  %-5s %s", fmt.Sprintf(l.times, e.Count), e.Source)
	if e.LastSeen != "" {
		fmt.Fprintf(b, " (%s)", fmt.Sprintf(l.seen, strings.Replace(e.LastSeen, "T", " ", 1)))
	}
	fmt.Fprintf(b, "\n        %s\n", e.Text)
}

func writeNumbered(b *strings.Builder, n int, fix string) {
	lines := strings.Split(fix, "\n")
	fmt.Fprintf(b, "  %d. %s\n", n, lines[0])
	for _, ln := range lines[1:] {
		fmt.Fprintf(b, "       %s\n", ln)
	}
}

func writeFailedSteps(b *strings.Builder, l labels, steps []StepReport, md bool) {
	var failed []StepReport
	for _, s := range steps {
		if s.Error != "" {
			failed = append(failed, s)
		}
	}
	if len(failed) == 0 {
		return
	}
	if md {
		b.WriteString("\n**" + l.steps + "**\n")
	} else {
		b.WriteString("\n" + l.steps + strings.TrimSpace(l.colon) + "\n")
	}
	for _, s := range failed {
		fmt.Fprintf(b, "  - %s: %s\n", s.ID, s.Error)
	}
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len([]rune(s)) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}

// RenderMarkdown writes the diagnosis for chat and tickets.
func RenderMarkdown(w io.Writer, d Diagnosis) error {
	l := labelsFor(d.Lang)
	var b strings.Builder
	target := DisplayTarget(d)
	fmt.Fprintf(&b, "### "+l.header+"\n\n", "`"+target+"`")
	if d.Error != "" {
		b.WriteString("**✗** " + d.Error + "\n\n")
	}
	for _, n := range d.Notes {
		b.WriteString("> ⚠ " + n + "\n\n")
	}
	if len(d.Causes) == 0 {
		writeNoEvidence(&b, l, d, true)
	} else {
		top := d.Causes[0]
		fmt.Fprintf(&b, "**%s** · `%s` · %d · %.0f%%\n\n", top.Title, top.ID, top.Status, top.Confidence*100)
		fmt.Fprintf(&b, "%s\n\n**%s**\n", strings.TrimSpace(top.Summary), l.proof)
		b.WriteString("```\n")
		for _, e := range top.Evidence {
			fmt.Fprintf(&b, "%s %s\n", fmt.Sprintf(l.times, e.Count), e.Text)
		}
		b.WriteString("```\n\n**" + l.fix + "**\n")
		for i, fx := range top.Fixes {
			text, code, _ := strings.Cut(fx, "\n")
			fmt.Fprintf(&b, "%d. %s\n", i+1, text)
			if code != "" {
				fmt.Fprintf(&b, "```\n%s\n```\n", code)
			}
		}
		if top.BaoTa != "" && (d.Layout == "" || d.Layout == "baota") {
			fmt.Fprintf(&b, "\n**%s**: %s\n", l.baota, strings.TrimSpace(top.BaoTa))
		}
		if len(d.Causes) > 1 {
			fmt.Fprintf(&b, "\n**%s**\n", l.others)
			for _, f := range d.Causes[1:] {
				fmt.Fprintf(&b, "- %s · `%s` · %.0f%%", f.Title, f.ID, f.Confidence*100)
				if f.ExplainedBy != "" {
					fmt.Fprintf(&b, " — "+l.explainedBy, "`"+f.ExplainedBy+"`")
				}
				b.WriteString("\n")
			}
		}
	}
	writeFailedSteps(&b, l, d.Steps, true)
	_, err := io.WriteString(w, b.String())
	return err
}

// Render writes d in format "text", "markdown" or "json".
func Render(w io.Writer, d Diagnosis, format string) error {
	switch format {
	case "", "text":
		return RenderText(w, d)
	case "markdown", "md":
		return RenderMarkdown(w, d)
	case "json":
		return RenderJSON(w, d)
	}
	return fmt.Errorf("unknown format %q (want text, markdown or json)", format)
}

// DescribeCause renders one catalog entry for `kb show` and knowledge questions in chat.
func DescribeCause(c *Cause, lang string) string {
	var b strings.Builder
	l := labelsFor(lang)
	fmt.Fprintf(&b, "%s  [%s, %d]\n\n", Expand(c.Title.In(lang), nil), c.ID, c.Status)
	writeSection(&b, l, l.why, Expand(c.Summary.In(lang), nil))
	writeSection(&b, l, l.confirm, Expand(c.Confirm.In(lang), nil))
	b.WriteString(l.fix + strings.TrimSpace(l.colon) + "\n")
	for i, fx := range c.Fixes {
		writeNumbered(&b, i+1, renderFix(fx, lang, nil))
	}
	b.WriteString("\n")
	writeSection(&b, l, l.baota, Expand(c.BaoTa.In(lang), nil))
	if len(c.Examples.Match) > 0 {
		b.WriteString(map[bool]string{true: "日志示例", false: "Typical log line"}[lang == "zh"] + ":\n  " + c.Examples.Match[0] + "\n")
	}
	if len(c.Related) > 0 {
		fmt.Fprintf(&b, "\n%s: %s\n", map[bool]string{true: "相关原因", false: "Related"}[lang == "zh"], strings.Join(c.Related, ", "))
	}
	return b.String()
}

// DisplayTarget names what a diagnosis is about: the host, or the files read.
func DisplayTarget(d Diagnosis) string {
	if d.Target != "-" && d.Target != "" {
		return d.Target
	}
	if len(d.Inputs) > 0 {
		return strings.Join(d.Inputs, ", ")
	}
	return "stdin"
}

// PanelText drops the panel's name from the start of a cause's BaoTa text, for
// replies that already label it.
func PanelText(s string) string {
	s = strings.TrimSpace(s)
	for _, p := range []string{"宝塔：", "宝塔:", "aaPanel: ", "BaoTa: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// RenderJSONList writes several diagnoses (one per host) as a JSON array.
func RenderJSONList(w io.Writer, ds []Diagnosis) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(ds)
}

func writeNoEvidence(b *strings.Builder, l labels, d Diagnosis, md bool) {
	if d.Verdict != VerdictNoEvidence {
		return
	}
	sep := "\n"
	if md {
		sep = "\n\n"
	}
	if d.Target != "-" && d.Target != "" {
		fmt.Fprintf(b, l.hostNoEvidence+sep+"%s\n", d.Target, l.hostHint)
		return
	}
	fmt.Fprintf(b, l.noEvidence+sep+"%s\n", d.Stats.Lines, l.noEvidenceHint)
}
