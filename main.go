// Command badgateway tells an on-call engineer why nginx answers 502 Bad Gateway.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Exit statuses, as CONTRACT.md defines them.
const (
	exitOK          = 0
	exitUnreachable = 1
	exitUsage       = 2
)

const usage = `badgateway — why is nginx answering 502?

Usage:
  badgateway explain [--file F]... [--format text|json|markdown] [--lang en|zh]
        read nginx/php-fpm/kernel log lines (stdin or files) and explain the 502
  badgateway diagnose HOST... [--config F] [--site NAME] [--since 15m] [--format …] [--lang …]
        SSH to HOST (or localhost), run the nginx-502 playbook, explain the 502
  badgateway chat [--config F]
        the console front-end: type /502 HOST, ask "web-01 为什么 502", paste log lines
  badgateway serve [--config F]
        run the Slack and Discord front-ends and /healthz, /metrics (the console when none is configured)
  badgateway kb [list | show ID | search WORDS...] [--lang en|zh]
        browse the knowledge base of 502/504/413 causes
  badgateway hosts [list | trust HOST] [--config F]
        list the inventory; review a host's SSH key and add it to known_hosts
  badgateway playbook check [FILE...]
        validate playbooks, with file:line for every problem

Run 'badgateway COMMAND -h' for a command's flags.
`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// env is what a command may touch; tests give their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "explain":
		err = cmdExplain(e, args[1:])
	case "kb":
		err = cmdKB(e, args[1:])
	case "diagnose":
		err = cmdDiagnose(e, args[1:])
	case "hosts":
		err = cmdHosts(e, args[1:])
	case "chat":
		err = cmdChat(e, args[1:])
	case "serve":
		err = cmdServe(e, args[1:])
	case "playbook", "playbooks":
		err = cmdPlaybook(e, args[1:])
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "badgateway", version())
		return exitOK
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		err = usageErrorf("unknown command %q; run 'badgateway help' for the list", args[0])
	}
	return report(stderr, err)
}

// usageError is a mistake in the command line or the configuration: exit 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// unreachableError means the target could not be reached or authenticated: exit 1.
type unreachableError struct{ err error }

func (u *unreachableError) Error() string { return u.err.Error() }
func (u *unreachableError) Unwrap() error { return u.err }

func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "badgateway: %s\n", oneLine(err.Error()))
	var ue *unreachableError
	if errors.As(err, &ue) {
		return exitUnreachable
	}
	return exitUsage
}

// oneLine keeps errors to one line, as the contract promises, even when several were joined.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// parseInterleaved parses flags that may come before, between or after positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErrorf("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func checkFormat(format string) error {
	switch format {
	case "text", "json", "markdown", "md":
		return nil
	}
	return usageErrorf("--format %q: want text, json or markdown", format)
}

func checkLang(lang string) error {
	switch lang {
	case "", "en", "zh":
		return nil
	}
	return usageErrorf("--lang %q: want en or zh", lang)
}

// version is the module version, or the VCS revision for a build from a checkout.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "(devel)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}
