package analytics_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/analytics"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// memStore answers every host as a route's and keeps nothing: the benchmark
// measures reading and aggregating, not DynamoDB.
type memStore struct{ buckets int }

func (m *memStore) AnalyticsOwner(_ context.Context, host string) (reroute.AnalyticsOwner, bool, error) {
	return reroute.AnalyticsOwner{RouteHost: host, OrgID: "org", Plan: reroute.PlanDeveloper}, true, nil
}

func (m *memStore) AddAnalytics(_ context.Context, _ string, b []reroute.AnalyticsBucket) (reroute.AnalyticsWrite, error) {
	m.buckets += len(b)
	return reroute.AnalyticsWrite{Parts: (len(b) + 49) / 50}, nil
}

// generated is a W3C log of n lines over 24 hours: 50 hosts, 5,000 paths, the
// five user agents of the tests and some 400 more distinct ones, a tenth of
// the answers lost traffic.
func generated(n int) []byte {
	agents := []string{chrome, safariIOS, googlebot, bingbot, curl}
	for i := range 400 {
		agents = append(agents, fmt.Sprintf("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.%d.0 Safari/537.36", 100+i%30, i))
	}
	countries := []string{"DE", "US", "FR", "JP", "BR", ""}
	refs := []string{"", "https://www.google.com/", "https://t.co/x", "https://news.ycombinator.com/item?id=1", ""}
	var b bytes.Buffer
	b.WriteString("#Version: 1.0\n#Fields: " + w3cFields + "\n")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		status, result := 301, edge
		if i%10 == 0 {
			status, result = 404, "Error"
		}
		l := line{at: start.Add(time.Duration(i) * 24 * time.Hour / time.Duration(n)).Format(time.RFC3339),
			host: fmt.Sprintf("h%d.example.com", i%50), path: fmt.Sprintf("/old/page-%d", (i*7919)%5000),
			referer: refs[i%len(refs)], agent: agents[(i*31)%len(agents)], c: countries[i%len(countries)], status: status, result: result}
		b.WriteString(l.w3c())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// BenchmarkIngest reports lines aggregated per second on one core and the
// peak heap of one 1,000,000-line object: go test -bench Ingest -benchtime 1x.
func BenchmarkIngest(b *testing.B) {
	const lines = 1_000_000
	// From a file, as from S3: the object is streamed, never held whole.
	name := filepath.Join(b.TempDir(), "log")
	if err := os.WriteFile(name, generated(lines), 0o600); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	b.ReportAllocs()
	b.ResetTimer()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() { // sample the heap while ingesting
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
			}
		}
	}()
	for range b.N {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		st, err := analytics.Ingest(context.Background(), &memStore{}, "bench", f)
		f.Close()
		if err != nil || st.Counted != lines {
			b.Fatalf("%+v, %v", st, err)
		}
	}
	close(done)
	b.StopTimer()
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapAlloc))/(1<<20), "peakMB")
}
