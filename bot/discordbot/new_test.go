package discordbot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/badgateway/badgateway/config"
)

const secretToken = "MTIzNDU2Nzg5MDEyMzQ1Njc4.secret.value"

func parseConfig(t *testing.T, yaml string, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(inventory+yaml), config.Options{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Home:      t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// New refuses a config it cannot run with, in one line that says what to do,
// and never with a secret in it.
func TestNewChecksTheConfig(t *testing.T) {
	key := strings.Repeat("ab", 32)
	cases := []struct {
		name, yaml string
		env        map[string]string
		want       string // "" = accepted
	}{
		{"no section", "", nil, "no discord: section"},
		{"no application id", "discord:\n  bot_token: ${DISCORD_BOT_TOKEN}\n", map[string]string{"DISCORD_BOT_TOKEN": secretToken}, "discord.application_id is empty"},
		{"token variable unset", "discord:\n  bot_token: ${DISCORD_BOT_TOKEN}\n  application_id: \"123456789012345678\"\n", nil, "${DISCORD_BOT_TOKEN} is not set"},
		{"public key variable unset", "discord:\n  public_key: ${DISCORD_PUBLIC_KEY}\n  application_id: \"123456789012345678\"\n", nil, "${DISCORD_PUBLIC_KEY} is not set"},
		{"nothing to connect with", "discord:\n  application_id: \"123456789012345678\"\n", nil, "set bot_token"},
		{"token with spaces", "discord:\n  bot_token: ${DISCORD_BOT_TOKEN}\n  application_id: \"123456789012345678\"\n", map[string]string{"DISCORD_BOT_TOKEN": "paste " + secretToken}, "is not a bot token"},
		{"gateway only", "discord:\n  bot_token: ${DISCORD_BOT_TOKEN}\n  application_id: \"123456789012345678\"\n", map[string]string{"DISCORD_BOT_TOKEN": secretToken}, ""},
		{"token with its Bot prefix", "discord:\n  bot_token: ${DISCORD_BOT_TOKEN}\n  application_id: \"123456789012345678\"\n", map[string]string{"DISCORD_BOT_TOKEN": "Bot " + secretToken}, ""},
		{"HTTP only", "discord:\n  public_key: ${DISCORD_PUBLIC_KEY}\n  application_id: \"123456789012345678\"\n", map[string]string{"DISCORD_PUBLIC_KEY": key}, ""},
	}
	for _, tc := range cases {
		cfg := parseConfig(t, tc.yaml, tc.env)
		a, err := New(cfg, newBot(t, cfg), nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == "" && tc.env["DISCORD_BOT_TOKEN"] != "" && a.token != "Bot "+secretToken:
			t.Errorf("%s: token sent as %q", tc.name, a.token)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		case err != nil && (strings.Contains(err.Error(), "secret.value") || strings.Contains(err.Error(), "\n")):
			t.Errorf("%s: the error leaks the secret or spans lines: %v", tc.name, err)
		}
	}
}

// discord.api_url is honoured without touching discordgo's global endpoints,
// and a refused token is reported without the token.
func TestAPIURLAndRefusedToken(t *testing.T) {
	var mu sync.Mutex
	var got []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		io.WriteString(w, `{"code":0,"message":"401: Unauthorized"}`)
	}))
	defer other.Close()
	cfg := parseConfig(t, "discord:\n  bot_token: ${DISCORD_BOT_TOKEN}\n  application_id: \"123456789012345678\"\n  api_url: "+other.URL+"/api/v9\n",
		map[string]string{"DISCORD_BOT_TOKEN": secretToken})
	a, err := New(cfg, newBot(t, cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = a.RegisterCommands(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "PUT /api/v9/applications/123456789012345678/commands Bot "+secretToken {
		t.Errorf("requests at discord.api_url: %q", got)
	}
	if err == nil || !strings.Contains(err.Error(), "bot token was refused") || strings.Contains(err.Error(), secretToken) {
		t.Errorf("error: %v", err)
	}
}

// Errors reach the logs without the interaction token (in webhook and
// callback URLs) or the bot token.
func TestSafeErrKeepsTokensOut(t *testing.T) {
	a := &Adapter{token: "Bot " + secretToken}
	hook := "https://discord.com/api/v9/webhooks/123456789012345678/itokSECRETSECRET/messages/@original"
	cb := "https://discord.com/api/v9/interactions/123456789012345678/itokSECRETSECRET/callback"
	errs := []error{
		&url.Error{Op: "Patch", URL: hook, Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")},
		fmt.Errorf("editing: %w", &url.Error{Op: "Post", URL: cb, Err: context.DeadlineExceeded}),
		discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{}, URL: hook}},
		errors.New("refused token " + secretToken),
	}
	for _, err := range errs {
		got := a.safeErr(err)
		if strings.Contains(got, "itokSECRET") || strings.Contains(got, secretToken) || got == "" {
			t.Errorf("safeErr(%v) = %q", err, got)
		}
	}
}
