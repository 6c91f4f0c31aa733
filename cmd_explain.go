package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/badgateway/badgateway/knowledge"
)

func cmdExplain(e env, args []string) error {
	fs := newFlagSet("explain", e.stderr)
	var files stringList
	fs.Var(&files, "file", "log file to read (repeatable; default: stdin)")
	format := fs.String("format", "text", "output format: text, json or markdown")
	lang := fs.String("lang", "", "reply language: en or zh (default: zh when the input holds Chinese)")
	causesDir := fs.String("causes", "", "directory of cause YAML files layered over the built-in catalog")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: badgateway explain [--file F]... [--format text|json|markdown] [--lang en|zh]")
		fs.PrintDefaults()
	}
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	// `explain error.log` reads like what people type; accept it.
	files = append(files, rest...)
	if err := checkFormat(*format); err != nil {
		return err
	}
	if err := checkLang(*lang); err != nil {
		return err
	}
	cat, err := knowledge.LoadWithOverrides(*causesDir)
	if err != nil {
		return usageErrorf("cause catalog: %v", err)
	}
	start := time.Now()
	col := knowledge.NewAnalyzer(cat).NewCollector()
	if len(files) == 0 {
		if f, ok := e.stdin.(*os.File); ok && isTerminal(f) {
			fmt.Fprintln(e.stderr, "Paste log lines, then press Ctrl-D.")
		}
		if err := col.Feed(bufio.NewReaderSize(e.stdin, 1<<16), "stdin"); err != nil {
			return err
		}
	}
	for _, name := range files {
		if err := feedFile(col, name); err != nil {
			return err
		}
	}
	if *lang == "" {
		*lang = "en"
		if col.HasChinese {
			*lang = "zh"
		}
	}
	d := col.Diagnosis(knowledge.Options{Target: "-", Lang: *lang})
	d.DurationMS = time.Since(start).Milliseconds()
	d.Inputs = files
	if len(files) == 0 {
		d.Inputs = []string{"stdin"}
	}
	return knowledge.Render(e.stdout, d, *format)
}

func feedFile(col *knowledge.Collector, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return usageErrorf("cannot read the log: %v", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return usageErrorf("%s is a directory; give a log file such as %s/error.log", name, name)
	}
	return col.Feed(io.Reader(f), name)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
