package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/knowledge"
	"github.com/badgateway/badgateway/playbooks"
)

func cmdChat(e env, args []string) error {
	name := "chat"
	fs := newFlagSet(name, e.stderr)
	cfgPath := fs.String("config", "", "config file (default $BADGATEWAY_CONFIG, then ./config.yaml)")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: badgateway %s [--config F]\n", name)
		fs.PrintDefaults()
	}
	if rest, err := parseInterleaved(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usageErrorf("%s takes no arguments; type your requests at its prompt", name)
	}
	cfg, err := config.Open(*cfgPath)
	if err != nil {
		return usageErrorf("%v", err)
	}
	b, err := newBot(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := &bot.Console{Bot: b, In: e.stdin, Out: e.stdout}
	if f, ok := e.stdin.(*os.File); ok && isTerminal(f) {
		c.Interactive = true
		c.Status = e.stderr
	}
	return c.Run(ctx)
}

func newBot(cfg *config.Config) (*bot.Bot, error) {
	set, err := playbooks.LoadSet(cfg.Playbooks)
	if err != nil {
		return nil, usageErrorf("playbooks: %v", err)
	}
	pb, err := set.Get("nginx-502")
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	cat, err := knowledge.LoadWithOverrides(cfg.Causes)
	if err != nil {
		return nil, usageErrorf("cause catalog: %v", err)
	}
	return &bot.Bot{Config: cfg, Analyzer: knowledge.NewAnalyzer(cat), Playbook: pb}, nil
}
