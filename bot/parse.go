package bot

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/knowledge"
)

type intentKind int

const (
	intentHelp intentKind = iota
	intentBad
	intentExplain
	intentHosts
	intentKnowledge
	intentDiagnose
)

// intent is what a message asks for. Chat text only ever selects hosts and
// options here; nothing of it reaches a shell.
type intent struct {
	intent   intentKind
	hosts    []string
	since    time.Duration
	site     string
	lang     string
	logText  string
	question string
	problem  string // for intentBad: one line saying what is wrong and what to do
}

const (
	defaultSince = 15 * time.Minute
	maxSince     = 7 * 24 * time.Hour
)

var (
	hostToken = regexp.MustCompile(`^@?[A-Za-z0-9*?\[][A-Za-z0-9._*?\[\]-]{0,99}$`)
	// Words in free text that could name a host: letters, digits, dots, dashes.
	wordRE      = regexp.MustCompile(`@?[A-Za-z0-9][A-Za-z0-9._*?-]*`)
	looksLikeID = regexp.MustCompile(`^[a-z][a-z0-9-]*[0-9][a-z0-9.-]*$|^[a-z0-9-]+(\.[a-z0-9-]+)+$`)
	siteToken   = regexp.MustCompile(`^[A-Za-z0-9*.-]{1,253}$`)
	trouble     = regexp.MustCompile(`(?i)\b(50[0-9]|bad gateway|gateway time-?out|down|broken|failing|error|diagnose|check)\b|50[234]|挂|打不开|报错|异常|坏`)
	questionish = regexp.MustCompile(`(?i)[?？]|\b(what|why|how|mean|means|explain)\b|什么|为什么|怎么|意思|原因`)
	// Asking what something is, not why a host fails: "why is web-9 502ing?"
	// names a host, "what does upstream-01 mean?" does not.
	explainish = regexp.MustCompile(`(?i)\b(what|how|mean|means|meaning|explain)\b|是什么|什么意思|啥意思|意思|怎么|如何`)
)

func parse(text string, cfg *config.Config) intent {
	t := strings.TrimSpace(text)
	if t == "" {
		return intent{intent: intentHelp}
	}
	first := strings.ToLower(strings.Fields(t)[0])
	switch first {
	case "help", "/help", "?", "帮助", "/502help":
		return intent{intent: intentHelp}
	case "hosts", "/hosts", "主机":
		return intent{intent: intentHosts}
	}
	if looksLikeLog(t) {
		return intent{intent: intentExplain, logText: stripCommand(t)}
	}
	if strings.HasPrefix(first, "/") {
		rest := strings.Fields(t)[1:]
		in := parseCommand(rest)
		// "/502 what does max_children mean?" is a question, not a host called "what";
		// "/502 is web-01 down again" names one host among other words.
		if (in.intent == intentDiagnose || in.intent == intentBad) && !allKnown(in.hosts, cfg) &&
			(questionish.MatchString(t) || len(rest) >= 3 && !strings.Contains(t, " --")) {
			return parseFree(strings.Join(rest, " "), cfg)
		}
		return in
	}
	return parseFree(t, cfg)
}

// stripCommand drops a leading "/502" from pasted text.
func stripCommand(t string) string {
	if strings.HasPrefix(t, "/") {
		if i := strings.IndexAny(t, " \n"); i >= 0 {
			return t[i+1:]
		}
	}
	return t
}

// parseCommand reads "/502 HOST... [--since DUR] [--site NAME] [--lang en|zh]".
func parseCommand(args []string) intent {
	in := intent{intent: intentDiagnose, since: defaultSince}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(a, "=")
		if !strings.HasPrefix(name, "--") {
			if !hostToken.MatchString(a) {
				return bad("%q is not a host name; use a name from `hosts`, a glob like web-* or a label like @web", clip(a))
			}
			in.hosts = append(in.hosts, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return bad("%s needs a value, e.g. %s", name, example(name))
			}
			i++
			value = args[i]
		}
		switch name {
		case "--since":
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 || d > maxSince {
				return bad("--since %q: give a duration from 1m to 168h, e.g. 30m or 2h", clip(value))
			}
			in.since = d
		case "--site":
			if !siteToken.MatchString(value) {
				return bad("--site %q is not a server_name", clip(value))
			}
			in.site = value
		case "--lang":
			if value != "en" && value != "zh" {
				return bad("--lang takes en or zh")
			}
			in.lang = value
		default:
			return bad("unknown option %s; the options are --since, --site and --lang", clip(name))
		}
	}
	if len(in.hosts) == 0 {
		return bad("name a host: /502 web-01 (or web-* / @web); `hosts` lists them")
	}
	return in
}

// parseFree understands "web-01 is 502ing", "web-01 为什么 502", "what does too big header mean".
func parseFree(t string, cfg *config.Config) intent {
	var hosts, unknown []string
	for _, w := range wordRE.FindAllString(t, 50) {
		w = strings.TrimRight(w, ".-")
		if knownHost(w, cfg) {
			hosts = append(hosts, w)
		} else if looksLikeID.MatchString(strings.ToLower(w)) && !strings.HasPrefix(w, "@") {
			unknown = append(unknown, w)
		}
	}
	if len(hosts) > 0 {
		return intent{intent: intentDiagnose, hosts: hosts, since: defaultSince}
	}
	if len(unknown) > 0 && trouble.MatchString(t) && !explainish.MatchString(t) {
		// Looks like a host that is not in the inventory: let Select explain, with suggestions.
		return intent{intent: intentDiagnose, hosts: unknown[:1], since: defaultSince}
	}
	return intent{intent: intentKnowledge, question: t}
}

func knownHost(w string, cfg *config.Config) bool {
	if w == config.LocalName {
		return true
	}
	if label, ok := strings.CutPrefix(w, "@"); ok {
		for _, h := range cfg.Hosts {
			if h.HasLabel(label) {
				return true
			}
		}
		return false
	}
	for _, h := range cfg.Hosts {
		if h.Name == w {
			return true
		}
		if strings.ContainsAny(w, "*?[") {
			if ok, _ := path.Match(w, h.Name); ok {
				return true
			}
		}
	}
	return false
}

// looksLikeLog: pasted log lines have a log prefix, or nginx's context fields.
func looksLikeLog(t string) bool {
	for i, line := range strings.Split(t, "\n") {
		if i == 200 {
			break
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		l := knowledge.ParseLine([]byte(line))
		if l.Kind != knowledge.KindOther || l.Upstream != "" || l.Client != "" {
			return true
		}
	}
	return false
}

func bad(format string, args ...any) intent {
	return intent{intent: intentBad, problem: fmt.Sprintf(format, args...)}
}

func example(flag string) string {
	switch flag {
	case "--since":
		return "--since 1h"
	case "--site":
		return "--site shop.example.com"
	}
	return flag + " zh"
}

// clip keeps echoed user text short and on one line.
func clip(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

func allKnown(hosts []string, cfg *config.Config) bool {
	for _, h := range hosts {
		if !knownHost(h, cfg) {
			return false
		}
	}
	return len(hosts) > 0
}
