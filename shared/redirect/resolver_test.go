package redirect_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/redirect"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func TestResolveLocation(t *testing.T) {
	f := newMemFinder(
		route("plain.example.com", "https://new.example.org/landing?src=old#top"),
		route("path.example.com", "https://new.example.org/base/", keepPath),
		route("pathnoslash.example.com", "https://new.example.org/base", keepPath),
		route("root.example.com", "https://new.example.org", keepPath, keepQuery),
		route("query.example.com", "https://new.example.org/q?a=1", keepQuery),
		route("both.example.com", "https://new.example.org/b?a=1#frag", keepPath, keepQuery),
		route("found.example.com", "https://new.example.org/", status(302)),
		route("*.wild.example.com", "https://wild.example.org/", keepPath),
		route("exact.wild.example.com", "https://exact.example.org/"),
		route("*.deep.wild.example.com", "https://deeper.example.org/"),
		route("off.example.com", "https://new.example.org/", disabled),
		route("paused.example.com", "https://new.example.org/", paused),
		route("*.pausedwild.example.com", "https://new.example.org/"),
		route("x.pausedwild.example.com", "https://new.example.org/", paused),
	)
	res := newResolver(f, newClock(), redirect.Config{})
	tests := []struct {
		name, host, path, query string
		kind                    redirect.Kind
		status                  int
		location                string
	}{
		{"plain ignores path and query", "plain.example.com", "/x/y", "z=1", redirect.KindRedirect, 301, "https://new.example.org/landing?src=old#top"},
		{"keep path joins one slash", "path.example.com", "/some/path", "", redirect.KindRedirect, 301, "https://new.example.org/base/some/path"},
		{"keep path without trailing slash", "pathnoslash.example.com", "/x", "", redirect.KindRedirect, 301, "https://new.example.org/base/x"},
		{"keep path, root request keeps target", "path.example.com", "/", "", redirect.KindRedirect, 301, "https://new.example.org/base/"},
		{"keep path, empty path keeps target", "path.example.com", "", "", redirect.KindRedirect, 301, "https://new.example.org/base/"},
		{"keep path keeps inner double slashes", "path.example.com", "//a//b/", "", redirect.KindRedirect, 301, "https://new.example.org/base//a//b/"},
		{"keep path keeps encoded characters", "path.example.com", "/a%2Fb/%E2%9C%93%20c", "", redirect.KindRedirect, 301, "https://new.example.org/base/a%2Fb/%E2%9C%93%20c"},
		{"keep path escapes raw bytes", "path.example.com", "/caf\xc3\xa9/\"x\"", "", redirect.KindRedirect, 301, "https://new.example.org/base/caf%C3%A9/%22x%22"},
		{"target without path gets a slash", "root.example.com", "", "x=1", redirect.KindRedirect, 301, "https://new.example.org/?x=1"},
		{"target without path, keep path", "root.example.com", "/p", "x=1", redirect.KindRedirect, 301, "https://new.example.org/p?x=1"},
		{"keep query merges after the target's", "query.example.com", "/ignored", "b=2&c=%20", redirect.KindRedirect, 301, "https://new.example.org/q?a=1&b=2&c=%20"},
		{"keep query, no request query", "query.example.com", "/", "", redirect.KindRedirect, 301, "https://new.example.org/q?a=1"},
		{"both, fragment last", "both.example.com", "/p", "b=2", redirect.KindRedirect, 301, "https://new.example.org/b/p?a=1&b=2#frag"},
		{"302", "found.example.com", "/", "", redirect.KindRedirect, 302, "https://new.example.org/"},
		{"host is normalised", "FOUND.Example.COM.:8080", "/", "", redirect.KindRedirect, 302, "https://new.example.org/"},
		{"wildcard matches one level", "a.wild.example.com", "/p", "", redirect.KindRedirect, 301, "https://wild.example.org/p"},
		{"wildcard matches deeper", "a.b.wild.example.com", "/", "", redirect.KindRedirect, 301, "https://wild.example.org/"},
		{"exact beats wildcard", "exact.wild.example.com", "/p", "", redirect.KindRedirect, 301, "https://exact.example.org/"},
		{"longer wildcard beats shorter", "x.deep.wild.example.com", "/", "", redirect.KindRedirect, 301, "https://deeper.example.org/"},
		{"wildcard does not match its base", "wild.example.com", "/", "", redirect.KindNotConfigured, 404, ""},
		{"unknown host", "nobody.example.com", "/", "", redirect.KindNotConfigured, 404, ""},
		{"disabled route", "off.example.com", "/", "", redirect.KindNotConfigured, 404, ""},
		{"paused route", "paused.example.com", "/", "", redirect.KindNotConfigured, 404, ""},
		{"a paused exact route does not fall through to a wildcard", "x.pausedwild.example.com", "/", "", redirect.KindNotConfigured, 404, ""},
		{"garbage host", "bad host!", "/", "", redirect.KindNotConfigured, 404, ""},
		{"empty host", "", "/", "", redirect.KindNotConfigured, 404, ""},
		{"service host", "redirect.dnsreroute.test", "/healthz", "", redirect.KindService, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := res.Resolve(context.Background(), redirect.Request{Host: tt.host, Path: tt.path, Query: tt.query})
			if got.Kind != tt.kind || got.Status != tt.status || got.Location != tt.location {
				t.Errorf("Resolve(%q, %q, %q) = %v %d %q, want %v %d %q", tt.host, tt.path, tt.query, got.Kind, got.Status, got.Location, tt.kind, tt.status, tt.location)
			}
		})
	}
}

func TestCacheTTLs(t *testing.T) {
	f := newMemFinder(route("a.example.com", "https://one.example.org/"))
	c := newClock()
	res := newResolver(f, c, redirect.Config{PositiveTTL: time.Minute, NegativeTTL: 10 * time.Second})
	ctx := context.Background()
	loc := func(host string) string {
		return res.Resolve(ctx, redirect.Request{Host: host, Path: "/"}).Location
	}

	if got := loc("a.example.com"); got != "https://one.example.org/" {
		t.Fatalf("first lookup = %q", got)
	}
	f.put(route("a.example.com", "https://two.example.org/"))
	c.advance(59 * time.Second)
	if got := loc("a.example.com"); got != "https://one.example.org/" {
		t.Errorf("within the positive TTL the cached route answers, got %q", got)
	}
	c.advance(2 * time.Second)
	if got := loc("a.example.com"); got != "https://two.example.org/" {
		t.Errorf("after the positive TTL the store answers, got %q", got)
	}

	if got := loc("b.example.com"); got != "" {
		t.Fatalf("unknown host = %q", got)
	}
	f.put(route("b.example.com", "https://b.example.org/"))
	c.advance(9 * time.Second)
	if got := loc("b.example.com"); got != "" {
		t.Errorf("within the negative TTL the miss is cached, got %q", got)
	}
	c.advance(2 * time.Second)
	if got := loc("b.example.com"); got != "https://b.example.org/" {
		t.Errorf("after the negative TTL the new route answers, got %q", got)
	}
	if n := f.calls.Load(); n != 4 {
		t.Errorf("store calls = %d, want 4", n)
	}
}

func TestConcurrentMissesCollapse(t *testing.T) {
	f := newMemFinder(route("a.example.com", "https://one.example.org/"))
	f.delay = 50 * time.Millisecond
	res := newResolver(f, newClock(), redirect.Config{})
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for range 100 {
		wg.Go(func() {
			if got := res.Resolve(context.Background(), redirect.Request{Host: "a.example.com", Path: "/"}); got.Location != "https://one.example.org/" {
				errs <- fmt.Sprintf("%v %q", got.Kind, got.Location)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("concurrent lookup answered", e)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("100 concurrent misses made %d store calls, want 1", n)
	}
}

func TestCanceledCallerDoesNotFailOthers(t *testing.T) {
	f := newMemFinder(route("a.example.com", "https://one.example.org/"))
	f.delay = 50 * time.Millisecond
	res := newResolver(f, newClock(), redirect.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var first redirect.Result
	wg.Go(func() { first = res.Resolve(ctx, redirect.Request{Host: "a.example.com", Path: "/"}) })
	time.Sleep(10 * time.Millisecond)
	var second redirect.Result
	wg.Go(func() {
		second = res.Resolve(context.Background(), redirect.Request{Host: "a.example.com", Path: "/"})
	})
	cancel()
	wg.Wait()
	if first.Kind != redirect.KindRedirect || second.Kind != redirect.KindRedirect {
		t.Errorf("a caller leaving must not fail the shared lookup: %v, %v", first.Kind, second.Kind)
	}
}

func TestStaleIfError(t *testing.T) {
	f := newMemFinder(route("a.example.com", "https://one.example.org/"))
	c := newClock()
	res := newResolver(f, c, redirect.Config{PositiveTTL: time.Minute, NegativeTTL: 10 * time.Second, MaxStale: time.Hour, RetryBackoff: 5 * time.Second})
	ctx := context.Background()
	if got := res.Resolve(ctx, redirect.Request{Host: "a.example.com", Path: "/"}); got.Kind != redirect.KindRedirect {
		t.Fatalf("warm lookup: %v", got.Kind)
	}
	if got := res.Resolve(ctx, redirect.Request{Host: "gone.example.com", Path: "/"}); got.Kind != redirect.KindNotConfigured {
		t.Fatalf("warm miss: %v", got.Kind)
	}
	f.fail(errStoreDown)
	c.advance(2 * time.Minute)

	calls := f.calls.Load()
	if got := res.Resolve(ctx, redirect.Request{Host: "a.example.com", Path: "/"}); got.Kind != redirect.KindRedirect || got.Location != "https://one.example.org/" {
		t.Errorf("store down: a known route keeps redirecting, got %v %q", got.Kind, got.Location)
	}
	if got := res.Resolve(ctx, redirect.Request{Host: "a.example.com", Path: "/"}); got.Kind != redirect.KindRedirect {
		t.Errorf("store down, second request: %v", got.Kind)
	}
	if n := f.calls.Load() - calls; n != 1 {
		t.Errorf("within the retry backoff the store is asked once, got %d calls", n)
	}
	if got := res.Resolve(ctx, redirect.Request{Host: "gone.example.com", Path: "/"}); got.Kind != redirect.KindNotConfigured {
		t.Errorf("store down: a known miss stays a 404, got %v", got.Kind)
	}
	if got := res.Resolve(ctx, redirect.Request{Host: "never.example.com", Path: "/"}); got.Kind != redirect.KindUnavailable || got.Status != 503 {
		t.Errorf("store down: an unknown host is 503, never 404; got %v %d", got.Kind, got.Status)
	}

	c.advance(2 * time.Hour)
	if got := res.Resolve(ctx, redirect.Request{Host: "a.example.com", Path: "/"}); got.Kind != redirect.KindUnavailable {
		t.Errorf("beyond the maximum staleness: %v, want unavailable", got.Kind)
	}

	f.fail(nil)
	f.put(route("never.example.com", "https://never.example.org/"))
	if got := res.Resolve(ctx, redirect.Request{Host: "a.example.com", Path: "/"}); got.Kind != redirect.KindRedirect {
		t.Errorf("store back: %v", got.Kind)
	}
	if got := res.Resolve(ctx, redirect.Request{Host: "never.example.com", Path: "/"}); got.Location != "https://never.example.org/" {
		t.Errorf("store back, new host: %v %q", got.Kind, got.Location)
	}
}

func TestLookupTimeout(t *testing.T) {
	f := newMemFinder(route("a.example.com", "https://one.example.org/"))
	// A ceiling, not a speed: without the timeout the request would wait out the
	// store's 2-minute stall; with it, a loaded machine answers well within one.
	f.delay = 2 * time.Minute
	res := newResolver(f, newClock(), redirect.Config{LookupTimeout: 20 * time.Millisecond})
	start := time.Now()
	got := res.Resolve(context.Background(), redirect.Request{Host: "a.example.com", Path: "/"})
	if got.Kind != redirect.KindUnavailable {
		t.Errorf("a stalled store: %v, want unavailable", got.Kind)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("a stalled store held the request %v", d)
	}
}

func TestCacheIsBounded(t *testing.T) {
	f := newMemFinder(route("*.example.com", "https://w.example.org/"))
	res := newResolver(f, newClock(), redirect.Config{CacheSize: 100})
	for i := range 1000 {
		res.Resolve(context.Background(), redirect.Request{Host: fmt.Sprintf("h%d.example.com", i), Path: "/"})
	}
	if n := res.CachedHosts(); n != 100 {
		t.Errorf("cache holds %d hosts, want 100", n)
	}
	calls := f.calls.Load()
	res.Resolve(context.Background(), redirect.Request{Host: "h999.example.com", Path: "/"}) // recent: cached
	res.Resolve(context.Background(), redirect.Request{Host: "h0.example.com", Path: "/"})   // evicted: asks
	if n := f.calls.Load() - calls; n != 1 {
		t.Errorf("store calls = %d, want 1 (only the evicted host)", n)
	}
}

// TestStats checks the counters a benchmark warms the cache with: a second pass
// over the same hosts asks the store nothing more.
// TestCacheIsBoundedByRules weighs a host by its route's rules: large routes
// evict others sooner, and one larger than the bound alone is still cached.
func TestCacheIsBoundedByRules(t *testing.T) {
	withRules := func(n int) func(*reroute.Route) {
		return func(r *reroute.Route) {
			r.Target = ""
			for i := range n {
				r.PathRules = append(r.PathRules, reroute.PathRule{Source: fmt.Sprintf("/p%d", i), Target: "https://new.example.org/", Status: 301})
			}
		}
	}
	f := newMemFinder(
		route("a.example.com", "https://new.example.org/", withRules(10)),
		route("b.example.com", "https://new.example.org/", withRules(10)),
		route("c.example.com", "https://new.example.org/", withRules(10)),
		route("plain.example.com", "https://new.example.org/"),
		route("huge.example.com", "https://new.example.org/", withRules(50)),
	)
	res := newResolver(f, newClock(), redirect.Config{CacheSize: 100, CacheRules: 25})
	ask := func(host string) {
		res.Resolve(context.Background(), redirect.Request{Host: host, Path: "/p1"})
	}
	for _, h := range []string{"a.example.com", "b.example.com", "plain.example.com", "c.example.com"} {
		ask(h)
	}
	if st := res.Stats(); st.CachedRules > 25 || st.CachedHosts != 3 {
		t.Errorf("cache holds %d hosts and %d rules, want 3 hosts (a evicted) within 25 rules", st.CachedHosts, st.CachedRules)
	}
	calls := f.calls.Load()
	ask("c.example.com") // the newest: cached
	ask("a.example.com") // evicted: asks
	if n := f.calls.Load() - calls; n != 1 {
		t.Errorf("store calls = %d, want 1 (only the evicted host)", n)
	}
	ask("huge.example.com")
	if st := res.Stats(); st.CachedHosts != 1 || st.CachedRules != 50 {
		t.Errorf("after a route beyond the bound: %d hosts, %d rules; want it alone, cached", st.CachedHosts, st.CachedRules)
	}
	calls = f.calls.Load()
	ask("huge.example.com")
	if n := f.calls.Load() - calls; n != 0 {
		t.Errorf("store calls = %d for the cached large route, want 0", n)
	}
}

func TestStats(t *testing.T) {
	f := frontFinder()
	res := newResolver(f, newClock(), redirect.Config{})
	hosts := []string{"old.example.com", "temp.example.com", "nobody.example.com"}
	for pass := range 2 {
		for _, h := range hosts {
			res.Resolve(context.Background(), redirect.Request{Host: h, Path: "/"})
		}
		if got, want := res.Stats(), (redirect.Stats{CachedHosts: 3, CachedRules: 2, StoreLookups: 3}); got != want {
			t.Errorf("pass %d: Stats = %+v, want %+v", pass+1, got, want)
		}
	}
	rec := httptest.NewRecorder()
	redirect.StatsHandler(res).ServeHTTP(rec, httptest.NewRequest("GET", "/stats", nil))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"cachedHosts":3,"cachedRules":2,"storeLookups":3}` {
		t.Errorf("GET /stats: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	redirect.StatsHandler(res).ServeHTTP(rec, httptest.NewRequest("POST", "/stats", nil))
	if rec.Code != 405 {
		t.Errorf("POST /stats: %d", rec.Code)
	}
}

// TestPathRulesBeyondCorpus covers what the shared corpus cannot say: long paths
// past the stack buffer, request targets that are not paths, stored sources that
// were never made canonical, and the 410 page as rendered.
func TestPathRulesBeyondCorpus(t *testing.T) {
	long := "/docs/" + strings.Repeat("Ab%7e/", 100) // over the stack buffer, not canonical
	withRules := func(r reroute.Route) reroute.Route {
		r.PathRules = []reroute.PathRule{
			{Source: "/Docs", Target: "https://docs.example.org/m", Status: 301, Subpath: true, KeepSuffix: true},
			{Source: "/caf\xc3\xa9", Target: "https://new.example.org/cafe", Status: 302}, // stored raw
		}
		r.PathOptions.IgnoreCase = true
		return r
	}
	f := newMemFinder(
		withRules(route("rules.example.com", "")),
		withRules(route("whole.example.com", "https://new.example.org/base/", keepPath)),
		func() reroute.Route {
			r := withRules(route("gone.example.com", ""))
			r.Fallback = reroute.Fallback{Kind: reroute.FallbackGone}
			return r
		}(),
	)
	res := newResolver(f, newClock(), redirect.Config{})
	rd := redirect.NewRenderer(res.Config())
	tests := []struct {
		name, host, path string
		status           int
		location         string
	}{
		{"a long path that needs folding", "rules.example.com", long, 301, "https://docs.example.org/m/" + strings.Repeat("Ab~/", 100)},
		{"a stored raw source matches its escapes", "rules.example.com", "/CAF%C3%A9", 302, "https://new.example.org/cafe"},
		{"a target that is not a path falls to the root rule", "whole.example.com", "*", 301, "https://new.example.org/base/*"},
		{"an empty path is the root", "whole.example.com", "", 301, "https://new.example.org/base/"},
		{"an empty path without a root rule", "rules.example.com", "", 404, ""},
	}
	for _, tt := range tests {
		got := res.Resolve(context.Background(), redirect.Request{Host: tt.host, Path: tt.path, Secure: true})
		if got.Status != tt.status || got.Location != tt.location {
			t.Errorf("%s: %s%s = %d %q, want %d %q", tt.name, tt.host, tt.path, got.Status, got.Location, tt.status, tt.location)
		}
	}

	gone := res.Resolve(context.Background(), redirect.Request{Host: "gone.example.com", Path: "/x", Secure: true})
	if gone.Kind != redirect.KindGone || gone.Kind.String() != "gone" {
		t.Fatalf("gone fallback: %v", gone.Kind)
	}
	out := rd.Render(gone, "GET", "/x")
	if out.Status != 410 || out.Location != "" || out.CacheControl != "public, max-age=10" || !strings.Contains(out.Body(), "gone") {
		t.Errorf("410 rendered as %d %q %q %q", out.Status, out.Location, out.CacheControl, out.Body())
	}
	if head := rd.Render(gone, "HEAD", "/x"); head.Status != 410 || head.Body() != "" {
		t.Errorf("HEAD 410: %d %q", head.Status, head.Body())
	}
}
