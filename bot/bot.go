// Package bot turns chat messages into diagnoses: it routes what people type
// (a /502 command, "web-01 is 502ing", pasted log lines, a question), checks
// that they may touch the host, runs the diagnosis and shapes a platform-neutral
// reply. The front-ends (console, Slack, Discord) only carry text.
package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/knowledge"
	"github.com/badgateway/badgateway/playbooks"
	"github.com/badgateway/badgateway/remote"
)

// Platforms of Request.Platform.
const (
	PlatformConsole = "console"
	PlatformSlack   = config.PlatformSlack
	PlatformDiscord = config.PlatformDiscord
)

// Request is one message or command, whatever platform it came from.
type Request struct {
	Platform  string
	UserID    string
	ChannelID string
	// ParentChannelID is the channel a thread belongs to: rules for the channel cover it.
	ParentChannelID string
	Roles           []string // Slack user groups, Discord roles
	Text            string   // as typed; a slash command's text starts with the command ("/502 web-01")
}

// Access is what the access rules judge req by.
func (r Request) Access() config.AccessRequest {
	return config.AccessRequest{Platform: r.Platform, UserID: r.UserID, Roles: r.Roles, ChannelID: r.ChannelID, ParentChannelID: r.ParentChannelID}
}

// Kind says what a reply is, so front-ends can format it.
type Kind string

const (
	KindDiagnosis Kind = "diagnosis" // Diagnoses holds one per host
	KindKnowledge Kind = "knowledge" // an answer from the cause catalog
	KindHelp      Kind = "help"
	KindError     Kind = "error" // bad input, unknown host, denied: shown to the requester only
)

// Reply is what the bot answers.
type Reply struct {
	Kind      Kind
	Lang      string
	Text      string // the whole answer as plain text (help, knowledge, errors)
	Diagnoses []knowledge.Diagnosis
}

// Bot answers requests. Its fields are read-only after start.
type Bot struct {
	Config   *config.Config
	Analyzer *knowledge.Analyzer
	Playbook *playbooks.Playbook
	Log      *slog.Logger
	// Connect opens a runner for a host; nil means this machine for localhost and SSH otherwise.
	Connect func(ctx context.Context, h config.Host) (remote.Runner, error)
	// Timeout bounds one diagnosis (default 2 minutes).
	Timeout time.Duration
	// Metrics, when set, counts every answer.
	Metrics *Metrics

	auditMu sync.Mutex
}

// New builds a bot from cfg: the built-in cause catalog and playbooks, each
// layered with cfg's override directory, and the named playbook.
func New(cfg *config.Config, playbook string) (*Bot, error) {
	set, err := playbooks.LoadSet(cfg.Playbooks)
	if err != nil {
		return nil, fmt.Errorf("playbooks: %w", err)
	}
	pb, err := set.Get(playbook)
	if err != nil {
		return nil, err
	}
	cat, err := knowledge.LoadWithOverrides(cfg.Causes)
	if err != nil {
		return nil, fmt.Errorf("cause catalog: %w", err)
	}
	return &Bot{Config: cfg, Analyzer: knowledge.NewAnalyzer(cat), Playbook: pb}, nil
}

// Progress receives short status lines while a diagnosis runs ("web-01: 7/18 nginx_config").
type Progress func(line string)

// Handle answers one request.
func (b *Bot) Handle(ctx context.Context, req Request, progress Progress) Reply {
	start := time.Now()
	r := b.handle(ctx, req, progress)
	b.Metrics.observe(req.Platform, r, time.Since(start))
	b.logger().Info("request", "platform", req.Platform, "user", req.UserID, "channel", req.ChannelID, "kind", r.Kind, "took", time.Since(start).Round(time.Millisecond))
	return r
}

func (b *Bot) handle(ctx context.Context, req Request, progress Progress) Reply {
	in := parse(req.Text, b.Config)
	lang := in.lang
	if lang == "" {
		lang = knowledge.DetectLang(req.Text)
	}
	switch in.intent {
	case intentHelp:
		return Reply{Kind: KindHelp, Lang: lang, Text: helpText(lang)}
	case intentBad:
		return Reply{Kind: KindError, Lang: lang, Text: in.problem}
	case intentExplain:
		col := b.Analyzer.NewCollector()
		_ = col.Feed(strings.NewReader(in.logText), "chat")
		d := col.Diagnosis(knowledge.Options{Target: "-", Lang: lang})
		d.Inputs = []string{"pasted lines"}
		return Reply{Kind: KindDiagnosis, Lang: lang, Diagnoses: []knowledge.Diagnosis{d}}
	case intentHosts:
		return Reply{Kind: KindKnowledge, Lang: lang, Text: b.hostsText(req, lang)}
	case intentKnowledge:
		return b.knowledge(in.question, lang)
	}
	return b.diagnose(ctx, req, in, lang, progress)
}

func (b *Bot) diagnose(ctx context.Context, req Request, in intent, lang string, progress Progress) Reply {
	hosts, err := b.Config.Select(in.hosts...)
	if err != nil {
		return Reply{Kind: KindError, Lang: lang, Text: b.selectError(req, in.hosts, lang)}
	}
	if req.Platform != PlatformConsole {
		// Deny by default; the console is the local operator.
		var denied []string
		for _, h := range hosts {
			if !b.Config.Allowed(req.Access(), h) {
				denied = append(denied, h.Name)
			}
		}
		if len(denied) > 0 {
			b.audit(req, in.hosts, false, "")
			return Reply{Kind: KindError, Lang: lang, Text: deniedText(lang, denied)}
		}
	}
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if progress != nil {
		// Steps finish on many goroutines; front-ends get one call at a time.
		var mu sync.Mutex
		inner := progress
		progress = func(line string) {
			mu.Lock()
			defer mu.Unlock()
			inner(line)
		}
	}
	ds := make([]knowledge.Diagnosis, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := HostOptions{Site: in.site, Since: in.since, Lang: lang}
			if progress != nil {
				o.OnEvent = func(ev playbooks.Event) {
					if ev.Kind != playbooks.StepStarted {
						progress(fmt.Sprintf("%s: %d/%d %s", h.Name, ev.Done, ev.Total, ev.Step))
					}
				}
			}
			ds[i] = b.DiagnoseHost(ctx, h, o)
		}()
	}
	wg.Wait()
	var verdicts []string
	for _, d := range ds {
		verdicts = append(verdicts, d.String())
	}
	b.audit(req, in.hosts, true, strings.Join(verdicts, "; "))
	return Reply{Kind: KindDiagnosis, Lang: lang, Diagnoses: ds}
}

// HostOptions narrow one host's diagnosis.
type HostOptions struct {
	Site  string
	Since time.Duration
	Lang  string
	// OnEvent sees every step start, finish and skip (from the steps' goroutines).
	OnEvent func(playbooks.Event)
}

// DiagnoseHost connects to h, runs the playbook and returns its diagnosis; a host
// that cannot be reached gives the verdict unreachable. No access check: callers
// that act for someone else check first.
func (b *Bot) DiagnoseHost(ctx context.Context, h config.Host, o HostOptions) knowledge.Diagnosis {
	start := time.Now()
	connect := b.Connect
	if connect == nil {
		connect = func(ctx context.Context, h config.Host) (remote.Runner, error) {
			return b.Config.Dial(ctx, h, remote.WithLogger(b.logger()))
		}
	}
	r, err := connect(ctx, h)
	if err != nil {
		return knowledge.Diagnosis{Target: h.Name, Verdict: knowledge.VerdictUnreachable, Causes: []knowledge.Finding{},
			Steps: []knowledge.StepReport{}, Error: oneLine(err.Error()), Lang: o.Lang, DurationMS: time.Since(start).Milliseconds()}
	}
	defer r.Close()
	d := playbooks.Diagnose(ctx, r, b.Playbook, b.Analyzer, playbooks.DiagnoseOptions{
		Site: o.Site, Since: o.Since, Lang: o.Lang, CommandTimeout: b.Config.SSH.CommandTimeout, OnEvent: o.OnEvent,
	})
	d.Target = h.Name
	d.DurationMS = time.Since(start).Milliseconds()
	return d
}

func (b *Bot) logger() *slog.Logger {
	if b.Log != nil {
		return b.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (b *Bot) knowledge(question, lang string) Reply {
	hits := b.Analyzer.Catalog.Search(question)
	if len(hits) == 0 {
		if trouble.MatchString(question) {
			return Reply{Kind: KindKnowledge, Lang: lang, Text: b.overview(lang)}
		}
		return Reply{Kind: KindHelp, Lang: lang, Text: helpText(lang)}
	}
	var sb strings.Builder
	sb.WriteString(knowledge.DescribeCause(hits[0], lang))
	if len(hits) > 1 {
		sb.WriteString(map[bool]string{true: "\n也可能是：", false: "\nAlso see: "}[lang == "zh"])
		var more []string
		for _, c := range hits[1:min(len(hits), 4)] {
			more = append(more, c.ID)
		}
		sb.WriteString(strings.Join(more, ", ") + "\n")
	}
	return Reply{Kind: KindKnowledge, Lang: lang, Text: sb.String()}
}

// commonCauses answer "why does nginx 502?" when nothing more specific was asked.
var commonCauses = []string{"upstream_down", "upstream_socket_missing", "upstream_permission_denied", "upstream_timeout",
	"fpm_max_children", "upstream_closed_early", "oom_killed", "nginx_down"}

func (b *Bot) overview(lang string) string {
	var sb strings.Builder
	if lang == "zh" {
		sb.WriteString("nginx 返回 502/504 最常见的原因：\n")
	} else {
		sb.WriteString("The usual reasons nginx answers 502/504, most common first:\n")
	}
	for _, id := range commonCauses {
		if c := b.Analyzer.Catalog.Cause(id); c != nil {
			fmt.Fprintf(&sb, "  • %s  [%s]\n", knowledge.Expand(c.Title.In(lang), nil), id)
		}
	}
	if lang == "zh" {
		sb.WriteString("贴出 error.log 中出错的几行，或发送 /502 主机名，我会告诉你是哪一个。")
	} else {
		sb.WriteString("Paste the error.log lines of the failure, or say /502 HOST, and I will tell you which one it is.")
	}
	return sb.String()
}

func (b *Bot) hostsText(req Request, lang string) string {
	hosts := b.Config.Hosts
	if req.Platform != PlatformConsole {
		hosts = b.Config.Visible(req.Access())
	}
	if len(hosts) == 0 {
		return map[bool]string{true: "你没有可以诊断的主机。", false: "There are no hosts you may diagnose."}[lang == "zh"]
	}
	var sb strings.Builder
	for _, h := range hosts {
		sb.WriteString(h.Name)
		if len(h.Labels) > 0 {
			sb.WriteString("  @" + strings.Join(h.Labels, " @"))
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

// audit appends one JSON line per diagnosis request, allowed or not.
func (b *Bot) audit(req Request, hosts []string, allowed bool, result string) {
	path := b.Config.AuditLog
	if path == "" {
		return
	}
	line, _ := json.Marshal(map[string]any{
		"time": time.Now().UTC().Format(time.RFC3339), "platform": req.Platform, "user": req.UserID,
		"channel": req.ChannelID, "hosts": hosts, "allowed": allowed, "result": result,
	})
	b.auditMu.Lock()
	defer b.auditMu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		b.logger().Error("audit log", "err", err)
		return
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		b.logger().Error("audit log", "err", errors.Join(err))
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// selectError explains the patterns that matched nothing, in the asker's
// language. In chat the close matches offered are only hosts the asker may
// diagnose, and label lists are not shown: the inventory is not told to
// people it does not cover.
func (b *Bot) selectError(req Request, patterns []string, lang string) string {
	console := req.Platform == PlatformConsole
	mine := map[string]bool{}
	if !console {
		for _, h := range b.Config.Visible(req.Access()) {
			mine[h.Name] = true
		}
	}
	var parts []string
	for _, p := range patterns {
		_, err := b.Config.Select(p)
		if err == nil {
			continue
		}
		var uh *config.UnknownHostError
		switch {
		case errors.As(err, &uh):
			var close []string
			for _, s := range uh.Suggestions {
				if console || mine[s] {
					close = append(close, s)
				}
			}
			parts = append(parts, unknownHostText(lang, uh.Name, close))
		case console:
			parts = append(parts, err.Error())
		case lang == "zh":
			parts = append(parts, fmt.Sprintf("%q 没有匹配到任何你可以诊断的主机（发送 hosts 查看）", p))
		default:
			parts = append(parts, fmt.Sprintf("%q matches no host you may diagnose (say hosts to list yours)", p))
		}
	}
	return oneLine(strings.Join(parts, "; "))
}

func unknownHostText(lang, name string, close []string) string {
	if lang == "zh" {
		msg := fmt.Sprintf("未知主机 %q", name)
		if len(close) > 0 {
			msg += "，你是不是想找 " + strings.Join(close, "、") + "？"
		}
		return msg + "（发送 hosts 查看你可以诊断的主机）"
	}
	msg := fmt.Sprintf("unknown host %q", name)
	if len(close) > 0 {
		msg += "; did you mean " + strings.Join(close, ", ") + "?"
	}
	return msg + " (say hosts to list the ones you may diagnose)"
}

func deniedText(lang string, hosts []string) string {
	if lang == "zh" {
		return fmt.Sprintf("你没有诊断 %s 的权限：请管理员在 access 规则里为你（或这个频道）加上这台主机。", strings.Join(hosts, ", "))
	}
	return fmt.Sprintf("You may not diagnose %s: ask an admin to add you (or this channel) to an access rule for it.", strings.Join(hosts, ", "))
}

func helpText(lang string) string {
	if lang == "zh" {
		return `我能告诉你 nginx 为什么返回 502。你可以：
  /502 web-01               诊断一台主机（也可以用 web-* 或 @web 选多台）
  /502 web-01 --since 1h    只看最近 1 小时的日志（默认 15 分钟）
  web-01 为什么 502          直接问
  粘贴 nginx / php-fpm / dmesg 日志行    不连主机，直接分析
  upstream sent too big header 是什么意思    查知识库
  hosts                      列出你可以诊断的主机`
	}
	return `I tell you why nginx answers 502. Try:
  /502 web-01               diagnose a host (web-* or @web for several)
  /502 web-01 --since 1h    look at the last hour of logs (default 15 minutes)
  web-01 is 502ing          just ask
  paste nginx / php-fpm / dmesg log lines    explained without touching a host
  what does "too big header" mean            ask the knowledge base
  hosts                     the hosts you may diagnose`
}
