package knowledge

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// noiseLines are real nginx/php-fpm lines that are not 502 evidence; several of them
// contain words the patterns look for, so the prefilter does not get an easy ride.
var noiseLines = []string{
	`[error] %d#%d: *%d open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 203.0.113.%d, server: www.example.com, request: "GET /favicon.ico HTTP/1.1", host: "www.example.com"`,
	`[info] %d#%d: *%d client 198.51.100.%d closed keepalive connection`,
	`[warn] %d#%d: *%d an upstream response is buffered to a temporary file /var/lib/nginx/proxy/1/00/00000000%d while reading upstream, client: 203.0.113.7, server: www.example.com, request: "GET /export.csv HTTP/1.1", upstream: "http://127.0.0.1:8080/export.csv", host: "www.example.com"`,
	`[info] %d#%d: *%d SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) while SSL handshaking, client: 192.0.2.%d, server: 0.0.0.0:443`,
	`[error] %d#%d: *%d limiting requests, excess: 10.520 by zone "one", client: 203.0.113.%d, server: api.example.com, request: "POST /login HTTP/1.1", host: "api.example.com"`,
	`[info] %d#%d: *%d client closed connection while waiting for request, client: 198.51.100.%d, server: 0.0.0.0:80`,
	`[warn] %d#%d: *%d upstream server temporarily disabled while reading response header from upstream, client: 10.0.0.%d, server: api.example.com`,
	`[notice] %d#%d: *%d "^/old/(.*)$" matches "/old/page", client: 10.0.0.%d, server: www.example.com, request: "GET /old/page HTTP/1.1", host: "www.example.com"`,
}

var evidenceLines = []string{
	`[error] %d#%d: *%d connect() to unix:/run/php/php8.2-fpm.sock failed (111: Connection refused) while connecting to upstream, client: 203.0.113.%d, server: www.example.com, request: "GET /index.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "www.example.com"`,
	`[error] %d#%d: *%d upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.%d, server: api.example.com, request: "GET /report HTTP/1.1", upstream: "http://127.0.0.1:8080/report", host: "api.example.com"`,
}

// writeLargeLog writes about size bytes of error log with one evidence line in every ~2000.
func writeLargeLog(tb testing.TB, path string, size int64) int64 {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewSource(1))
	t := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	var n int64
	for i := 0; n < size; i++ {
		tpl := noiseLines[rng.Intn(len(noiseLines))]
		if i%2000 == 1999 {
			tpl = evidenceLines[rng.Intn(len(evidenceLines))]
		}
		if i%50 == 0 {
			t = t.Add(time.Second)
		}
		line := t.Format("2006/01/02 15:04:05 ") + fmt.Sprintf(tpl, 800+i%4, 800+i%4, i, i%250) + "\n"
		k, _ := w.WriteString(line)
		n += int64(k)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return n
}

func benchSizeMB() int64 {
	if v, err := strconv.Atoi(os.Getenv("BADGATEWAY_BENCH_MB")); err == nil && v > 0 {
		return int64(v)
	}
	return 200
}

// BenchmarkExplainLargeLog measures explain over a large error log, next to
// `grep -c upstream` over the same file in the same run (grep-MB/s).
func BenchmarkExplainLargeLog(b *testing.B) {
	path := filepath.Join(b.TempDir(), "error.log")
	size := writeLargeLog(b, path, benchSizeMB()<<20)
	a := NewAnalyzer(mustBuiltin(b))

	var peak uint64
	var cands int64
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		col := a.NewCollector()
		if err := col.Feed(f, path); err != nil {
			b.Fatal(err)
		}
		f.Close()
		d := col.Diagnosis(Options{Target: "-"})
		cands += d.Stats.Candidates
		if len(d.Causes) == 0 {
			b.Fatal("no cause found in the generated log")
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	b.StopTimer()
	// grep over the same file, after the timed loop: ResetTimer would drop its metric.
	if grep, err := exec.LookPath("grep"); err == nil {
		start := time.Now()
		out, err := exec.Command(grep, "-c", "upstream", path).Output()
		if err == nil {
			b.ReportMetric(float64(size)/1e6/time.Since(start).Seconds(), "grep-MB/s")
			_ = out
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "heap-inuse-MB")
	b.ReportMetric(float64(cands)/float64(b.N), "candidates")
}
