package discordbot

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
)

// InteractionsPath is where Discord posts interactions in HTTP mode (the
// application's Interactions Endpoint URL).
const InteractionsPath = "/discord/interactions"

const (
	// maxTimestampSkew: VerifyInteraction checks the signature, not its age;
	// a signed request older than this is refused as a replay.
	maxTimestampSkew = 5 * time.Minute
	maxBody          = 1 << 20
)

// Handler serves POST /discord/interactions (mount it at / or /discord/).
// Each request's Ed25519 signature is checked against discord.public_key;
// commands are deferred in the HTTP response and answered through the REST
// API, as on the gateway.
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+InteractionsPath, a.serveInteraction)
	return mux
}

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	if a.publicKey == nil {
		http.Error(w, "Discord HTTP interactions are not configured: set discord.public_key", http.StatusServiceUnavailable)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	// Discord probes the endpoint with bad signatures and expects 401.
	if !discordgo.VerifyInteraction(r, a.publicKey) {
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	if !fresh(r.Header.Get("X-Signature-Timestamp"), time.Now()) {
		a.log.Warn("refused a signed interaction with a stale timestamp", "remote", r.RemoteAddr)
		http.Error(w, "stale request timestamp", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(r.Body) // VerifyInteraction put the body back
	if err != nil {
		http.Error(w, "cannot read the request", http.StatusBadRequest)
		return
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		http.Error(w, "not an interaction", http.StatusBadRequest)
		return
	}
	a.noteInteractionChannel(body)
	var resp *initialResponse
	var j *job
	if i.Type == discordgo.InteractionPing || a.seen.add("interaction:"+i.ID) {
		resp, j = a.respond(&i)
	}
	if resp == nil {
		http.Error(w, "unsupported interaction", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(resp); err != nil {
		a.log.Warn("answering an interaction", "err", a.safeErr(err))
		return
	}
	// Start after the deferral is written, so it reaches Discord first.
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if j != nil {
		a.start(j)
	}
}

// fresh reports whether a Unix-seconds timestamp is within maxTimestampSkew of now.
func fresh(ts string, now time.Time) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := now.Sub(time.Unix(sec, 0))
	return d <= maxTimestampSkew && d >= -maxTimestampSkew
}
