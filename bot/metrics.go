package bot

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Metrics counts what the bot did, for /metrics in Prometheus' text format.
type Metrics struct {
	mu        sync.Mutex
	requests  map[[2]string]int64 // platform, kind
	verdicts  map[string]int64    // cause_found, no_evidence, unreachable
	topCauses map[string]int64
	seconds   float64 // total diagnosis time
	count     int64
	started   time.Time
}

// NewMetrics starts counting.
func NewMetrics() *Metrics {
	return &Metrics{requests: map[[2]string]int64{}, verdicts: map[string]int64{}, topCauses: map[string]int64{}, started: time.Now()}
}

func (m *Metrics) observe(platform string, r Reply, took time.Duration) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{platform, string(r.Kind)}]++
	for _, d := range r.Diagnoses {
		m.verdicts[d.Verdict]++
		if len(d.Causes) > 0 {
			m.topCauses[d.Causes[0].ID]++
		}
	}
	if r.Kind == KindDiagnosis {
		m.seconds += took.Seconds()
		m.count++
	}
}

// WriteTo writes the counters in the Prometheus text exposition format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	p := func(format string, args ...any) {
		k, _ := fmt.Fprintf(w, format, args...)
		n += int64(k)
	}
	p("# HELP badgateway_requests_total Chat requests answered, by platform and kind of reply.\n# TYPE badgateway_requests_total counter\n")
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	for _, k := range keys {
		p("badgateway_requests_total{platform=%q,kind=%q} %d\n", k[0], k[1], m.requests[k])
	}
	p("# HELP badgateway_diagnoses_total Diagnoses by verdict.\n# TYPE badgateway_diagnoses_total counter\n")
	for _, k := range sortedKeys(m.verdicts) {
		p("badgateway_diagnoses_total{verdict=%q} %d\n", k, m.verdicts[k])
	}
	p("# HELP badgateway_top_cause_total Diagnoses by the cause ranked first.\n# TYPE badgateway_top_cause_total counter\n")
	for _, k := range sortedKeys(m.topCauses) {
		p("badgateway_top_cause_total{cause=%q} %d\n", k, m.topCauses[k])
	}
	p("# HELP badgateway_diagnosis_seconds Time spent answering diagnosis requests.\n# TYPE badgateway_diagnosis_seconds summary\n")
	p("badgateway_diagnosis_seconds_sum %g\nbadgateway_diagnosis_seconds_count %d\n", m.seconds, m.count)
	p("# HELP badgateway_start_time_seconds When the bot started.\n# TYPE badgateway_start_time_seconds gauge\n")
	p("badgateway_start_time_seconds %d\n", m.started.Unix())
	return n, nil
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
