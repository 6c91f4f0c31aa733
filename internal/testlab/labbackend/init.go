package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// InitConfig is what the harness hands to "labbackend init". The same
// struct (by JSON field names) is written by package testlab.
type InitConfig struct {
	Hostname string `json:"hostname"`
	Binds    []Bind `json:"binds"`
}

// Bind mounts Src over Dst inside the host's private mount namespace.
type Bind struct {
	Src string `json:"src"`
	Dst string `json:"dst"`
}

// runInit runs as PID 1 of a host's PID namespace, started by
// `unshare --mount --pid --fork --mount-proc --uts`.
func runInit(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg InitConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// If the harness (our parent's parent) dies, unshare dies by its
	// pdeathsig; this one takes the whole namespace with it.
	if err := setPdeathsig(syscall.SIGKILL); err != nil {
		return err
	}
	if err := syscall.Sethostname([]byte(cfg.Hostname)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	for _, m := range cfg.Binds {
		// unshare made every mount private, so none of this reaches the
		// machine's own mount namespace.
		if err := syscall.Mount(m.Src, m.Dst, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s over %s: %w", m.Src, m.Dst, err)
		}
	}
	// Collect SIGCHLD before saying ready, so no exit is missed.
	sigc := make(chan os.Signal, 16)
	signal.Notify(sigc, syscall.SIGCHLD)
	// PID 1 ignores signals it has no handler for; handling these keeps the
	// Go runtime from dying on a stray `kill 1` from a test, like real init.
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE)
	if _, err := os.Stdout.WriteString("ready\n"); err != nil {
		return err
	}
	os.Stdout.Close()
	for {
		reap()
		<-sigc
	}
}

// reap collects every exited child: daemons that forked into the
// background were reparented here, and their exits must not linger as
// zombies in the host's `ps`.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

func setPdeathsig(sig syscall.Signal) error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(sig), 0)
	if errno != 0 {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %w", errno)
	}
	return nil
}
