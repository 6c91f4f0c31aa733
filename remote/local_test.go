package remote

import (
	"context"
	"testing"
	"time"
)

func TestLocalStreamsAndExitCode(t *testing.T) {
	t.Parallel()
	testStreamsAndExitCode(t, NewLocal())
}

func TestLocalTimeoutKillsGroup(t *testing.T) {
	t.Parallel()
	testTimeoutKillsAndReuses(t, NewLocal())
}

func TestLocalContextCancel(t *testing.T) {
	t.Parallel()
	testContextCancel(t, NewLocal())
}

func TestLocalQuoteRoundTrip(t *testing.T) {
	t.Parallel()
	testQuoteRoundTrip(t, NewLocal())
}

// Not parallel: it measures the heap.
func TestLocalOutputCap(t *testing.T) {
	testOutputCap(t, NewLocal())
}

// Output written by a background child after sh exits still belongs to
// the command: Run waits for the pipes, not just for sh.
func TestLocalWaitsForBackgroundOutput(t *testing.T) {
	t.Parallel()
	r := NewLocal()
	res, err := r.Run(context.Background(), Command{Script: "(sleep 0.2; echo late) & echo early", Timeout: 5 * time.Second})
	if err != nil || string(res.Stdout) != "early\nlate\n" || res.ExitCode != 0 {
		t.Fatalf("err %v, stdout %q, result %+v", err, res.Stdout, res)
	}
	if r.Target() != "localhost" || r.Close() != nil {
		t.Fatal("Target/Close")
	}
}
