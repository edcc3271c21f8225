package accesslog_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/accesslog"
	"github.com/dnsreroute/dnsreroute/shared/analytics"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// What the local redirector logs is what the analytics read: answers logged
// through the handler and ingested by the tailer are counted in DynamoDB
// Local as CloudFront's records are (hits, bots, lost traffic, paths), once,
// however often the tailer runs.
func TestLoggedAnswersAreCounted(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	ctx := t.Context()
	if err := store.CreateOrg(ctx, reroute.Org{ID: "o1", Name: "Shop", Plan: reroute.PlanFree, RouteLimit: 1, MemberLimit: 1, RuleLimit: 25}, reroute.Member{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := store.CreateRoute(ctx, reroute.Route{Host: "old.shop.example", OrgID: "o1", Target: "https://shop.example.org/", Status: 301, Enabled: true, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "access.log")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/lost" {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, "https://shop.example.org/", http.StatusMovedPermanently)
	})
	h := accesslog.Handler(next, accesslog.NewWriter(f), false, time.Now, func(err error) { t.Error(err) })
	for _, req := range []struct{ path, agent string }{
		{"/a%20page", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"},
		{"/a%20page", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"},
		{"/lost", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"},
	} {
		r := httptest.NewRequest("GET", "http://old.shop.example:8081"+req.path, nil)
		r.Header.Set("User-Agent", req.agent)
		r.Header.Set("Referer", "https://news.example/item?id=1")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}

	ingest := func(ctx context.Context, source string, r io.Reader) error {
		st, err := analytics.Ingest(ctx, store, source, r)
		if err == nil && (st.Malformed != 0 || st.Format != analytics.FormatJSON) {
			t.Errorf("%s: %+v: the parser does not read the local log as CloudFront's JSON", source, st)
		}
		return err
	}
	tl := accesslog.NewTailer(path, ingest, slog.New(slog.DiscardHandler))
	for range 2 {
		if _, _, err := tl.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	day := now.Truncate(24 * time.Hour)
	rep, err := store.Analytics(ctx, reroute.AnalyticsQuery{OrgID: "o1", Host: "old.shop.example",
		From: day.Add(-24 * time.Hour), To: day.Add(48 * time.Hour), Granularity: reroute.GranularityDay})
	if err != nil {
		t.Fatal(err)
	}
	if want := (reroute.Counts{Hits: 3, Bots: 1, NotFound: 1}); rep.Totals != want {
		t.Fatalf("totals %+v, want %+v", rep.Totals, want)
	}
	if len(rep.TopPaths) == 0 || rep.TopPaths[0].Value != "/a page" {
		t.Errorf("top paths %+v, want the decoded path first", rep.TopPaths)
	}
	if len(rep.TopNotFoundPaths) != 1 || rep.TopNotFoundPaths[0].Value != "/lost" {
		t.Errorf("lost paths %+v", rep.TopNotFoundPaths)
	}
	if len(rep.TopReferrers) == 0 || rep.TopReferrers[0].Value != "news.example" {
		t.Errorf("referrers %+v", rep.TopReferrers)
	}
}
