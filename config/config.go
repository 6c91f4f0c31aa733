// Package config loads badgateway's configuration file: the SSH defaults,
// the host inventory, the chat front-ends and the access rules.
//
// Loading is strict: unknown keys, malformed values and inconsistencies
// (duplicate hosts, unknown or cyclic jump hosts, rules that allow nobody)
// are all reported at once, each as FILE:LINE: what is wrong and what to do.
// Secrets come only from ${ENV_VAR} references and never print.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvConfig names the variable that points at the config file when
// --config is not given.
const EnvConfig = "BADGATEWAY_CONFIG"

// DefaultFile is read when neither --config nor $BADGATEWAY_CONFIG is set.
const DefaultFile = "config.yaml"

// LocalName always names the machine badgateway runs on, unless the
// inventory defines a host by that name.
const LocalName = "localhost"

// Default chat API endpoints, filled in when a section leaves api_url out.
const (
	DefaultSlackAPIURL   = "https://slack.com/api/"
	DefaultDiscordAPIURL = "https://discord.com/api/v9/"
)

// Config is the whole configuration file, validated, with ${ENV_VAR}
// references expanded, relative paths made relative to the file's
// directory and ~ expanded.
type Config struct {
	// Path is the file the config was loaded from; "" for Default().
	Path string `yaml:"-"`

	SSH     SSH      `yaml:"ssh"`
	Hosts   []Host   `yaml:"hosts,omitempty"`
	Slack   *Slack   `yaml:"slack,omitempty"`   // nil: no slack: section
	Discord *Discord `yaml:"discord,omitempty"` // nil: no discord: section
	HTTP    HTTP     `yaml:"http,omitempty"`
	// Access rules; none means every chat request is denied.
	Access []AccessRule `yaml:"access,omitempty"`
	// AuditLog is the JSON-lines file chat requests are appended to; "" = none.
	AuditLog string `yaml:"audit_log,omitempty"`
	// Playbooks and Causes are directories whose files override the built-in
	// playbooks and cause catalog by id; "" = built-ins only.
	Playbooks string `yaml:"playbooks,omitempty"`
	Causes    string `yaml:"causes,omitempty"`

	home      string
	lookupEnv func(string) (string, bool)
	missing   map[string]missingEnv
	sshConfig *SSHConfig // nil unless ssh.use_ssh_config
}

// SSH holds the defaults every host starts from.
type SSH struct {
	User           string        `yaml:"user,omitempty"`
	Port           int           `yaml:"port,omitempty"` // 0 = 22
	IdentityFiles  []string      `yaml:"identity_files,omitempty"`
	KnownHosts     string        `yaml:"known_hosts,omitempty"`     // "" = ~/.ssh/known_hosts
	ConnectTimeout time.Duration `yaml:"connect_timeout,omitempty"` // per hop; 0 = remote's default
	CommandTimeout time.Duration `yaml:"command_timeout,omitempty"` // per command; 0 = remote's default
	KeepAlive      time.Duration `yaml:"keepalive,omitempty"`       // 0 = remote's default
	Sudo           bool          `yaml:"sudo,omitempty"`
	// UseAgent offers the ssh-agent's keys; nil = on when $SSH_AUTH_SOCK is set.
	UseAgent *bool `yaml:"use_agent,omitempty"`
	// UseSSHConfig reads SSHConfig (~/.ssh/config by default) for hosts,
	// users, ports, keys and ProxyJump; see SSHHost for precedence.
	UseSSHConfig bool   `yaml:"use_ssh_config,omitempty"`
	SSHConfig    string `yaml:"ssh_config,omitempty"`
}

// Host is one inventory entry, as written: empty fields inherit from SSH
// (and ssh_config) when SSHHost builds the connection settings.
type Host struct {
	Name          string   `yaml:"name"`
	Address       string   `yaml:"address,omitempty"`
	Port          int      `yaml:"port,omitempty"`
	User          string   `yaml:"user,omitempty"`
	IdentityFiles []string `yaml:"identity_files,omitempty"`
	Labels        []string `yaml:"labels,omitempty"`
	// Jump is the ProxyJump chain, one hop per element: an inventory host
	// name or [user@]host[:port]. ["none"] forbids a jump ssh_config would add.
	Jump       []string `yaml:"jump,omitempty"`
	Sudo       *bool    `yaml:"sudo,omitempty"` // nil = ssh.sudo
	KnownHosts string   `yaml:"known_hosts,omitempty"`

	// Local is the machine badgateway runs on (use remote.NewLocal), not
	// an SSH target.
	Local bool `yaml:"-"`
	// Adhoc is a host that is not in the inventory: an ssh_config alias or a
	// user@host:port jump hop.
	Adhoc bool `yaml:"-"`
}

// HasLabel reports whether the host carries label.
func (h Host) HasLabel(label string) bool { return slices.Contains(h.Labels, label) }

// Slack configures the Slack front-end.
type Slack struct {
	AppToken      Secret `yaml:"app_token,omitempty"`      // xapp-…; set → Socket Mode
	BotToken      Secret `yaml:"bot_token,omitempty"`      // xoxb-…
	SigningSecret Secret `yaml:"signing_secret,omitempty"` // HTTP mode
	APIURL        string `yaml:"api_url"`                  // ends in "/"
}

// Discord configures the Discord front-end.
type Discord struct {
	BotToken      Secret `yaml:"bot_token,omitempty"`
	ApplicationID string `yaml:"application_id,omitempty"`
	PublicKey     Secret `yaml:"public_key,omitempty"` // hex Ed25519 key for HTTP interactions
	APIURL        string `yaml:"api_url"`              // ends in "/"
}

// HTTP configures the HTTP listener (health, metrics, chat callbacks).
type HTTP struct {
	Listen string `yaml:"listen,omitempty"` // host:port; "" = no listener
}

// AccessRule allows the listed principals to act on the listed hosts.
type AccessRule struct {
	Hosts           []string `yaml:"hosts"` // name, glob or @label
	SlackUsers      []string `yaml:"slack_users,omitempty"`
	SlackChannels   []string `yaml:"slack_channels,omitempty"`
	SlackGroups     []string `yaml:"slack_groups,omitempty"` // user group ids (S…)
	DiscordUsers    []string `yaml:"discord_users,omitempty"`
	DiscordRoles    []string `yaml:"discord_roles,omitempty"`
	DiscordChannels []string `yaml:"discord_channels,omitempty"`
}

type missingEnv struct {
	line int
	vars []string
}

// Default is the configuration used when there is no file: no chat
// front-ends, no access rules, and an inventory holding only localhost.
func Default() *Config {
	c := &Config{Hosts: []Host{localHost()}}
	c.init(Options{})
	return c
}

func localHost() Host { return Host{Name: LocalName, Local: true} }

// Resolve says which file to load: flagValue (--config), else
// $BADGATEWAY_CONFIG, else ./config.yaml. explicit is false only for the
// last, whose absence is not an error.
func Resolve(flagValue string) (path string, explicit bool) {
	if flagValue != "" {
		return flagValue, true
	}
	if env := os.Getenv(EnvConfig); env != "" {
		return env, true
	}
	return DefaultFile, false
}

// Open resolves flagValue like Resolve and loads the file; a missing
// ./config.yaml gives Default(), a missing explicit file is an error.
func Open(flagValue string) (*Config, error) {
	path, explicit := Resolve(flagValue)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if !explicit {
			return Default(), nil
		}
		from := "--config"
		if flagValue == "" {
			from = "$" + EnvConfig
		}
		return nil, fmt.Errorf("config file %s (from %s) does not exist; fix the path, or copy config.example.yaml there", path, from)
	}
	return Load(path)
}

// Host returns the inventory host called name.
func (c *Config) Host(name string) (Host, bool) {
	for _, h := range c.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return Host{}, false
}

// Missing returns an error naming the unset environment variables that
// field (a path such as "slack.bot_token" or "hosts[0].address") referred
// to, or nil when it had none. A component calls it for the fields it
// needs before using them.
func (c *Config) Missing(field string) error {
	m, ok := c.missing[field]
	if !ok {
		return nil
	}
	refs := make([]string, len(m.vars))
	for i, v := range m.vars {
		refs[i] = "${" + v + "}"
	}
	verb := "is"
	if len(refs) > 1 {
		verb = "are"
	}
	return &Error{File: c.Path, Line: m.line, Msg: fmt.Sprintf("%s: %s %s not set; export %s before starting badgateway",
		field, strings.Join(refs, ", "), verb, strings.Join(m.vars, ", "))}
}

// MissingEnv maps each field that referred to an unset variable to the
// variables' names.
func (c *Config) MissingEnv() map[string][]string {
	out := make(map[string][]string, len(c.missing))
	for f, m := range c.missing {
		out[f] = slices.Clone(m.vars)
	}
	return out
}

// String renders the config as YAML with secrets shown as their
// ${ENV_VAR} references, for `badgateway config` style output and logs.
func (c Config) String() string {
	b, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Sprintf("config: %v", err)
	}
	return string(b)
}

// GoString keeps %#v to the same redacted rendering as String.
func (c Config) GoString() string { return "config.Config{\n" + c.String() + "}" }

// Error is one problem in a file, printed as FILE:LINE: message.
type Error struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return e.Msg
	case e.Line <= 0:
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}
