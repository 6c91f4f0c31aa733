package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// pipeGrace bounds how long Run waits for output after killing the process
// group: a process that left the group (setsid) may still hold the pipes.
const pipeGrace = 2 * time.Second

type local struct{}

// NewLocal returns a Runner for this machine.
func NewLocal() Runner { return local{} }

func (local) Target() string { return "localhost" }
func (local) Close() error   { return nil }

func (local) Run(ctx context.Context, c Command) (Result, error) {
	res := Result{ExitCode: -1}
	if strings.IndexByte(c.Script, 0) >= 0 {
		return res, fmt.Errorf("localhost: %w", errNUL)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("localhost: %w", err)
	}
	timeout, max := c.limits()
	stdout, stderr := newCapBuffer(max), newCapBuffer(max)

	// Own pipes instead of cmd.Stdout=writer: exec.Cmd.Wait would then also
	// wait for every grandchild holding the pipe, with no way to bound it.
	outR, outW, err := os.Pipe()
	if err != nil {
		return res, fmt.Errorf("localhost: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return res, fmt.Errorf("localhost: %w", err)
	}
	cmd := exec.Command("sh", "-c", c.Script)
	cmd.Stdout, cmd.Stderr = outW, errW
	// Own process group so a timeout kills the whole pipeline, not just sh.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	start := time.Now()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return res, fmt.Errorf("localhost: start sh: %w", err)
	}
	pgid := cmd.Process.Pid

	var copiers sync.WaitGroup
	copiers.Add(2)
	go func() { defer copiers.Done(); _, _ = io.Copy(stdout, outR) }()
	go func() { defer copiers.Done(); _, _ = io.Copy(stderr, errR) }()
	outputDone := make(chan struct{})
	go func() { copiers.Wait(); close(outputDone) }()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var waitErr error
	gotExit, gotOutput := false, false
	var stopErr error // ctx error when the caller gave up
	for !gotExit || !gotOutput {
		select {
		case waitErr = <-exited:
			gotExit = true
			exited = nil
		case <-outputDone:
			gotOutput = true
			outputDone = nil
		case <-timer.C:
			res.TimedOut = true
		case <-ctx.Done():
			stopErr = ctx.Err()
		}
		if res.TimedOut || stopErr != nil {
			break
		}
	}
	if res.TimedOut || stopErr != nil {
		// Kill the group even if sh already exited: its background children
		// are what keep the pipes open.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		if !gotExit {
			waitErr = <-exited
		}
		if !gotOutput {
			select {
			case <-outputDone:
			case <-time.After(pipeGrace):
			}
		}
	}
	// Closing the read ends unblocks copiers stuck on an escaped process.
	outR.Close()
	errR.Close()
	copiers.Wait()
	res.Duration = time.Since(start)
	fill(&res, stdout, stderr)

	if stopErr != nil {
		return res, fmt.Errorf("localhost: %w", stopErr)
	}
	if res.TimedOut {
		return res, nil
	}
	var ee *exec.ExitError
	switch {
	case waitErr == nil:
		res.ExitCode = 0
	case errors.As(waitErr, &ee):
		res.ExitCode = ee.ExitCode() // already -1 when killed by a signal
	default:
		return res, fmt.Errorf("localhost: wait: %w", waitErr)
	}
	return res, nil
}
