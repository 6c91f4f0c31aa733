package knowledge

import (
	"bytes"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func diagnose(t testing.TB, log string) Diagnosis {
	t.Helper()
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	if err := col.Feed(strings.NewReader(log), "error.log"); err != nil {
		t.Fatal(err)
	}
	return col.Diagnosis(Options{Target: "-"})
}

func finding(d Diagnosis, id string) *Finding {
	for i := range d.Causes {
		if d.Causes[i].ID == id {
			return &d.Causes[i]
		}
	}
	return nil
}

func refused(ts string, n int, sock string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s [error] 812#812: *%d connect() to unix:%s failed (111: Connection refused) while connecting to upstream, client: 10.0.0.%d, server: _, request: \"GET /index.php?id=%d HTTP/1.1\", upstream: \"fastcgi://unix:%s:\", host: \"shop\"\n", ts, 100+i, sock, i%200, i, sock)
	}
	return b.String()
}

func TestRootCauseOutranksItsSymptoms(t *testing.T) {
	cases := []struct {
		name, log, top, symptom string
	}{
		{
			name:    "OOM kill explains refused connections",
			log:     "Nov 25 10:02:10 web-01 kernel: Out of memory: Killed process 4321 (php-fpm8.2) total-vm:812345kB, anon-rss:512000kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:1234kB oom_score_adj:0\n" + refused("2026/11/25 10:02:11", 300, "/run/php/php8.2-fpm.sock"),
			top:     "oom_killed",
			symptom: "upstream_down",
		},
		{
			name: "worker segfaults explain resets",
			log: strings.Repeat("2026/11/25 10:02:11 [error] 812#812: *9 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 10.0.0.1, server: _, request: \"GET / HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"shop\"\n", 50) +
				"[25-Nov-2026 10:02:11] WARNING: [pool www] child 1234 exited on signal 11 (SIGSEGV - core dumped) after 12.345678 seconds from start\n",
			top:     "backend_crash",
			symptom: "upstream_reset",
		},
		{
			name: "exhausted pool explains timeouts",
			log: strings.Repeat("2026/11/25 10:02:11 [error] 812#812: *9 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: _, request: \"GET / HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"shop\"\n", 80) +
				"[25-Nov-2026 10:01:50] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it\n",
			top:     "fpm_max_children",
			symptom: "upstream_timeout",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := diagnose(t, tc.log)
			if d.Verdict != VerdictCauseFound || d.Causes[0].ID != tc.top {
				t.Fatalf("top cause = %v, want %s first", ids(d), tc.top)
			}
			s := finding(d, tc.symptom)
			if s == nil {
				t.Fatalf("symptom %s missing from %v", tc.symptom, ids(d))
			}
			if s.ExplainedBy != tc.top {
				t.Errorf("%s.explained_by = %q, want %s", tc.symptom, s.ExplainedBy, tc.top)
			}
			for i := 1; i < len(d.Causes); i++ {
				if d.Causes[i].Confidence >= d.Causes[i-1].Confidence {
					t.Errorf("confidence not descending: %v", d.Causes)
				}
			}
		})
	}
}

// An OOM kill a day before the refusals is not their cause.
func TestStaleRootIsNotLinked(t *testing.T) {
	log := "2026-11-24T09:00:00.000000+00:00 web-01 kernel: Out of memory: Killed process 4321 (php-fpm8.2) total-vm:812345kB, anon-rss:512000kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:1234kB oom_score_adj:0\n" +
		refused("2026/11/25 10:02:11", 40, "/run/php/php8.2-fpm.sock")
	d := diagnose(t, log)
	if d.Causes[0].ID != "upstream_down" {
		t.Fatalf("top = %v, want upstream_down (the OOM kill is a day old)", ids(d))
	}
	if f := finding(d, "upstream_down"); f.ExplainedBy != "" {
		t.Errorf("upstream_down explained by %q; a day-old OOM kill should not explain it", f.ExplainedBy)
	}
}

func TestEvidenceIsDeduplicatedWithCounts(t *testing.T) {
	log := refused("2026/11/25 10:02:11", 500, "/run/php/php8.2-fpm.sock") + refused("2026/11/25 10:02:12", 3, "/run/php/php7.4-fpm.sock")
	d := diagnose(t, log)
	f := finding(d, "upstream_down")
	if f == nil {
		t.Fatalf("no upstream_down in %v", ids(d))
	}
	if f.Count != 503 {
		t.Errorf("count = %d, want 503", f.Count)
	}
	if len(f.Evidence) != 2 || f.Evidence[0].Count != 500 || f.Evidence[1].Count != 3 {
		t.Fatalf("evidence groups = %+v, want 500 and 3", f.Evidence)
	}
	if !strings.Contains(f.Evidence[0].Text, "php8.2-fpm.sock") || !strings.Contains(f.Title, "unix:/run/php/php8.2-fpm.sock") {
		t.Errorf("title/evidence should name the busiest socket: %q / %q", f.Title, f.Evidence[0].Text)
	}
	if f.Evidence[0].Source != "nginx_error_log:error.log" {
		t.Errorf("source = %q", f.Evidence[0].Source)
	}
	if f.Evidence[0].LastSeen != "2026-11-25T10:02:11" {
		t.Errorf("last seen = %q", f.Evidence[0].LastSeen)
	}
}

func TestGarbageGivesNoEvidence(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	junk := make([]byte, 3<<20)
	rng.Read(junk)
	inputs := map[string]string{
		"empty":      "",
		"whitespace": "\n\n   \t\n",
		"binary":     string(junk),
		"prose":      "hello, is the site down? it says bad gateway\n",
		"access log": `203.0.113.9 - - [25/Nov/2026:10:02:11 +0000] "GET /upstream HTTP/1.1" 502 157 "-" "curl/7.88.1"` + "\n",
		"html":       "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			d := diagnose(t, in)
			if d.Verdict != VerdictNoEvidence || len(d.Causes) != 0 {
				t.Errorf("verdict %s causes %v, want no_evidence", d.Verdict, ids(d))
			}
		})
	}
}

// A request line is the client's text: it must not be taken as nginx's own message.
func TestRequestLineCannotForgeEvidence(t *testing.T) {
	log := `2026/11/25 10:02:11 [error] 812#812: *1 open() "/var/www/html/x" failed (2: No such file or directory), client: 10.0.0.1, server: _, request: "GET /upstream%20timed%20out%20(110:%20Connection%20timed%20out)%20while%20reading%20response%20header%20from%20upstream HTTP/1.1", host: "shop"` + "\n"
	if d := diagnose(t, log); len(d.Causes) != 0 {
		t.Errorf("a crafted request line produced %v", ids(d))
	}
}

func TestStreamingMatchesWholeRead(t *testing.T) {
	long := strings.Repeat("x", 3<<20) // longer than the read buffer
	log := refused("2026/11/25 10:02:11", 5, "/run/php/php8.2-fpm.sock") + long + "\n" +
		refused("2026/11/25 10:02:12", 7, "/run/php/php8.2-fpm.sock") + long + " (111: Connection refused) while connecting to upstream\n" +
		"2026/11/25 10:02:13 [error] 1#1: *2 no live upstreams while connecting to upstream, client: 1.2.3.4, server: _, request: \"GET / HTTP/1.1\", upstream: \"http://backend/\", host: \"x\""
	a := NewAnalyzer(mustBuiltin(t))
	whole := a.NewCollector()
	if err := whole.Feed(strings.NewReader(log), "f"); err != nil {
		t.Fatal(err)
	}
	trickle := a.NewCollector()
	if err := trickle.Feed(iotest.HalfReader(iotest.DataErrReader(strings.NewReader(log))), "f"); err != nil {
		t.Fatal(err)
	}
	dw, dt := whole.Diagnosis(Options{}), trickle.Diagnosis(Options{})
	if fmt.Sprint(ids(dw)) != fmt.Sprint(ids(dt)) {
		t.Fatalf("whole read %v, trickled read %v", ids(dw), ids(dt))
	}
	f := finding(dw, "upstream_down")
	if f == nil || f.Count != 12 {
		t.Fatalf("upstream_down = %+v, want 12 lines (the over-long line's tail must not count)", f)
	}
	if finding(dw, "no_live_upstreams") == nil {
		t.Errorf("the final line without a newline was lost: %v", ids(dw))
	}
	if dw.Stats.Lines != 15 {
		t.Errorf("lines read = %d, want 15", dw.Stats.Lines)
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	line := `2026/11/25 10:02:11 [error] 812#812: *41 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: api, request: "GET /v1/me?access_token=s3cr3tT0ken&user=bob&password=hunter2 HTTP/1.1", upstream: "http://admin:pa55w0rd@127.0.0.1:8080/v1/me?access_token=s3cr3tT0ken", host: "api"`
	d := diagnose(t, line+"\n")
	if len(d.Causes) == 0 {
		t.Fatal("no cause")
	}
	text := d.Causes[0].Evidence[0].Text
	for _, secret := range []string{"s3cr3tT0ken", "hunter2", "pa55w0rd"} {
		if strings.Contains(text, secret) {
			t.Errorf("secret %q not redacted: %s", secret, text)
		}
	}
	if !strings.Contains(text, "user=bob") || !strings.Contains(text, "upstream timed out") {
		t.Errorf("redaction removed too much: %s", text)
	}
}

func TestRedact(t *testing.T) {
	cases := map[string]string{
		`Authorization: Bearer abc.def.ghi`:                      `Authorization: Bearer [REDACTED]`,
		`GET /cb?code=XYZ&state=1`:                               `GET /cb?code=[REDACTED]&state=1`,
		`token xoxb-1234567890-abcdefghij leaked`:                `token [REDACTED] leaked`,
		`Cookie: PHPSESSID=abc; other=1`:                         `Cookie: [REDACTED]`,
		`GET /?PHPSESSID=deadbeef HTTP/1.1`:                      `GET /?PHPSESSID=[REDACTED] HTTP/1.1`,
		`plain line without secrets (111: refused)`:              `plain line without secrets (111: refused)`,
		`redis://:s3cret@10.0.0.1:6379 and AKIAIOSFODNN7EXAMPLE`: `redis://:[REDACTED]@10.0.0.1:6379 and [REDACTED]`,
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSinceWindowDropsOldLines(t *testing.T) {
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	col.Now = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	col.Since = 15 * time.Minute
	log := refused("2026/11/25 09:00:00", 10, "/run/a.sock") + refused("2026/11/25 10:20:00", 2, "/run/b.sock")
	if err := col.Feed(strings.NewReader(log), "f"); err != nil {
		t.Fatal(err)
	}
	d := col.Diagnosis(Options{Now: col.Now})
	f := finding(d, "upstream_down")
	if f == nil || f.Count != 2 || d.Stats.OutOfRange != 10 {
		t.Fatalf("window: finding %+v, out of range %d; want 2 kept and 10 dropped", f, d.Stats.OutOfRange)
	}
}

func TestChineseInputIsDetected(t *testing.T) {
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	col.Feed(strings.NewReader("网站打不开了 502\n"+refused("2026/11/25 10:02:11", 1, "/tmp/php-cgi-74.sock")), "stdin")
	if !col.HasChinese {
		t.Fatal("Chinese text not detected")
	}
	d := col.Diagnosis(Options{Lang: "zh"})
	if DetectLang(d.Causes[0].Title) != "zh" {
		t.Errorf("title not in Chinese: %q", d.Causes[0].Title)
	}
	var buf bytes.Buffer
	if err := RenderText(&buf, d); err != nil || !strings.Contains(buf.String(), "证据") {
		t.Errorf("text render not in Chinese: %v\n%s", err, buf.String())
	}
}

func FuzzExplain(f *testing.F) {
	f.Add([]byte(refused("2026/11/25 10:02:11", 2, "/run/php/php8.2-fpm.sock")))
	f.Add([]byte("[25-Nov-2026 10:02:11] WARNING: [pool www] child 1234 exited on signal 11 (SIGSEGV - core dumped) after 1.2 seconds from start\n"))
	f.Add([]byte("[123.456] Out of memory: Killed process 1 (php-fpm8.2)\n\x00\xff upstream"))
	a := NewAnalyzer(mustBuiltin(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		col := a.NewCollector()
		if err := col.Feed(bytes.NewReader(data), "fuzz"); err != nil {
			t.Fatal(err)
		}
		d := col.Diagnosis(Options{})
		for _, format := range []string{"text", "markdown", "json"} {
			if err := Render(&bytes.Buffer{}, d, format); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range d.Causes {
			if c.Confidence <= 0 || c.Confidence > 1 || (i > 0 && c.Confidence >= d.Causes[i-1].Confidence) {
				t.Fatalf("bad confidence ordering: %+v", d.Causes)
			}
		}
	})
}

func TestCleanUpstream(t *testing.T) {
	cases := map[string]string{
		"fastcgi://unix:/run/php/php8.2-fpm.sock:": "unix:/run/php/php8.2-fpm.sock",
		"http://unix:/run/gunicorn.sock:/v1/items": "unix:/run/gunicorn.sock",
		"http://127.0.0.1:8080/index.php":          "127.0.0.1:8080",
		"http://[::1]:3000/v1/items":               "[::1]:3000",
		"grpc://127.0.0.1:50051":                   "127.0.0.1:50051",
		"":                                         "",
	}
	for in, want := range cases {
		if got := cleanUpstream(in); got != want {
			t.Errorf("cleanUpstream(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSiteKeepsOnlyThatSitesLines(t *testing.T) {
	log := `2026/11/25 10:02:11 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: shop.example.com, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:8080/", host: "shop.example.com"
2026/11/25 10:02:12 [error] 1#1: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:9000/", host: "blog.example.com:443"
2026/11/25 10:02:13 [crit] 1#1: *3 open() "/var/lib/nginx/body/0000000001" failed (28: No space left on device)
`
	for site, want := range map[string]string{"shop.example.com": "disk_full upstream_down", "blog.example.com": "disk_full upstream_timeout", "": "disk_full upstream_down upstream_timeout"} {
		col := NewAnalyzer(mustBuiltin(t)).NewCollector()
		col.Site = site
		col.Feed(strings.NewReader(log), "error.log")
		got := ids(col.Diagnosis(Options{}))
		sort.Strings(got)
		if strings.Join(got, " ") != want {
			t.Errorf("site %q: %v, want %s", site, got, want)
		}
	}
}
