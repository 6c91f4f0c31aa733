package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// ErrorKind classifies why a host could not be reached or used, so the
// caller can pick an exit code and a one-line message.
type ErrorKind int

const (
	HostKeyUnknown  ErrorKind = iota + 1 // host not in known_hosts
	HostKeyMismatch                      // known_hosts has a different (or revoked) key
	AuthFailed                           // no identity was accepted
	Unreachable                          // refused, no route, DNS failure
	Timeout                              // connect or handshake took too long
	ConnectionLost                       // an established connection died
	SudoRefused                          // sudo: true, but `sudo -n` would not run a command
)

func (k ErrorKind) String() string {
	switch k {
	case HostKeyUnknown:
		return "host key unknown"
	case HostKeyMismatch:
		return "host key mismatch"
	case AuthFailed:
		return "authentication failed"
	case Unreachable:
		return "unreachable"
	case Timeout:
		return "timeout"
	case ConnectionLost:
		return "connection lost"
	case SudoRefused:
		return "sudo refused"
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// ConnectError is every failure to reach or keep a host. Err carries the
// human explanation (what happened, what to do) and wraps the cause.
type ConnectError struct {
	Host string // HostConfig.Name of the hop that failed
	Addr string // host:port dialled
	Kind ErrorKind
	Err  error
}

func (e *ConnectError) Error() string {
	host := e.Host
	if e.Addr != "" && e.Addr != e.Host {
		host = fmt.Sprintf("%s (%s)", e.Host, e.Addr)
	}
	return host + ": " + e.Err.Error()
}

func (e *ConnectError) Unwrap() error { return e.Err }

// detail is an explanation that still unwraps to its cause.
type detail struct {
	msg   string
	cause error
}

func (d *detail) Error() string { return d.msg }
func (d *detail) Unwrap() error { return d.cause }

func explain(cause error, format string, args ...any) error {
	return &detail{msg: fmt.Sprintf(format, args...), cause: cause}
}

// classifyNetErr maps a dial or I/O error to a kind and a message.
func classifyNetErr(err error) (ErrorKind, error) {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return Timeout, explain(err, "timed out connecting (%v); check the address, port and firewall", err)
	case errors.As(err, &dnsErr):
		return Unreachable, explain(err, "cannot resolve host name (%v); check the address", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return Unreachable, explain(err, "connection refused; is sshd running and listening on that port?")
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Unreachable, explain(err, "no route to host (%v); check the address and network", err)
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return ConnectionLost, explain(err, "connection closed by the server (%v)", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Timeout, explain(err, "timed out (%v)", err)
	}
	return Unreachable, explain(err, "cannot connect: %v", err)
}
