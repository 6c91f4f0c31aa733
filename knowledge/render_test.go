package knowledge

import (
	"bytes"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The replies people read, checked byte for byte: run `go test ./knowledge -update`
// after an intended change and review the diff.
func TestRenderGolden(t *testing.T) {
	log, err := os.ReadFile("../examples/error.log")
	if err != nil {
		t.Fatal(err)
	}
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	if err := col.Feed(bytes.NewReader(log), "/var/log/nginx/error.log"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file, format, lang, layout string
	}{
		{"example.en.txt", "text", "en", ""},
		{"example.zh.txt", "text", "zh", ""},
		{"example.baota.zh.txt", "text", "zh", "baota"},
		{"example.en.md", "markdown", "en", ""},
		{"example.en.json", "json", "en", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			d := col.Diagnosis(Options{Target: "web-01", Lang: tc.lang})
			d.Layout = tc.layout
			var buf bytes.Buffer
			if err := Render(&buf, d, tc.format); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", tc.file)
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := buf.String(); got != string(want) {
				t.Errorf("%s differs from the golden file; run `go test ./knowledge -run RenderGolden -update` and review the diff.\ngot:\n%s", tc.file, got)
			}
		})
	}
}

// Chat platforms truncate long messages; a reply must stay readable at any size.
func TestRenderBoundsEvidence(t *testing.T) {
	col := NewAnalyzer(mustBuiltin(t)).NewCollector()
	var lines strings.Builder
	for i := 0; i < 300; i++ {
		lines.WriteString(refused("2026/11/25 10:02:11", 1, "/run/app"+strings.Repeat("x", i%97)+".sock"))
	}
	col.Feed(strings.NewReader(lines.String()), "error.log")
	d := col.Diagnosis(Options{})
	if n := len(d.Causes[0].Evidence); n > 5 {
		t.Errorf("%d evidence lines shown, want at most 5", n)
	}
}

func TestRenderNotes(t *testing.T) {
	d := Diagnosis{Target: "web-01", Verdict: VerdictNoEvidence, Lang: "en", Notes: []string{"Ran as deploy, not root."}}
	for name, render := range map[string]func(io.Writer, Diagnosis) error{"text": RenderText, "markdown": RenderMarkdown} {
		var b strings.Builder
		if err := render(&b, d); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "⚠ Ran as deploy, not root.") {
			t.Errorf("%s: no note in\n%s", name, b.String())
		}
	}
}

// A Chinese fallback drops the spaces the text keeps for a path or address.
func TestExpandChineseFallbackSpacing(t *testing.T) {
	const title = "nginx 没有权限连接 {upstream|上游}（Permission denied）"
	if got := Expand(title, nil); got != "nginx 没有权限连接上游（Permission denied）" {
		t.Errorf("fallback: %q", got)
	}
	if got := Expand(title, map[string]string{"upstream": "unix:/run/php.sock"}); got != "nginx 没有权限连接 unix:/run/php.sock（Permission denied）" {
		t.Errorf("value: %q", got)
	}
	if got := Expand("上游的 {socket|unix 套接字} 文件不存在", nil); got != "上游的 unix 套接字文件不存在" {
		t.Errorf("fallback starting in Latin keeps the space before it: %q", got)
	}
	if got := Expand("Connecting to {upstream|the upstream} timed out", nil); got != "Connecting to the upstream timed out" {
		t.Errorf("English: %q", got)
	}
}

func TestDetectLang(t *testing.T) {
	for text, want := range map[string]string{
		"web-01 为什么 502":                     "zh",
		"502 了？":                             "zh",
		"max_children 是什么意思":                 "zh",
		"web-01 is 502ing":                   "en",
		"":                                   "en",
		"binary \xe4\xb8\x80 noise \x00\xff": "en", // one stray Han rune in garbage
	} {
		if got := DetectLang(text); got != want {
			t.Errorf("DetectLang(%q) = %s, want %s", text, got, want)
		}
	}
	// Random bytes are not Chinese.
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if got := DetectLang(string(b)); got != "en" {
		t.Errorf("1 MiB of random bytes detected as %s", got)
	}
}
