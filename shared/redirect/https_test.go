package redirect_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dnsreroute/dnsreroute/shared/redirect"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const hstsYear = "max-age=31536000"

// schemeFinder holds routes that upgrade plain HTTP, send HSTS, or would upgrade
// but cannot yet.
func schemeFinder() *memFinder {
	return newMemFinder(
		route("up.example.com", "https://new.example.org/", httpsRedirect, active),
		route("both.example.com", "https://new.example.org/base/", keepPath, keepQuery, httpsRedirect, hsts, active),
		route("hsts.example.com", "https://new.example.org/", hsts, active),
		route("pendingdns.example.com", "https://new.example.org/", httpsRedirect, hsts, domain(reroute.DomainPendingDNS)),
		route("pendingcert.example.com", "https://new.example.org/", httpsRedirect, domain(reroute.DomainPendingCertificate)),
		route("failed.example.com", "https://new.example.org/", httpsRedirect, domain(reroute.DomainFailed)),
		route("nostate.example.com", "https://new.example.org/", httpsRedirect),
		route("off.example.com", "https://new.example.org/", httpsRedirect, hsts, active, disabled),
		route("paused.example.com", "https://new.example.org/", httpsRedirect, hsts, active, paused),
		route("*.wild.example.com", "https://wild.example.org/", keepPath, httpsRedirect, hsts, active),
		route("temp.example.com", "https://new.example.org/", status(302), httpsRedirect, hsts, active),
	)
}

func TestResolveHTTPSUpgradeAndHSTS(t *testing.T) {
	res := newResolver(schemeFinder(), newClock(), redirect.Config{})
	const (
		http  = false
		https = true
	)
	tests := []struct {
		name, host, path, query string
		secure                  bool
		kind                    redirect.Kind
		status                  int
		location, hsts          string
	}{
		{"http upgrades to the same URL", "up.example.com", "/a/b", "x=1", http, redirect.KindUpgrade, 301, "https://up.example.com/a/b?x=1", ""},
		{"https is not upgraded", "up.example.com", "/a/b", "x=1", https, redirect.KindRedirect, 301, "https://new.example.org/", ""},
		{"upgrade host is normalised", "UP.Example.COM.:80", "/", "", http, redirect.KindUpgrade, 301, "https://up.example.com/", ""},
		{"upgrade of an empty path", "up.example.com", "", "", http, redirect.KindUpgrade, 301, "https://up.example.com/", ""},
		{"upgrade of a query without path", "up.example.com", "", "q=1", http, redirect.KindUpgrade, 301, "https://up.example.com/?q=1", ""},
		{"upgrade keeps escapes, escapes raw bytes", "up.example.com", "/caf\xc3\xa9/a%20b//c", "q=<1>&r=%2F", http, redirect.KindUpgrade, 301, "https://up.example.com/caf%C3%A9/a%20b//c?q=%3C1%3E&r=%2F", ""},
		{"keep-path route: path and query carried into the upgrade", "both.example.com", "/p/q", "a=1&b=2", http, redirect.KindUpgrade, 301, "https://both.example.com/p/q?a=1&b=2", ""},
		{"keep-path route over https: target, with HSTS", "both.example.com", "/p/q", "a=1", https, redirect.KindRedirect, 301, "https://new.example.org/base/p/q?a=1", hstsYear},
		{"a 302 route upgrades with 301", "temp.example.com", "/", "", http, redirect.KindUpgrade, 301, "https://temp.example.com/", ""},
		{"a 302 route over https keeps its status", "temp.example.com", "/", "", https, redirect.KindRedirect, 302, "https://new.example.org/", hstsYear},
		{"HTTPSRedirect off: http redirects, no HSTS", "hsts.example.com", "/", "", http, redirect.KindRedirect, 301, "https://new.example.org/", ""},
		{"HTTPSRedirect off: https carries HSTS", "hsts.example.com", "/", "", https, redirect.KindRedirect, 301, "https://new.example.org/", hstsYear},
		{"pending DNS: no upgrade", "pendingdns.example.com", "/", "", http, redirect.KindRedirect, 301, "https://new.example.org/", ""},
		{"pending certificate: no upgrade", "pendingcert.example.com", "/", "", http, redirect.KindRedirect, 301, "https://new.example.org/", ""},
		{"failed domain: no upgrade", "failed.example.com", "/", "", http, redirect.KindRedirect, 301, "https://new.example.org/", ""},
		{"no domain state: no upgrade", "nostate.example.com", "/", "", http, redirect.KindRedirect, 301, "https://new.example.org/", ""},
		{"disabled route: not configured", "off.example.com", "/", "", http, redirect.KindNotConfigured, 404, "", ""},
		{"disabled route over https: not configured, no HSTS", "off.example.com", "/", "", https, redirect.KindNotConfigured, 404, "", ""},
		{"paused route: not configured", "paused.example.com", "/", "", http, redirect.KindNotConfigured, 404, "", ""},
		{"wildcard upgrades the request's own host", "A.b.Wild.example.com", "/p", "", http, redirect.KindUpgrade, 301, "https://a.b.wild.example.com/p", ""},
		{"wildcard HSTS has no includeSubDomains", "a.wild.example.com", "/p", "", https, redirect.KindRedirect, 301, "https://wild.example.org/p", hstsYear},
		{"service host over http", "redirect.dnsreroute.test", "/healthz", "", http, redirect.KindService, 0, "", ""},
		{"unknown host over http", "nobody.example.com", "/", "", http, redirect.KindNotConfigured, 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := res.Resolve(context.Background(), redirect.Request{Host: tt.host, Path: tt.path, Query: tt.query, Secure: tt.secure})
			if got.Kind != tt.kind || got.Status != tt.status || got.Location != tt.location || got.HSTS != tt.hsts {
				t.Errorf("got %v %d %q hsts=%q, want %v %d %q hsts=%q", got.Kind, got.Status, got.Location, got.HSTS, tt.kind, tt.status, tt.location, tt.hsts)
			}
		})
	}
}

// upgraded is the answer to a plain-HTTP request for up.example.com/p?x=1.
var upgraded = answer{301, "https://up.example.com/p?x=1", "public, max-age=3600", "text/html; charset=utf-8", "", `<a href="https://up.example.com/p?x=1">`, false}

// redirected is the answer to an HTTPS request for the same URL.
var redirected = answer{301, "https://new.example.org/", "public, max-age=3600", "text/html; charset=utf-8", "", `<a href="https://new.example.org/">`, false}

// hstsUp is an active route that both upgrades and sends HSTS.
func hstsUpFinder() *memFinder {
	f := schemeFinder()
	f.put(route("up.example.com", "https://new.example.org/", httpsRedirect, hsts, active))
	return f
}

func TestLambdaFrontScheme(t *testing.T) {
	res := newResolver(hstsUpFinder(), newClock(), redirect.Config{})
	tests := []struct {
		name    string
		trust   bool
		method  string
		host    string
		headers map[string]string
		want    answer
		hsts    string
	}{
		{"cloudfront-forwarded-proto http: upgrade, no HSTS", true, "GET", "up.example.com", map[string]string{"cloudfront-forwarded-proto": "http"}, upgraded, ""},
		{"cloudfront-forwarded-proto https: redirect with HSTS", true, "GET", "up.example.com", map[string]string{"cloudfront-forwarded-proto": "https"}, redirected, hstsYear},
		{"no cloudfront-forwarded-proto: a function URL is HTTPS", true, "GET", "up.example.com", nil, redirected, hstsYear},
		{"x-forwarded-proto is CloudFront's own hop, never the viewer's", true, "GET", "up.example.com", map[string]string{"x-forwarded-proto": "http"}, redirected, hstsYear},
		{"without trust, cloudfront-forwarded-proto is ignored", false, "GET", "up.example.com", map[string]string{"cloudfront-forwarded-proto": "http"}, redirected, hstsYear},
		{"HEAD upgrade has no body", true, "HEAD", "up.example.com", map[string]string{"cloudfront-forwarded-proto": "http"}, answer{301, "https://up.example.com/p?x=1", "public, max-age=3600", "text/html; charset=utf-8", "", "", true}, ""},
		{"pending certificate: redirect over http", true, "GET", "pendingcert.example.com", map[string]string{"cloudfront-forwarded-proto": "http"}, redirected, ""},
		{"service host over http: no upgrade", true, "GET", "redirect.dnsreroute.test", map[string]string{"cloudfront-forwarded-proto": "http"},
			answer{404, "", "public, max-age=10", "text/html; charset=utf-8", "", "Page not found", false}, ""},
		{"paused route over https: not configured, no HSTS", true, "GET", "paused.example.com", map[string]string{"cloudfront-forwarded-proto": "https"},
			answer{404, "", "public, max-age=10", "text/html; charset=utf-8", "", "is paused by its owner", false}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev events.LambdaFunctionURLRequest
			if tt.trust {
				ev = lambdaEvent(tt.method, "", tt.host, "/p?x=1")
			} else {
				ev = lambdaEvent(tt.method, tt.host, "", "/p?x=1")
			}
			for k, v := range tt.headers {
				ev.Headers[k] = v
			}
			out, err := redirect.NewLambdaHandler(res, tt.trust).Handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			got := answer{out.StatusCode, out.Headers["location"], out.Headers["cache-control"], out.Headers["content-type"], out.Headers["retry-after"], "", false}
			checkAnswer(t, got, out.Body, tt.want)
			if h, ok := out.Headers["strict-transport-security"]; h != tt.hsts || (tt.hsts == "" && ok) {
				t.Errorf("strict-transport-security = %q (present %v), want %q", h, ok, tt.hsts)
			}
		})
	}
}

func TestHTTPFrontScheme(t *testing.T) {
	res := newResolver(hstsUpFinder(), newClock(), redirect.Config{})
	servers := map[[2]bool]*httptest.Server{} // {tls, trust}
	for _, tls := range []bool{false, true} {
		for _, trust := range []bool{false, true} {
			h := redirect.NewHandler(res, trust)
			var srv *httptest.Server
			if tls {
				srv = httptest.NewTLSServer(h)
			} else {
				srv = httptest.NewServer(h)
			}
			defer srv.Close()
			servers[[2]bool{tls, trust}] = srv
		}
	}
	tests := []struct {
		name       string
		tls, trust bool
		host       string
		proto      string // X-Forwarded-Proto, "" for none
		want       answer
		hsts       string
	}{
		{"plain HTTP: upgrade, no HSTS", false, false, "up.example.com", "", upgraded, ""},
		{"TLS: redirect with HSTS", true, false, "up.example.com", "", redirected, hstsYear},
		{"trusted X-Forwarded-Proto http: upgrade", false, true, "up.example.com", "http", upgraded, ""},
		{"trusted X-Forwarded-Proto https: redirect with HSTS", false, true, "up.example.com", "https", redirected, hstsYear},
		{"trusted X-Forwarded-Proto list: the first is the viewer's", false, true, "up.example.com", "https, http", redirected, hstsYear},
		{"trusted, no X-Forwarded-Proto over TLS: HTTPS", true, true, "up.example.com", "", redirected, hstsYear},
		{"trusted, no X-Forwarded-Proto over plain HTTP: upgrade", false, true, "up.example.com", "", upgraded, ""},
		{"trusted X-Forwarded-Proto http over TLS: the proxy's word wins", true, true, "up.example.com", "http", upgraded, ""},
		{"spoofed X-Forwarded-Proto https without trust: still upgraded", false, false, "up.example.com", "https", upgraded, ""},
		{"spoofed X-Forwarded-Proto http without trust over TLS: ignored", true, false, "up.example.com", "http", redirected, hstsYear},
		{"HSTS only route over plain HTTP: no HSTS", false, false, "hsts.example.com", "", redirected, ""},
		{"failed domain over plain HTTP: no upgrade", false, false, "failed.example.com", "", redirected, ""},
		{"disabled route over plain HTTP: not configured", false, false, "off.example.com", "",
			answer{404, "", "public, max-age=10", "text/html; charset=utf-8", "", "switched off", false}, ""},
		{"service host over plain HTTP: no upgrade", false, false, "redirect.dnsreroute.test", "",
			answer{404, "", "public, max-age=10", "text/html; charset=utf-8", "", "Page not found", false}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := servers[[2]bool{tt.tls, tt.trust}]
			client := srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			req, _ := http.NewRequest("GET", srv.URL+"/p?x=1", nil)
			req.Host = tt.host
			if tt.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			got := answer{resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), "", false}
			checkAnswer(t, got, string(body), tt.want)
			if h := resp.Header.Values("Strict-Transport-Security"); len(h) > 1 || (len(h) == 1) != (tt.hsts != "") || tt.hsts != "" && h[0] != tt.hsts {
				t.Errorf("Strict-Transport-Security = %q, want %q", h, tt.hsts)
			}
		})
	}
}

// A stack reached over plain HTTP only never sends anyone to HTTPS.
func TestNoHTTPSNeverUpgrades(t *testing.T) {
	res := newResolver(schemeFinder(), newClock(), redirect.Config{NoHTTPS: true})
	got := res.Resolve(context.Background(), redirect.Request{Host: "up.example.com", Path: "/a", Secure: false})
	if got.Kind != redirect.KindRedirect || got.Location != "https://new.example.org/" || got.HSTS != "" {
		t.Fatalf("Resolve over plain HTTP with NoHTTPS = %+v, want the route's own redirect", got)
	}
}
