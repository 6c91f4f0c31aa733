package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/config"
)

func cmdChat(e env, args []string) error {
	fs := newFlagSet("chat", e.stderr)
	cfgPath := fs.String("config", "", "config file (default $BADGATEWAY_CONFIG, then ./config.yaml)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: badgateway chat [--config F]")
		fs.PrintDefaults()
	}
	if rest, err := parseInterleaved(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usageErrorf("chat takes no arguments; type your requests at its prompt")
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
	b, err := bot.New(cfg, "nginx-502")
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return b, nil
}
