package slackbot

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/badgateway/badgateway/knowledge"
)

// runSocket receives Socket Mode envelopes until ctx is cancelled. Events
// are handled one at a time here (each only acks and starts a job), so the
// library's event buffer never fills.
func (a *Adapter) runSocket(ctx context.Context) error {
	client := socketmode.New(a.api, socketmode.OptionPingInterval(a.pingInterval), socketmode.OptionLog(libLog{a.log}))
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- client.RunContext(rctx) }()
	for {
		select {
		case <-ctx.Done():
			<-done // the websocket is closed when RunContext returns
			return nil
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack: Socket Mode stopped (%v); check slack.app_token (an App-Level Token with connections:write) and that Socket Mode is enabled for the app", err)
		case evt := <-client.Events:
			a.dispatch(rctx, client, evt)
		}
	}
}

// acker is the part of socketmode.Client that dispatch uses.
type acker interface {
	Ack(req socketmode.Request, payload ...any) error
}

func (a *Adapter) dispatch(ctx context.Context, c acker, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		a.log.Debug("slack: connecting")
	case socketmode.EventTypeConnected:
		a.log.Info("slack: connected (Socket Mode)")
	case socketmode.EventTypeHello:
		a.log.Debug("slack: hello")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		a.log.Warn("slack: websocket trouble; the library reconnects", "event", string(evt.Type), "detail", describe(evt.Data))
	case socketmode.EventTypeInvalidAuth:
		a.log.Error("slack: Slack refused slack.app_token")
	case socketmode.EventTypeErrorBadMessage:
		// An envelope the library could not parse (an event type it does not
		// know) still gets its ack, or Slack sends it again and again.
		if bm, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			var req socketmode.Request
			if json.Unmarshal(bm.Message, &req) == nil && req.EnvelopeID != "" {
				a.ack(c, req, nil)
			}
			a.log.Debug("slack: unreadable envelope", "err", bm.Cause)
		}
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		o := a.slashOrigin(cmd)
		a.ack(c, *evt.Request, slashAck(o.text))
		a.start(o)
	case socketmode.EventTypeEventsAPI:
		if evt.Request != nil {
			a.ack(c, *evt.Request, nil)
		}
		if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok && ev.Type == slackevents.CallbackEvent {
			a.onEvent(ev.InnerEvent.Data)
		}
	case socketmode.EventTypeInteractive:
		if evt.Request != nil {
			a.ack(c, *evt.Request, nil)
		}
		if cb, ok := evt.Data.(slack.InteractionCallback); ok {
			a.onInteraction(cb)
		}
	default:
		if evt.Request != nil && evt.Request.EnvelopeID != "" {
			a.ack(c, *evt.Request, nil)
		}
	}
}

func (a *Adapter) ack(c acker, req socketmode.Request, payload any) {
	var err error
	if payload != nil {
		err = c.Ack(req, payload)
	} else {
		err = c.Ack(req)
	}
	if err != nil {
		a.log.Warn("slack: ack failed", "envelope", req.EnvelopeID, "err", err)
	}
}

// slashAck is the immediate answer to a slash command, shown to the
// requester only (a few hundred bytes: acks of 20 KB or more are dropped).
func slashAck(text string) map[string]any {
	w := wordsFor(knowledge.DetectLang(text))
	return map[string]any{
		"response_type": slack.ResponseTypeEphemeral,
		"text":          fmt.Sprintf("⏳ %s `%s`…", w.working, esc(clipRunes(oneLine(text), 200))),
	}
}

// slashOrigin turns "/502 web-01 --since 1h" into a request. The core reads
// a leading /word as the command, whatever the app named it; help and hosts
// go as the bare word so the core answers them.
func (a *Adapter) slashOrigin(cmd slack.SlashCommand) origin {
	text := unslack(cmd.Text)
	switch first := strings.ToLower(firstWord(text)); {
	case text == "", first == "help", first == "hosts", first == "帮助", first == "主机":
	default:
		text = "/502 " + text
	}
	return origin{src: fromSlash, userID: cmd.UserID, channelID: cmd.ChannelID, responseURL: cmd.ResponseURL, text: text}
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// onEvent handles mentions in channels and direct messages. A mention in a
// DM arrives as both app_mention and message.im; Slack also resends events:
// each message is answered once.
func (a *Adapter) onEvent(data any) {
	me, myBot := a.me()
	switch e := data.(type) {
	case *slackevents.AppMentionEvent:
		if e.User == "" || e.User == me || e.BotID != "" || (myBot != "" && e.BotID == myBot) || e.Edited != nil {
			return
		}
		if !a.seen.first(e.Channel + "/" + e.TimeStamp) {
			return
		}
		o := origin{src: fromMention, userID: e.User, channelID: e.Channel, text: plainText(e.Text, me),
			threadTS: cmp.Or(e.ThreadTimeStamp, e.TimeStamp), files: e.Files}
		if strings.HasPrefix(e.Channel, "D") {
			o.src, o.threadTS = fromDM, e.ThreadTimeStamp
		}
		a.start(o)
	case *slackevents.MessageEvent:
		// Channel messages reach the bot as app_mention; only DMs are read
		// here: plain messages, and messages sharing a file (a snippet).
		if e.ChannelType != "im" || (e.SubType != "" && e.SubType != "file_share") || e.BotID != "" || e.User == "" || e.User == me {
			return
		}
		if !a.seen.first(e.Channel + "/" + e.TimeStamp) {
			return
		}
		var files []slack.File
		if e.Message != nil {
			files = e.Message.Files
		}
		a.start(origin{src: fromDM, userID: e.User, channelID: e.Channel, threadTS: e.ThreadTimeStamp, text: plainText(e.Text, me), files: files})
	}
}

// onInteraction handles the Re-run button: the clicker asks again, under
// their own access rights.
func (a *Adapter) onInteraction(cb slack.InteractionCallback) {
	if cb.Type != slack.InteractionTypeBlockActions {
		return
	}
	for _, act := range cb.ActionCallback.BlockActions {
		if act == nil || act.ActionID != rerunAction || strings.TrimSpace(act.Value) == "" {
			continue
		}
		channel := cmp.Or(cb.Channel.ID, cb.Container.ChannelID)
		if channel == "" || cb.User.ID == "" {
			return
		}
		a.start(origin{src: fromButton, userID: cb.User.ID, channelID: channel, responseURL: cb.ResponseURL,
			threadTS: cmp.Or(cb.Container.ThreadTs, cb.Message.ThreadTimestamp), text: act.Value})
		return
	}
}

// describe names a library event's error without its payload.
func describe(data any) string {
	switch d := data.(type) {
	case *slack.ConnectionErrorEvent:
		return d.Error()
	case *slack.IncomingEventError:
		return d.Error()
	case *socketmode.ErrorWriteFailed:
		return d.Cause.Error()
	case error:
		return d.Error()
	}
	return fmt.Sprintf("%T", data)
}
