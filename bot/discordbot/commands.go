package discordbot

import (
	"context"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/config"
)

// CommandName is the slash command users type.
const CommandName = "502"

const (
	optHost  = "host"
	optSince = "since"
	optSite  = "site"
	// maxChoices is Discord's limit on autocomplete choices; a choice's name
	// and value hold at most 100 characters.
	maxChoices   = 25
	maxChoiceLen = 100
)

// Commands declares the application commands. RegisterCommands installs
// exactly these, replacing whatever was registered before.
func Commands() []*discordgo.ApplicationCommand {
	one := 1
	return []*discordgo.ApplicationCommand{{
		Name:        CommandName,
		Type:        discordgo.ChatApplicationCommand,
		Description: "Find out why nginx answers 502 on a host",
		DescriptionLocalizations: &map[discordgo.Locale]string{
			discordgo.ChineseCN: "找出 nginx 为什么返回 502",
			discordgo.ChineseTW: "找出 nginx 為什麼返回 502",
		},
		Contexts: &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild, discordgo.InteractionContextBotDM},
		Options: []*discordgo.ApplicationCommandOption{
			{
				Type: discordgo.ApplicationCommandOptionString, Name: optHost, Required: true, Autocomplete: true,
				Description:              "Host name, glob (web-*) or @label",
				DescriptionLocalizations: map[discordgo.Locale]string{discordgo.ChineseCN: "主机名、通配符（web-*）或 @标签"},
				MinLength:                &one, MaxLength: maxChoiceLen,
			},
			{
				Type: discordgo.ApplicationCommandOptionString, Name: optSince,
				Description:              "How far back to read the logs, e.g. 30m or 2h (default 15m)",
				DescriptionLocalizations: map[discordgo.Locale]string{discordgo.ChineseCN: "读取多长时间内的日志，如 30m 或 2h（默认 15m）"},
				MinLength:                &one, MaxLength: 10,
			},
			{
				Type: discordgo.ApplicationCommandOptionString, Name: optSite,
				Description:              "Only this site (nginx server_name), e.g. shop.example.com",
				DescriptionLocalizations: map[discordgo.Locale]string{discordgo.ChineseCN: "只看这个站点（nginx server_name）"},
				MinLength:                &one, MaxLength: 253,
			},
		},
	}}
}

// RegisterCommands replaces the application's global commands with
// Commands(). A bulk overwrite is idempotent, so Run calls it at every start.
func (a *Adapter) RegisterCommands(ctx context.Context) error {
	if a.token == "" {
		return fmt.Errorf("discord: registering commands needs discord.bot_token")
	}
	_, err := a.session.ApplicationCommandBulkOverwrite(a.appID, "", Commands(), discordgo.WithContext(ctx))
	if err == nil {
		return nil
	}
	hint := "check the network and discord.api_url"
	switch httpStatus(err) {
	case 401:
		hint = "the bot token was refused; check discord.bot_token (Developer Portal → Bot → Reset Token)"
	case 403, 404:
		hint = "check that discord.application_id is this bot's application"
	}
	return fmt.Errorf("discord: register the /%s command: %s; %s", CommandName, a.safeErr(err), hint)
}

// initialResponse is the first answer to an interaction; its own type so that
// an empty choice list is still sent (discordgo's omits it).
type initialResponse struct {
	Type discordgo.InteractionResponseType `json:"type"`
	Data *initialData                      `json:"data,omitempty"`
}

type initialData struct {
	Content         string                                       `json:"content,omitempty"`
	Flags           discordgo.MessageFlags                       `json:"flags,omitempty"`
	Choices         *[]*discordgo.ApplicationCommandOptionChoice `json:"choices,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions            `json:"allowed_mentions,omitempty"`
}

func privateMessage(text string) *initialResponse {
	return &initialResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &initialData{Content: errorContent(text), Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions()}}
}

// noMentions keeps replies from pinging anyone, whatever a pasted log line holds
// ("@everyone" included).
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// onInteraction answers an interaction from the gateway: the first response
// goes to the callback endpoint, within Discord's 3 s.
func (a *Adapter) onInteraction(i *discordgo.Interaction) {
	if i == nil || !a.seen.add("interaction:"+i.ID) {
		return
	}
	resp, j := a.respond(i)
	if resp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), discordgo.InteractionDeadline)
	defer cancel()
	endpoint := discordgo.EndpointInteractionResponse(i.ID, i.Token)
	if _, err := a.session.RequestWithBucketID("POST", endpoint, resp, endpoint, discordgo.WithContext(ctx)); err != nil {
		a.log.Error("answering an interaction", "interaction_id", i.ID, "err", a.safeErr(err))
		return
	}
	if j != nil {
		a.start(j)
	}
}

// respond decides the first response to i and, for a command, the job that
// follows it. A nil response means the interaction is not for us.
func (a *Adapter) respond(i *discordgo.Interaction) (*initialResponse, *job) {
	lang := localeLang(i.Locale)
	t := textsFor(lang)
	switch i.Type {
	case discordgo.InteractionPing:
		return &initialResponse{Type: discordgo.InteractionResponsePong}, nil
	case discordgo.InteractionApplicationCommandAutocomplete:
		choices := a.autocomplete(i)
		return &initialResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult, Data: &initialData{Choices: &choices}}, nil
	case discordgo.InteractionMessageComponent, discordgo.InteractionModalSubmit:
		return privateMessage(t.noComponents), nil
	case discordgo.InteractionApplicationCommand:
	default:
		return nil, nil
	}
	// Only now is ApplicationCommandData safe: it panics on other types.
	data := i.ApplicationCommandData()
	if data.Name != CommandName {
		return privateMessage(t.unknownCommand), nil
	}
	if a.stopping() {
		return privateMessage(t.busy), nil
	}
	text, host, problem := commandText(data, lang)
	if problem != "" {
		return privateMessage(problem), nil
	}
	user, roles := requester(i)
	req := bot.Request{Platform: bot.PlatformDiscord, UserID: user, ChannelID: i.ChannelID, Roles: roles, Text: text,
		ParentChannelID: a.threadParent(a.ctx, i.GuildID, i.ChannelID)}
	replier := &interactionReplier{a: a, i: i}
	j := &job{req: req, lang: lang, out: replier, label: host}
	resp := &initialResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}
	// A refusal must be private, and a deferred reply's visibility is fixed
	// when it is deferred: foresee it with the same checks the core makes.
	if a.refused(req, host) {
		replier.ephemeral = true
		j.label = ""
		resp.Data = &initialData{Flags: discordgo.MessageFlagsEphemeral}
	}
	return resp, j
}

// refused reports whether the core will answer host with an error: an unknown
// host, or one the requester may not diagnose.
func (a *Adapter) refused(req bot.Request, host string) bool {
	hosts, err := a.cfg.Select(host)
	if err != nil {
		return true
	}
	ar := req.Access()
	for _, h := range hosts {
		if !a.cfg.Allowed(ar, h) {
			return true
		}
	}
	return false
}

// requester is who sent i, by ids: a member in a guild, a user in a DM.
func requester(i *discordgo.Interaction) (user string, roles []string) {
	if i.Member != nil {
		if i.Member.User != nil {
			user = i.Member.User.ID
		}
		return user, i.Member.Roles
	}
	if i.User != nil {
		user = i.User.ID
	}
	return user, nil
}

// commandText turns the options into what the core reads ("/502 web-01
// --since 1h"); each option must be one token, so no option can smuggle in
// another.
func commandText(data discordgo.ApplicationCommandInteractionData, lang string) (text, host, problem string) {
	t := textsFor(lang)
	parts := []string{"/" + CommandName}
	for _, name := range []string{optHost, optSince, optSite} {
		v := strings.TrimSpace(optionString(data.Options, name))
		if v == "" {
			if name == optHost {
				return "", "", fmt.Sprintf(t.badHost, optHost)
			}
			continue
		}
		if len(strings.Fields(v)) != 1 || strings.HasPrefix(v, "-") {
			if name == optHost {
				return "", "", fmt.Sprintf(t.badHost, optHost)
			}
			return "", "", fmt.Sprintf(t.badOption, name)
		}
		if name == optHost {
			host = v
			parts = append(parts, v)
		} else {
			parts = append(parts, "--"+name, v)
		}
	}
	if lang == "zh" {
		parts = append(parts, "--lang", "zh")
	}
	return strings.Join(parts, " "), host, ""
}

// optionString reads a string option without discordgo's panicking accessors.
func optionString(opts []*discordgo.ApplicationCommandInteractionDataOption, name string) string {
	for _, o := range opts {
		if o != nil && o.Name == name {
			s, _ := o.Value.(string)
			return s
		}
	}
	return ""
}

// localeLang answers in Chinese to a Chinese Discord client.
func localeLang(l discordgo.Locale) string {
	if strings.HasPrefix(string(l), "zh") {
		return "zh"
	}
	return "en"
}

// autocomplete offers the hosts (and labels) the requester may diagnose that
// match what they typed: names starting with it first, then containing it.
func (a *Adapter) autocomplete(i *discordgo.Interaction) []*discordgo.ApplicationCommandOptionChoice {
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	data := i.ApplicationCommandData()
	var typed string
	focused := false
	for _, o := range data.Options {
		if o != nil && o.Focused {
			focused = o.Name == optHost
			typed, _ = o.Value.(string)
		}
	}
	if !focused {
		return choices
	}
	user, roles := requester(i)
	ar := bot.Request{Platform: bot.PlatformDiscord, UserID: user, Roles: roles, ChannelID: i.ChannelID,
		ParentChannelID: a.threadParent(a.ctx, i.GuildID, i.ChannelID)}.Access()
	visible := a.cfg.Visible(ar)
	typed = strings.ToLower(strings.TrimSpace(typed))
	var first, then []string
	offer := func(name string) {
		l := strings.ToLower(name)
		switch {
		case len(name) > maxChoiceLen:
		case strings.HasPrefix(l, typed) || strings.HasPrefix(strings.TrimPrefix(l, "@"), typed):
			first = append(first, name)
		case strings.Contains(l, typed):
			then = append(then, name)
		}
	}
	for _, h := range visible {
		offer(h.Name)
	}
	// localhost always resolves, inventory or not.
	if _, listed := a.cfg.Host(config.LocalName); !listed && a.cfg.Allowed(ar, config.Host{Name: config.LocalName, Local: true}) {
		offer(config.LocalName)
	}
	for _, label := range a.wholeLabels(ar, visible) {
		offer("@" + label)
	}
	for _, name := range append(first, then...) {
		if len(choices) == maxChoices {
			break
		}
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: name, Value: name})
	}
	return choices
}

// wholeLabels are the labels of visible hosts whose every host the requester
// may diagnose: choosing any other would be refused.
func (a *Adapter) wholeLabels(ar config.AccessRequest, visible []config.Host) []string {
	var out []string
	seen := map[string]bool{}
	for _, h := range visible {
		for _, l := range h.Labels {
			if seen[l] {
				continue
			}
			seen[l] = true
			whole := true
			for _, other := range a.cfg.Hosts {
				if other.HasLabel(l) && !a.cfg.Allowed(ar, other) {
					whole = false
					break
				}
			}
			if whole {
				out = append(out, l)
			}
		}
	}
	return out
}
