package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/analytics"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// askedReader answers a fixed report and records the queries it was asked, so
// that a test sees how the API read its parameters.
type askedReader struct {
	mu     sync.Mutex
	asked  []reroute.AnalyticsQuery
	report reroute.AnalyticsReport
}

func (a *askedReader) Analytics(_ context.Context, q reroute.AnalyticsQuery) (reroute.AnalyticsReport, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, q)
	return a.report, nil
}

func (a *askedReader) last() reroute.AnalyticsQuery {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.asked) == 0 {
		return reroute.AnalyticsQuery{}
	}
	return a.asked[len(a.asked)-1]
}

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestAnalyticsQuery checks how the window, granularity, host and bots are read,
// defaulted, widened to whole buckets and bounded.
func TestAnalyticsQuery(t *testing.T) {
	now := day("2025-03-15T10:20:00Z")
	reader := &askedReader{}
	e := newAPIEnvWith(t, func(d *httpapi.Deps) {
		d.Analytics = reader
		d.Now = func() time.Time { return now }
	})
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Acme")
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", alice, map[string]any{"host": "old.example.com", "target": "https://new.example.org/"}), 201, "")
	base := "/v1/orgs/" + org + "/analytics"

	for _, tc := range []struct {
		name, query string
		from, to    string
		granularity string
		host        string
		withoutBots bool
	}{
		{"defaults: the last 30 days by day, today included", "", "2025-02-14T00:00:00Z", "2025-03-16T00:00:00Z", "day", "", false},
		{"by hour: the last 24 hours, this hour included", "granularity=hour", "2025-03-14T11:00:00Z", "2025-03-15T11:00:00Z", "hour", "", false},
		{"dates: to is inclusive", "from=2025-01-01&to=2025-01-31", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "day", "", false},
		{"one date", "from=2025-01-01&to=2025-01-01", "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z", "day", "", false},
		{"timestamps: to is exclusive", "from=2025-01-01T00:00:00Z&to=2025-01-03T00:00:00Z", "2025-01-01T00:00:00Z", "2025-01-03T00:00:00Z", "day", "", false},
		{"timestamps widened to whole days", "from=2025-01-01T05:00:00Z&to=2025-01-02T01:00:00Z", "2025-01-01T00:00:00Z", "2025-01-03T00:00:00Z", "day", "", false},
		{"timestamps widened to whole hours", "granularity=hour&from=2025-01-01T05:30:00Z&to=2025-01-01T07:10:00Z", "2025-01-01T05:00:00Z", "2025-01-01T08:00:00Z", "hour", "", false},
		{"an offset is read as UTC", "granularity=hour&from=2025-01-01T02:00:00%2B02:00&to=2025-01-01T03:00:00%2B02:00", "2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z", "hour", "", false},
		{"only from: up to today", "from=2025-03-01", "2025-03-01T00:00:00Z", "2025-03-16T00:00:00Z", "day", "", false},
		{"only to: 30 days before it", "to=2025-01-31", "2025-01-02T00:00:00Z", "2025-02-01T00:00:00Z", "day", "", false},
		{"31 days by hour", "granularity=hour&from=2025-01-01&to=2025-01-31", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "hour", "", false},
		{"400 days by day", "from=2024-01-01&to=2025-02-03", "2024-01-01T00:00:00Z", "2025-02-04T00:00:00Z", "day", "", false},
		{"a host, normalised", "host=OLD.Example.com.&bots=exclude", "2025-02-14T00:00:00Z", "2025-03-16T00:00:00Z", "day", "old.example.com", true},
		{"bots included", "bots=include", "2025-02-14T00:00:00Z", "2025-03-16T00:00:00Z", "day", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", base+"?"+tc.query, alice, nil)
			e.want(r, 200, "")
			want := reroute.AnalyticsQuery{OrgID: org, Host: tc.host, From: day(tc.from), To: day(tc.to), Granularity: tc.granularity, WithoutBots: tc.withoutBots}
			if got := reader.last(); got != want {
				t.Errorf("asked %+v, want %+v", got, want)
			}
			if r.str("from") != tc.from || r.str("to") != tc.to || r.str("granularity") != tc.granularity {
				t.Errorf("answered the window %s %s %s", r.str("from"), r.str("to"), r.str("granularity"))
			}
		})
	}

	for _, tc := range []struct{ name, query, field string }{
		{"a bad date", "from=2025-02-30", "from"},
		{"a time without a zone", "from=2025-01-01T10:00:00", "from"},
		{"not a date", "to=yesterday", "to"},
		{"a year before counters", "from=1999-12-31", "from"},
		{"to before from", "from=2025-01-10&to=2025-01-09", "to"},
		{"to equal to from", "from=2025-01-10T00:00:00Z&to=2025-01-10T00:00:00Z", "to"},
		{"32 days by hour", "granularity=hour&from=2025-01-01&to=2025-02-01", "to"},
		{"401 days by day", "from=2024-01-01&to=2025-02-04", "to"},
		{"a bad granularity", "granularity=week", "granularity"},
		{"bad bots", "bots=no", "bots"},
		{"a bad host", "host=" + url.QueryEscape("not a host"), "host"},
		{"from twice", "from=2025-01-01&from=2025-01-02", "from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", base+"?"+tc.query, alice, nil)
			e.want(r, 400, "validation_failed")
			fields, _ := r.json["fields"].([]any)
			if len(fields) == 0 || fields[0].(map[string]any)["field"] != tc.field {
				t.Errorf("fields %v, want %s", fields, tc.field)
			}
		})
	}
}

// TestAnalyticsAnswer checks the report's JSON, the filled series, the CSV export,
// who may read it, and that another org's host is not found.
func TestAnalyticsAnswer(t *testing.T) {
	reader := &askedReader{report: reroute.AnalyticsReport{
		Totals: reroute.Counts{Hits: 12, Bots: 3, NotFound: 4, Edge: 9},
		Series: []reroute.Point{
			{Start: day("2025-01-01T00:00:00Z"), Counts: reroute.Counts{Hits: 5, Bots: 1, NotFound: 2, Edge: 4}},
			{Start: day("2025-01-03T00:00:00Z"), Counts: reroute.Counts{Hits: 7, Bots: 2, NotFound: 2, Edge: 5}},
		},
		TopPaths:         []reroute.Top{{Value: "/pricing", Hits: 6}, {Value: "/", Hits: 2}},
		TopNotFoundPaths: []reroute.Top{{Value: "/old-blog/post", Hits: 4}},
		TopReferrers:     []reroute.Top{{Value: "news.example.net", Hits: 3}},
		TopCountries:     []reroute.Top{{Value: "DE", Hits: 8}, {Value: "US", Hits: 4}},
	}}
	e := newAPIEnvWith(t, func(d *httpapi.Deps) { d.Analytics = reader })
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "developer")
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", alice, map[string]any{"host": "old.example.com", "target": "https://new.example.org/"}), 201, "")
	e.want(e.do("POST", "/v1/orgs/"+org+"/members", alice, map[string]any{"email": "carol@example.com", "role": "member"}), 201, "")
	readKey := e.do("POST", "/v1/orgs/"+org+"/api-keys", alice, map[string]any{"name": "read", "scope": "read"}).str("secret")
	bob := e.token("bob@example.com")
	orgB := e.newOrg("bob@example.com", "Other")
	e.want(e.do("POST", "/v1/orgs/"+orgB+"/routes", bob, map[string]any{"host": "b.example.com", "target": "https://b.example.org/"}), 201, "")
	base := "/v1/orgs/" + org + "/analytics?from=2025-01-01&to=2025-01-03"

	r := e.do("GET", base+"&host=old.example.com", alice, nil)
	e.want(r, 200, "")
	totals := r.json["totals"].(map[string]any)
	if totals["hits"] != 12.0 || totals["bots"] != 3.0 || totals["notFound"] != 4.0 || totals["edge"] != 9.0 {
		t.Errorf("totals %v", totals)
	}
	series := r.json["series"].([]any)
	var starts, hits []any
	for _, p := range series {
		starts = append(starts, p.(map[string]any)["start"])
		hits = append(hits, p.(map[string]any)["hits"])
	}
	if len(series) != 3 || starts[1] != "2025-01-02T00:00:00Z" || hits[0] != 5.0 || hits[1] != 0.0 || hits[2] != 7.0 {
		t.Errorf("series %v %v, want three days with a zero between", starts, hits)
	}
	nf := r.json["topNotFoundPaths"].([]any)
	if len(nf) != 1 || nf[0].(map[string]any)["value"] != "/old-blog/post" {
		t.Errorf("topNotFoundPaths %v", nf)
	}
	if r.str("host") != "old.example.com" || r.header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("host %q, Cache-Control %q", r.str("host"), r.header.Get("Cache-Control"))
	}

	t.Run("csv", func(t *testing.T) {
		r := e.doRaw("GET", base+"&host=old.example.com", alice, "", "", map[string]string{"Accept": "text/csv"})
		e.want(r, 200, "")
		want := "start,hits,bots,notFound,edge\n" +
			"2025-01-01T00:00:00Z,5,1,2,4\n2025-01-02T00:00:00Z,0,0,0,0\n2025-01-03T00:00:00Z,7,2,2,5\n"
		if string(r.body) != want {
			t.Errorf("CSV:\n%s\nwant:\n%s", r.body, want)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="old.example.com-analytics-20250101-20250104.csv"` {
			t.Errorf("Content-Disposition %q", cd)
		}
	})

	t.Run("empty rankings are lists", func(t *testing.T) {
		empty := newAPIEnvWith(t, func(d *httpapi.Deps) { d.Analytics = &askedReader{} })
		tok := empty.token("dan@example.com")
		o := empty.newOrg("dan@example.com", "Empty")
		r := empty.do("GET", "/v1/orgs/"+o+"/analytics", tok, nil)
		empty.want(r, 200, "")
		if !strings.Contains(string(r.body), `"topPaths":[]`) || len(r.json["series"].([]any)) != 30 {
			t.Errorf("body %s", r.body)
		}
	})

	for _, tc := range []struct {
		name, token, query string
		status             int
		code               string
	}{
		{"a member", e.token("carol@example.com"), "", 200, ""},
		{"a read API key", readKey, "&host=old.example.com", 200, ""},
		{"another org's host", alice, "&host=b.example.com", 404, "route_not_found"},
		{"a host of no route", alice, "&host=gone.example.com", 404, "route_not_found"},
		{"another org's caller", bob, "", 404, "org_not_found"},
		{"no token", "", "", 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.want(e.do("GET", base+tc.query, tc.token, nil), tc.status, tc.code)
		})
	}

	t.Run("not configured", func(t *testing.T) {
		bare := newAPIEnvWith(t, func(d *httpapi.Deps) { d.Analytics = nil })
		tok := bare.token("erin@example.com")
		o := bare.newOrg("erin@example.com", "Bare")
		bare.want(bare.do("GET", "/v1/orgs/"+o+"/analytics", tok, nil), 501, "analytics_not_configured")
	})
}

// TestAnalyticsFromLogs reads counters the ingestion added to the table from
// CloudFront log lines (standard logging v2, JSON lines): per host and per org,
// by day and by hour, bots in and out, and a second org that sees none of it.
func TestAnalyticsFromLogs(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "developer")
	for _, h := range []string{"old.example.com", "shop.example.com"} {
		e.want(e.do("POST", "/v1/orgs/"+org+"/routes", alice, map[string]any{"host": h, "target": "https://new.example.org/"}), 201, "")
	}
	bob := e.token("bob@example.com")
	orgB := e.newOrg("bob@example.com", "Other")

	const (
		browser   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
		googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	)
	line := func(ts, host, path string, status int, ref, agent, country, result string) string {
		return fmt.Sprintf(`{"timestamp":%q,"x-host-header":%q,"cs-method":"GET","cs-uri-stem":%q,"sc-status":%d,"cs(Referer)":%q,"cs(User-Agent)":%q,"c-country":%q,"x-edge-result-type":%q}`,
			ts, host, path, status, ref, agent, country, result)
	}
	logs := strings.Join([]string{
		line("2025-01-01T10:15:00Z", "old.example.com", "/pricing", 301, "https://news.example.net/a", browser, "DE", "FunctionGeneratedResponse"),
		line("2025-01-01T10:45:00Z", "old.example.com", "/pricing", 301, "-", browser, "DE", "Miss"),
		line("2025-01-01T11:05:00Z", "old.example.com", "/old-blog/post", 404, "-", browser, "US", "Miss"),
		line("2025-01-01T11:10:00Z", "old.example.com", "/robots-only", 301, "-", googlebot, "US", "Miss"),
		line("2025-01-03T00:00:00Z", "shop.example.com", "/cart", 301, "-", browser, "FR", "FunctionGeneratedResponse"),
		line("2025-01-03T00:00:01Z", "nobody.example.com", "/", 404, "-", browser, "FR", "Miss"),
	}, "\n") + "\n"
	st, err := analytics.Ingest(context.Background(), e.store, "test://logs/1", strings.NewReader(logs))
	if err != nil || st.Counted != 5 || st.Unrouted != 1 {
		t.Fatalf("ingest: %+v %v", st, err)
	}

	base := "/v1/orgs/" + org + "/analytics?from=2025-01-01&to=2025-01-03"
	r := e.do("GET", base+"&host=old.example.com", alice, nil)
	e.want(r, 200, "")
	totals := r.json["totals"].(map[string]any)
	if totals["hits"] != 4.0 || totals["bots"] != 1.0 || totals["notFound"] != 1.0 || totals["edge"] != 1.0 {
		t.Errorf("old.example.com totals %v", totals)
	}
	if s := r.json["series"].([]any); len(s) != 3 || s[0].(map[string]any)["hits"] != 4.0 || s[2].(map[string]any)["hits"] != 0.0 {
		t.Errorf("series %v", s)
	}
	if nf := fmt.Sprint(r.json["topNotFoundPaths"]); !strings.Contains(nf, "/old-blog/post") {
		t.Errorf("topNotFoundPaths %s", nf)
	}
	if tp := fmt.Sprint(r.json["topPaths"]); !strings.Contains(tp, "/pricing") || !strings.Contains(tp, "/robots-only") {
		t.Errorf("topPaths with bots %s", tp)
	}
	if ref := fmt.Sprint(r.json["topReferrers"]); !strings.Contains(ref, "news.example.net") {
		t.Errorf("topReferrers %s", ref)
	}

	r = e.do("GET", base+"&host=old.example.com&bots=exclude", alice, nil)
	e.want(r, 200, "")
	if tp := fmt.Sprint(r.json["topPaths"]); strings.Contains(tp, "/robots-only") {
		t.Errorf("topPaths without bots still has the bot's path: %s", tp)
	}

	r = e.do("GET", base, alice, nil)
	e.want(r, 200, "")
	if hits := r.json["totals"].(map[string]any)["hits"]; hits != 5.0 {
		t.Errorf("the org's hits %v, want 5 (both hosts, not the unrouted one)", hits)
	}

	r = e.do("GET", "/v1/orgs/"+org+"/analytics?host=old.example.com&granularity=hour&from=2025-01-01T10:00:00Z&to=2025-01-01T12:00:00Z", alice, nil)
	e.want(r, 200, "")
	s := r.json["series"].([]any)
	if len(s) != 2 || s[0].(map[string]any)["hits"] != 2.0 || s[1].(map[string]any)["hits"] != 2.0 || s[1].(map[string]any)["bots"] != 1.0 {
		t.Errorf("hourly series %v", s)
	}

	r = e.doRaw("GET", base+"&host=old.example.com", alice, "", "", map[string]string{"Accept": "text/csv"})
	e.want(r, 200, "")
	if want := "start,hits,bots,notFound,edge\n2025-01-01T00:00:00Z,4,1,1,1\n"; !strings.HasPrefix(string(r.body), want) {
		t.Errorf("CSV %q", r.body)
	}

	e.want(e.do("GET", "/v1/orgs/"+orgB+"/analytics?host=old.example.com", bob, nil), 404, "route_not_found")
	r = e.do("GET", "/v1/orgs/"+orgB+"/analytics?from=2025-01-01&to=2025-01-03", bob, nil)
	e.want(r, 200, "")
	if hits := r.json["totals"].(map[string]any)["hits"]; hits != 0.0 {
		t.Errorf("another org sees %v hits", hits)
	}
}
