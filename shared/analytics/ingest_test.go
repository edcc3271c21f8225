package analytics_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/analytics"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Real user agents: two crawlers, a command-line client the crawler list
// counts as a bot, and two browsers.
const (
	googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	bingbot   = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
	curl      = "curl/8.5.0"
	chrome    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	safariIOS = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)

// line is one request as a log records it.
type line struct {
	at                            string // RFC 3339
	host, path, referer, agent, c string
	status                        int
	result                        string
}

// The fields of a standard logging v2 delivery (legacy's 33 and c-country,
// distribution-tenant-id), in CloudFront's order:
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html#BasicDistributionFileFormat
const w3cFields = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end c-country distribution-tenant-id"

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// enc URL-encodes a value as CloudFront's logs do (a space as %20).
func enc(s string) string { return dash(strings.ReplaceAll(url.PathEscape(s), "+", "%2B")) }

func (l line) w3c() string {
	t, _ := time.Parse(time.RFC3339, l.at)
	return strings.Join([]string{t.Format("2006-01-02"), t.Format("15:04:05"), "FRA56-P1", "512", "192.0.2.10", "GET",
		"d111111abcdef8.cloudfront.net", enc(l.path), strconv.Itoa(l.status), enc(l.referer), enc(l.agent), "-", "-",
		dash(l.result), "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==", l.host, "https", "38", "0.001", "-",
		"TLSv1.3", "TLS_AES_128_GCM_SHA256", dash(l.result), "HTTP/2.0", "-", "-", "11040", "0.001", dash(l.result),
		"-", "0", "-", "-", dash(l.c), "dt_2abc"}, "\t")
}

func (l line) json() string {
	t, _ := time.Parse(time.RFC3339, l.at)
	b, _ := json.Marshal(map[string]any{
		"timestamp": strconv.FormatInt(t.Unix(), 10), "DistributionId": "E1ABCDEF", "c-ip": "192.0.2.10", "cs-method": "GET",
		"x-host-header": l.host, "cs-uri-stem": enc(l.path), "sc-status": l.status, "cs(Referer)": enc(l.referer),
		"cs(User-Agent)": enc(l.agent), "c-country": dash(l.c), "x-edge-result-type": dash(l.result),
		"distribution-tenant-id": "dt_2abc",
	})
	return string(b)
}

func w3cLog(lines []line, extra ...string) string {
	var b strings.Builder
	b.WriteString("#Version: 1.0\n#Fields: " + w3cFields + "\n")
	for _, l := range lines {
		b.WriteString(l.w3c() + "\n")
	}
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	return b.String()
}

func jsonLog(lines []line, extra ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.json() + "\n")
	}
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	return b.String()
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

const edge = "FunctionGeneratedResponse"

// sample spans two days and an hour boundary (23:xx on Dec 31, 00:xx on Jan 1).
var sample = []line{
	{at: "2025-12-31T23:58:00Z", host: "old.example.com", path: "/pricing", referer: "https://www.google.com/search?q=x", agent: chrome, c: "DE", status: 301, result: edge},
	{at: "2025-12-31T23:59:30Z", host: "old.example.com", path: "/pricing", referer: "https://news.ycombinator.com/item?id=1", agent: safariIOS, c: "US", status: 301, result: "Miss"},
	{at: "2025-12-31T23:59:59Z", host: "OLD.example.com", path: "/gone", agent: chrome, c: "DE", status: 404, result: "Error"},
	{at: "2026-01-01T00:00:00Z", host: "old.example.com", path: "/pricing", agent: googlebot, c: "US", status: 301, result: edge},
	{at: "2026-01-01T00:00:01Z", host: "old.example.com", path: "/robots-only", agent: bingbot, c: "US", status: 404, result: "Error"},
	{at: "2026-01-01T00:10:00Z", host: "old.example.com", path: "/blog/ü", agent: curl, status: 410, result: "Error"},
	{at: "2026-01-01T00:20:00Z", host: "a.wild.example.org", path: "/x", referer: "https://t.co/abc", agent: safariIOS, c: "FR", status: 302, result: edge},
	{at: "2026-01-01T00:30:00Z", host: "nobody.example.net", path: "/", agent: chrome, c: "DE", status: 404, result: "Error"},
}

// Lines no reader can count: garbage, a line of the wrong width, a bad status.
var malformedW3C = []string{"garbage", "2026-01-01\t00:00:00\tFRA56", strings.Replace(sample[0].w3c(), "\t301\t", "\tabc\t", 1)}
var malformedJSON = []string{"{not json", `{"timestamp":"x","x-host-header":"old.example.com","cs-uri-stem":"/","sc-status":"200"}`, `{"timestamp":"1767225600","cs-uri-stem":"/","sc-status":"200"}`}

func newStore(t *testing.T) (*dynamo.Store, *dynamodb.Client, string) {
	t.Helper()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	ctx := context.Background()
	for _, o := range []struct{ id, plan string }{{"org-a", reroute.PlanDeveloper}, {"org-b", reroute.PlanEnterprise}, {"org-c", reroute.PlanFree}} {
		p, _ := reroute.DefaultCatalog().Get(o.plan)
		if err := s.CreateOrg(ctx, reroute.Org{ID: o.id, Name: o.id, Plan: p.Name, RouteLimit: p.RouteLimit, MemberLimit: p.MemberLimit, RuleLimit: p.RuleLimit}, reroute.Member{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []reroute.Route{
		{Host: "old.example.com", OrgID: "org-a", Target: "https://new.example.com", Status: 301, Enabled: true},
		{Host: "*.wild.example.org", OrgID: "org-b", Target: "https://new.example.org", Status: 302, Enabled: true},
		{Host: "free.example.com", OrgID: "org-c", Target: "https://new.example.com", Status: 302, Enabled: true},
	} {
		if err := s.CreateRoute(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return s, client, table
}

func ingest(t *testing.T, s analytics.Store, source string, body []byte) analytics.Stats {
	t.Helper()
	st, err := analytics.Ingest(context.Background(), s, source, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("Ingest(%s): %v", source, err)
	}
	return st
}

func report(t *testing.T, s *dynamo.Store, q reroute.AnalyticsQuery) reroute.AnalyticsReport {
	t.Helper()
	rep, err := s.Analytics(context.Background(), q)
	if err != nil {
		t.Fatalf("Analytics(%+v): %v", q, err)
	}
	return rep
}

var (
	dec31 = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	jan1  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	jan2  = jan1.AddDate(0, 0, 1)
)

func TestIngestFormats(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   []byte
		gzip   bool
		format string
	}{
		{"w3c gzip", gz(w3cLog(sample, malformedW3C...)), true, analytics.FormatW3C},
		{"w3c plain", []byte(w3cLog(sample, malformedW3C...)), false, analytics.FormatW3C},
		{"json plain", []byte(jsonLog(sample, malformedJSON...)), false, analytics.FormatJSON},
		{"json gzip", gz(jsonLog(sample, malformedJSON...)), true, analytics.FormatJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, _ := newStore(t)
			st := ingest(t, s, "s3://logs/"+tc.name, tc.body)
			want := analytics.Stats{Gzip: tc.gzip, Format: tc.format, Lines: 11, Counted: 7, Malformed: 3, Unrouted: 1,
				UnroutedHosts: []string{"nobody.example.net"}, Buckets: 6, Parts: 1}
			if !reflect.DeepEqual(st, want) {
				t.Fatalf("stats\n got %+v\nwant %+v", st, want)
			}

			// Day buckets of the org: two days.
			day := report(t, s, reroute.AnalyticsQuery{OrgID: "org-a", From: dec31, To: jan2, Granularity: reroute.GranularityDay})
			wantSeries := []reroute.Point{
				{Start: dec31, Counts: reroute.Counts{Hits: 3, Bots: 0, NotFound: 1, Edge: 1}},
				{Start: jan1, Counts: reroute.Counts{Hits: 3, Bots: 3, NotFound: 2, Edge: 1}},
			}
			if !reflect.DeepEqual(day.Series, wantSeries) {
				t.Errorf("day series\n got %+v\nwant %+v", day.Series, wantSeries)
			}
			if want := (reroute.Counts{Hits: 6, Bots: 3, NotFound: 3, Edge: 2}); day.Totals != want {
				t.Errorf("totals %+v, want %+v", day.Totals, want)
			}
			wantTop := map[string][]reroute.Top{
				"paths":     {{Value: "/pricing", Hits: 3}},
				"notFound":  {{Value: "/blog/ü", Hits: 1}, {Value: "/gone", Hits: 1}, {Value: "/robots-only", Hits: 1}},
				"referrers": {{Value: "news.ycombinator.com", Hits: 1}, {Value: "www.google.com", Hits: 1}},
				"countries": {{Value: "US", Hits: 3}, {Value: "DE", Hits: 2}},
			}
			checkTop(t, "all", day, wantTop)

			// Bots left out of the rankings, not of the counts.
			human := report(t, s, reroute.AnalyticsQuery{OrgID: "org-a", Host: "old.example.com", From: dec31, To: jan2, Granularity: reroute.GranularityDay, WithoutBots: true})
			if human.Totals != day.Totals {
				t.Errorf("totals without bots %+v, want %+v", human.Totals, day.Totals)
			}
			checkTop(t, "humans", human, map[string][]reroute.Top{
				"paths":     {{Value: "/pricing", Hits: 2}},
				"notFound":  {{Value: "/gone", Hits: 1}},
				"referrers": {{Value: "news.ycombinator.com", Hits: 1}, {Value: "www.google.com", Hits: 1}},
				"countries": {{Value: "DE", Hits: 2}, {Value: "US", Hits: 1}},
			})

			// Hour buckets across the boundary, zero where nothing was counted.
			hour := report(t, s, reroute.AnalyticsQuery{OrgID: "org-a", From: jan1.Add(-2 * time.Hour), To: jan1.Add(2 * time.Hour), Granularity: reroute.GranularityHour})
			wantHours := []reroute.Point{
				{Start: jan1.Add(-2 * time.Hour)},
				{Start: jan1.Add(-time.Hour), Counts: reroute.Counts{Hits: 3, NotFound: 1, Edge: 1}},
				{Start: jan1, Counts: reroute.Counts{Hits: 3, Bots: 3, NotFound: 2, Edge: 1}},
				{Start: jan1.Add(time.Hour)},
			}
			if !reflect.DeepEqual(hour.Series, wantHours) {
				t.Errorf("hour series\n got %+v\nwant %+v", hour.Series, wantHours)
			}

			// A wildcard route's names count under the route; another org's
			// host is not found.
			wild := report(t, s, reroute.AnalyticsQuery{OrgID: "org-b", From: jan1, To: jan2, Granularity: reroute.GranularityDay})
			if wild.Totals != (reroute.Counts{Hits: 1, Edge: 1}) || len(wild.TopReferrers) != 1 || wild.TopReferrers[0].Value != "t.co" {
				t.Errorf("wildcard report %+v", wild)
			}
			_, err := s.Analytics(context.Background(), reroute.AnalyticsQuery{OrgID: "org-b", Host: "old.example.com", From: jan1, To: jan2, Granularity: reroute.GranularityDay})
			if !reroute.IsNotFound(err) {
				t.Errorf("another org's host: %v, want not found", err)
			}
		})
	}
}

func checkTop(t *testing.T, name string, rep reroute.AnalyticsReport, want map[string][]reroute.Top) {
	t.Helper()
	got := map[string][]reroute.Top{"paths": rep.TopPaths, "notFound": rep.TopNotFoundPaths, "referrers": rep.TopReferrers, "countries": rep.TopCountries}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s top %s\n got %+v\nwant %+v", name, k, got[k], w)
		}
	}
}

// A log object delivered twice, or read again after a failure, counts once.
func TestDuplicateDeliveryCountsOnce(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	body := gz(w3cLog(sample))
	first := ingest(t, s, "s3://logs/E1/2026/01/01/a.gz", body)
	again := ingest(t, s, "s3://logs/E1/2026/01/01/a.gz", body)
	if first.Duplicates != 0 || again.Duplicates != again.Parts || again.Parts != 1 {
		t.Fatalf("first %+v, again %+v: want the second delivery's parts all duplicates", first, again)
	}
	other := ingest(t, s, "s3://logs/E1/2026/01/01/b.gz", body) // another object, same lines: counts
	if other.Duplicates != 0 {
		t.Fatalf("another object: %+v", other)
	}
	rep := report(t, s, reroute.AnalyticsQuery{OrgID: "org-a", From: dec31, To: jan2, Granularity: reroute.GranularityDay})
	if rep.Totals.Hits != 12 {
		t.Fatalf("hits %d after two objects, one delivered twice; want 12", rep.Totals.Hits)
	}
}

// Two objects counted at once into the same buckets lose neither's rankings:
// each write holds only while the bucket is as it read it.
func TestConcurrentObjects(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	const n = 6
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := line{at: "2026-01-01T10:00:00Z", host: "old.example.com", path: fmt.Sprintf("/p%d", i), agent: chrome, status: 301}
			if _, err := analytics.Ingest(context.Background(), s, fmt.Sprintf("s3://logs/%d", i), strings.NewReader(w3cLog([]line{l}))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rep := report(t, s, reroute.AnalyticsQuery{OrgID: "org-a", From: jan1, To: jan2, Granularity: reroute.GranularityHour})
	if rep.Totals.Hits != n || len(rep.TopPaths) != n {
		t.Fatalf("hits %d, paths %v; want %d of each", rep.Totals.Hits, rep.TopPaths, n)
	}
}

// Buckets expire with the org's plan's retention after their end.
func TestRetentionByPlan(t *testing.T) {
	t.Parallel()
	s, client, table := newStore(t)
	lines := []line{
		{at: "2026-01-01T10:15:00Z", host: "old.example.com", path: "/", agent: chrome, status: 301},    // developer
		{at: "2026-01-01T10:15:00Z", host: "x.wild.example.org", path: "/", agent: chrome, status: 301}, // enterprise
		{at: "2026-01-01T10:15:00Z", host: "free.example.com", path: "/", agent: chrome, status: 301},   // free
	}
	ingest(t, s, "s3://logs/retention", []byte(jsonLog(lines)))
	hourEnd := time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		host string
		days int
	}{{"old.example.com", 90}, {"*.wild.example.org", 396}, {"free.example.com", 7}} {
		for _, b := range []struct {
			sk  string
			end time.Time
		}{{"H#2026-01-01T10Z", hourEnd}, {"D#2026-01-01", jan2}} {
			out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "STATS#" + tc.host}, "SK": &types.AttributeValueMemberS{Value: b.sk}}})
			if err != nil || out.Item == nil {
				t.Fatalf("%s %s: %v, item %v", tc.host, b.sk, err, out.Item)
			}
			got := out.Item["expiresAt"].(*types.AttributeValueMemberN).Value
			if want := strconv.FormatInt(b.end.AddDate(0, 0, tc.days).Unix(), 10); got != want {
				t.Errorf("%s %s expires at %s, want %s (%d days after its end)", tc.host, b.sk, got, want, tc.days)
			}
		}
	}
}

func TestAnalyticsInvalidQuery(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	for _, q := range []reroute.AnalyticsQuery{
		{OrgID: "org-a", From: jan1, To: jan2, Granularity: "week"},
		{OrgID: "org-a", From: jan2, To: jan1, Granularity: reroute.GranularityDay},
		{OrgID: "org-a", From: jan1, To: jan1.AddDate(0, 2, 0), Granularity: reroute.GranularityHour},
		{OrgID: "", From: jan1, To: jan2, Granularity: reroute.GranularityDay},
	} {
		if _, err := s.Analytics(context.Background(), q); reroute.ErrorCode(err) != reroute.CodeInvalid {
			t.Errorf("%+v: %v, want invalid", q, err)
		}
	}
}
