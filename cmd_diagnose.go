package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/knowledge"
	"github.com/badgateway/badgateway/playbooks"
)

func cmdDiagnose(e env, args []string) error {
	fs := newFlagSet("diagnose", e.stderr)
	cfgPath := fs.String("config", "", "config file (default $BADGATEWAY_CONFIG, then ./config.yaml)")
	site := fs.String("site", "", "narrow to one server_name and its logs and upstreams")
	since := fs.Duration("since", 15*time.Minute, "keep log evidence this recent (by the host's clock)")
	format := fs.String("format", "text", "output format: text, json or markdown")
	lang := fs.String("lang", "en", "reply language: en or zh")
	pbName := fs.String("playbook", "nginx-502", "playbook to run")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up on a host after this long")
	quiet := fs.Bool("quiet", false, "no live progress on stderr")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: badgateway diagnose HOST... [--config F] [--site NAME] [--since DUR] [--format text|json|markdown] [--lang en|zh]")
		fmt.Fprintln(e.stderr, "HOST is an inventory name, a glob (web-*), a label (@web) or localhost.")
		fs.PrintDefaults()
	}
	hostArgs, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(hostArgs) == 0 {
		return usageErrorf("diagnose needs a host: 'badgateway diagnose localhost', or a name from 'badgateway hosts'")
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	if err := checkLang(*lang); err != nil {
		return err
	}
	if *since <= 0 {
		return usageErrorf("--since must be positive, e.g. 15m or 2h")
	}
	cfg, err := config.Open(*cfgPath)
	if err != nil {
		return usageErrorf("%v", err)
	}
	hosts, err := cfg.Select(hostArgs...)
	if err != nil {
		return usageErrorf("%v", err)
	}
	b, err := bot.New(cfg, *pbName)
	if err != nil {
		return usageErrorf("%v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	progress := !*quiet && isTerminal(os.Stderr) && e.stderr == io.Writer(os.Stderr)
	results := make([]knowledge.Diagnosis, len(hosts))
	var wg sync.WaitGroup
	var mu sync.Mutex // serialises progress lines
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := b.DiagnoseHost(ctx, h, bot.HostOptions{
				Site: *site, Since: *since, Lang: *lang,
				OnEvent: func(ev playbooks.Event) {
					if !progress || ev.Kind == playbooks.StepStarted {
						return
					}
					mu.Lock()
					defer mu.Unlock()
					mark := "✓"
					if ev.Result != nil && ev.Result.Error != "" {
						mark = "✗"
					}
					if ev.Kind == playbooks.StepSkipped {
						mark = "·"
					}
					fmt.Fprintf(e.stderr, "\r\033[K%s [%d/%d] %s %s", h.Name, ev.Done, ev.Total, mark, ev.Step)
				},
			})
			results[i] = d
		}()
	}
	wg.Wait()
	if progress {
		fmt.Fprint(e.stderr, "\r\033[K")
	}
	if err := renderAll(e.stdout, results, *format); err != nil {
		return err
	}
	for _, d := range results {
		if d.Verdict == knowledge.VerdictUnreachable {
			return &unreachableError{err: errors.New(d.Target + ": " + d.Error)}
		}
	}
	return nil
}

func renderAll(w io.Writer, ds []knowledge.Diagnosis, format string) error {
	if format == "json" && len(ds) > 1 {
		return knowledge.RenderJSONList(w, ds)
	}
	for i, d := range ds {
		if i > 0 && format != "json" {
			fmt.Fprintln(w, "\n────────────────────────────────────────")
		}
		if err := knowledge.Render(w, d, format); err != nil {
			return err
		}
	}
	return nil
}
