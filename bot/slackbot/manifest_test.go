package slackbot

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// The app manifest in examples/ asks for what this package uses: the /502
// command, the events onEvent reads, the button, and the scopes they need.
func TestAppManifest(t *testing.T) {
	b, err := os.ReadFile("../../examples/slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			AppHome struct {
				MessagesTab bool `yaml:"messages_tab_enabled"`
			} `yaml:"app_home"`
			SlashCommands []struct {
				Command string `yaml:"command"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"app_mentions:read", "chat:write", "commands", "files:read", "im:history", "usergroups:read"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, s) {
			t.Errorf("scope %s missing", s)
		}
	}
	for _, e := range []string{"app_mention", "message.im"} {
		if !slices.Contains(m.Settings.Events.BotEvents, e) {
			t.Errorf("event %s missing", e)
		}
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/502" {
		t.Errorf("slash commands %+v", m.Features.SlashCommands)
	}
	if !m.Features.AppHome.MessagesTab || !m.Settings.Interactivity.Enabled || !m.Settings.SocketMode {
		t.Errorf("DMs, the Re-run button and Socket Mode must be on: %+v", m)
	}
}
