package slackbot

import (
	"bytes"
	"cmp"
	"context"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// A long paste becomes a snippet (a file) in Slack, and logs are shared as
// files. Up to maxFiles text files of a message are read (the bot token
// needs files:read), keeping the last maxFileBytes of each: a log's newest
// lines. slack-go sends the token only to Slack's own hosts (or api_url's).
const (
	maxFiles     = 3
	maxFileBytes = 8 << 20
	// Slack files cannot be read from the end: larger ones are not fetched.
	maxFileDownload = 64 << 20
	fileTimeout     = 15 * time.Second
)

func textFile(f slack.File) bool {
	if f.IsExternal || cmp.Or(f.URLPrivateDownload, f.URLPrivate) == "" {
		return false
	}
	if strings.HasPrefix(f.Mimetype, "text/") {
		return true
	}
	switch f.Filetype {
	case "text", "log", "txt", "shell", "diff":
		return true
	}
	return false
}

// fileText is the text of the message's text files, each after a newline;
// what cannot be read is logged and left out.
func (a *Adapter) fileText(ctx context.Context, files []slack.File) string {
	var b strings.Builder
	read := 0
	for _, f := range files {
		if read == maxFiles {
			break
		}
		if !textFile(f) {
			continue
		}
		if f.Size > maxFileDownload {
			a.log.Warn("slack: a shared file is too large to read; paste its last lines instead", "file", f.Name, "bytes", f.Size)
			continue
		}
		read++
		fctx, cancel := context.WithTimeout(ctx, fileTimeout)
		tail := &tailBuffer{max: maxFileBytes}
		err := a.api.GetFileContext(fctx, cmp.Or(f.URLPrivateDownload, f.URLPrivate), tail)
		cancel()
		if err != nil {
			a.log.Warn("slack: reading a shared file failed; the bot token needs the files:read scope", "file", f.Name, "err", err)
			continue
		}
		b.WriteString("\n")
		b.Write(tail.bytes())
	}
	return b.String()
}

// tailBuffer keeps the last max bytes written, starting at a whole line
// when it had to cut.
type tailBuffer struct {
	max int
	buf []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
		t.cut = true
	}
	return len(p), nil
}

func (t *tailBuffer) bytes() []byte {
	b := t.buf
	if len(b) > t.max {
		b, t.cut = b[len(b)-t.max:], true
	}
	if t.cut {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}
