package slackbot

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// maxBody bounds a request from Slack; an interaction carries the whole
// message clicked, which stays well under this.
const maxBody = 1 << 20

// Handler serves Slack's HTTP mode: POST /slack/commands (slash commands),
// POST /slack/events (the Events API: mentions and direct messages) and
// POST /slack/interactivity (the Re-run button). Every request must carry
// a valid X-Slack-Signature for slack.signing_secret and a timestamp less
// than five minutes off; anything else is answered 401 and not acted on.
// Mount it at the root of the listener: it routes on the full paths.
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", a.serveCommand)
	mux.HandleFunc("POST /slack/events", a.serveEvent)
	mux.HandleFunc("POST /slack/interactivity", a.serveInteraction)
	return mux
}

// verified reads the body and checks Slack's signature over it; on failure
// it has already answered.
func (a *Adapter) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if a.secret.IsZero() {
		http.Error(w, "Slack HTTP mode is off: set slack.signing_secret", http.StatusNotFound)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
		}
		return nil, false
	}
	// Verify the raw bytes before anything parses them.
	sv, err := slack.NewSecretsVerifier(r.Header, a.secret.Reveal())
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		// The library's errors name what was wrong (missing headers, expired
		// timestamp, bad signature), never the secret.
		a.log.Warn("slack: refused an unsigned or stale request", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "invalid Slack signature", http.StatusUnauthorized)
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, true
}

func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.verified(w, r); !ok {
		return
	}
	cmd, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "cannot parse the slash command", http.StatusBadRequest)
		return
	}
	if r.PostForm.Get("ssl_check") == "1" {
		// Slack checking the certificate: nothing to do.
		w.WriteHeader(http.StatusOK)
		return
	}
	if cmd.UserID == "" || cmd.ChannelID == "" {
		http.Error(w, "the slash command has no user_id or channel_id", http.StatusBadRequest)
		return
	}
	o := a.slashOrigin(cmd)
	// Answer within Slack's 3 s; the diagnosis continues in the background.
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(slashAck(o.text))
	a.start(o)
}

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "no payload", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "cannot parse the payload", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
	a.onInteraction(cb)
}

// serveEvent answers the Events API: the URL check Slack makes when the
// Request URL is saved, and event callbacks, acknowledged at once (Slack
// retries after 3 s) and handled like Socket Mode's. A retried event is
// answered once: onEvent remembers each message.
func (a *Adapter) serveEvent(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	// The signature already proved the sender; the deprecated token is not used.
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "cannot parse the event", http.StatusBadRequest)
		return
	}
	switch ev.Type {
	case slackevents.URLVerification:
		var ch slackevents.ChallengeResponse
		if err := json.Unmarshal(body, &ch); err != nil || ch.Challenge == "" {
			http.Error(w, "no challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, ch.Challenge)
	case slackevents.CallbackEvent:
		w.WriteHeader(http.StatusOK)
		a.onEvent(ev.InnerEvent.Data)
	default:
		w.WriteHeader(http.StatusOK)
	}
}
