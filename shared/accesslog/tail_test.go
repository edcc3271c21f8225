package accesslog_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/accesslog"
)

// batches records what a tailer ingested, as an exactly-once store would: a
// source seen before adds nothing.
type batches struct {
	mu      sync.Mutex
	sources []string
	lines   []string
	seen    map[string]bool
	fail    error
}

func (b *batches) ingest(_ context.Context, source string, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.sources = append(b.sources, source)
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	if b.seen[source] {
		return nil
	}
	b.seen[source] = true
	b.lines = append(b.lines, strings.SplitAfter(string(data), "\n")...)
	b.lines = b.lines[:len(b.lines)-1] // SplitAfter's empty tail
	return nil
}

func (b *batches) counted() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines...)
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestTailerIngestsCompleteLinesOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "access.log")
	var b batches
	tl := accesslog.NewTailer(path, b.ingest, slog.New(slog.DiscardHandler))

	// No log yet: nothing to do.
	if n, k, err := tl.Once(ctx); err != nil || n != 0 || k != 0 {
		t.Fatalf("without a log: %d bytes, %d batches, %v", n, k, err)
	}
	// Complete lines are ingested; a line still being written waits.
	appendTo(t, path, "a\nb\nc-partial")
	if n, k, err := tl.Once(ctx); err != nil || n != 4 || k != 1 {
		t.Fatalf("first run: %d bytes, %d batches, %v", n, k, err)
	}
	if _, k, _ := tl.Once(ctx); k != 0 {
		t.Fatalf("nothing new, yet %d batches", k)
	}
	appendTo(t, path, "\nd\n")
	if _, k, err := tl.Once(ctx); err != nil || k != 1 {
		t.Fatalf("second run: %d batches, %v", k, err)
	}
	if got := strings.Join(b.counted(), ""); got != "a\nb\nc-partial\nd\n" {
		t.Fatalf("counted %q", got)
	}

	// A crash after a batch was counted but before its offset was recorded:
	// the batch is read again as the same source, and counts nothing twice.
	if err := os.WriteFile(tl.StatePath(), []byte("4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, k, err := tl.Once(ctx); err != nil || k != 1 {
		t.Fatalf("after the crash: %d batches, %v", k, err)
	}
	if got := strings.Join(b.counted(), ""); got != "a\nb\nc-partial\nd\n" {
		t.Fatalf("after the crash counted %q", got)
	}
	if s := b.sources; s[len(s)-1] != s[len(s)-2] {
		t.Fatalf("the batch read again is %q, first %q", s[len(s)-1], s[len(s)-2])
	}

	// A log truncated and written anew: read from its start, as new sources.
	if err := os.WriteFile(path, []byte("e\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, k, err := tl.Once(ctx); err != nil || k != 1 {
		t.Fatalf("after truncation: %d batches, %v", k, err)
	}
	if got := strings.Join(b.counted(), ""); got != "a\nb\nc-partial\nd\ne\n" {
		t.Fatalf("after truncation counted %q", got)
	}

	// A failing ingestion keeps the offset: the lines come again next time.
	appendTo(t, path, "f\n")
	b.fail = errors.New("table unavailable")
	if _, _, err := tl.Once(ctx); err == nil {
		t.Fatal("a failed ingestion reported no error")
	}
	b.fail = nil
	if _, k, err := tl.Once(ctx); err != nil || k != 1 {
		t.Fatalf("after the failure: %d batches, %v", k, err)
	}
	if got := strings.Join(b.counted(), ""); got != "a\nb\nc-partial\nd\ne\nf\n" {
		t.Fatalf("after the failure counted %q", got)
	}

	// A corrupt state file is an error that says what to do.
	if err := os.WriteFile(tl.StatePath(), []byte("twelve"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tl.Once(ctx); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("corrupt state: %v", err)
	}
}

// A backlog longer than a batch goes in several batches, each of whole lines,
// every source distinct; a line longer than a batch is an error, not a stall.
func TestTailerSplitsABacklog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	var b batches
	tl := accesslog.NewTailer(path, b.ingest, slog.New(slog.DiscardHandler))
	tl.MaxBatch = 10
	var want strings.Builder
	for _, l := range []string{"one", "two", "three", "four", "five", "six"} {
		want.WriteString(l + "\n")
	}
	appendTo(t, path, want.String())
	if _, k, err := tl.Once(t.Context()); err != nil || k < 3 {
		t.Fatalf("%d batches, %v", k, err)
	}
	if got := strings.Join(b.counted(), ""); got != want.String() {
		t.Fatalf("counted %q", got)
	}
	if len(b.seen) != len(b.sources) {
		t.Fatalf("sources repeat: %v", b.sources)
	}
	appendTo(t, path, strings.Repeat("x", 20)+"\n")
	if _, _, err := tl.Once(t.Context()); err == nil || !strings.Contains(err.Error(), "longer than a batch") {
		t.Fatalf("an overlong line: %v", err)
	}
}

// Run ingests new lines every period until its context ends.
func TestTailerRunsPeriodically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	var b batches
	tl := accesslog.NewTailer(path, b.ingest, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { tl.Run(ctx, 20*time.Millisecond); close(done) }()
	for i, line := range []string{"first\n", "second\n"} {
		appendTo(t, path, line)
		deadline := time.Now().Add(30 * time.Second)
		for len(b.counted()) != i+1 {
			if time.Now().After(deadline) {
				t.Fatalf("%q not ingested: %q", line, b.counted())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}
