package redirect_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/redirect"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// TestNotConfiguredReasons: a request no redirect serves is told apart by why, so
// its page can say it.
func TestNotConfiguredReasons(t *testing.T) {
	f := newMemFinder(
		route("off.example.com", "https://new.example.org/", disabled),
		route("paused.example.com", "https://new.example.org/", paused),
		route("offpaused.example.com", "https://new.example.org/", disabled, paused),
		route("*.wild.example.com", "https://new.example.org/"),
		route("x.wild.example.com", "https://new.example.org/", paused),
		func() reroute.Route {
			r := route("rules.example.com", "")
			r.PathRules = []reroute.PathRule{{Source: "/a", Target: "https://new.example.org/a", Status: 301}}
			return r
		}(),
	)
	res := newResolver(f, newClock(), redirect.Config{})
	tests := []struct {
		name, host, path string
		want             redirect.Reason
	}{
		{"unknown host", "nobody.example.com", "/", redirect.ReasonUnknownHost},
		{"no usable host", "bad host!", "/", redirect.ReasonUnknownHost},
		{"disabled", "off.example.com", "/", redirect.ReasonDisabled},
		{"paused", "paused.example.com", "/", redirect.ReasonPaused},
		{"switched off and paused: the owner's choice is said", "offpaused.example.com", "/", redirect.ReasonDisabled},
		{"paused exact route over a wildcard", "x.wild.example.com", "/", redirect.ReasonPaused},
		{"no rule for the path", "rules.example.com", "/b", redirect.ReasonNoRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the store's answer, then the cache's
				got := res.Resolve(context.Background(), redirect.Request{Host: tt.host, Path: tt.path})
				if got.Kind != redirect.KindNotConfigured || got.Status != 404 || got.Reason != tt.want {
					t.Fatalf("Resolve(%q, %q) = %v %d %v, want not configured 404 %v", tt.host, tt.path, got.Kind, got.Status, got.Reason, tt.want)
				}
			}
		})
	}
	if got := res.Resolve(context.Background(), redirect.Request{Host: "rules.example.com", Path: "/a"}); got.Reason != redirect.ReasonNone {
		t.Errorf("a redirect has reason %v, want none", got.Reason)
	}
}

// TestNotConfiguredPage: every page is a small, complete, mobile-ready document
// that says what happened for the host asked for, and names no owner or org.
func TestNotConfiguredPage(t *testing.T) {
	tests := []struct {
		name   string
		reason redirect.Reason
		host   string
		has    []string
	}{
		{"unknown host", redirect.ReasonUnknownHost, "shop.example.com",
			[]string{"<title>Domain not configured</title>", "<h1>This domain is not configured</h1>", "<b>shop.example.com</b>", "may have moved", "add a route"}},
		{"paused", redirect.ReasonPaused, "shop.example.com",
			[]string{"<title>Redirect paused</title>", "<h1>This redirect is paused</h1>", "<b>shop.example.com</b> is paused by its owner", "resume"}},
		{"disabled", redirect.ReasonDisabled, "shop.example.com",
			[]string{"<title>Redirect switched off</title>", "<h1>This redirect is switched off</h1>", "<b>shop.example.com</b> has been switched off by its owner", "switch its route back on"}},
		{"no rule for the path", redirect.ReasonNoRule, "shop.example.com",
			[]string{"<title>Page not found</title>", "<b>shop.example.com</b>", "add a path rule or a fallback"}},
		{"no host", redirect.ReasonUnknownHost, "", []string{"<b>this hostname</b>"}},
		{"no reason reads as an unknown host", redirect.ReasonNone, "shop.example.com", []string{"This domain is not configured", "<b>shop.example.com</b>"}},
		{"markup in the host is escaped", redirect.ReasonUnknownHost, `<script>alert("x")</script>&`,
			[]string{"<b>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;</b>"}},
		{"markup in a paused host is escaped", redirect.ReasonPaused, "<img src=x>", []string{"<b>&lt;img src=x&gt;</b>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := redirect.NotConfiguredBody(tt.reason, tt.host)
			for _, want := range append(tt.has,
				`<!doctype html><html lang="en">`, `<meta charset="utf-8">`,
				`<meta name="viewport" content="width=device-width, initial-scale=1">`, "<style>", "</html>") {
				if !strings.Contains(body, want) {
					t.Errorf("page does not contain %q:\n%s", want, body)
				}
			}
			for _, never := range []string{"<script", "<img", "<link", "href=", "org1", "@import", "url("} {
				if strings.Contains(body, never) {
					t.Errorf("page contains %q:\n%s", never, body)
				}
			}
			// Small enough for one packet or two, even for the longest hostname.
			if long := redirect.NotConfiguredBody(tt.reason, strings.Repeat("a", 63)+"."+strings.Repeat("b", 63)+"."+strings.Repeat("c", 63)+"."+strings.Repeat("d", 61)); len(long) >= 2048 {
				t.Errorf("page with a 253-byte host is %d bytes, want under 2 KiB", len(long))
			}
		})
	}
}

type discard struct{ n int }

func (d *discard) WriteString(s string) (int, error) { d.n += len(s); return len(s), nil }

// TestNotConfiguredPageFromCacheAllocatesNothing: a paused, disabled or unknown
// host answered from the cache is resolved and streamed without building its page.
func TestNotConfiguredPageFromCacheAllocatesNothing(t *testing.T) {
	f := newMemFinder(route("paused.example.com", "https://new.example.org/", paused), route("off.example.com", "https://new.example.org/", disabled))
	res := newResolver(f, newClock(), redirect.Config{})
	rd := redirect.NewRenderer(res.Config())
	ctx := context.Background()
	for _, host := range []string{"paused.example.com", "off.example.com", "nobody.example.com"} {
		req := redirect.Request{Host: host, Path: "/"}
		res.Resolve(ctx, req) // fills the cache
		w := &discard{}
		allocs := testing.AllocsPerRun(100, func() {
			rd.Render(res.Resolve(ctx, req), "GET", req.Path).WriteBody(w)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per answer, want 0", host, allocs)
		}
		if want := len(rd.Render(res.Resolve(ctx, req), "GET", "/").Body()); w.n != 101*want {
			t.Errorf("%s: streamed %d bytes, want %d", host, w.n, 101*want)
		}
	}
}
