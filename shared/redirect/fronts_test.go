package redirect_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dnsreroute/dnsreroute/shared/redirect"
)

type answer struct {
	status       int
	location     string
	cacheControl string
	contentType  string
	retryAfter   string
	bodyHas      string
	emptyBody    bool
}

type frontCase struct {
	name, method, host, fwdHost, path string
	want                              answer
}

func frontCases() []frontCase {
	const html = "text/html; charset=utf-8"
	return []frontCase{
		{"301 cacheable", "GET", "old.example.com", "", "/some/path?x=1",
			answer{301, "https://new.example.org/some/path?x=1", "public, max-age=3600", html, "", `<a href="https://new.example.org/some/path?x=1">`, false}},
		{"302 not stored", "GET", "temp.example.com", "", "/",
			answer{302, "https://temp.example.org/", "no-store", html, "", "Redirecting", false}},
		{"308 cacheable", "POST", "perm.example.com", "", "/form",
			answer{308, "https://perm.example.org/", "public, max-age=3600", html, "", "Redirecting", false}},
		{"every method redirects", "DELETE", "old.example.com", "", "/",
			answer{301, "https://new.example.org/", "public, max-age=3600", html, "", "Redirecting", false}},
		{"HEAD has no body", "HEAD", "old.example.com", "", "/a",
			answer{301, "https://new.example.org/a", "public, max-age=3600", html, "", "", true}},
		{"body escapes the location", "GET", "amp.example.com", "", "/?b=<2>",
			answer{301, "https://amp.example.org/?a=1&b=%3C2%3E", "public, max-age=3600", html, "", `href="https://amp.example.org/?a=1&amp;b=%3C2%3E"`, false}},
		{"unknown host 404 names the host", "GET", "nobody.example.com", "", "/",
			answer{404, "", "public, max-age=10", html, "", "<b>nobody.example.com</b>", false}},
		{"unknown host shown as looked up", "GET", "B\u00fccher.Example.com.", "", "/",
			answer{404, "", "public, max-age=10", html, "", "<b>xn--bcher-kva.example.com</b>", false}},
		{"disabled 404 says switched off", "GET", "off.example.com", "", "/",
			answer{404, "", "public, max-age=10", html, "", "switched off by its owner", false}},
		{"paused 404 says paused", "GET", "paused.example.com", "", "/",
			answer{404, "", "public, max-age=10", html, "", "<b>paused.example.com</b> is paused by its owner", false}},
		{"HEAD 404 has no body", "HEAD", "nobody.example.com", "", "/",
			answer{404, "", "public, max-age=10", html, "", "", true}},
		{"healthz on a customer host redirects", "GET", "old.example.com", "", "/healthz",
			answer{301, "https://new.example.org/healthz", "public, max-age=3600", html, "", "", false}},
		{"service healthz", "GET", "redirect.dnsreroute.test", "", "/healthz",
			answer{200, "", "no-store", "application/json", "", `{"status":"ok"}`, false}},
		{"service home", "GET", "redirect.dnsreroute.test", "", "/",
			answer{200, "", "public, max-age=300", html, "", "redirect service", false}},
		{"service other path", "GET", "redirect.dnsreroute.test", "", "/nope",
			answer{404, "", "public, max-age=10", html, "", "Page not found", false}},
		{"forwarded host is trusted", "GET", "redirect.dnsreroute.test", "Old.Example.com", "/p",
			answer{301, "https://new.example.org/p", "public, max-age=3600", html, "", "", false}},
	}
}

func frontFinder() *memFinder {
	return newMemFinder(
		route("old.example.com", "https://new.example.org/", keepPath, keepQuery),
		route("temp.example.com", "https://temp.example.org/", status(302)),
		route("perm.example.com", "https://perm.example.org/", status(308)),
		route("amp.example.com", "https://amp.example.org/?a=1", keepQuery),
		route("off.example.com", "https://off.example.org/", disabled),
		route("paused.example.com", "https://paused.example.org/", paused),
	)
}

func checkAnswer(t *testing.T, got answer, body string, want answer) {
	t.Helper()
	if got.status != want.status || got.location != want.location || got.cacheControl != want.cacheControl ||
		got.contentType != want.contentType || got.retryAfter != want.retryAfter {
		t.Errorf("got %d loc=%q cc=%q ct=%q ra=%q\nwant %d loc=%q cc=%q ct=%q ra=%q", got.status, got.location, got.cacheControl, got.contentType, got.retryAfter,
			want.status, want.location, want.cacheControl, want.contentType, want.retryAfter)
	}
	if want.emptyBody && body != "" {
		t.Errorf("body = %q, want none", body)
	}
	if !strings.Contains(body, want.bodyHas) {
		t.Errorf("body %q does not contain %q", body, want.bodyHas)
	}
}

func TestHTTPFront(t *testing.T) {
	res := newResolver(frontFinder(), newClock(), redirect.Config{})
	srv := httptest.NewServer(redirect.NewHandler(res, true))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range frontCases() {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			req.Host = tt.host
			if tt.fwdHost != "" {
				req.Header.Set("X-Forwarded-Host", tt.fwdHost)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			got := answer{resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), "", false}
			checkAnswer(t, got, string(body), tt.want)
		})
	}
}

func TestHTTPFrontUntrustedForwardedHost(t *testing.T) {
	res := newResolver(frontFinder(), newClock(), redirect.Config{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "nobody.example.com"
	req.Header.Set("X-Forwarded-Host", "old.example.com")
	redirect.NewHandler(res, false).ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Errorf("without trust, X-Forwarded-Host must be ignored: got %d", rec.Code)
	}
}

func TestHTTPFrontHostWithPort(t *testing.T) {
	res := newResolver(frontFinder(), newClock(), redirect.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: redirect.NewHandler(res, false), ReadHeaderTimeout: time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /a%20b?q=1 HTTP/1.1\r\nHost: OLD.example.com:8081\r\nConnection: close\r\n\r\n")
	raw, _ := io.ReadAll(conn)
	if !strings.Contains(string(raw), "Location: https://new.example.org/a%20b?q=1\r\n") {
		t.Errorf("raw response lacks the escaped Location:\n%s", raw)
	}
}

func TestServiceUnavailable(t *testing.T) {
	f := frontFinder()
	f.fail(errStoreDown)
	res := newResolver(f, newClock(), redirect.Config{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "old.example.com"
	redirect.NewHandler(res, false).ServeHTTP(rec, req)
	got := answer{rec.Code, rec.Header().Get("Location"), rec.Header().Get("Cache-Control"), rec.Header().Get("Content-Type"), rec.Header().Get("Retry-After"), "", false}
	checkAnswer(t, got, rec.Body.String(), answer{503, "", "no-store", "text/html; charset=utf-8", "5", "try again", false})

	lres, _ := redirect.NewLambdaHandler(res, false).Handle(context.Background(), lambdaEvent("GET", "old.example.com", "", "/"))
	if lres.StatusCode != 503 || lres.Headers["retry-after"] != "5" {
		t.Errorf("lambda: %d %v", lres.StatusCode, lres.Headers)
	}
}

func lambdaEvent(method, host, fwdHost, target string) events.LambdaFunctionURLRequest {
	path, query, _ := strings.Cut(target, "?")
	ev := events.LambdaFunctionURLRequest{
		RawPath:        path,
		RawQueryString: query,
		Headers:        map[string]string{"host": "abc123.lambda-url.us-east-1.on.aws", "user-agent": "test"},
		RequestContext: events.LambdaFunctionURLRequestContext{
			DomainName: "abc123.lambda-url.us-east-1.on.aws",
			HTTP:       events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
	if host != "" {
		ev.Headers["host"] = host
	}
	if fwdHost != "" {
		ev.Headers["x-forwarded-host"] = fwdHost
	}
	return ev
}

func TestLambdaFront(t *testing.T) {
	res := newResolver(frontFinder(), newClock(), redirect.Config{})
	h := redirect.NewLambdaHandler(res, true)
	for _, tt := range frontCases() {
		t.Run(tt.name, func(t *testing.T) {
			// Behind CloudFront the customer host arrives as x-forwarded-host.
			fwd := tt.fwdHost
			if fwd == "" {
				fwd = tt.host
			}
			out, err := h.Handle(context.Background(), lambdaEvent(tt.method, "", fwd, tt.path))
			if err != nil {
				t.Fatal(err)
			}
			got := answer{out.StatusCode, out.Headers["location"], out.Headers["cache-control"], out.Headers["content-type"], out.Headers["retry-after"], "", false}
			checkAnswer(t, got, out.Body, tt.want)
		})
	}
}

func TestLambdaFrontHostSources(t *testing.T) {
	res := newResolver(frontFinder(), newClock(), redirect.Config{})
	tests := []struct {
		name  string
		trust bool
		ev    events.LambdaFunctionURLRequest
		want  int
	}{
		{"trusted forwarded host", true, lambdaEvent("GET", "", "old.example.com", "/"), 301},
		{"untrusted forwarded host ignored", false, lambdaEvent("GET", "", "old.example.com", "/"), 404},
		{"host header without trust", false, lambdaEvent("GET", "old.example.com", "", "/"), 301},
		{"trusted, no forwarded host: function URL domain", true, lambdaEvent("GET", "", "", "/"), 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _ := redirect.NewLambdaHandler(res, tt.trust).Handle(context.Background(), tt.ev)
			if out.StatusCode != tt.want {
				t.Errorf("status %d, want %d", out.StatusCode, tt.want)
			}
		})
	}
}
