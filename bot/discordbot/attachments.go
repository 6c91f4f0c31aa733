package discordbot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Discord turns a long paste into a message.txt attachment; log files are
// attached as they are. Up to maxAttachments text files are read, each up
// to its last maxAttachmentBytes (the newest lines), from Discord's CDN only.
const (
	maxAttachments     = 3
	maxAttachmentBytes = 8 << 20
	attachmentTimeout  = 15 * time.Second
)

// attachmentHosts are where attachments may be fetched from: Discord's CDN,
// and the host of discord.api_url when one is set (a proxy or a test server).
func attachmentHosts(apiURL string) map[string]bool {
	hosts := map[string]bool{"cdn.discordapp.com": true, "media.discordapp.net": true}
	if u, err := url.Parse(apiURL); err == nil && u.Host != "" {
		hosts[u.Host] = true
	}
	return hosts
}

// textAttachment reports whether att looks like text worth reading.
func textAttachment(att *discordgo.MessageAttachment) bool {
	if att == nil || att.URL == "" {
		return false
	}
	ct := strings.ToLower(att.ContentType)
	if strings.HasPrefix(ct, "text/") {
		return true
	}
	switch strings.ToLower(path.Ext(att.Filename)) {
	case ".txt", ".log", ".out", ".err":
		return ct == "" || ct == "application/octet-stream"
	}
	return false
}

// attachedText is the text of m's text attachments, each after a newline;
// what cannot be read is logged and left out.
func (a *Adapter) attachedText(ctx context.Context, m *discordgo.Message) string {
	var b strings.Builder
	read := 0
	for _, att := range m.Attachments {
		if read == maxAttachments {
			break
		}
		if !textAttachment(att) {
			continue
		}
		read++
		text, err := a.fetchAttachment(ctx, att)
		if err != nil {
			a.log.Warn("reading an attachment", "message_id", m.ID, "file", att.Filename, "err", err)
			continue
		}
		b.WriteString("\n")
		b.WriteString(text)
	}
	return b.String()
}

func (a *Adapter) fetchAttachment(ctx context.Context, att *discordgo.MessageAttachment) (string, error) {
	u, err := url.Parse(att.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || !a.attachHosts[u.Host] {
		return "", fmt.Errorf("not on Discord's CDN: %q", att.URL)
	}
	ctx, cancel := context.WithTimeout(ctx, attachmentTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	if att.Size > maxAttachmentBytes {
		// The newest lines are at the end of a log.
		req.Header.Set("Range", fmt.Sprintf("bytes=-%d", maxAttachmentBytes))
	}
	resp, err := a.files.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAttachmentBytes))
	if err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusPartialContent {
		// Starting mid-file: drop the partial first line.
		if i := strings.IndexByte(string(body), '\n'); i >= 0 {
			body = body[i+1:]
		}
	}
	return string(body), nil
}
