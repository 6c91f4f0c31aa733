// Package discordbot is badgateway's Discord front-end. It carries the /502
// slash command, messages that mention the bot and direct messages to the
// platform-neutral core (bot.Bot) and renders its replies as embeds within
// Discord's limits.
//
// Two ways in, both answered the same way: the gateway (Run: a websocket
// session with the bot token) and HTTP interactions (Handler: Discord POSTs
// signed interactions to /discord/interactions). A command is deferred at
// once, then its "thinking…" message is edited with live progress and finally
// with the answer. Errors and refusals go to the requester only.
//
// This is the only package that imports discordgo.
package discordbot

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/knowledge"
)

// Defaults of the Adapter's tunables.
const (
	DefaultConcurrency    = 8
	DefaultRequestTimeout = 5 * time.Minute // an interaction token lives 15 minutes
	DefaultEditInterval   = time.Second     // Discord rate-limits edits; one a second reads live enough
	// lazyStatusDelay: a mention gets a status message only when its answer takes this long.
	lazyStatusDelay = 2 * time.Second
	// answerTimeout bounds posting the last word, even after the request's own time ran out.
	answerTimeout = 15 * time.Second
	// shutdownGrace is how long Run waits for requests to say they were stopped.
	shutdownGrace = 20 * time.Second
)

// Adapter connects one Discord application to the bot.
type Adapter struct {
	// Concurrency bounds the requests answered at once (default 8); further
	// requests are acknowledged and wait. Set before Run or Handler is used.
	Concurrency int
	// RequestTimeout bounds one request, diagnosis included (default 5 minutes).
	RequestTimeout time.Duration
	// EditInterval is the least time between two progress edits (default 1 s).
	EditInterval time.Duration

	cfg       *config.Config
	bot       *bot.Bot
	log       *slog.Logger
	appID     string
	token     string // "Bot …", or "" for HTTP interactions only
	publicKey ed25519.PublicKey
	session   *discordgo.Session

	botUser atomic.Value // string: the bot's user id, from READY
	seen    recent       // interactions and messages already handled

	parentsMu sync.Mutex
	parents   map[string]string // thread id → parent channel id ("" = not a thread)

	files       *http.Client    // fetches attachments: no token, no redirects
	attachHosts map[string]bool // hosts attachments may come from
	semOnce     sync.Once
	sem         chan struct{}

	// ctx ends when Run's context does; every request's context derives from it.
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // guards closing and wg.Add
	closed bool
	wg     sync.WaitGroup
	runs   atomic.Bool
}

// New checks the discord: section of cfg and prepares a session; nothing is
// sent until Run or a request to Handler. The gateway needs bot_token, HTTP
// interactions need public_key; application_id is needed for both.
func New(cfg *config.Config, b *bot.Bot, log *slog.Logger) (*Adapter, error) {
	if cfg == nil || cfg.Discord == nil {
		return nil, errors.New("discord: the config has no discord: section; add bot_token, application_id and public_key (see config.example.yaml)")
	}
	if b == nil {
		return nil, errors.New("discord: no bot to answer with")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := cfg.Discord
	for _, f := range []string{"discord.bot_token", "discord.public_key"} {
		if err := cfg.Missing(f); err != nil {
			return nil, fmt.Errorf("discord: %w", err)
		}
	}
	if d.ApplicationID == "" {
		return nil, errors.New("discord.application_id is empty; copy the Application ID from the Developer Portal (General Information)")
	}
	if d.BotToken.IsZero() && d.PublicKey.IsZero() {
		return nil, errors.New("discord: set bot_token (for the gateway) or public_key (for HTTP interactions), or both")
	}
	a := &Adapter{cfg: cfg, bot: b, log: log.With("platform", "discord"), appID: d.ApplicationID}
	if !d.BotToken.IsZero() {
		tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d.BotToken.Reveal()), "Bot "))
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
			return nil, fmt.Errorf("discord.bot_token (%s) is not a bot token; copy it from the Developer Portal (Bot → Reset Token)", refOr(d.BotToken))
		}
		a.token = "Bot " + tok
	}
	if !d.PublicKey.IsZero() {
		key, err := hex.DecodeString(strings.TrimSpace(d.PublicKey.Reveal()))
		if err != nil || len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("discord.public_key (%s) is not 64 hex digits; copy the Public Key from the Developer Portal (General Information)", refOr(d.PublicKey))
		}
		a.publicKey = key
	}
	s, err := discordgo.New(a.token)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	// discordgo logs through the standard logger, and at debug level it would
	// print the identify packet with the token: silence it and log the
	// session's events ourselves.
	s.LogLevel = -1
	s.StateEnabled = false
	s.Identify.Intents = discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages
	s.Client = &http.Client{Timeout: 20 * time.Second}
	if api := d.APIURL; api != "" && api != discordgo.EndpointAPI {
		// discordgo's endpoints are process globals; rewriting in the transport
		// honours discord.api_url (and asks it for the gateway URL) without them.
		to, err := url.Parse(api)
		if err != nil {
			return nil, fmt.Errorf("discord.api_url: %w", err)
		}
		s.Client.Transport = &rewrite{from: discordgo.EndpointAPI, to: to, next: http.DefaultTransport}
	}
	a.session = s
	a.files = &http.Client{Timeout: attachmentTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	a.attachHosts = attachmentHosts(d.APIURL)
	a.ctx, a.cancel = context.WithCancel(context.Background())
	s.AddHandler(a.onReady)
	s.AddHandler(a.onConnect)
	s.AddHandler(a.onDisconnect)
	s.AddHandler(a.onRateLimit)
	s.AddHandler(func(_ *discordgo.Session, ic *discordgo.InteractionCreate) { a.onInteraction(ic.Interaction) })
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { a.onMessage(m.Message) })
	return a, nil
}

func refOr(s config.Secret) string {
	if r := s.Ref(); r != "" {
		return r
	}
	return "the value"
}

// Run registers the commands, connects to the gateway and answers until ctx
// ends; then it stops taking requests, tells the requesters whose answers
// were cut short, and returns nil. Without a bot token (HTTP interactions
// only) it just waits for ctx and shuts the same way.
func (a *Adapter) Run(ctx context.Context) error {
	if !a.runs.CompareAndSwap(false, true) {
		return errors.New("discord: Run called twice")
	}
	if a.token == "" {
		a.log.Info("no bot token: answering HTTP interactions only; register the commands with a token once")
		<-ctx.Done()
		a.shutdown()
		return nil
	}
	if err := a.RegisterCommands(ctx); err != nil {
		a.shutdown()
		return err
	}
	if err := a.session.Open(); err != nil {
		a.shutdown()
		return fmt.Errorf("discord: connect to the gateway: %s; check discord.bot_token and the network", a.safeErr(err))
	}
	a.log.Info("connected to the gateway", "application_id", a.appID)
	<-ctx.Done()
	// Stop receiving first, then cut the requests short and say so.
	if err := a.session.Close(); err != nil {
		a.log.Warn("closing the gateway", "err", a.safeErr(err))
	}
	a.shutdown()
	return nil
}

// shutdown refuses new requests, cancels those running and waits for them to
// post their last word.
func (a *Adapter) shutdown() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		a.log.Warn("requests still running at shutdown")
	}
}

// start runs j in its own goroutine unless the adapter is shutting down.
func (a *Adapter) start(j *job) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.wg.Add(1)
	go a.serve(j)
	return true
}

func (a *Adapter) stopping() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

func (a *Adapter) concurrency() int {
	if a.Concurrency > 0 {
		return a.Concurrency
	}
	return DefaultConcurrency
}

func (a *Adapter) semaphore() chan struct{} {
	a.semOnce.Do(func() { a.sem = make(chan struct{}, a.concurrency()) })
	return a.sem
}

func (a *Adapter) requestTimeout() time.Duration {
	if a.RequestTimeout > 0 {
		return a.RequestTimeout
	}
	return DefaultRequestTimeout
}

func (a *Adapter) editInterval() time.Duration {
	if a.EditInterval > 0 {
		return a.EditInterval
	}
	return DefaultEditInterval
}

func (a *Adapter) botID() string {
	id, _ := a.botUser.Load().(string)
	return id
}

func (a *Adapter) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	if r.User != nil {
		a.botUser.Store(r.User.ID)
	}
	if r.Application != nil && r.Application.ID != "" && r.Application.ID != a.appID {
		a.log.Warn("the bot token belongs to another application than discord.application_id; commands will not reach this bot",
			"token_application_id", r.Application.ID, "application_id", a.appID)
	}
	a.log.Info("gateway ready", "bot_user_id", a.botID())
}

func (a *Adapter) onConnect(*discordgo.Session, *discordgo.Connect) { a.log.Debug("gateway connected") }

func (a *Adapter) onDisconnect(*discordgo.Session, *discordgo.Disconnect) {
	if !a.stopping() {
		a.log.Warn("gateway disconnected; reconnecting")
	}
}

func (a *Adapter) onRateLimit(_ *discordgo.Session, r *discordgo.RateLimit) {
	if r.TooManyRequests != nil {
		a.log.Warn("rate limited by Discord", "retry_after", r.RetryAfter)
	}
}

// onMessage answers a message that mentions the bot, or any direct message.
func (a *Adapter) onMessage(m *discordgo.Message) {
	me := a.botID()
	if m == nil || m.Author == nil || me == "" || a.stopping() {
		return
	}
	// Never answer bots (ourselves included) or webhooks: two bots can loop forever.
	if m.Author.Bot || m.Author.System || m.Author.ID == me || m.WebhookID != "" {
		return
	}
	if m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply {
		return
	}
	dm := m.GuildID == ""
	if !dm && !mentions(m, me) {
		return
	}
	if !a.seen.add("message:" + m.ID) {
		return
	}
	var roles []string
	if m.Member != nil {
		roles = m.Member.Roles
	}
	text := strings.TrimSpace(stripMention(m.Content, me))
	lang := knowledge.DetectLang(text)
	// "badgateway is typing…" is the acknowledgement; a status message follows
	// only for answers that take a while, such as a diagnosis.
	ctx, cancel := context.WithTimeout(a.ctx, 3*time.Second)
	if err := a.session.ChannelTyping(m.ChannelID, discordgo.WithContext(ctx)); err != nil {
		a.log.Debug("typing indicator", "err", a.safeErr(err))
	}
	cancel()
	// A long paste arrives as message.txt: its lines are part of the message.
	if att := a.attachedText(a.ctx, m); att != "" {
		if text == "" {
			lang = knowledge.DetectLang(att)
		}
		text = strings.TrimSpace(text + att)
	}
	req := bot.Request{Platform: bot.PlatformDiscord, UserID: m.Author.ID, ChannelID: m.ChannelID, Roles: roles, Text: text,
		ParentChannelID: a.threadParent(a.ctx, m.GuildID, m.ChannelID)}
	a.start(&job{
		req:  req,
		lang: lang,
		out:  &channelReplier{a: a, channelID: m.ChannelID, guildID: m.GuildID, messageID: m.ID, userID: m.Author.ID, lang: lang},
		lazy: true,
	})
}

func mentions(m *discordgo.Message, id string) bool {
	for _, u := range m.Mentions {
		if u != nil && u.ID == id {
			return true
		}
	}
	return strings.Contains(m.Content, "<@"+id+">") || strings.Contains(m.Content, "<@!"+id+">")
}

func stripMention(s, id string) string {
	s = strings.ReplaceAll(s, "<@"+id+">", " ")
	return strings.ReplaceAll(s, "<@!"+id+">", " ")
}

// recent remembers the last few thousand ids, so a redelivered event is not
// answered twice.
type recent struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

const recentSize = 4096

// add reports whether id is new.
func (r *recent) add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.set == nil {
		r.set = make(map[string]struct{}, recentSize)
		r.ring = make([]string, recentSize)
	}
	if _, ok := r.set[id]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % recentSize
	r.set[id] = struct{}{}
	return true
}

// rewrite sends requests for one API base URL to another.
type rewrite struct {
	from string
	to   *url.URL
	next http.RoundTripper
}

func (rw *rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if u := r.URL.String(); strings.HasPrefix(u, rw.from) {
		nu, err := rw.to.Parse(strings.TrimPrefix(u, rw.from))
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.URL = nu
		r.Host = nu.Host
	}
	return rw.next.RoundTrip(r)
}

// tokenInPath matches the interaction token in webhook and callback URLs:
// it authorises replies for 15 minutes, so it never reaches a log.
var tokenInPath = regexp.MustCompile(`(/(?:webhooks|interactions)/[0-9]+/)[^/?\s"]+`)

// safeErr describes err for a log line without the URL (and so without the
// interaction token) or the bot token.
func (a *Adapter) safeErr(err error) string {
	if err == nil {
		return ""
	}
	var msg string
	var rest *discordgo.RESTError
	var uerr *url.Error
	switch {
	case errors.As(err, &rest) && rest.Response != nil:
		msg = "HTTP " + rest.Response.Status
		if rest.Message != nil && rest.Message.Message != "" {
			msg += fmt.Sprintf(" (code %d: %s)", rest.Message.Code, rest.Message.Message)
		}
	case errors.As(err, &uerr):
		msg = uerr.Op + ": " + uerr.Err.Error()
	default:
		msg = err.Error()
	}
	msg = tokenInPath.ReplaceAllString(msg, "${1}…")
	if t := strings.TrimPrefix(a.token, "Bot "); t != "" {
		msg = strings.ReplaceAll(msg, t, "[REDACTED]")
	}
	return msg
}

// httpStatus is the status of a failed REST call, or 0.
func httpStatus(err error) int {
	var rest *discordgo.RESTError
	if errors.As(err, &rest) && rest.Response != nil {
		return rest.Response.StatusCode
	}
	return 0
}
