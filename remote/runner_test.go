package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/badgateway/badgateway/internal/testlab"
)

// Behaviour every Runner must share; run against Local and SSH.

func testStreamsAndExitCode(t *testing.T, r Runner) {
	res, err := r.Run(context.Background(), Command{Script: "echo out; echo err >&2; exit 3"})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitCode != 3 || res.TimedOut || res.Truncated {
		t.Fatalf("got %+v (stdout %q stderr %q)", res, res.Stdout, res.Stderr)
	}
	// A command killed by a signal did not exit normally.
	res, err = r.Run(context.Background(), Command{Script: "kill -9 $$"})
	if err != nil || res.ExitCode != -1 || res.TimedOut {
		t.Fatalf("kill -9: err %v, result %+v", err, res)
	}
	res, err = r.Run(context.Background(), Command{Script: "true"})
	if err != nil || res.ExitCode != 0 || len(res.Stdout) != 0 {
		t.Fatalf("true: err %v, result %+v", err, res)
	}
	if _, err := r.Run(context.Background(), Command{Script: "echo a\x00b"}); !errors.Is(err, errNUL) {
		t.Fatalf("script with NUL: err %v, want errNUL", err)
	}
}

// testTimeoutKillsAndReuses runs a hanging pipeline with a background
// child and checks that the timeout kills all of it and the runner still
// works. The unusual sleep argument identifies our processes in /proc.
func testTimeoutKillsAndReuses(t *testing.T, r Runner) {
	arg := fmt.Sprintf("60.%d", rand.IntN(1_000_000))
	start := time.Now()
	res, err := r.Run(context.Background(), Command{
		Script: fmt.Sprintf("echo started; sleep %s & sleep %s; echo never", arg, arg),
		// Long enough that "started" is out even when the whole suite loads both cores.
		Timeout: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.ExitCode != -1 || string(res.Stdout) != "started\n" {
		t.Fatalf("got %+v (stdout %q)", res, res.Stdout)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timeout of 3s took %v", d)
	}
	waitGone(t, "sleep", arg)

	res, err = r.Run(context.Background(), Command{Script: "echo ok"})
	if err != nil || string(res.Stdout) != "ok\n" || res.ExitCode != 0 {
		t.Fatalf("after timeout: err %v, result %+v", err, res)
	}
}

func waitGone(t *testing.T, args ...string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for len(testlab.ProcessesWithArgs(args...)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%q still running: pids %v", args, testlab.ProcessesWithArgs(args...))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testContextCancel(t *testing.T, r Runner) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	res, err := r.Run(ctx, Command{Script: "sleep 30"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if res.ExitCode != -1 || time.Since(start) > 3*time.Second {
		t.Fatalf("result %+v after %v", res, time.Since(start))
	}
	if res, err := r.Run(context.Background(), Command{Script: "echo ok"}); err != nil || string(res.Stdout) != "ok\n" {
		t.Fatalf("after cancel: %v %+v", err, res)
	}
}

// hostile strings that must reach the command as one literal argument.
var hostile = []string{
	"", " ", "plain", "it's", "''", `"double"`, `\`, `\'`, "$(touch /tmp/badgateway-pwned)",
	"`id`", "${HOME}", "$HOME", "a\nb", "\n", "; echo pwned", "a && b || c", "*", "?", "[a]",
	"-n", "--", "~root", "tab\there", "ünïcødé ✓", "'$(id)'\"`id`\"", "x=y", "#comment", "!", "%s%n",
}

func testQuoteRoundTrip(t *testing.T, r Runner) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := append([]string(nil), hostile...)
	for range 40 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = byte(1 + rng.IntN(255)) // any byte but NUL
		}
		cases = append(cases, string(b))
	}
	// One script, every value printed NUL-terminated by printf, so a
	// single Run checks them all and a quoting slip shows as a mismatch.
	var script strings.Builder
	for _, s := range cases {
		script.WriteString("printf '%s\\0' " + Quote(s) + "\n")
	}
	res, err := r.Run(context.Background(), Command{Script: script.String()})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("err %v, result %+v stderr %q", err, res, res.Stderr)
	}
	got := strings.Split(string(res.Stdout), "\x00")
	if len(got) != len(cases)+1 {
		t.Fatalf("got %d values, want %d: %q", len(got)-1, len(cases), res.Stdout)
	}
	for i, want := range cases {
		if got[i] != want {
			t.Errorf("Quote(%q) came back as %q", want, got[i])
		}
	}
}

// testOutputCap produces 50 MB and checks the result is capped with the
// mark while the heap never grows anywhere near the output size.
func testOutputCap(t *testing.T, r Runner) {
	var res Result
	var err error
	growth := peakHeapGrowth(func() {
		res, err = r.Run(context.Background(), Command{
			Script:  "head -c 52428800 /dev/zero | tr '\\0' x; echo done >&2",
			Timeout: 60 * time.Second,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Repeat([]byte("x"), DefaultMaxOutput), TruncationMark...)
	if !bytes.Equal(res.Stdout, want) {
		t.Fatalf("stdout: %d bytes, suffix %q", len(res.Stdout), res.Stdout[max(0, len(res.Stdout)-60):])
	}
	if !res.Truncated || res.ExitCode != 0 || res.TimedOut || string(res.Stderr) != "done\n" {
		t.Fatalf("result: truncated %v exit %d timedout %v stderr %q", res.Truncated, res.ExitCode, res.TimedOut, res.Stderr)
	}
	t.Logf("50 MB output in %v, peak heap growth %.1f MiB", res.Duration, float64(growth)/(1<<20))
	if growth > 16<<20 {
		t.Fatalf("heap grew by %d MiB for a 1 MiB cap", growth>>20)
	}

	// A small explicit cap applies per stream.
	res, err = r.Run(context.Background(), Command{Script: "echo 0123456789; echo abc >&2", MaxOutput: 4})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "0123"+TruncationMark || string(res.Stderr) != "abc\n" || !res.Truncated {
		t.Fatalf("MaxOutput 4: stdout %q stderr %q truncated %v", res.Stdout, res.Stderr, res.Truncated)
	}
}

// peakHeapGrowth samples HeapInuse while f runs and returns the largest
// growth over the starting value. The callers are not parallel tests, so
// other tests' allocations do not count.
func peakHeapGrowth(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	return peak - base
}

func TestQuoteForm(t *testing.T) {
	for in, want := range map[string]string{
		"":      "''",
		"abc":   "'abc'",
		"it's":  `'it'\''s'`,
		"$(id)": "'$(id)'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
