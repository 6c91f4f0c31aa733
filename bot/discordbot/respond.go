package discordbot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/badgateway/badgateway/bot"
)

// job is one request being answered.
type job struct {
	req   bot.Request
	lang  string // for the adapter's own words, until the core answers
	label string // what is diagnosed, shown at once ("Diagnosing web-01…"); "" for none
	lazy  bool   // show a status only when the answer takes a while (mentions)
	out   replier
}

// replier is where a job's messages go: an interaction's deferred reply, or a
// reply in a channel.
type replier interface {
	// status shows a short text in the message that will hold the answer.
	status(ctx context.Context, text string) error
	// answer replaces the status with the reply's first message and posts the others.
	answer(ctx context.Context, msgs []outMessage) error
	// private shows text to the requester only.
	private(ctx context.Context, text string) error
}

// serve answers one job; Run's shutdown waits for it.
func (a *Adapter) serve(j *job) {
	defer a.wg.Done()
	t := textsFor(j.lang)
	ctx, cancel := context.WithTimeout(a.ctx, a.requestTimeout())
	defer cancel()
	ed := newEditor(a, j.out, a.editInterval(), t)
	go ed.loop(ctx)
	if j.label != "" {
		ed.set(fmt.Sprintf(t.diagnosing, j.label))
	}
	if j.lazy {
		ed.setAfter(lazyStatusDelay, t.working)
	}
	sem := a.semaphore()
	select {
	case sem <- struct{}{}:
	default:
		ed.set(fmt.Sprintf(t.queued, cap(sem)))
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			ed.stop()
			a.finish(j, nil)
			return
		}
	}
	start := time.Now()
	reply := a.bot.Handle(ctx, j.req, ed.progress)
	<-sem
	ed.stop()
	a.log.Debug("answered", "user_id", j.req.UserID, "channel_id", j.req.ChannelID, "kind", reply.Kind, "took", time.Since(start).Round(time.Millisecond))
	a.finish(j, &reply)
}

// finish posts the last word: the reply, a private error, or, when the
// request was cut short, a note saying so. It gets its own time, so a
// requester is never left with "thinking…".
func (a *Adapter) finish(j *job, reply *bot.Reply) {
	ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
	defer cancel()
	t := textsFor(j.lang)
	var err error
	switch {
	case reply == nil, a.ctx.Err() != nil:
		err = j.out.answer(ctx, []outMessage{{Content: t.stopped}})
	case reply.Kind == bot.KindError:
		err = j.out.private(ctx, errorContent(reply.Text))
	default:
		err = j.out.answer(ctx, render(*reply))
	}
	if err != nil {
		a.log.Error("posting the answer", "user_id", j.req.UserID, "channel_id", j.req.ChannelID, "err", a.safeErr(err))
	}
}

// editor shows progress in the status message, at most one edit per interval:
// progress arrives faster than Discord allows edits, so only the latest line
// of each host is kept.
type editor struct {
	a        *Adapter
	out      replier
	interval time.Duration
	t        phrases

	mu      sync.Mutex
	header  string
	hosts   []string          // in the order they first reported
	lines   map[string]string // host → latest step
	pending bool
	lazy    *time.Timer

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

func newEditor(a *Adapter, out replier, interval time.Duration, t phrases) *editor {
	return &editor{a: a, out: out, interval: interval, t: t, lines: map[string]string{},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
}

// set replaces the status header.
func (e *editor) set(text string) {
	e.mu.Lock()
	e.header, e.pending = text, true
	e.mu.Unlock()
	e.poke()
}

// setAfter sets the header after d unless something was shown by then.
func (e *editor) setAfter(d time.Duration, text string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lazy = time.AfterFunc(d, func() {
		e.mu.Lock()
		quiet := e.header == "" && len(e.hosts) == 0
		e.mu.Unlock()
		if quiet {
			e.set(text)
		}
	})
}

// progress takes the core's "web-01: 7/18 nginx_config" lines.
func (e *editor) progress(line string) {
	host, step, ok := strings.Cut(line, ": ")
	if !ok {
		host, step = "", line
	}
	e.mu.Lock()
	if _, seen := e.lines[host]; !seen {
		e.hosts = append(e.hosts, host)
	}
	e.lines[host], e.pending = step, true
	e.mu.Unlock()
	e.poke()
}

func (e *editor) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// take returns the status to show, if it changed since the last edit.
func (e *editor) take() (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.pending {
		return "", false
	}
	e.pending = false
	header := e.header
	if header == "" {
		header = e.t.diagnosingMany
	}
	if len(e.hosts) == 0 {
		return clip(header, maxContent), true
	}
	const shown = 10
	var b strings.Builder
	b.WriteString(header + "\n```\n")
	for i, h := range e.hosts {
		if i == shown {
			b.WriteString(fmt.Sprintf(e.t.moreLines, len(e.hosts)-shown) + "\n")
			break
		}
		b.WriteString(strings.TrimSpace(unfence(h+"  "+e.lines[h])) + "\n")
	}
	b.WriteString("```")
	return clipMD(b.String(), maxContent), true
}

func (e *editor) loop(ctx context.Context) {
	defer close(e.done)
	var last time.Time
	for {
		select {
		case <-e.quit:
			return
		case <-e.wake:
		}
		if !last.IsZero() {
			if wait := e.interval - time.Since(last); wait > 0 {
				select {
				case <-time.After(wait):
				case <-e.quit:
					return // the answer replaces whatever was pending
				}
			}
		}
		text, ok := e.take()
		if !ok {
			continue
		}
		if err := e.out.status(ctx, text); err != nil && ctx.Err() == nil {
			e.a.log.Warn("showing progress", "err", e.a.safeErr(err))
		}
		last = time.Now()
	}
}

// stop ends the editor once any edit in flight is done, so the answer is
// always the last edit.
func (e *editor) stop() {
	e.mu.Lock()
	if e.lazy != nil {
		e.lazy.Stop()
	}
	e.mu.Unlock()
	close(e.quit)
	<-e.done
}

// interactionReplier answers through an interaction's deferred reply.
type interactionReplier struct {
	a         *Adapter
	i         *discordgo.Interaction
	ephemeral bool // deferred as ephemeral: everything stays private

	mu     sync.Mutex
	edited bool
}

func (r *interactionReplier) status(ctx context.Context, text string) error {
	return r.edit(ctx, outMessage{Content: text})
}

func (r *interactionReplier) edit(ctx context.Context, m outMessage) error {
	content, embeds := m.Content, m.Embeds
	if embeds == nil {
		embeds = []*discordgo.MessageEmbed{} // clears the status's embeds, if any
	}
	params := &discordgo.WebhookEdit{Content: &content, Embeds: &embeds, AllowedMentions: noMentions()}
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		_, err := r.a.session.InteractionResponseEdit(r.i, params, discordgo.WithContext(ctx))
		if err == nil {
			r.mu.Lock()
			r.edited = true
			r.mu.Unlock()
			return nil
		}
		// With HTTP interactions the deferral travels in our HTTP response and
		// Discord may not have recorded it when the first edit arrives: retry
		// that one briefly.
		r.mu.Lock()
		edited := r.edited
		r.mu.Unlock()
		if httpStatus(err) != 404 || edited || attempt == 5 {
			return err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return err
		}
		delay *= 2
	}
}

func (r *interactionReplier) answer(ctx context.Context, msgs []outMessage) error {
	if err := r.edit(ctx, msgs[0]); err != nil {
		return err
	}
	for _, m := range msgs[1:] {
		p := &discordgo.WebhookParams{Content: m.Content, Embeds: m.Embeds, AllowedMentions: noMentions()}
		if r.ephemeral {
			p.Flags = discordgo.MessageFlagsEphemeral
		}
		if _, err := r.a.session.FollowupMessageCreate(r.i, true, p, discordgo.WithContext(ctx)); err != nil {
			return err
		}
	}
	return nil
}

func (r *interactionReplier) private(ctx context.Context, text string) error {
	if r.ephemeral {
		return r.edit(ctx, outMessage{Content: text})
	}
	// The deferred reply is public: take it down and answer privately.
	if err := r.a.session.InteractionResponseDelete(r.i, discordgo.WithContext(ctx)); err != nil {
		r.a.log.Warn("removing a public reply", "err", r.a.safeErr(err))
	}
	_, err := r.a.session.FollowupMessageCreate(r.i, true, &discordgo.WebhookParams{
		Content: text, Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions(),
	}, discordgo.WithContext(ctx))
	return err
}

// channelReplier answers a message in its channel, as a reply to it.
type channelReplier struct {
	a                                     *Adapter
	channelID, guildID, messageID, userID string
	lang                                  string

	mu       sync.Mutex
	statusID string // our status message, once posted
}

func (r *channelReplier) getStatus() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.statusID
}

func (r *channelReplier) status(ctx context.Context, text string) error {
	if id := r.getStatus(); id != "" {
		return r.edit(ctx, id, outMessage{Content: text})
	}
	m, err := r.send(ctx, r.channelID, outMessage{Content: text}, true)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.statusID = m.ID
	r.mu.Unlock()
	return nil
}

func (r *channelReplier) answer(ctx context.Context, msgs []outMessage) error {
	for i, m := range msgs {
		var err error
		if id := r.getStatus(); i == 0 && id != "" {
			err = r.edit(ctx, id, m)
		} else {
			_, err = r.send(ctx, r.channelID, m, i == 0)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *channelReplier) private(ctx context.Context, text string) error {
	if r.guildID == "" {
		return r.answer(ctx, []outMessage{{Content: text}}) // a DM is already private
	}
	if id := r.getStatus(); id != "" {
		if err := r.a.session.ChannelMessageDelete(r.channelID, id, discordgo.WithContext(ctx)); err != nil {
			r.a.log.Warn("removing a status message", "err", r.a.safeErr(err))
		}
		r.mu.Lock()
		r.statusID = ""
		r.mu.Unlock()
	}
	dm, err := r.a.session.UserChannelCreate(r.userID, discordgo.WithContext(ctx))
	if err == nil {
		_, err = r.send(ctx, dm.ID, outMessage{Content: text}, false)
	}
	if err == nil {
		return nil
	}
	// DMs closed: say so in the channel, without the refusal's details.
	r.a.log.Info("could not send a direct message", "user_id", r.userID, "err", r.a.safeErr(err))
	_, err = r.send(ctx, r.channelID, outMessage{Content: textsFor(r.lang).privateFailed}, true)
	return err
}

func (r *channelReplier) send(ctx context.Context, channelID string, m outMessage, asReply bool) (*discordgo.Message, error) {
	ms := &discordgo.MessageSend{Content: m.Content, Embeds: m.Embeds, AllowedMentions: noMentions()}
	if asReply {
		no := false
		ms.Reference = &discordgo.MessageReference{MessageID: r.messageID, ChannelID: r.channelID, GuildID: r.guildID, FailIfNotExists: &no}
		ms.AllowedMentions.RepliedUser = true
	}
	return r.a.session.ChannelMessageSendComplex(channelID, ms, discordgo.WithContext(ctx))
}

func (r *channelReplier) edit(ctx context.Context, id string, m outMessage) error {
	content, embeds := m.Content, m.Embeds
	if embeds == nil {
		embeds = []*discordgo.MessageEmbed{}
	}
	_, err := r.a.session.ChannelMessageEditComplex(&discordgo.MessageEdit{
		ID: id, Channel: r.channelID, Content: &content, Embeds: &embeds, AllowedMentions: noMentions(),
	}, discordgo.WithContext(ctx))
	return err
}
