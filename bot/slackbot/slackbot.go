package slackbot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/knowledge"
)

const (
	maxRunning   = 8  // diagnoses at once; each holds an SSH connection
	maxWaiting   = 64 // requests queued behind them before "busy"
	groupsMaxAge = 5 * time.Minute
	seenFor      = 10 * time.Minute // Slack retries an event for a few minutes
)

// Adapter connects the bot to one Slack workspace.
type Adapter struct {
	bot    *bot.Bot
	log    *slog.Logger
	api    *slack.Client
	socket bool          // app token set: Socket Mode
	secret config.Secret // signing secret; zero: no HTTP mode

	base    context.Context // parent of every job; cancelled when Run returns
	stop    context.CancelFunc
	mu      sync.Mutex // guards closed against jobs.Add
	closed  bool
	jobs    sync.WaitGroup
	sem     chan struct{}
	waiting atomic.Int32

	botUser atomic.Pointer[string] // our user id, from auth.test
	botID   atomic.Pointer[string] // our bot id, from auth.test
	seen    recent
	groups  groupCache

	// Timings; tests shorten them.
	editEvery        time.Duration // at most one progress edit per editEvery
	placeholderAfter time.Duration // show "diagnosing…" once a request has been busy this long
	jobTimeout       time.Duration // bounds the wait for a slot, and then the diagnosis with its edits
	pingInterval     time.Duration // Socket Mode: reconnect when Slack sends no ping for this long
}

// New checks the slack: section and prepares the adapter; nothing connects
// until Run or Handler is used. Errors are one line and never hold a secret.
func New(cfg *config.Config, b *bot.Bot, log *slog.Logger) (*Adapter, error) {
	if cfg == nil || b == nil {
		return nil, errors.New("slack: internal error: New needs a config and a bot")
	}
	s := cfg.Slack
	if s == nil {
		return nil, errors.New("slack: the config has no slack: section; add bot_token and app_token (Socket Mode) or signing_secret (HTTP mode)")
	}
	for _, f := range []string{"slack.bot_token", "slack.app_token", "slack.signing_secret"} {
		// A ${VAR} that is unset means the operator meant to use the field.
		if err := cfg.Missing(f); err != nil {
			return nil, err
		}
	}
	if s.BotToken.IsZero() {
		return nil, errors.New("slack.bot_token is not set; write bot_token: ${SLACK_BOT_TOKEN} and export the Bot User OAuth Token (xoxb-…)")
	}
	if err := checkToken("slack.bot_token", s.BotToken, "xoxb-", "the Bot User OAuth Token (OAuth & Permissions)"); err != nil {
		return nil, err
	}
	if !s.AppToken.IsZero() {
		if err := checkToken("slack.app_token", s.AppToken, "xapp-", "an App-Level Token with connections:write (Basic Information)"); err != nil {
			return nil, err
		}
	} else if s.SigningSecret.IsZero() {
		return nil, errors.New("slack: set app_token (xapp-…, Socket Mode) or signing_secret (HTTP mode, with http.listen); neither is set")
	}
	apiURL := cmp.Or(s.APIURL, config.DefaultSlackAPIURL)
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/" // slack-go appends method names
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("platform", "slack")
	opts := []slack.Option{slack.OptionAPIURL(apiURL), slack.OptionLog(libLog{log})}
	if !s.AppToken.IsZero() {
		opts = append(opts, slack.OptionAppLevelToken(s.AppToken.Reveal()))
	}
	base, stop := context.WithCancel(context.Background())
	timeout := cmp.Or(b.Timeout, 2*time.Minute) + 30*time.Second
	a := &Adapter{
		bot: b, log: log,
		api:    slack.New(s.BotToken.Reveal(), opts...),
		socket: !s.AppToken.IsZero(),
		secret: s.SigningSecret,
		base:   base, stop: stop,
		sem:              make(chan struct{}, maxRunning),
		editEvery:        time.Second,
		placeholderAfter: 300 * time.Millisecond,
		jobTimeout:       timeout,
		pingInterval:     30 * time.Second,
	}
	for _, r := range cfg.Access {
		if len(r.SlackGroups) > 0 {
			a.groups.wanted = true
		}
	}
	return a, nil
}

var tokenKinds = map[string]string{
	"xoxb-": "a bot token (xoxb-…)",
	"xapp-": "an app-level token (xapp-…)",
	"xoxp-": "a user token (xoxp-…)",
	"xoxe-": "a refresh or configuration token (xoxe-…)",
}

// checkToken checks the prefix and names a wrong token by its kind, never its value.
func checkToken(field string, s config.Secret, prefix, what string) error {
	v := s.Reveal()
	if strings.HasPrefix(v, prefix) {
		return nil
	}
	found := "a value that does not start with " + prefix
	for p, kind := range tokenKinds {
		if strings.HasPrefix(v, p) {
			found = kind
		}
	}
	return fmt.Errorf("%s: %s holds %s, not %s; use %s", field, cmp.Or(s.Ref(), "the value"), found, tokenKinds[prefix], what)
}

// Run checks the bot token with auth.test, then, in Socket Mode, receives
// events until ctx is cancelled. In HTTP mode it only waits for ctx, so that
// cancelling it also stops the diagnoses Handler started. Either way it
// returns after the running diagnoses have posted their last message.
func (a *Adapter) Run(ctx context.Context) error {
	defer a.shutdown()
	if err := a.whoAmI(ctx); err != nil {
		return err
	}
	if !a.socket {
		a.log.Info("slack: HTTP mode: Slack posts to /slack/commands and /slack/interactivity")
		<-ctx.Done()
		return nil
	}
	return a.runSocket(ctx)
}

func (a *Adapter) whoAmI(ctx context.Context) error {
	actx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	resp, err := a.api.AuthTestContext(actx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("slack: auth.test with slack.bot_token failed (%v); check the token and slack.api_url", err)
	}
	a.botUser.Store(&resp.UserID)
	a.botID.Store(&resp.BotID)
	a.log.Info("slack: authenticated", "team", resp.TeamID, "bot_user", resp.UserID)
	return nil
}

func (a *Adapter) me() (user, botID string) {
	if p := a.botUser.Load(); p != nil {
		user = *p
	}
	if p := a.botID.Load(); p != nil {
		botID = *p
	}
	return user, botID
}

// shutdown refuses new work, cancels the running diagnoses and waits for
// them to post what they have.
func (a *Adapter) shutdown() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.stop()
	a.jobs.Wait()
}

// source is where a request came from; it decides where replies go.
type source int

const (
	fromSlash source = iota
	fromMention
	fromDM
	fromButton
)

func (s source) String() string {
	return [...]string{"slash_command", "mention", "dm", "button"}[s]
}

// origin is one request and where to answer it.
type origin struct {
	src         source
	userID      string
	channelID   string
	threadTS    string // answer in this thread; "" for the channel itself
	responseURL string // slash commands and buttons: a way to answer where the bot is not a member
	text        string // the bot.Request text
	files       []slack.File
}

// start runs a request in the background; the caller has already acknowledged it.
func (a *Adapter) start(o origin) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		a.log.Info("slack: request refused while shutting down", "user", o.userID, "channel", o.channelID)
		return
	}
	a.jobs.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.jobs.Done()
		defer func() {
			if r := recover(); r != nil {
				a.log.Error("slack: request panicked", "panic", r, "stack", string(debug.Stack()))
				a.tell(o, wordsFor(knowledge.DetectLang(o.text)).oops)
			}
		}()
		a.serve(o)
	}()
}

// serve answers one request: wait for a slot, run the bot with live
// progress, then post the reply where it belongs.
func (a *Adapter) serve(o origin) {
	w := wordsFor(knowledge.DetectLang(o.text))
	if a.waiting.Add(1) > maxRunning+maxWaiting {
		a.waiting.Add(-1)
		a.tell(o, w.busy)
		return
	}
	defer a.waiting.Add(-1)
	wait, cancelWait := context.WithTimeout(a.base, a.jobTimeout)
	defer cancelWait()
	select {
	case a.sem <- struct{}{}:
		defer func() { <-a.sem }()
	case <-wait.Done():
		if a.base.Err() != nil {
			a.tell(o, w.shutdown)
		} else {
			a.tell(o, w.busy)
		}
		return
	}
	// The time spent queued does not count against the diagnosis.
	ctx, cancel := context.WithTimeout(a.base, a.jobTimeout)
	defer cancel()
	started := time.Now()
	text := o.text
	if len(o.files) > 0 {
		// A snippet or a shared log: its lines are part of the message.
		text = strings.TrimSpace(text + a.fileText(ctx, o.files))
	}
	req := bot.Request{Platform: bot.PlatformSlack, UserID: o.userID, ChannelID: o.channelID, Roles: a.roles(ctx, o.userID), Text: text}
	lv := a.newLive(ctx, o)
	defer lv.finish() // after a panic too, or its goroutine would wait for ever
	reply := a.bot.Handle(ctx, req, lv.progress)
	ts := lv.finish()
	opts := renderOpts{rerun: o.text}
	rw := wordsFor(reply.Lang)
	switch {
	case a.base.Err() != nil:
		opts.note = rw.stopped
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		opts.note = fmt.Sprintf(rw.timedOut, a.jobTimeout)
	}
	a.log.Info("slack: answered", "source", o.src.String(), "user", o.userID, "channel", o.channelID,
		"kind", string(reply.Kind), "text_len", len(o.text), "took", time.Since(started).Round(time.Millisecond))
	a.deliver(ctx, o, reply, renderReply(reply, opts), ts)
}

// deliver posts the final reply: errors (and help asked by command) to the
// requester only, the rest in the channel, replacing the progress message.
func (a *Adapter) deliver(ctx context.Context, o origin, r bot.Reply, m message, progressTS string) {
	// The job's context may be spent (timeout, shutdown); the answer still goes out.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	private := isPrivate(o, r)
	if private {
		if progressTS != "" {
			if _, _, err := a.api.DeleteMessageContext(ctx, o.channelID, progressTS); err != nil {
				a.log.Warn("slack: chat.delete of the progress message failed", "channel", o.channelID, "err", err)
			}
		}
		a.private(ctx, o, m)
		return
	}
	if progressTS != "" {
		err := retryLimited(ctx, func() error {
			_, _, _, err := a.api.UpdateMessageContext(ctx, o.channelID, progressTS, m.options()...)
			return err
		})
		if err == nil {
			return
		}
		a.log.Warn("slack: chat.update failed; posting the reply as a new message", "channel", o.channelID, "err", err)
	}
	a.public(ctx, o, m)
}

// isPrivate says which replies only the requester sees: errors and denials
// always; what a slash command or button asked besides a diagnosis (help,
// catalog answers) since nobody else saw the question; and the list of hosts
// the requester may diagnose, which others in the channel may not.
func isPrivate(o origin, r bot.Reply) bool {
	switch {
	case r.Kind == bot.KindError:
		return true
	case r.Kind == bot.KindDiagnosis:
		return false
	case o.src == fromSlash || o.src == fromButton:
		return true
	}
	w := strings.ToLower(firstWord(o.text))
	return o.src != fromDM && (w == "hosts" || w == "/hosts" || w == "主机")
}

// retryLimited runs f again once when Slack says to slow down, after the
// wait it asks for (if the context allows).
func retryLimited(ctx context.Context, f func() error) error {
	err := f()
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		return err
	}
	select {
	case <-time.After(min(rl.RetryAfter, 10*time.Second)):
	case <-ctx.Done():
		return err
	}
	return f()
}

// hideURL keeps a response_url (a credential for 30 minutes) out of errors
// that get logged.
func hideURL(err error, u string) error {
	if err == nil || u == "" || !strings.Contains(err.Error(), u) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), u, "<response_url>"))
}

// public posts in the channel (in the request's thread), or through the
// response_url when the bot may not post there.
func (a *Adapter) public(ctx context.Context, o origin, m message) {
	opts := m.options()
	if o.threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(o.threadTS))
	}
	err := retryLimited(ctx, func() error {
		_, _, err := a.api.PostMessageContext(ctx, o.channelID, opts...)
		return err
	})
	if err == nil {
		return
	}
	if o.responseURL != "" {
		// Typically not_in_channel: a slash command works in channels the bot has not joined.
		_, _, rerr := a.api.PostMessageContext(ctx, o.channelID, append(m.options(), slack.MsgOptionResponseURL(o.responseURL, slack.ResponseTypeInChannel))...)
		if rerr == nil {
			return
		}
		err = fmt.Errorf("%w; then via response_url: %w", err, hideURL(rerr, o.responseURL))
	}
	a.log.Error("slack: could not post the reply", "channel", o.channelID, "err", err)
}

// tell shows the requester a one-line notice, even when the job's context is gone.
func (a *Adapter) tell(o origin, text string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.base), 10*time.Second)
	defer cancel()
	t := "⚠️ " + esc(text)
	a.private(ctx, o, message{Text: t, Blocks: []slack.Block{section(t)}})
}

// private shows a message to the requester only.
func (a *Adapter) private(ctx context.Context, o origin, m message) {
	opts := m.options()
	if o.threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(o.threadTS))
	}
	_, err := a.api.PostEphemeralContext(ctx, o.channelID, o.userID, opts...)
	if err == nil {
		return
	}
	if o.responseURL != "" {
		_, _, rerr := a.api.PostMessageContext(ctx, o.channelID, append(m.options(), slack.MsgOptionResponseURL(o.responseURL, slack.ResponseTypeEphemeral))...)
		if rerr == nil {
			return
		}
		err = fmt.Errorf("%w; then via response_url: %w", err, hideURL(rerr, o.responseURL))
	}
	a.log.Error("slack: could not send the requester their answer", "channel", o.channelID, "user", o.userID, "err", err)
}

// live is the progress message of one request: posted once the request
// has been busy a moment (or reported progress), then edited at most once
// per editEvery. Only its loop goroutine talks to Slack.
type live struct {
	a       *Adapter
	o       origin
	ctx     context.Context
	started time.Time
	lang    string

	mu    sync.Mutex
	lines map[string]string // host → its latest progress line
	hosts []string

	kick   chan struct{}
	done   chan struct{}
	exited chan struct{}
	stop   sync.Once
	ts     string // the progress message; written by loop only
	failed bool   // the channel refused it: do not try again every second
}

func (a *Adapter) newLive(ctx context.Context, o origin) *live {
	l := &live{a: a, o: o, ctx: ctx, started: time.Now(), lang: knowledge.DetectLang(o.text),
		lines: map[string]string{}, kick: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
	go l.loop()
	return l
}

// progress is the bot's callback: it records the line and never waits for Slack.
func (l *live) progress(line string) {
	host, _, _ := strings.Cut(line, ": ")
	l.mu.Lock()
	if _, ok := l.lines[host]; !ok {
		l.hosts = append(l.hosts, host)
	}
	l.lines[host] = line
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func (l *live) loop() {
	defer close(l.exited)
	timer := time.NewTimer(l.a.placeholderAfter)
	defer timer.Stop()
	var last time.Time
	for {
		select {
		case <-l.done:
			return
		case <-timer.C:
		case <-l.kick:
		}
		if wait := l.a.editEvery - time.Since(last); !last.IsZero() && wait > 0 {
			select {
			case <-l.done:
				return
			case <-time.After(wait):
			}
		}
		l.show()
		last = time.Now()
	}
}

func (l *live) show() {
	if l.failed {
		return
	}
	l.mu.Lock()
	lines := make([]string, 0, len(l.hosts))
	for _, h := range l.hosts {
		lines = append(lines, l.lines[h])
	}
	l.mu.Unlock()
	m := renderProgress(l.o.text, l.o.userID, lines, time.Since(l.started), l.lang)
	if l.ts == "" {
		opts := m.options()
		if l.o.threadTS != "" {
			opts = append(opts, slack.MsgOptionTS(l.o.threadTS))
		}
		_, ts, err := l.a.api.PostMessageContext(l.ctx, l.o.channelID, opts...)
		if err != nil {
			l.failed = true
			l.a.log.Info("slack: no progress message (the reply will still be posted)", "channel", l.o.channelID, "err", err)
			return
		}
		l.ts = ts
		return
	}
	if _, _, _, err := l.a.api.UpdateMessageContext(l.ctx, l.o.channelID, l.ts, m.options()...); err != nil {
		l.a.log.Debug("slack: progress edit failed", "channel", l.o.channelID, "err", err)
	}
}

// finish stops the edits and returns the progress message's ts ("" if none
// was posted), so the final reply can replace it without an edit racing it.
func (l *live) finish() string {
	l.stop.Do(func() { close(l.done) })
	<-l.exited
	return l.ts
}

// recent remembers events already handled: Slack sends a mention in a DM
// as both app_mention and message.im, and resends events it thinks were lost.
type recent struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (r *recent) first(key string) bool {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]time.Time{}
	}
	for k, t := range r.m {
		if now.Sub(t) > seenFor {
			delete(r.m, k)
		}
	}
	if _, ok := r.m[key]; ok {
		return false
	}
	r.m[key] = now
	return true
}

// groupCache maps users to their user groups, for access rules that list
// slack_groups; fetched only when such a rule exists.
type groupCache struct {
	wanted  bool
	mu      sync.Mutex
	fetched time.Time
	byUser  map[string][]string
}

func (a *Adapter) roles(ctx context.Context, user string) []string {
	g := &a.groups
	if !g.wanted {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.fetched) > groupsMaxAge {
		// Even a failed fetch waits for the next period: a missing scope must not cost a call per request.
		g.fetched = time.Now()
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		groups, err := a.api.GetUserGroupsContext(fctx, slack.GetUserGroupsOptionIncludeUsers(true))
		cancel()
		if err != nil {
			a.log.Warn("slack: usergroups.list failed; slack_groups rules match no one until it works (needs the usergroups:read scope)", "err", err)
		} else {
			g.byUser = map[string][]string{}
			for _, ug := range groups {
				for _, u := range ug.Users {
					g.byUser[u] = append(g.byUser[u], ug.ID)
				}
			}
		}
	}
	return g.byUser[user]
}

// linkRE matches Slack's markup: <@U…>, <#C…|name>, <!here>, <http://…|label>.
var linkRE = regexp.MustCompile(`<([^<>|]*)(?:\|([^<>]*))?>`)

// plainText turns a message as Slack sends it back into what the user
// typed, without the bot's mention.
func plainText(s, botUser string) string {
	s = strings.TrimSpace(s)
	if botUser == "" && strings.HasPrefix(s, "<@") {
		// Our id is unknown (auth.test not run): a mention leads the text of an app_mention.
		if i := strings.IndexByte(s, '>'); i > 0 {
			s = s[i+1:]
		}
	} else if botUser != "" {
		s = regexp.MustCompile(`<@`+regexp.QuoteMeta(botUser)+`(\|[^<>]*)?>`).ReplaceAllString(s, "")
	}
	return unslack(s)
}

// unslack undoes Slack's formatting of typed text: links Slack made of URLs
// and domains unwrapped (log lines are full of them), code fences dropped,
// &lt; &gt; &amp; decoded. Mentions of people and channels stay as they are.
func unslack(s string) string {
	s = linkRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := linkRE.FindStringSubmatch(m)
		target, label := sub[1], sub[2]
		switch {
		case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"), strings.HasPrefix(target, "!"):
			return m
		case label != "":
			return label
		}
		return strings.TrimPrefix(target, "mailto:")
	})
	s = strings.ReplaceAll(s, "```", "\n")
	s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
	return strings.TrimSpace(s)
}

// libLog sends slack-go's own log lines to slog at debug level.
type libLog struct{ log *slog.Logger }

func (l libLog) Output(_ int, s string) error {
	l.log.Debug("slack library", "msg", strings.TrimSpace(s))
	return nil
}
