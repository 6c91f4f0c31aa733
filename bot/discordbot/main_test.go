package discordbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/internal/testlab"
	"github.com/badgateway/badgateway/remote"
)

// fake is the one Discord of this test binary: discordgo's endpoints are
// process globals, so they point at it once, here.
var fake *fakeDiscord

func TestMain(m *testing.M) {
	fake = newFakeDiscord()
	api := fake.apiURL()
	discordgo.EndpointAPI = api
	discordgo.EndpointGateway = api + "gateway"
	discordgo.EndpointGatewayBot = api + "gateway/bot"
	discordgo.EndpointWebhooks = api + "webhooks/"
	discordgo.EndpointApplications = api + "applications"
	discordgo.EndpointChannels = api + "channels/"
	discordgo.EndpointGuilds = api + "guilds/"
	discordgo.EndpointUsers = api + "users/"
	code := m.Run()
	fake.srv.Close()
	os.Exit(code)
}

// Ids of the people and places in the tests' guild.
const (
	alice     = "200000000000000001" // may diagnose localhost and web-*
	bob       = "200000000000000002" // may diagnose nothing
	carol     = "200000000000000003" // holds the web role
	webRole   = "300000000000000001"
	chanOps   = "400000000000000001"
	chanFleet = "400000000000000002" // anyone may diagnose @fleet here
	otherBot  = "200000000000000099"
)

const inventory = `ssh:
  user: root
hosts:
  - name: web-01
    address: 127.0.0.1
    port: 1
    labels: [web]
  - name: web-02
    address: 127.0.0.1
    port: 1
    labels: [web]
  - name: db-01
    address: 127.0.0.1
    port: 1
    labels: [db]
`

// env is a bot wired to an application on the fake Discord.
type env struct {
	t        *testing.T
	app      *fakeApp
	cfg      *config.Config
	a        *Adapter
	logs     *testlab.SyncBuffer
	audit    string
	connects atomic.Int32 // hosts the bot connected to: diagnoses run

	// held makes localhost commands past the first few wait for release, so
	// a test can watch a diagnosis in progress (see hold).
	held  atomic.Pointer[gate]
	delay time.Duration // per command, on top
}

type gate struct {
	after   int32
	ran     atomic.Int32
	release chan struct{}
}

// hold lets the next localhost diagnosis run n commands, then holds it until
// the returned func is called.
func (e *env) hold(n int32) (release func()) {
	g := &gate{after: n, release: make(chan struct{})}
	e.held.Store(g)
	var once sync.Once
	return func() { once.Do(func() { close(g.release) }) }
}

type envOptions struct {
	fleet     int // hosts labelled fleet, allowed in chanFleet
	publicKey string
	delay     time.Duration
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, app: fake.newApp(), logs: &testlab.SyncBuffer{}, delay: o.delay}
	e.audit = filepath.Join(t.TempDir(), "audit.jsonl")
	var y strings.Builder
	y.WriteString(inventory)
	for i := 1; i <= o.fleet; i++ {
		fmt.Fprintf(&y, "  - name: fleet-%03d\n    address: 127.0.0.1\n    port: 1\n    labels: [fleet]\n", i)
	}
	key := ""
	if o.publicKey != "" {
		key = "  public_key: ${DISCORD_PUBLIC_KEY}\n"
	}
	fmt.Fprintf(&y, "discord:\n  bot_token: ${DISCORD_BOT_TOKEN}\n  application_id: %q\n%s  api_url: %s\n", e.app.id, key, fake.apiURL())
	fmt.Fprintf(&y, "access:\n  - hosts: [localhost, \"web-*\"]\n    discord_users: [%q]\n  - hosts: [\"@web\"]\n    discord_roles: [%q]\n", alice, webRole)
	if o.fleet > 0 {
		fmt.Fprintf(&y, "  - hosts: [\"@fleet\"]\n    discord_channels: [%q]\n", chanFleet)
	}
	fmt.Fprintf(&y, "audit_log: %s\n", e.audit)
	env := map[string]string{"DISCORD_BOT_TOKEN": e.app.token, "DISCORD_PUBLIC_KEY": o.publicKey}
	cfg, err := config.Parse("test.yaml", []byte(y.String()), config.Options{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok && v != "" },
		Home:      t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	b := newBot(t, cfg)
	b.Connect = e.connect
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := New(cfg, b, log)
	if err != nil {
		t.Fatal(err)
	}
	a.EditInterval = 150 * time.Millisecond
	e.a = a
	t.Cleanup(func() {
		if !a.runs.Load() {
			a.shutdown() // Handler-only tests: wait for their requests
		}
		// Secrets never reach the logs: not the bot token, not an interaction token.
		logs := e.logs.String()
		if strings.Contains(logs, e.app.token) || strings.Contains(logs, "itok") {
			t.Errorf("a token reached the logs:\n%s", logs)
		}
	})
	return e
}

func newBot(t *testing.T, cfg *config.Config) *bot.Bot {
	t.Helper()
	b, err := bot.New(cfg, "nginx-502")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// connect runs localhost for real (optionally held or slowed) and fails every
// other host at once, as an unreachable SSH host does.
func (e *env) connect(ctx context.Context, h config.Host) (remote.Runner, error) {
	e.connects.Add(1)
	if !h.Local {
		return nil, fmt.Errorf("ssh %s: dial tcp 127.0.0.1:1: connect: connection refused; check that sshd runs and hosts[].port is right", h.Name)
	}
	return &heldRunner{Runner: remote.NewLocal(), e: e}, nil
}

type heldRunner struct {
	remote.Runner
	e *env
}

func (r *heldRunner) Run(ctx context.Context, c remote.Command) (remote.Result, error) {
	if g := r.e.held.Load(); g != nil && g.ran.Add(1) > g.after {
		select {
		case <-g.release:
		case <-ctx.Done():
			return remote.Result{}, ctx.Err()
		}
	}
	if r.e.delay > 0 {
		select {
		case <-time.After(r.e.delay):
		case <-ctx.Done():
			return remote.Result{}, ctx.Err()
		}
	}
	return r.Runner.Run(ctx, c)
}

// run starts the gateway mode and stops it when the test ends, checking that
// Run returns nil after its context is cancelled.
func (e *env) run() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.a.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			e.t.Error("Run did not return after its context was cancelled")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for e.a.botID() == "" {
		select {
		case err := <-done:
			e.t.Fatalf("Run returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the bot never became ready; logs:\n%s", e.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// command delivers "/502 host [since] [site]" from user over the gateway.
func (e *env) command(user string, roles []string, channel, locale string, opts map[string]string) *fakeInteraction {
	e.t.Helper()
	fi, payload := e.app.interact(2, user, roles, channel, locale, commandData(opts, ""))
	e.app.dispatch(e.t, "INTERACTION_CREATE", payload)
	return fi
}

func commandData(opts map[string]string, focused string) map[string]any {
	var list []any
	for _, name := range []string{optHost, optSince, optSite} {
		if v, ok := opts[name]; ok {
			o := map[string]any{"name": name, "type": 3, "value": v}
			if name == focused {
				o["focused"] = true
			}
			list = append(list, o)
		}
	}
	return map[string]any{"id": "600000000000000001", "name": CommandName, "type": 1, "options": list}
}

// message delivers a MESSAGE_CREATE from user in channel (a guild channel,
// or a DM when channel starts with "dm"); id "" makes a new message.
func (e *env) message(id, user string, bot bool, channel, content string, mentionBot bool) string {
	e.t.Helper()
	return e.messageWith(id, user, bot, channel, content, mentionBot, nil)
}

// messageWith is message with attachments (maps as Discord sends them).
func (e *env) messageWith(id, user string, bot bool, channel, content string, mentionBot bool, attachments []map[string]any) string {
	e.t.Helper()
	if id == "" {
		id = fake.newID()
	}
	m := map[string]any{
		"id": id, "channel_id": channel, "type": 0, "content": content, "timestamp": time.Now().UTC().Format(time.RFC3339),
		"author": map[string]any{"id": user, "username": "user" + user, "bot": bot}, "mentions": []any{},
		"attachments": attachments,
	}
	if !strings.HasPrefix(channel, "dm") {
		m["guild_id"] = "555555555555555555"
		m["member"] = map[string]any{"roles": []string{}}
	}
	if mentionBot {
		m["mentions"] = []any{map[string]any{"id": e.app.botUser, "username": "badgateway", "bot": true}}
	}
	e.app.dispatch(e.t, "MESSAGE_CREATE", m)
	return id
}

func (e *env) mention() string { return "<@" + e.app.botUser + ">" }

// callsFor are the calls answering one interaction.
func callsFor(calls []call, token string) []call {
	var out []call
	for _, c := range calls {
		if c.Token == token {
			out = append(out, c)
		}
	}
	return out
}

func inChannel(calls []call, channel string) []call {
	var out []call
	for _, c := range calls {
		if c.Channel == channel {
			out = append(out, c)
		}
	}
	return out
}

func refused(calls []call) error {
	var errs []error
	for _, c := range calls {
		if c.Status >= 400 {
			errs = append(errs, fmt.Errorf("%s refused with %d: %s", c.Route, c.Status, c.Problem))
		}
	}
	return errors.Join(errs...)
}
