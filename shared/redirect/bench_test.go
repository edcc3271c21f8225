package redirect_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/redirect"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// warmResolver has a static and a keep-path route, and a keep-path route that
// upgrades plain HTTP and sends HSTS, all already cached.
func warmResolver(b *testing.B) *redirect.Resolver {
	f := newMemFinder(
		route("old.example.com", "https://new.example.org/"),
		route("path.example.com", "https://new.example.org/base/", keepPath, keepQuery),
		route("secure.example.com", "https://new.example.org/base/", keepPath, keepQuery, httpsRedirect, hsts, active),
	)
	res := newResolver(f, newClock(), redirect.Config{})
	for _, h := range []string{"old.example.com", "path.example.com", "secure.example.com"} {
		if got := res.Resolve(context.Background(), redirect.Request{Host: h, Path: "/", Secure: true}); got.Kind != redirect.KindRedirect {
			b.Fatalf("warm-up of %s: %v", h, got.Kind)
		}
	}
	return res
}

func BenchmarkResolveCacheHit(b *testing.B) {
	res := warmResolver(b)
	ctx := context.Background()
	b.Run("static", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res.Resolve(ctx, redirect.Request{Host: "old.example.com", Path: "/some/path", Query: "x=1"}).Status != 301 {
				b.Fatal("no redirect")
			}
		}
	})
	b.Run("keep-path", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res.Resolve(ctx, redirect.Request{Host: "path.example.com", Path: "/some/path", Query: "x=1"}).Status != 301 {
				b.Fatal("no redirect")
			}
		}
	})
	b.Run("upgrade", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res.Resolve(ctx, redirect.Request{Host: "secure.example.com", Path: "/some/path", Query: "x=1"}).Kind != redirect.KindUpgrade {
				b.Fatal("no upgrade")
			}
		}
	})
	b.Run("hsts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res.Resolve(ctx, redirect.Request{Host: "secure.example.com", Path: "/some/path", Query: "x=1", Secure: true}).HSTS == "" {
				b.Fatal("no HSTS")
			}
		}
	})
	b.Run("host-with-port", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res.Resolve(ctx, redirect.Request{Host: "Old.Example.com:443", Path: "/"}).Status != 301 {
				b.Fatal("no redirect")
			}
		}
	})
}

func BenchmarkLambdaHandlerCacheHit(b *testing.B) {
	res := warmResolver(b)
	h := redirect.NewLambdaHandler(res, true)
	ctx := context.Background()
	for _, c := range []struct{ name, host, target, proto, want string }{
		{"static", "old.example.com", "/some/path?x=1", "", "https://new.example.org/"},
		{"keep-path", "path.example.com", "/some/path?x=1", "", "https://new.example.org/base/some/path?x=1"},
		{"upgrade", "secure.example.com", "/some/path?x=1", "http", "https://secure.example.com/some/path?x=1"},
		{"hsts", "secure.example.com", "/some/path?x=1", "https", "https://new.example.org/base/some/path?x=1"},
	} {
		ev := lambdaEvent("GET", "", c.host, c.target)
		if c.proto != "" {
			ev.Headers["cloudfront-forwarded-proto"] = c.proto
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, _ := h.Handle(ctx, ev)
				if out.StatusCode != 301 || out.Headers["location"] != c.want {
					b.Fatalf("got %d %q", out.StatusCode, out.Headers["location"])
				}
			}
		})
	}
}

func BenchmarkHTTPHandlerCacheHit(b *testing.B) {
	res := warmResolver(b)
	h := redirect.NewHandler(res, false)
	req := httptest.NewRequest("GET", "/some/path?x=1", nil)
	req.Host = "path.example.com"
	b.ReportAllocs()
	for b.Loop() {
		w := discardWriter{h: http.Header{}}
		h.ServeHTTP(&w, req)
		if w.code != 301 {
			b.Fatal("no redirect")
		}
	}
}

// BenchmarkResolveManyHosts resolves over 10,000 cached hosts, as the load test does.
func BenchmarkResolveManyHosts(b *testing.B) {
	f := newMemFinder()
	hosts := make([]string, 10_000)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("h%d.example.com", i)
		f.put(route(hosts[i], "https://new.example.org/"))
	}
	res := newResolver(f, newClock(), redirect.Config{CacheSize: 20_000})
	ctx := context.Background()
	for _, h := range hosts {
		res.Resolve(ctx, redirect.Request{Host: h, Path: "/"})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		res.Resolve(ctx, redirect.Request{Host: hosts[i%len(hosts)], Path: "/"})
		i++
	}
}

// rulesResolver has one cached host with n exact and n subpath rules (n ≥ 1),
// among them the rules the benchmarks request.
func rulesResolver(b *testing.B, n int, opts reroute.PathOptions) *redirect.Resolver {
	r := route("rules.example.com", "", func(r *reroute.Route) { r.PathOptions = opts })
	r.Target = ""
	for i := range n {
		j := (i + n/2) % n // the requested rules, 0, sit among the others
		r.PathRules = append(r.PathRules,
			reroute.PathRule{Source: fmt.Sprintf("/page-%d/item", j), Target: fmt.Sprintf("https://new.example.org/p/%d", j), Status: 301},
			reroute.PathRule{Source: fmt.Sprintf("/section-%d", j), Target: "https://new.example.org/s", Status: 301, Subpath: true, KeepSuffix: true})
	}
	if err := (reroute.Rules{}).Normalize(&r); err != nil {
		b.Fatal(err)
	}
	res := newResolver(newMemFinder(r), newClock(), redirect.Config{})
	if got := res.Resolve(context.Background(), redirect.Request{Host: "rules.example.com", Path: "/page-0/item"}); got.Location != "https://new.example.org/p/0" {
		b.Fatalf("warm-up: %v %q", got.Kind, got.Location)
	}
	return res
}

// BenchmarkResolveRules resolves on a cache hit on a host with 1, 1,000 and
// 10,000 rules of each kind: the cost grows with the request path's depth, not
// with the number of rules.
func BenchmarkResolveRules(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 1_000, 10_000} {
		for _, ic := range []bool{false, true} {
			res := rulesResolver(b, n, reroute.PathOptions{IgnoreCase: ic})
			for _, c := range []struct{ name, path, want string }{
				{"exact", "/page-0/item", "https://new.example.org/p/0"},
				{"subpath", "/section-0/a/b", "https://new.example.org/s/a/b"},
				{"miss", "/nothing/here/at/all", ""},
				{"exact-upper", "/Page-0/Item", "https://new.example.org/p/0"},
			} {
				if !ic && c.name == "exact-upper" {
					continue
				}
				name := fmt.Sprintf("rules=%d/ignorecase=%v/%s", n, ic, c.name)
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if got := res.Resolve(ctx, redirect.Request{Host: "rules.example.com", Path: c.path, Secure: true}); got.Location != c.want {
							b.Fatalf("got %v %q", got.Kind, got.Location)
						}
					}
				})
			}
		}
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// WriteString is there because net/http's ResponseWriter has it too.
func (w *discardWriter) WriteString(s string) (int, error) { return len(s), nil }
