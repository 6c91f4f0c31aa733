// Package remote runs read-only shell commands on a target host, either
// locally or over one SSH connection per host.
package remote

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"time"
)

// Runner runs shell commands on one target.
type Runner interface {
	// Run runs c. The error is non-nil only when the command could not be
	// run at all (connection lost, session refused) or ctx ended; a
	// non-zero exit or a timeout is reported in the Result. With an error
	// the Result holds whatever was captured before it happened.
	Run(ctx context.Context, c Command) (Result, error)
	Target() string
	Close() error
}

// Command is one script for `sh -c` on the target.
type Command struct {
	Script    string        // run by `sh -c` on the target
	Timeout   time.Duration // 0 = DefaultTimeout
	MaxOutput int           // per stream; 0 = DefaultMaxOutput
}

// Result is what a command produced.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int // -1 when it did not exit normally (killed, timed out, signal)
	Duration       time.Duration
	TimedOut       bool
	Truncated      bool // stdout or stderr hit MaxOutput; the kept bytes end with TruncationMark
}

const (
	DefaultTimeout   = 30 * time.Second
	DefaultMaxOutput = 1 << 20
	// TruncationMark ends a stream that hit MaxOutput, so a reader (human or
	// matcher) can never mistake a cut-off log for the whole thing.
	TruncationMark = "\n[badgateway: output truncated]\n"
)

// errNUL: a NUL cannot pass through argv or the SSH exec request (sshd
// cuts the command there), which would silently change the script.
var errNUL = errors.New("script contains a NUL byte")

// Quote returns s as one POSIX shell word. Every value that goes into a
// script must pass through it.
func Quote(s string) string {
	// Inside single quotes nothing is special except ' itself, which is
	// closed, emitted escaped, and reopened.
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (c Command) limits() (time.Duration, int) {
	timeout, max := c.Timeout, c.MaxOutput
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if max <= 0 {
		max = DefaultMaxOutput
	}
	return timeout, max
}

// capBuffer keeps the first max bytes written and discards the rest while
// still reporting success, so the producer never blocks on a full pipe or
// SSH window. It is safe for concurrent use: a timed-out Run snapshots it
// while a copier may still be writing.
type capBuffer struct {
	mu        sync.Mutex
	max       int
	buf       []byte
	truncated bool
}

func newCapBuffer(max int) *capBuffer { return &capBuffer{max: max} }

func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		n := min(room, len(p))
		b.buf = append(b.buf, p[:n]...)
		if n < len(p) {
			b.truncated = true
		}
	} else if len(p) > 0 {
		b.truncated = true
	}
	return len(p), nil
}

// skipBuffer drops what a login shell prints before the command starts
// (a .bashrc that echoes, "pyenv init", a banner), so parsers see only the
// command's output. The wrapper prints mark first; until it arrives, up to
// maxLoginNoise bytes are held back. Without the mark (sudo failed, the shell
// never ran the wrapper) nothing is dropped, so the error stays visible.
type skipBuffer struct {
	mu      sync.Mutex
	dst     *capBuffer
	mark    []byte
	pending []byte
	found   bool
	gaveUp  bool
	skipped int
}

const maxLoginNoise = 64 << 10

func newSkipBuffer(dst *capBuffer, mark string) *skipBuffer {
	return &skipBuffer{dst: dst, mark: []byte(mark)}
}

func (b *skipBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.found || b.gaveUp {
		return b.dst.Write(p)
	}
	b.pending = append(b.pending, p...)
	if i := bytes.Index(b.pending, b.mark); i >= 0 {
		b.found, b.skipped = true, i
		rest := b.pending[i+len(b.mark):]
		b.pending = nil
		return len(p), b.write(rest)
	}
	if len(b.pending) > maxLoginNoise {
		b.gaveUp = true
		pending := b.pending
		b.pending = nil
		return len(p), b.write(pending)
	}
	return len(p), nil
}

func (b *skipBuffer) write(p []byte) error {
	_, err := b.dst.Write(p)
	return err
}

// flush hands over what was held back when the mark never came, and says
// how many bytes of login noise were dropped.
func (b *skipBuffer) flush() (skipped int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.found && !b.gaveUp && len(b.pending) > 0 {
		_ = b.write(b.pending)
		b.pending = nil
		b.gaveUp = true
	}
	return b.skipped
}

// bytes returns a copy of the kept output, with TruncationMark if cut.
func (b *capBuffer) bytes() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]byte, 0, len(b.buf)+len(TruncationMark))
	out = append(out, b.buf...)
	if b.truncated {
		out = append(out, TruncationMark...)
	}
	return out, b.truncated
}

func fill(r *Result, stdout, stderr *capBuffer) {
	var t1, t2 bool
	r.Stdout, t1 = stdout.bytes()
	r.Stderr, t2 = stderr.bytes()
	r.Truncated = t1 || t2
}
