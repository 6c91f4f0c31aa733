package bot

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

// Console is the terminal front-end: the local operator types what they would
// type in Slack. It is not subject to access rules.
type Console struct {
	Bot         *Bot
	In          io.Reader
	Out         io.Writer
	Status      io.Writer // progress lines; nil for none
	Interactive bool      // show a prompt
}

const prompt = "502> "

// Run answers messages until the input ends or ctx is cancelled.
func (c *Console) Run(ctx context.Context) error {
	r := bufio.NewReaderSize(c.In, 1<<16)
	if c.Interactive {
		fmt.Fprintln(c.Out, "badgateway console: type /502 HOST, ask a question, or paste log lines. `help` for more, Ctrl-D to quit.")
	}
	var pending *string
	for ctx.Err() == nil {
		if c.Interactive && pending == nil {
			fmt.Fprint(c.Out, prompt)
		}
		var line string
		if pending != nil {
			line, pending = *pending, nil
		} else {
			l, err := r.ReadString('\n')
			if l == "" && err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
			line = l
		}
		msg := strings.TrimRight(line, "\r\n")
		// A paste of log lines arrives at once: gather the lines already buffered into one message.
		if looksLikeLog(msg) {
			for r.Buffered() > 0 {
				next, err := r.ReadString('\n')
				next = strings.TrimRight(next, "\r\n")
				if strings.TrimSpace(next) != "" && !looksLikeLog(next) {
					pending = &next
					break
				}
				msg += "\n" + next
				if err != nil {
					break
				}
			}
		}
		if strings.TrimSpace(msg) == "" {
			continue
		}
		if q := strings.ToLower(strings.TrimSpace(msg)); q == "quit" || q == "exit" || q == "/quit" {
			return nil
		}
		reply := c.Bot.Handle(ctx, Request{Platform: PlatformConsole, UserID: "console", Text: msg}, c.progress)
		if c.Status != nil {
			fmt.Fprint(c.Status, "\r\033[K")
		}
		if err := c.render(reply); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (c *Console) progress(line string) {
	if c.Status != nil {
		fmt.Fprintf(c.Status, "\r\033[K… %s", line)
	}
}

func (c *Console) render(r Reply) error {
	if r.Kind != KindDiagnosis {
		_, err := fmt.Fprintln(c.Out, strings.TrimRight(r.Text, "\n"))
		return err
	}
	for i, d := range r.Diagnoses {
		if i > 0 {
			fmt.Fprintln(c.Out, "\n────────────────────────────────────────")
		}
		if err := knowledge.RenderText(c.Out, d); err != nil {
			return err
		}
	}
	return nil
}
