package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/badgateway/badgateway/bot"
	"github.com/badgateway/badgateway/bot/discordbot"
	"github.com/badgateway/badgateway/bot/slackbot"
	"github.com/badgateway/badgateway/config"
)

// cmdServe runs the chat front-ends the config enables, and the HTTP endpoints
// (/healthz, /metrics, Slack's and Discord's HTTP modes); the console when none is.
func cmdServe(e env, args []string) error {
	fs := newFlagSet("serve", e.stderr)
	cfgPath := fs.String("config", "", "config file (default $BADGATEWAY_CONFIG, then ./config.yaml)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: badgateway serve [--config F]")
		fs.PrintDefaults()
	}
	if rest, err := parseInterleaved(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usageErrorf("serve takes no arguments")
	}
	cfg, err := config.Open(*cfgPath)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if cfg.Slack == nil && cfg.Discord == nil && cfg.HTTP.Listen == "" {
		return cmdChat(e, args)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runServe(ctx, e, cfg, nil)
}

// runServe serves until ctx ends; ready, if set, receives the HTTP address once listening.
func runServe(ctx context.Context, e env, cfg *config.Config, ready chan<- string) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	b, err := newBot(cfg)
	if err != nil {
		return err
	}
	b.Log = log
	b.Metrics = bot.NewMetrics()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		b.Metrics.WriteTo(w)
	})
	var runs []func(context.Context) error
	if cfg.Slack != nil {
		a, err := slackbot.New(cfg, b, log.With("platform", "slack"))
		if err != nil {
			return usageErrorf("slack: %v", err)
		}
		mux.Handle("/slack/", a.Handler())
		runs = append(runs, a.Run)
	}
	if cfg.Discord != nil {
		a, err := discordbot.New(cfg, b, log.With("platform", "discord"))
		if err != nil {
			return usageErrorf("discord: %v", err)
		}
		mux.Handle("/discord/", a.Handler())
		runs = append(runs, a.Run)
	}

	errs := make(chan error, len(runs)+1)
	var wg sync.WaitGroup
	if cfg.HTTP.Listen != "" {
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return usageErrorf("http.listen %s: %v", cfg.HTTP.Listen, err)
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		log.Info("listening", "addr", ln.Addr().String())
		if ready != nil {
			ready <- ln.Addr().String()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}()
		go func() {
			<-ctx.Done()
			shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(shut)
		}()
	}
	for _, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				errs <- err
			}
		}()
	}
	select {
	case <-ctx.Done():
	case err := <-errs:
		stop()
		wg.Wait()
		return err
	}
	wg.Wait()
	return nil
}
