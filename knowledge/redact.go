package knowledge

import "regexp"

// Secrets that show up in logged request lines and headers. Replacing the value
// (not the name) keeps the line useful as evidence.
var redactions = []struct {
	re   *regexp.Regexp
	repl string
}{
	// Authorization: Bearer xyz / Basic xyz
	{regexp.MustCompile(`(?i)(authorization:?\s*"?\s*(?:bearer|basic|token|digest)?\s+)[^\s",]+`), "${1}[REDACTED]"},
	// user:password@ in URLs
	{regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@"]*:)[^@\s/"]+@`), "${1}[REDACTED]@"},
	// query-string and form secrets: ?token=…&password=…
	{regexp.MustCompile(`(?i)([?&;\s"](?:access_token|refresh_token|id_token|token|api_?key|apikey|key|secret|client_secret|password|passwd|pwd|pass|auth|signature|sig|sessionid|session_id|session|sid|phpsessid|jsessionid|code)=)[^&\s";,]+`), "${1}[REDACTED]"},
	// cookies
	{regexp.MustCompile(`(?i)(cookie:\s*)[^"\n]+`), "${1}[REDACTED]"},
	// Slack, GitHub, AWS and JWT-shaped tokens anywhere
	{regexp.MustCompile(`xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}`), "[REDACTED]"},
	{regexp.MustCompile(`gh[pousr]_[A-Za-z0-9]{30,}`), "[REDACTED]"},
	{regexp.MustCompile(`AKIA[0-9A-Z]{16}`), "[REDACTED]"},
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`), "[REDACTED]"},
}

// Redact hides tokens, passwords and session ids in a log line before it is shown.
func Redact(s string) string {
	for _, r := range redactions {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}
