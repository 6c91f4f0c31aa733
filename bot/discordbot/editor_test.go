package discordbot

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// statusRecorder is a replier that only records status edits, each taking a while.
type statusRecorder struct {
	mu    sync.Mutex
	texts []string
	at    []time.Time
	delay time.Duration
}

func (r *statusRecorder) status(ctx context.Context, text string) error {
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.texts = append(r.texts, text)
	r.at = append(r.at, time.Now())
	return nil
}

func (r *statusRecorder) answer(context.Context, []outMessage) error { return nil }
func (r *statusRecorder) private(context.Context, string) error      { return nil }

func (r *statusRecorder) snapshot() ([]string, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.texts...), append([]time.Time(nil), r.at...)
}

// Progress edits are throttled and show each host's latest step; after stop
// returns no edit follows, even with one in flight and more pending, so the
// answer posted next is always the last word.
func TestEditorThrottlesAndStopsBeforeTheAnswer(t *testing.T) {
	const interval = 100 * time.Millisecond
	r := &statusRecorder{delay: 30 * time.Millisecond}
	a := &Adapter{log: slog.New(slog.DiscardHandler)}
	ed := newEditor(a, r, interval, textsFor("en"))
	go ed.loop(context.Background())
	ed.set("🔎 Diagnosing @web…")
	for i := 1; i <= 30; i++ {
		ed.progress("web-01: " + strconv.Itoa(i) + "/30 step")
		if i%2 == 0 {
			ed.progress("web-02: " + strconv.Itoa(i) + "/30 step")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ed.progress("web-01: 31/30 pending") // arrives while the editor waits out the interval
	ed.stop()
	texts, at := r.snapshot()
	time.Sleep(3 * interval)
	if later, _ := r.snapshot(); len(later) != len(texts) {
		t.Fatalf("%d status edits after stop", len(later)-len(texts))
	}
	if len(texts) < 2 || len(texts) > 5 {
		t.Errorf("%d status edits for 300 ms of progress at one per %v", len(texts), interval)
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < interval {
			t.Errorf("edits %d and %d %v apart", i-1, i, gap)
		}
	}
	last := texts[len(texts)-1]
	if !strings.HasPrefix(last, "🔎 Diagnosing @web…\n```\nweb-01  ") || !strings.Contains(last, "\nweb-02  ") || strings.Contains(last, "pending") {
		t.Errorf("last status:\n%s", last)
	}
}
