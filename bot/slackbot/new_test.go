package slackbot

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/config"
)

// New refuses a config it cannot run with, in one line that says what to
// do, and never repeats a token.
func TestNewRefusesBadConfig(t *testing.T) {
	parse := func(t *testing.T, yaml string, env map[string]string) *config.Config {
		t.Helper()
		cfg, err := config.Parse("test.yaml", []byte(yaml), config.Options{Home: t.TempDir(), LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		}})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	full := map[string]string{"SLACK_BOT_TOKEN": botToken, "SLACK_APP_TOKEN": appToken, "SLACK_SIGNING_SECRET": signingSecret}
	cases := []struct {
		name   string
		cfg    func(t *testing.T) *config.Config
		want   string
		socket bool
	}{
		{"no slack section", func(t *testing.T) *config.Config { return parse(t, "hosts: []\n", nil) }, "no slack: section", false},
		{"bot token variable unset", func(t *testing.T) *config.Config {
			return parse(t, "slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n  app_token: ${SLACK_APP_TOKEN}\n", map[string]string{"SLACK_APP_TOKEN": appToken})
		}, "test.yaml:2: slack.bot_token: ${SLACK_BOT_TOKEN} is not set; export SLACK_BOT_TOKEN", false},
		{"app token variable unset", func(t *testing.T) *config.Config {
			return parse(t, "slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n  app_token: ${SLACK_APP_TOKEN}\n", map[string]string{"SLACK_BOT_TOKEN": botToken})
		}, "slack.app_token: ${SLACK_APP_TOKEN} is not set", false},
		{"no bot token", func(t *testing.T) *config.Config {
			return parse(t, "slack:\n  app_token: ${SLACK_APP_TOKEN}\n", full)
		}, "slack.bot_token is not set", false},
		{"neither mode", func(t *testing.T) *config.Config {
			return parse(t, "slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n", full)
		}, "set app_token (xapp-…, Socket Mode) or signing_secret", false},
		{"user token as bot token", func(t *testing.T) *config.Config {
			c := parse(t, "slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n  app_token: ${SLACK_APP_TOKEN}\n", full)
			c.Slack.BotToken = config.NewSecret("xoxp-9999-SECRETUSERTOKEN")
			return c
		}, "slack.bot_token: the value holds a user token (xoxp-…), not a bot token (xoxb-…)", false},
		{"bot token as app token", func(t *testing.T) *config.Config {
			c := parse(t, "slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n  app_token: ${SLACK_APP_TOKEN}\n", full)
			c.Slack.AppToken = config.NewSecret(botToken)
			return c
		}, "slack.app_token: the value holds a bot token (xoxb-…), not an app-level token (xapp-…)", false},
		{"socket mode", func(t *testing.T) *config.Config {
			return parse(t, "slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n  app_token: ${SLACK_APP_TOKEN}\n", full)
		}, "", true},
		{"http mode", func(t *testing.T) *config.Config {
			return parse(t, "slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n  signing_secret: ${SLACK_SIGNING_SECRET}\n", full)
		}, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.cfg(t), &bot.Bot{}, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if a.socket != tc.socket {
					t.Errorf("socket mode %v, want %v", a.socket, tc.socket)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line containing %q", msg, tc.want)
			}
			if strings.Contains(msg, "SECRET") {
				t.Errorf("the error shows a token: %q", msg)
			}
		})
	}
}

// Without a signing secret (Socket Mode only) the HTTP endpoints act on nothing.
func TestHandlerWithoutSigningSecret(t *testing.T) {
	f := newFakeSlack(t)
	h := newHarness(t, f.GetAPIURL(), true, "")
	h.a.secret = config.Secret{}
	srv := httptest.NewServer(h.a.Handler())
	defer srv.Close()
	resp, err := http.DefaultClient.Do(signed(t, srv.URL, "/slack/commands", commandBody(okUser, "localhost", "http://127.0.0.1:1/"), time.Now(), signingSecret))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
}
