package analytics

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Store is where Ingest adds its counts (dynamo.Store is one).
type Store = reroute.AnalyticsWriter

// Formats Ingest reads.
const (
	FormatW3C  = "w3c"  // tab-separated, with #Version and #Fields directives
	FormatJSON = "json" // one JSON object per line (standard logging v2)
)

// Stats says what Ingest read and counted of one log object.
type Stats struct {
	Gzip   bool
	Format string // of the first data line; "" for an object without one
	// Lines counts data lines (directives and blank lines aside): Counted were
	// added to a route's host, Malformed could not be read, Unrouted were for
	// hosts that no route serves (UnroutedHosts, sorted, at most maxUnrouted).
	Lines, Counted, Malformed, Unrouted int64
	UnroutedHosts                       []string
	// Buckets, Parts and Duplicates are the store's: hour and day buckets
	// written, in Parts transactions, Duplicates of which had been applied by an
	// earlier delivery of the same object.
	Buckets, Parts, Duplicates int
}

// maxUnrouted bounds Stats.UnroutedHosts (anyone can point a name at CloudFront).
const maxUnrouted = 20

// maxLine bounds a line; CloudFront does not log requests whose headers pass
// 20 KB or whose URL passes 8 KB, so a longer line is not one of its own.
const maxLine = 64 << 10

// Ingest reads the log object named source (a unique, stable id such as
// s3://bucket/key: a second delivery of the same object is recognised by it),
// gzip or not, W3C or JSON lines, and adds its counts to store exactly once.
// Malformed lines are counted and skipped; only a failure to read the object or
// to write the counts is an error, and then a retry with the same source is
// safe.
func Ingest(ctx context.Context, store Store, source string, r io.Reader) (Stats, error) {
	var st Stats
	if source == "" {
		return st, errors.New("a log object needs its source name")
	}
	br := bufio.NewReaderSize(r, maxLine)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return st, fmt.Errorf("reading %s: %w", source, err)
		}
		defer zr.Close()
		st.Gzip = true
		br = bufio.NewReaderSize(zr, maxLine)
	}
	agg := newAggregator()
	if err := scan(br, agg, &st); err != nil {
		return st, fmt.Errorf("reading %s: %w", source, err)
	}
	return write(ctx, store, source, agg, &st)
}

// scan reads every line of br into agg.
func scan(br *bufio.Reader, agg *aggregator, st *Stats) error {
	var (
		fields    w3cFields
		hasFields bool
		rec       Record
	)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			st.Lines++
			st.Malformed++
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of it
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
		case line[0] == '#':
			if name, rest, ok := strings.Cut(string(line[1:]), ":"); ok && strings.TrimSpace(name) == "Fields" {
				f, ferr := parseFields(rest)
				hasFields = ferr == nil // data under a #Fields line we cannot use is malformed
				fields = f
			}
		default:
			st.Lines++
			var perr error
			if line[0] == '{' {
				if st.Format == "" {
					st.Format = FormatJSON
				}
				perr = parseJSON(line, &rec)
			} else {
				if st.Format == "" {
					st.Format = FormatW3C
				}
				perr = errMalformed
				if hasFields {
					perr = parseW3C(string(line), &fields, &rec)
				}
			}
			if perr != nil {
				st.Malformed++
			} else {
				agg.add(&rec)
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// write finds the route of every request host, then adds the buckets of those
// served by one.
func write(ctx context.Context, store Store, source string, agg *aggregator, st *Stats) (Stats, error) {
	hostLines := map[string]int64{}
	for k, t := range agg.hours {
		hostLines[k.host] += t.Hits
	}
	owners := make(map[string]reroute.AnalyticsOwner, len(hostLines))
	for host, n := range hostLines {
		o, ok, err := store.AnalyticsOwner(ctx, host)
		if err != nil {
			return *st, err
		}
		if !ok {
			st.Unrouted += n
			st.UnroutedHosts = append(st.UnroutedHosts, host)
			continue
		}
		st.Counted += n
		owners[host] = o
	}
	slices.Sort(st.UnroutedHosts)
	st.UnroutedHosts = st.UnroutedHosts[:min(len(st.UnroutedHosts), maxUnrouted)]
	buckets := agg.buckets(owners, Retention(reroute.DefaultCatalog()))
	st.Buckets = len(buckets)
	if len(buckets) == 0 {
		return *st, nil
	}
	w, err := store.AddAnalytics(ctx, source, buckets)
	st.Parts, st.Duplicates = w.Parts, w.Duplicates
	return *st, err
}

// Retention returns the analytics retention of a plan of c; a plan c does not
// know (one retired since) keeps the shortest of c's.
func Retention(c reroute.Catalog) func(plan string) time.Duration {
	return func(plan string) time.Duration {
		if p, ok := c.Get(plan); ok && p.AnalyticsRetention > 0 {
			return p.AnalyticsRetention
		}
		var d time.Duration
		for _, p := range c {
			if p.AnalyticsRetention > 0 && (d == 0 || p.AnalyticsRetention < d) {
				d = p.AnalyticsRetention
			}
		}
		return d
	}
}
