package knowledge

import "time"

// Kind says which program wrote a log line.
type Kind uint8

const (
	KindOther  Kind = iota // unrecognised prefix: the whole line is the message
	KindNginx              // nginx error.log
	KindFPM                // php-fpm master/pool log
	KindKernel             // dmesg, journal or syslog kernel lines
	KindAudit              // Linux audit (SELinux AVC) lines
)

// Line is one log line split into the parts the matcher and the reply use.
// Strings are copies: a Line never aliases the reader's buffer.
type Line struct {
	Kind    Kind
	Time    time.Time // zero when the line has no absolute timestamp
	Level   string    // as written: "error", "crit", "WARNING", "NOTICE", …
	PID     int
	TID     int
	Conn    int64  // nginx "*N" connection id, 0 when absent
	Message string // the text after the prefix; for nginx without the trailing context fields

	// nginx context fields (", client: …, server: …, request: "…", upstream: "…", host: "…"").
	Client, Server, Request, Upstream, Host string

	Pool    string // php-fpm "[pool NAME]"
	Process string // kernel OOM lines: the killed process name, e.g. "php-fpm8.2"
	Raw     string // the line as read, without the trailing newline
}
