package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/badgateway/badgateway/config"
	"github.com/badgateway/badgateway/remote"
)

func cmdHosts(e env, args []string) error {
	fs := newFlagSet("hosts", e.stderr)
	cfgPath := fs.String("config", "", "config file (default $BADGATEWAY_CONFIG, then ./config.yaml)")
	yes := fs.Bool("yes", false, "with trust: add the key without asking (only after checking the fingerprint another way)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: badgateway hosts [--config F]            list the inventory")
		fmt.Fprintln(e.stderr, "       badgateway hosts trust HOST [--config F]  review a host's key and add it to known_hosts")
		fmt.Fprintln(e.stderr, "       badgateway hosts check [HOST...] [--config F]  log in to each host (all by default) and say what is wrong")
		fs.PrintDefaults()
	}
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	cfg, err := config.Open(*cfgPath)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if len(rest) == 0 || rest[0] == "list" {
		return listHosts(e, cfg)
	}
	if rest[0] == "check" {
		return checkHosts(e, cfg, rest[1:])
	}
	if rest[0] != "trust" {
		return usageErrorf("unknown hosts command %q: want list, check or trust", rest[0])
	}
	if len(rest) != 2 {
		return usageErrorf("hosts trust takes one host name")
	}
	return trustHost(e, cfg, rest[1], *yes)
}

func listHosts(e env, cfg *config.Config) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tUSER\tLABELS\tJUMP")
	for _, h := range cfg.Hosts {
		addr := h.Address
		if h.Local {
			addr = "(this machine)"
		} else if h.Port != 0 && h.Port != 22 {
			addr = fmt.Sprintf("%s:%d", addr, h.Port)
		}
		user := h.User
		if user == "" && !h.Local {
			user = cfg.SSH.User
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.Name, addr, user, strings.Join(h.Labels, ","), strings.Join(h.Jump, ","))
	}
	return tw.Flush()
}

// trustHost is ssh-keyscan with a human in the loop: show the fingerprint, ask, append.
func trustHost(e env, cfg *config.Config, name string, yes bool) error {
	hosts, err := cfg.Select(name)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if len(hosts) != 1 || hosts[0].Local {
		return usageErrorf("hosts trust takes one SSH host from the inventory, not %q", name)
	}
	hc, err := cfg.SSHHost(hosts[0])
	if err != nil {
		return usageErrorf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key, err := remote.FetchHostKey(ctx, hc)
	if err != nil {
		return &unreachableError{err: err}
	}
	fmt.Fprintf(e.stdout, "%s (%s:%d) offers a %s host key:\n  %s\n", hc.Name, hc.Address, hc.Port, key.Type(), remote.Fingerprint(key))
	fmt.Fprintf(e.stdout, "Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` run on the host itself.\n")
	if !yes {
		fmt.Fprintf(e.stdout, "Add it to %s? [y/N] ", hc.KnownHostsFile)
		answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(e.stdout, "Not added.")
			return nil
		}
	}
	if err := remote.AddKnownHost(hc.KnownHostsFile, hc, key); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Added to %s.\n", hc.KnownHostsFile)
	return nil
}

// checkHosts logs in to every selected host at once (as diagnose would:
// known_hosts, keys, jump hosts, sudo) and runs `true`, one line per host:
// the inventory's smoke test before the first incident needs it.
func checkHosts(e env, cfg *config.Config, patterns []string) error {
	var hosts []config.Host
	if len(patterns) == 0 {
		hosts = cfg.Hosts
	} else {
		var err error
		if hosts, err = cfg.Select(patterns...); err != nil {
			return usageErrorf("%v", err)
		}
	}
	type result struct {
		took time.Duration
		user string // who the commands run as (after sudo)
		err  error
	}
	results := make([]result, len(hosts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, h := range hosts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r, err := cfg.Dial(ctx, h)
			var user string
			if err == nil {
				var res remote.Result
				res, err = r.Run(ctx, remote.Command{Script: "id -un", Timeout: 20 * time.Second})
				if err == nil && res.ExitCode != 0 {
					err = fmt.Errorf("`id -un` exited %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
				}
				user = strings.TrimSpace(string(res.Stdout))
				r.Close()
			}
			results[i] = result{took: time.Since(start), user: user, err: err}
		})
	}
	wg.Wait()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	failed := 0
	for i, h := range hosts {
		if err := results[i].err; err != nil {
			failed++
			// The error names the host first; the table already does.
			msg := strings.TrimPrefix(strings.TrimPrefix(oneLineErr(err), h.Name+": "), h.Name+" ")
			fmt.Fprintf(tw, "%s\tFAIL\t%s\n", h.Name, msg)
			continue
		}
		fmt.Fprintf(tw, "%s\tok\t%v, commands run as %s\n", h.Name, results[i].took.Round(time.Millisecond), results[i].user)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return &unreachableError{err: fmt.Errorf("%d of %d hosts failed the check", failed, len(hosts))}
	}
	return nil
}

func oneLineErr(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
