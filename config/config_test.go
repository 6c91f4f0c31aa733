package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// envOf is a LookupEnv over a map, so tests never read the real environment.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func parse(t *testing.T, text string, env map[string]string) *Config {
	t.Helper()
	c, err := Parse("test.yaml", []byte(text), Options{LookupEnv: envOf(env), Home: "/home/op"})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestLoadBad(t *testing.T) {
	okBot := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1-good-bottoken"}
	tests := []struct {
		file string
		env  map[string]string
		want []string // without the "testdata/bad/" prefix
	}{
		{"unknown_key.yaml", nil, []string{`unknown_key.yaml:4: unknown key "adress" in hosts[0]; did you mean address?`}},
		{"unknown_section.yaml", nil, []string{`unknown_section.yaml:3: unknown key "host" at the top level; did you mean hosts?`}},
		{"syntax.yaml", nil, []string{`syntax.yaml:3: did not find expected ',' or ']'; check the indentation and quoting around this line`}},
		{"wrong_type.yaml", nil, []string{`wrong_type.yaml:3: hosts: expected a list of hosts (- name: …), found a single value`}},
		{"repeated_key.yaml", nil, []string{`repeated_key.yaml:4: key "user" is repeated (first at line 2); keep one`}},
		{"second_document.yaml", nil, []string{`second_document.yaml:3: a second YAML document (after ---); keep the whole config in one document`}},
		{"duplicate_host.yaml", nil, []string{`duplicate_host.yaml:6: host name "web-01" is already used at line 2; give each host a unique name`}},
		{"no_address.yaml", nil, []string{`no_address.yaml:2: host "web-01" has no address; add address: (a host name or IP address)`}},
		{"address_with_port.yaml", nil, []string{`address_with_port.yaml:3: hosts[0].address: "10.0.0.5:2222" contains a port; put the port in port: and only the host in address:`}},
		{"port_range.yaml", nil, []string{`port_range.yaml:4: hosts[0].port: 70000 is out of range; write a number from 1 to 65535`}},
		{"port_not_number.yaml", nil, []string{`port_not_number.yaml:2: ssh.port: "twenty-two" is not a port number; write a number from 1 to 65535`}},
		{"bad_duration.yaml", nil, []string{`bad_duration.yaml:2: ssh.connect_timeout: "10" is not a duration; write a number with a unit, like 10s or 1m30s`}},
		{"bad_host_name.yaml", nil, []string{`bad_host_name.yaml:2: host name "web 01" is not valid; use letters, digits, '.', '-' and '_', starting with a letter or digit`}},
		{"bad_label.yaml", nil, []string{`bad_label.yaml:6: host "web-01": label "prod env" is not valid; use up to 63 letters, digits, '.', '-' and '_', starting with a letter or digit`}},
		{"unknown_jump.yaml", nil, []string{`unknown_jump.yaml:6: hosts[1].jump: unknown jump host "bastoin"; did you mean bastion? (a jump is an inventory host name, or user@host or host:port for a host outside the inventory)`}},
		{"jump_cycle.yaml", nil, []string{`jump_cycle.yaml:7: host "bastion": jump cycle bastion -> inner -> bastion (each host jumps through the next); remove one of these jumps`}},
		{"jump_repeat.yaml", nil, []string{`jump_repeat.yaml:6: host "web-01": the jump chain bastion -> web-01 -> web-01 reaches web-01 twice (hop 2); remove the repeated hop`}},
		{"rule_no_hosts.yaml", nil, []string{`rule_no_hosts.yaml:2: access[0] lists no hosts; add hosts: (names, globs like web-* or labels like @web)`}},
		{"rule_no_principals.yaml", nil, []string{`rule_no_principals.yaml:5: access[0] allows no one; add slack_users, slack_groups, slack_channels, discord_users, discord_roles or discord_channels (ids, not names)`}},
		{"rule_unknown_label.yaml", nil, []string{`rule_unknown_label.yaml:6: access[0].hosts: no host has label "wbe"; did you mean @web? (labels: web)`}},
		{"rule_unknown_host.yaml", nil, []string{`rule_unknown_host.yaml:7: access[0].hosts: unknown host "web-1"; did you mean web-01, web-02? ('badgateway hosts' lists the inventory)`}},
		{"rule_display_name.yaml", nil, []string{
			`rule_display_name.yaml:6: access[0].slack_users: "@alice" is not a Slack user id (U… or W…); rules match ids, never names: copy it in Slack from the profile or channel details`,
			`rule_display_name.yaml:7: access[0].discord_roles: "oncall" is not a Discord role id (a number like 345678901234567890); rules match ids, never names: in Discord turn on Developer Mode, then right-click → Copy ID`,
		}},
		{"slack_bot_token_prefix.yaml", map[string]string{"SLACK_APP_TOKEN": "xapp-1-A0-secretapp", "SLACK_BOT_TOKEN": "xapp-1-A1-secretbot"}, []string{
			`slack_bot_token_prefix.yaml:3: slack.bot_token: ${SLACK_BOT_TOKEN} holds an app-level token (xapp-…), not a bot token (xoxb-…); use the Bot User OAuth Token (OAuth & Permissions)`,
		}},
		{"slack_app_token_prefix.yaml", map[string]string{"SLACK_APP_TOKEN": "xoxb-1-A0-secretapp", "SLACK_BOT_TOKEN": "xoxb-1-A1-secretbot"}, []string{
			`slack_app_token_prefix.yaml:2: slack.app_token: ${SLACK_APP_TOKEN} holds a bot token (xoxb-…), not an app-level token (xapp-…); use an App-Level Token with connections:write (Basic Information)`,
		}},
		{"inline_slack_token.yaml", nil, []string{`inline_slack_token.yaml:2: slack.bot_token is written inline; secrets come only from the environment: write bot_token: ${SLACK_BOT_TOKEN} and export SLACK_BOT_TOKEN`}},
		{"inline_signing_secret.yaml", okBot, []string{`inline_signing_secret.yaml:3: slack.signing_secret is written inline; secrets come only from the environment: write signing_secret: ${SLACK_SIGNING_SECRET} and export SLACK_SIGNING_SECRET`}},
		{"token_elsewhere.yaml", okBot, []string{`token_elsewhere.yaml:3: slack.api_url holds what looks like a Slack token (xoxb-…); secrets come only from ${ENV_VAR} references: move it to an environment variable (and rotate it if this file was shared)`}},
		{"discord_public_key.yaml", map[string]string{"DISCORD_BOT_TOKEN": "dtoken-secret", "DISCORD_PUBLIC_KEY": "not-hex-secret"}, []string{
			`discord_public_key.yaml:4: discord.public_key: ${DISCORD_PUBLIC_KEY} is not 64 hex digits; copy the Public Key from the application's General Information page`,
		}},
		{"bad_listen.yaml", nil, []string{`bad_listen.yaml:2: http.listen: "8080" is not host:port; write 127.0.0.1:8080, or :8080 for every interface`}},
		{"bad_env_ref.yaml", nil, []string{`bad_env_ref.yaml:3: hosts[0].address has an unterminated ${ (write ${NAME})`}},
		{"unset_address.yaml", nil, []string{`unset_address.yaml:3: hosts[0].address: ${WEB_01_ADDR} is not set; export WEB_01_ADDR before starting badgateway`}},
		{"missing_ssh_config.yaml", nil, []string{`missing_ssh_config.yaml:3: ssh.ssh_config: testdata/bad/no-such-ssh-config does not exist; fix the path or remove the key for ~/.ssh/config`}},
		// Every problem at once, in line order.
		{"many.yaml", nil, []string{
			`many.yaml:2: ssh.port: 0 is out of range; write a number from 1 to 65535`,
			`many.yaml:6: host "web-01": label "@web" is not valid; use up to 63 letters, digits, '.', '-' and '_', starting with a letter or digit`,
			`many.yaml:7: host "web-02" has no address; add address: (a host name or IP address)`,
			`many.yaml:9: access[0] allows no one; add slack_users, slack_groups, slack_channels, discord_users, discord_roles or discord_channels (ids, not names)`,
			`many.yaml:11: http.listen: "localhost" is not host:port; write 127.0.0.1:8080, or :8080 for every interface`,
		}},
	}
	// Values that must never show up in a message.
	secrets := []string{"inlinesecretvalue", "8f742231b10e8888abcd99yyyzzz85a5", "leakedvalue"}

	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			c, err := LoadWith(filepath.Join("testdata", "bad", tt.file), Options{LookupEnv: envOf(tt.env), Home: "/home/op"})
			if err == nil {
				t.Fatalf("loaded without error: %v", c)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, "testdata/bad/"+w)
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Errorf("error:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.Line == 0 {
				t.Errorf("errors.As(*Error) = %v, %+v; want a located *Error", errors.As(err, &fe), fe)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error quotes a secret: %v", err)
				}
			}
			for _, v := range tt.env {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error quotes the value of a variable: %v", err)
				}
			}
		})
	}
	// A bad file without a case would be a test that cannot fail.
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no test case", f)
		}
	}
}

var exampleEnv = map[string]string{
	"SLACK_APP_TOKEN":      "xapp-1-A0EXAMPLE-secret-app-value",
	"SLACK_BOT_TOKEN":      "xoxb-1-2-secret-bot-value",
	"SLACK_SIGNING_SECRET": "secret-signing-value",
	"DISCORD_BOT_TOKEN":    "secret-discord-token-value",
	"DISCORD_PUBLIC_KEY":   strings.Repeat("ab", 32),
}

func loadExample(t *testing.T, env map[string]string) *Config {
	t.Helper()
	c, err := LoadWith("../config.example.yaml", Options{LookupEnv: envOf(env), Home: t.TempDir()})
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	return c
}

func TestLoadExample(t *testing.T) {
	c := loadExample(t, exampleEnv)

	if got := c.SSH; got.User != "root" || got.Port != 22 || got.ConnectTimeout != 10*time.Second ||
		got.CommandTimeout != 20*time.Second || got.KeepAlive != 15*time.Second || got.UseSSHConfig ||
		!reflect.DeepEqual(got.IdentityFiles, []string{"/home/oncall/.ssh/id_ed25519"}) ||
		got.KnownHosts != "/home/oncall/.ssh/known_hosts" {
		t.Errorf("ssh = %+v", got)
	}
	var names []string
	for _, h := range c.Hosts {
		names = append(names, h.Name)
	}
	if want := []string{"web-01", "web-02", "web-03", "bastion"}; !reflect.DeepEqual(names, want) {
		t.Errorf("hosts = %v, want %v", names, want)
	}
	web3, _ := c.Host("web-03")
	if !reflect.DeepEqual(web3.Jump, []string{"bastion", "ops@10.0.1.1:2222"}) || web3.Sudo == nil || !*web3.Sudo ||
		web3.User != "deploy" || !web3.HasLabel("staging") {
		t.Errorf("web-03 = %+v", web3)
	}
	if s := c.Slack; s == nil || s.BotToken.Reveal() != exampleEnv["SLACK_BOT_TOKEN"] ||
		s.AppToken.Reveal() != exampleEnv["SLACK_APP_TOKEN"] || s.SigningSecret.Reveal() != exampleEnv["SLACK_SIGNING_SECRET"] ||
		s.APIURL != "https://slack.com/api/" {
		t.Errorf("slack = %+v", s)
	}
	if d := c.Discord; d == nil || d.BotToken.Reveal() != exampleEnv["DISCORD_BOT_TOKEN"] ||
		d.ApplicationID != "123456789012345678" || d.APIURL != DefaultDiscordAPIURL {
		t.Errorf("discord = %+v", d)
	}
	if c.HTTP.Listen != "127.0.0.1:8080" || c.AuditLog != "/var/log/badgateway/audit.jsonl" || len(c.Access) != 2 {
		t.Errorf("http, audit_log, access = %q, %q, %d rules", c.HTTP.Listen, c.AuditLog, len(c.Access))
	}
	if m := c.MissingEnv(); len(m) != 0 {
		t.Errorf("MissingEnv = %v, want none", m)
	}
	// Every host of the example must be reachable as written.
	for _, h := range c.Hosts {
		if _, err := c.SSHHost(h); err != nil {
			t.Errorf("SSHHost(%s): %v", h.Name, err)
		}
	}
}

// The example loads without the chat variables too: only the component
// that needs a value reports it missing.
func TestLoadExampleUnsetEnv(t *testing.T) {
	c := loadExample(t, nil)
	if !c.Slack.BotToken.IsZero() {
		t.Errorf("bot token = %v, want empty", c.Slack.BotToken)
	}
	err := c.Missing("slack.bot_token")
	if err == nil || !strings.HasSuffix(err.Error(), ": slack.bot_token: ${SLACK_BOT_TOKEN} is not set; export SLACK_BOT_TOKEN before starting badgateway") ||
		!strings.HasPrefix(err.Error(), "../config.example.yaml:") {
		t.Errorf("Missing(slack.bot_token) = %v", err)
	}
	if len(c.MissingEnv()) != 5 {
		t.Errorf("MissingEnv = %v, want the 5 secrets", c.MissingEnv())
	}
}

func TestEnvExpansion(t *testing.T) {
	c := parse(t, `
ssh:
  user: ${SSH_USER}
  port: ${SSH_PORT}
  connect_timeout: ${TIMEOUT}
hosts:
  - name: web-01
    address: ${WEB_NET}.5
    labels: ["${ENV}-web"]
    user: ${A}${B}
slack:
  bot_token: ${SLACK_BOT_TOKEN}
audit_log: /var/log/$literal/${ENV}.jsonl
`, map[string]string{"SSH_USER": "admin", "SSH_PORT": "2222", "TIMEOUT": "3s", "WEB_NET": "10.0.0", "ENV": "prod", "A": "de", "B": "${C}"})
	h := c.Hosts[0]
	if c.SSH.User != "admin" || c.SSH.Port != 2222 || c.SSH.ConnectTimeout != 3*time.Second {
		t.Errorf("ssh = %+v", c.SSH)
	}
	if h.Address != "10.0.0.5" || !reflect.DeepEqual(h.Labels, []string{"prod-web"}) {
		t.Errorf("host = %+v", h)
	}
	// Only ${NAME} is a reference; a lone $ stays.
	if c.AuditLog != "/var/log/$literal/prod.jsonl" {
		t.Errorf("audit_log = %q", c.AuditLog)
	}
	// A value is not expanded again: ${C} inside B stays literal.
	if h.User != "de${C}" {
		t.Errorf("user = %q, want de${C}", h.User)
	}
	want := `test.yaml:12: slack.bot_token: ${SLACK_BOT_TOKEN} is not set; export SLACK_BOT_TOKEN before starting badgateway`
	if err := c.Missing("slack.bot_token"); err == nil || err.Error() != want {
		t.Errorf("Missing = %v, want %s", err, want)
	}
	if err := c.Missing("hosts[0].address"); err != nil {
		t.Errorf("Missing(address) = %v, want nil", err)
	}
	if got := c.MissingEnv(); !reflect.DeepEqual(got, map[string][]string{"slack.bot_token": {"SLACK_BOT_TOKEN"}}) {
		t.Errorf("MissingEnv = %v", got)
	}
}

func TestMissingSeveral(t *testing.T) {
	c := parse(t, "hosts:\n  - name: a\n    address: x\n    user: ${U1}-${U2}\n", nil)
	want := `test.yaml:4: hosts[0].user: ${U1}, ${U2} are not set; export U1, U2 before starting badgateway`
	if err := c.Missing("hosts[0].user"); err == nil || err.Error() != want {
		t.Errorf("Missing = %v, want %s", err, want)
	}
}

func TestPaths(t *testing.T) {
	c, err := Parse("/etc/badgateway/config.yaml", []byte(`
ssh:
  identity_files: [keys/id_ed25519, ~/.ssh/id_rsa, /abs/key]
  known_hosts: ~/kh
audit_log: audit.jsonl
`), Options{Home: "/home/op", LookupEnv: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/etc/badgateway/keys/id_ed25519", "/home/op/.ssh/id_rsa", "/abs/key"}
	if !reflect.DeepEqual(c.SSH.IdentityFiles, want) || c.SSH.KnownHosts != "/home/op/kh" || c.AuditLog != "/etc/badgateway/audit.jsonl" {
		t.Errorf("identity_files = %v, known_hosts = %q, audit_log = %q", c.SSH.IdentityFiles, c.SSH.KnownHosts, c.AuditLog)
	}
}

func TestLenientForms(t *testing.T) {
	c := parse(t, `
ssh:
  sudo: yes
hosts:
  - name: web-01
    address: 10.0.0.5
    labels: web
    sudo: false
    jump: [bastion, "ops@10.9.9.9:2200,root@[fd00::1]:22"]
  - name: bastion
    address: fd00::2
access:
  - hosts: "@web"
    discord_users: [234567890123456789]
`, nil)
	h := c.Hosts[0]
	if !c.SSH.Sudo || h.Sudo == nil || *h.Sudo || !reflect.DeepEqual(h.Labels, []string{"web"}) {
		t.Errorf("sudo %v, host %+v", c.SSH.Sudo, h)
	}
	if want := []string{"bastion", "ops@10.9.9.9:2200", "root@[fd00::1]:22"}; !reflect.DeepEqual(h.Jump, want) {
		t.Errorf("jump = %q, want %q", h.Jump, want)
	}
	// An unquoted snowflake is kept as written, not rounded through a float.
	if got := c.Access[0].DiscordUsers; !reflect.DeepEqual(got, []string{"234567890123456789"}) {
		t.Errorf("discord_users = %v", got)
	}
}

func TestEmptyFile(t *testing.T) {
	c := parse(t, "# nothing configured yet\n", nil)
	if len(c.Hosts) != 0 || c.Slack != nil || c.Discord != nil || len(c.Access) != 0 {
		t.Errorf("empty file gave %+v", c)
	}
	if hs, err := c.Select("localhost"); err != nil || len(hs) != 1 || !hs[0].Local {
		t.Errorf("Select(localhost) = %v, %v", hs, err)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	c := loadExample(t, exampleEnv)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "slack", c.Slack, "token", c.Slack.BotToken, "discord", *c.Discord)
	jsonCfg, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	yamlCfg, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":          fmt.Sprintf("%v", c),
		"%+v":         fmt.Sprintf("%+v", *c),
		"%#v":         fmt.Sprintf("%#v", c),
		"%#v slack":   fmt.Sprintf("%#v", *c.Slack),
		"%+v discord": fmt.Sprintf("%+v", *c.Discord),
		"%s %q %x %d": fmt.Sprintf("%s %q %x %d", c.Slack.BotToken, c.Slack.BotToken, c.Slack.BotToken, c.Slack.BotToken),
		"String":      c.String(),
		"json":        string(jsonCfg),
		"yaml":        string(yamlCfg),
		"slog":        logs.String(),
	}
	for name, out := range outputs {
		for k, v := range exampleEnv {
			if strings.Contains(out, v) {
				t.Errorf("%s shows $%s:\n%s", name, k, out)
			}
		}
		if !strings.Contains(out, "${") && !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s shows neither the reference nor [REDACTED]:\n%s", name, out)
		}
	}
	if got := fmt.Sprint(NewSecret("hunter2")); got != "[REDACTED]" {
		t.Errorf("NewSecret prints %q", got)
	}
	if got, _ := json.Marshal(NewSecret("")); string(got) != `""` {
		t.Errorf("empty secret marshals to %s", got)
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if len(c.Hosts) != 1 || c.Hosts[0].Name != "localhost" || !c.Hosts[0].Local || len(c.Access) != 0 || c.Slack != nil {
		t.Errorf("Default() = %+v", c)
	}
	if _, err := c.SSHHost(c.Hosts[0]); err == nil {
		t.Error("SSHHost(localhost) of Default() succeeded; the local runner is not an SSH host")
	}
}

func TestResolveAndOpen(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(EnvConfig, "")

	if p, explicit := Resolve(""); p != "config.yaml" || explicit {
		t.Errorf("Resolve() = %q, %v", p, explicit)
	}
	c, err := Open("")
	if err != nil || len(c.Hosts) != 1 || !c.Hosts[0].Local {
		t.Errorf("Open without a file = %v, %v; want Default()", c, err)
	}

	if err := os.WriteFile("config.yaml", []byte("hosts:\n  - {name: cwd-host, address: 10.0.0.1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(dir, "env.yaml")
	if err := os.WriteFile(envFile, []byte("hosts:\n  - {name: env-host, address: 10.0.0.2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Open(""); err != nil || c.Hosts[0].Name != "cwd-host" {
		t.Errorf("Open with ./config.yaml = %v, %v", c, err)
	}

	t.Setenv(EnvConfig, envFile)
	if p, explicit := Resolve(""); p != envFile || !explicit {
		t.Errorf("Resolve with $%s = %q, %v", EnvConfig, p, explicit)
	}
	if c, err := Open(""); err != nil || c.Hosts[0].Name != "env-host" {
		t.Errorf("Open with $%s = %v, %v", EnvConfig, c, err)
	}
	if p, explicit := Resolve("flag.yaml"); p != "flag.yaml" || !explicit {
		t.Errorf("Resolve(flag) = %q, %v", p, explicit)
	}

	want := "config file flag.yaml (from --config) does not exist; fix the path, or copy config.example.yaml there"
	if _, err := Open("flag.yaml"); err == nil || err.Error() != want {
		t.Errorf("Open(missing flag file) = %v, want %s", err, want)
	}
	t.Setenv(EnvConfig, "nope.yaml")
	want = "config file nope.yaml (from $BADGATEWAY_CONFIG) does not exist; fix the path, or copy config.example.yaml there"
	if _, err := Open(""); err == nil || err.Error() != want {
		t.Errorf("Open(missing env file) = %v, want %s", err, want)
	}
}
