package discordbot

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/gorilla/websocket"
)

// fakeDiscord speaks Discord's REST API and gateway on 127.0.0.1 and enforces
// what real Discord enforces and these tests rely on: bot authorisation, the
// first response to an interaction within 3 s and only once, edits only after
// it, and the message limits (a message over one is refused with 400, as
// Discord does). Several applications can use it at once, each with its own
// token, so tests do not see each other's traffic.
type fakeDiscord struct {
	srv *httptest.Server
	ids atomic.Int64

	mu           sync.Mutex
	apps         map[string]*fakeApp         // by application id
	byAuth       map[string]*fakeApp         // by "Bot <token>"
	interactions map[string]*fakeInteraction // by interaction token
	threads      map[string]string           // thread channel id → parent channel id
	files        map[string][]byte           // attachments on the "CDN", by path
	fileGets     []string                    // "PATH RANGE" of each attachment download
}

type fakeApp struct {
	f                  *fakeDiscord
	id, token, botUser string

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced at every change
	calls      []call
	identifies []identify
	heartbeats int
	gw         *fakeConn
}

type identify struct {
	Token   string `json:"token"`
	Intents int    `json:"intents"`
}

type fakeInteraction struct {
	app          *fakeApp
	id, token    string
	delivered    time.Time
	acked        bool
	ackType, ack int // callback type and flags
}

// call is one request the bot made, as the fake saw it.
type call struct {
	At      time.Time
	Route   string // callback, edit, followup, delete, send, medit, mdelete, typing, dm, commands
	Token   string // interaction token, for callback and webhook routes
	Channel string
	Status  int    // what the fake answered
	Problem string // why it refused
	Type    int    // callback type
	Msg     wireMsg
	Raw     json.RawMessage
}

// wireMsg is a message as sent on the wire, decoded independently of discordgo.
type wireMsg struct {
	Type            int          `json:"type"` // callbacks only
	Content         *string      `json:"content"`
	Embeds          []wireEmbed  `json:"embeds"`
	Flags           int          `json:"flags"`
	Choices         []wireChoice `json:"choices"` // autocomplete callbacks
	AllowedMentions *struct {
		Parse       []string `json:"parse"`
		RepliedUser bool     `json:"replied_user"`
	} `json:"allowed_mentions"`
	Reference *struct {
		MessageID string `json:"message_id"`
	} `json:"message_reference"`
}

type wireChoice struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type wireEmbed struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Color       int    `json:"color"`
	Footer      *struct {
		Text string `json:"text"`
	} `json:"footer"`
	Author *struct {
		Name string `json:"name"`
	} `json:"author"`
	Fields []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"fields"`
}

func (m wireMsg) content() string {
	if m.Content == nil {
		return ""
	}
	return *m.Content
}

// text is everything a user reads in the message.
func (m wireMsg) text() string {
	var b strings.Builder
	b.WriteString(m.content())
	for _, e := range m.Embeds {
		if e.Author != nil {
			b.WriteString("\n" + e.Author.Name)
		}
		b.WriteString("\n" + e.Title + "\n" + e.Description)
		for _, f := range e.Fields {
			b.WriteString("\n" + f.Name + "\n" + f.Value)
		}
		if e.Footer != nil {
			b.WriteString("\n" + e.Footer.Text)
		}
	}
	return b.String()
}

func newFakeDiscord() *fakeDiscord {
	f := &fakeDiscord{apps: map[string]*fakeApp{}, byAuth: map[string]*fakeApp{}, interactions: map[string]*fakeInteraction{}, threads: map[string]string{}, files: map[string][]byte{}}
	f.ids.Store(100000000000000000)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v9/gateway", f.gatewayURL)
	mux.HandleFunc("GET /api/v9/gateway/bot", f.gatewayURL)
	mux.HandleFunc("GET /gw/", f.gateway)
	mux.HandleFunc("PUT /api/v9/applications/{app}/commands", f.commands)
	mux.HandleFunc("POST /api/v9/interactions/{id}/{token}/callback", f.callback)
	mux.HandleFunc("PATCH /api/v9/webhooks/{app}/{token}/messages/{msg}", f.webhook("edit"))
	mux.HandleFunc("DELETE /api/v9/webhooks/{app}/{token}/messages/{msg}", f.webhook("delete"))
	mux.HandleFunc("POST /api/v9/webhooks/{app}/{token}", f.webhook("followup"))
	mux.HandleFunc("GET /api/v9/channels/{ch}", f.getChannel)
	mux.HandleFunc("GET /attachments/", f.getFile)
	mux.HandleFunc("POST /api/v9/channels/{ch}/messages", f.channel("send"))
	mux.HandleFunc("PATCH /api/v9/channels/{ch}/messages/{msg}", f.channel("medit"))
	mux.HandleFunc("DELETE /api/v9/channels/{ch}/messages/{msg}", f.channel("mdelete"))
	mux.HandleFunc("POST /api/v9/channels/{ch}/typing", f.channel("typing"))
	mux.HandleFunc("POST /api/v9/users/{me}/channels", f.channel("dm"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, 404, 0, "404: Not Found ("+r.Method+" "+r.URL.Path+")")
	})
	f.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	return f
}

func (f *fakeDiscord) apiURL() string { return f.srv.URL + "/api/v9/" }

func (f *fakeDiscord) newID() string { return strconv.FormatInt(f.ids.Add(1), 10) }

// newApp registers an application with its own bot token and bot user.
func (f *fakeDiscord) newApp() *fakeApp {
	a := &fakeApp{f: f, id: f.newID(), token: "fake." + randHex(12) + ".tok", botUser: f.newID(), changed: make(chan struct{})}
	f.mu.Lock()
	f.apps[a.id] = a
	f.byAuth["Bot "+a.token] = a
	f.mu.Unlock()
	return a
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func apiError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"message":%q}`, code, msg)
}

func (f *fakeDiscord) authed(w http.ResponseWriter, r *http.Request) *fakeApp {
	f.mu.Lock()
	a := f.byAuth[r.Header.Get("Authorization")]
	f.mu.Unlock()
	if a == nil {
		apiError(w, 401, 0, "401: Unauthorized")
	}
	return a
}

func (a *fakeApp) record(c call) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c.At = time.Now()
	a.calls = append(a.calls, c)
	close(a.changed)
	a.changed = make(chan struct{})
}

func (a *fakeApp) snapshot() []call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

// waitFor waits until pred holds for the calls so far.
func (a *fakeApp) waitFor(t testing.TB, what string, pred func([]call) bool) []call {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		a.mu.Lock()
		calls, ch := slices.Clone(a.calls), a.changed
		a.mu.Unlock()
		if pred(calls) {
			return calls
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; the bot made these calls:\n%s", what, dump(calls))
		}
	}
}

func dump(calls []call) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "  %s %s tok=%.12s ch=%s status=%d %s %.300s\n", c.At.Format("15:04:05.000"), c.Route, c.Token, c.Channel, c.Status, c.Problem, c.Raw)
	}
	return b.String()
}

func (f *fakeDiscord) gatewayURL(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/bot") && f.authed(w, r) == nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"url":"ws://%s/gw","shards":1}`, f.srv.Listener.Addr())
}

func (f *fakeDiscord) commands(w http.ResponseWriter, r *http.Request) {
	a := f.authed(w, r)
	if a == nil {
		return
	}
	body, _ := io.ReadAll(r.Body)
	if r.PathValue("app") != a.id {
		apiError(w, 403, 50001, "Missing Access")
		a.record(call{Route: "commands", Status: 403, Raw: body})
		return
	}
	a.record(call{Route: "commands", Status: 200, Raw: body})
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// interact registers an interaction as Discord creates it; deliver it with
// dispatch (gateway) or sign it for the HTTP endpoint.
func (a *fakeApp) interact(typ int, user string, roles []string, channel, locale string, data any) (*fakeInteraction, map[string]any) {
	fi := &fakeInteraction{app: a, id: a.f.newID(), token: "itok" + randHex(24), delivered: time.Now()}
	a.f.mu.Lock()
	a.f.interactions[fi.token] = fi
	a.f.mu.Unlock()
	payload := map[string]any{
		"id": fi.id, "application_id": a.id, "type": typ, "token": fi.token, "version": 1,
		"channel_id": channel, "guild_id": "555555555555555555", "locale": locale,
		"member": map[string]any{"user": map[string]any{"id": user, "username": "user" + user}, "roles": roles},
		"data":   data,
	}
	return fi, payload
}

// markAcked records a first response given in an HTTP response (HTTP mode).
func (fi *fakeInteraction) markAcked(typ, flags int) {
	fi.app.f.mu.Lock()
	fi.acked, fi.ackType, fi.ack = true, typ, flags
	fi.app.f.mu.Unlock()
}

func (f *fakeDiscord) callback(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	fi := f.interactions[r.PathValue("token")]
	f.mu.Unlock()
	if fi == nil || fi.id != r.PathValue("id") {
		apiError(w, 404, 10062, "Unknown interaction")
		return
	}
	var m wireMsg
	var env struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(body, &env)
	if len(env.Data) > 0 {
		_ = json.Unmarshal(env.Data, &m)
	}
	m.Type = env.Type
	c := call{Route: "callback", Token: fi.token, Type: env.Type, Msg: m, Raw: body, Status: 204}
	f.mu.Lock()
	switch {
	case fi.acked:
		c.Status, c.Problem = 400, "already acknowledged"
	case time.Since(fi.delivered) > 3*time.Second:
		c.Status, c.Problem = 404, "first response after 3 s"
	case env.Type == 8 && len(m.Choices) > 25:
		c.Status, c.Problem = 400, "more than 25 choices"
	case env.Type == 8 && !strings.Contains(string(env.Data), `"choices"`):
		c.Status, c.Problem = 400, "autocomplete without choices"
	case env.Type == 4:
		c.Problem = checkMessage(m, true)
	case env.Type != 1 && env.Type != 5 && env.Type != 6 && env.Type != 8:
		c.Status, c.Problem = 400, "unexpected callback type"
	}
	if c.Problem != "" && c.Status == 204 {
		c.Status = 400
	}
	if c.Status == 204 {
		fi.acked, fi.ackType, fi.ack = true, env.Type, m.Flags
	}
	f.mu.Unlock()
	fi.app.record(c)
	switch c.Status {
	case 204:
		w.WriteHeader(204)
	case 404:
		apiError(w, 404, 10062, "Unknown interaction")
	default:
		apiError(w, 400, 40060, c.Problem)
	}
}

func (f *fakeDiscord) webhook(route string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		fi := f.interactions[r.PathValue("token")]
		acked := fi != nil && fi.acked
		f.mu.Unlock()
		if fi == nil || fi.app.id != r.PathValue("app") {
			apiError(w, 404, 10015, "Unknown Webhook")
			return
		}
		c := call{Route: route, Token: fi.token, Raw: body, Status: 200}
		if route != "delete" {
			_ = json.Unmarshal(body, &c.Msg)
			c.Problem = checkMessage(c.Msg, route == "followup")
		}
		switch {
		case !acked:
			c.Status, c.Problem = 404, "no first response yet"
		case route == "edit" && r.PathValue("msg") != "@original":
			c.Status, c.Problem = 404, "unknown message"
		case c.Problem != "":
			c.Status = 400
		}
		fi.app.record(c)
		switch {
		case c.Status == 404:
			apiError(w, 404, 10015, "Unknown Webhook")
		case c.Status != 200:
			apiError(w, 400, 50035, "Invalid Form Body: "+c.Problem)
		case route == "delete":
			w.WriteHeader(204)
		default:
			writeMessage(w, f.newID(), "777777777777777777")
		}
	}
}

// attach stores a file on the fake CDN and returns the attachment object
// a message carries for it.
func (f *fakeDiscord) attach(name, contentType string, data []byte) map[string]any {
	id := f.newID()
	p := "/attachments/" + id + "/" + name
	f.mu.Lock()
	f.files[p] = data
	f.mu.Unlock()
	return map[string]any{"id": id, "filename": name, "size": len(data), "url": f.srv.URL + p, "proxy_url": f.srv.URL + p, "content_type": contentType}
}

// getFile serves an attachment as the CDN does: no authorisation, and a
// suffix Range ("bytes=-N") answered 206 with the last N bytes.
func (f *fakeDiscord) getFile(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	data, ok := f.files[r.URL.Path]
	f.fileGets = append(f.fileGets, r.URL.Path+" "+r.Header.Get("Range"))
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(r.Header.Get("Range"), "bytes=-")); err == nil && n > 0 && n < len(data) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", len(data)-n, len(data)-1, len(data)))
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(data[len(data)-n:])
		return
	}
	_, _ = w.Write(data)
}

// addThread makes id a public thread (type 11) in parent.
func (f *fakeDiscord) addThread(id, parent string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.threads[id] = parent
}

// getChannel answers GET /channels/{id}: a thread added with addThread, else
// a text channel of the tests' guild, as Discord shapes them.
func (f *fakeDiscord) getChannel(w http.ResponseWriter, r *http.Request) {
	a := f.authed(w, r)
	if a == nil {
		return
	}
	id := r.PathValue("ch")
	a.record(call{Route: "channel", Channel: id, Status: 200})
	f.mu.Lock()
	parent, thread := f.threads[id]
	f.mu.Unlock()
	ch := map[string]any{"id": id, "type": 0, "guild_id": "555555555555555555", "name": "chan" + id}
	if thread {
		ch["type"], ch["parent_id"] = 11, parent
		ch["thread_metadata"] = map[string]any{"archived": false, "auto_archive_duration": 1440}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ch)
}

func (f *fakeDiscord) channel(route string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := f.authed(w, r)
		if a == nil {
			return
		}
		body, _ := io.ReadAll(r.Body)
		c := call{Route: route, Channel: r.PathValue("ch"), Raw: body, Status: 200}
		if route == "send" || route == "medit" {
			_ = json.Unmarshal(body, &c.Msg)
			if c.Problem = checkMessage(c.Msg, route == "send"); c.Problem != "" {
				c.Status = 400
			}
		}
		a.record(c)
		switch {
		case c.Status != 200:
			apiError(w, 400, 50035, "Invalid Form Body: "+c.Problem)
		case route == "typing" || route == "mdelete":
			w.WriteHeader(204)
		case route == "dm":
			var in struct {
				Recipient string `json:"recipient_id"`
			}
			_ = json.Unmarshal(body, &in)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"dm%s","type":1}`, in.Recipient)
		case route == "medit":
			writeMessage(w, r.PathValue("msg"), c.Channel)
		default:
			writeMessage(w, f.newID(), c.Channel)
		}
	}
}

func writeMessage(w http.ResponseWriter, id, channel string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":%q,"channel_id":%q,"type":0,"content":""}`, id, channel)
}

// checkMessage applies Discord's message limits, counting as Discord's
// clients do (UTF-16 code units); "" means the message is valid.
func checkMessage(m wireMsg, create bool) string {
	n := func(s string) int { return len(utf16.Encode([]rune(s))) }
	if m.AllowedMentions == nil || len(m.AllowedMentions.Parse) != 0 {
		return "allowed_mentions must be given and parse nothing" // our rule: no pings from quoted text
	}
	if n(m.content()) > 2000 {
		return fmt.Sprintf("content is %d characters", n(m.content()))
	}
	if len(m.Embeds) > 10 {
		return fmt.Sprintf("%d embeds", len(m.Embeds))
	}
	if create && m.content() == "" && len(m.Embeds) == 0 {
		return "empty message"
	}
	total := 0
	for i, e := range m.Embeds {
		sum := n(e.Title) + n(e.Description)
		switch {
		case n(e.Title) > 256:
			return fmt.Sprintf("embed %d title is %d characters", i, n(e.Title))
		case n(e.Description) > 4096:
			return fmt.Sprintf("embed %d description is %d characters", i, n(e.Description))
		case len(e.Fields) > 25:
			return fmt.Sprintf("embed %d has %d fields", i, len(e.Fields))
		case e.Title == "" && e.Description == "" && len(e.Fields) == 0:
			return fmt.Sprintf("embed %d is empty", i)
		}
		if e.Footer != nil {
			if n(e.Footer.Text) > 2048 {
				return "footer too long"
			}
			sum += n(e.Footer.Text)
		}
		if e.Author != nil {
			if n(e.Author.Name) > 256 {
				return "author too long"
			}
			sum += n(e.Author.Name)
		}
		for j, f := range e.Fields {
			switch {
			case f.Name == "" || n(f.Name) > 256:
				return fmt.Sprintf("embed %d field %d name is %d characters", i, j, n(f.Name))
			case f.Value == "" || n(f.Value) > 1024:
				return fmt.Sprintf("embed %d field %d value is %d characters", i, j, n(f.Value))
			}
			sum += n(f.Name) + n(f.Value)
		}
		total += sum
	}
	if total > 6000 {
		return fmt.Sprintf("embeds hold %d characters", total)
	}
	return ""
}

// fakeConn is one gateway connection.
type fakeConn struct {
	mu  sync.Mutex
	c   *websocket.Conn
	seq int
}

func (c *fakeConn) send(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.c.WriteJSON(v)
}

func (c *fakeConn) dispatch(t string, d any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	return c.c.WriteJSON(map[string]any{"op": 0, "t": t, "s": c.seq, "d": d})
}

// gateway: hello, identify, READY, then heartbeats answered until the bot leaves.
func (f *fakeDiscord) gateway(w http.ResponseWriter, r *http.Request) {
	// discordgo sends no browser Origin; accept any, as Discord does.
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	conn := &fakeConn{c: ws}
	if conn.send(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 250}}) != nil {
		return
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var id struct {
		Op int      `json:"op"`
		D  identify `json:"d"`
	}
	if ws.ReadJSON(&id) != nil || id.Op != 2 {
		return
	}
	ws.SetReadDeadline(time.Time{})
	f.mu.Lock()
	a := f.byAuth[id.D.Token]
	f.mu.Unlock()
	if a == nil {
		conn.mu.Lock()
		ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."))
		conn.mu.Unlock()
		return
	}
	ready := map[string]any{"v": 9, "session_id": "fake-" + randHex(4), "guilds": []any{},
		"user":        map[string]any{"id": a.botUser, "username": "badgateway", "bot": true},
		"application": map[string]any{"id": a.id, "flags": 0}}
	if conn.dispatch("READY", ready) != nil {
		return
	}
	a.mu.Lock()
	a.identifies = append(a.identifies, id.D)
	a.gw = conn
	close(a.changed)
	a.changed = make(chan struct{})
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.gw == conn {
			a.gw = nil
		}
		a.mu.Unlock()
	}()
	for {
		var op struct {
			Op int `json:"op"`
		}
		if ws.ReadJSON(&op) != nil {
			return
		}
		if op.Op == 1 {
			a.mu.Lock()
			a.heartbeats++
			a.mu.Unlock()
			if conn.send(map[string]any{"op": 11}) != nil {
				return
			}
		}
	}
}

// dispatch delivers an event to the bot over its gateway connection.
func (a *fakeApp) dispatch(t testing.TB, typ string, d any) {
	t.Helper()
	a.mu.Lock()
	conn := a.gw
	a.mu.Unlock()
	if conn == nil {
		t.Fatal("the bot is not connected to the gateway")
	}
	if err := conn.dispatch(typ, d); err != nil {
		t.Fatalf("dispatch %s: %v", typ, err)
	}
}
