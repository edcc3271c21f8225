package accesslog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// IngestFunc counts the log lines r holds as the log object named source, once
// however often it is called with the same source (analytics.Ingest does).
type IngestFunc func(ctx context.Context, source string, r io.Reader) error

// DefaultMaxBatch bounds the bytes one batch reads into memory; a longer
// backlog is ingested in several batches.
const DefaultMaxBatch = 8 << 20

// Tailer ingests what a log file gained since its last run: the complete lines
// past the offset it keeps in a state file beside the log (path + ".offset").
// Each batch is named by the file, its byte range and a digest of its bytes,
// so a batch ingested but not yet recorded (a crash between the two) is the
// same source when read again and counts once, while a log truncated and
// written anew makes new sources.
type Tailer struct {
	path     string
	ingest   IngestFunc
	log      *slog.Logger
	MaxBatch int
}

// NewTailer tails the log at path.
func NewTailer(path string, ingest IngestFunc, log *slog.Logger) *Tailer {
	return &Tailer{path: path, ingest: ingest, log: log, MaxBatch: DefaultMaxBatch}
}

// StatePath is the file holding how far the log was ingested.
func (t *Tailer) StatePath() string { return t.path + ".offset" }

// Once ingests every complete line the log gained, batch by batch, and returns
// how many bytes and batches it ingested. A log that does not exist yet has
// nothing to ingest. On an error the offset stays at the last batch ingested.
func (t *Tailer) Once(ctx context.Context) (bytesIn int64, batches int, err error) {
	f, err := os.Open(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	abs, err := filepath.Abs(t.path)
	if err != nil {
		return 0, 0, err
	}
	off, err := t.offset()
	if err != nil {
		return 0, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	if st.Size() < off {
		// Truncated or replaced: read it from the start.
		t.log.Info("access log is shorter than what was ingested: reading it from the start", "path", t.path)
		off = 0
	}
	buf := make([]byte, max(1, t.MaxBatch))
	for off < st.Size() {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), st.Size()-off)], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return bytesIn, batches, err
		}
		end := bytes.LastIndexByte(buf[:n], '\n') + 1
		if end == 0 {
			if n == len(buf) {
				// The redirector's header limit keeps lines far shorter.
				return bytesIn, batches, fmt.Errorf("%s: a line at offset %d is longer than a batch (%d bytes)", t.path, off, len(buf))
			}
			break // a line still being written: the next run takes it
		}
		batch := buf[:end]
		sum := sha256.Sum256(batch)
		source := fmt.Sprintf("file://%s#%d-%d-%s", abs, off, off+int64(end), hex.EncodeToString(sum[:8]))
		if err := t.ingest(ctx, source, bytes.NewReader(batch)); err != nil {
			return bytesIn, batches, fmt.Errorf("ingest %s: %w", source, err)
		}
		off += int64(end)
		bytesIn += int64(end)
		batches++
		if err := t.setOffset(off); err != nil {
			return bytesIn, batches, err
		}
	}
	return bytesIn, batches, nil
}

// Run ingests what the log gained every period until ctx ends.
func (t *Tailer) Run(ctx context.Context, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			n, batches, err := t.Once(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				t.log.Warn("access log ingestion failed (retried at the next tick)", "path", t.path, "err", err)
			case batches > 0:
				t.log.Debug("access log ingested", "path", t.path, "bytes", n, "batches", batches)
			}
		}
	}
}

func (t *Tailer) offset() (int64, error) {
	b, err := os.ReadFile(t.StatePath())
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	off, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || off < 0 {
		return 0, fmt.Errorf("%s holds no offset (%q): remove it to ingest the log from the start", t.StatePath(), b)
	}
	return off, nil
}

// setOffset records the offset with a rename, so that a crash leaves the old
// offset or the new, never a torn one.
func (t *Tailer) setOffset(off int64) error {
	tmp := t.StatePath() + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(off, 10)+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, t.StatePath())
}
