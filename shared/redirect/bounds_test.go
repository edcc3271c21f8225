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

	"github.com/dnsreroute/dnsreroute/shared/redirect"
)

// TestTargetTooLong checks that a request target over 8,192 bytes (CloudFront's
// own URL limit) is answered 414 with a small page by both fronts, on every host,
// and that one of exactly 8,192 bytes is still redirected.
func TestTargetTooLong(t *testing.T) {
	res := newResolver(frontFinder(), newClock(), redirect.Config{})
	atLimit := "/" + strings.Repeat("a", redirect.MaxTargetBytes-3) + "?x" // 8,192 bytes
	tests := []struct {
		name, host, target string
		want               int
	}{
		{"path over the limit", "old.example.com", "/" + strings.Repeat("a", redirect.MaxTargetBytes), 414},
		{"query over the limit", "old.example.com", "/?" + strings.Repeat("q", redirect.MaxTargetBytes), 414},
		{"1 MB", "old.example.com", "/" + strings.Repeat("a", 1<<20), 414},
		{"unknown host", "nobody.example.com", "/" + strings.Repeat("a", redirect.MaxTargetBytes), 414},
		{"service host", "redirect.dnsreroute.test", "/" + strings.Repeat("a", redirect.MaxTargetBytes), 414},
		{"at the limit", "old.example.com", atLimit, 301},
	}
	srv := httptest.NewServer(redirect.NewHandler(res, false))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run("lambda/"+tt.name, func(t *testing.T) {
			out, _ := redirect.NewLambdaHandler(res, true).Handle(context.Background(), lambdaEvent("GET", "", tt.host, tt.target))
			checkBounded(t, tt.want, out.StatusCode, out.Headers["location"], out.Headers["cache-control"], out.Body, tt.target)
		})
		if len(tt.target) > 64<<10 {
			continue // beyond what the HTTP server reads at all (see TestServerLimits)
		}
		t.Run("http/"+tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+tt.target, nil)
			req.Host = tt.host
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			checkBounded(t, tt.want, resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"), string(body), tt.target)
		})
	}
}

func checkBounded(t *testing.T, want, status int, location, cacheControl, body, target string) {
	t.Helper()
	if status != want {
		t.Fatalf("status %d, want %d", status, want)
	}
	if want != 414 {
		if !strings.HasSuffix(location, target) {
			t.Errorf("Location %.60q... does not keep the path", location)
		}
		return
	}
	if location != "" || cacheControl != "no-store" || len(body) > 1024 || !strings.Contains(body, "URI too long") {
		t.Errorf("414 answer: Location %.40q, Cache-Control %q, body of %d bytes %.80q", location, cacheControl, len(body), body)
	}
}

// TestKeptPathEscaping checks what a kept path and query become in Location: a
// raw '#' is escaped rather than starting a fragment, and so are spaces, controls,
// non-ASCII bytes and a '%' that starts no escape; existing escapes are kept.
func TestKeptPathEscaping(t *testing.T) {
	res := newResolver(newMemFinder(
		route("old.example.com", "https://new.example.org/", keepPath, keepQuery),
		route("frag.example.com", "https://new.example.org/b?a=1#frag", keepPath, keepQuery),
	), newClock(), redirect.Config{})
	tests := []struct {
		name, host, target, want string
		rawHTTP                  bool // net/http accepts it on a request line
	}{
		{"hash in path", "old.example.com", "/a#b", "https://new.example.org/a%23b", true},
		{"hash in query", "old.example.com", "/p?x=1#y", "https://new.example.org/p?x=1%23y", true},
		{"hash before the target's fragment", "frag.example.com", "/p#x?q=#", "https://new.example.org/b/p%23x?a=1&q=%23#frag", true},
		{"escapes kept", "old.example.com", "/a%2Fb/%E2%9C%93?c=%20", "https://new.example.org/a%2Fb/%E2%9C%93?c=%20", true},
		{"lone percent", "old.example.com", "/100%/x%zz%4", "https://new.example.org/100%25/x%25zz%254", false},
		{"non-ASCII", "old.example.com", "/caf\xc3\xa9?q=\xff", "https://new.example.org/caf%C3%A9?q=%FF", true},
		{"quotes and brackets", "old.example.com", "/\"<x>\"{|}", "https://new.example.org/%22%3Cx%3E%22%7B%7C%7D", true},
		{"space and controls", "old.example.com", "/a b\t\x01\x7f", "https://new.example.org/a%20b%09%01%7F", false},
	}
	for _, tt := range tests {
		t.Run("lambda/"+tt.name, func(t *testing.T) {
			out, _ := redirect.NewLambdaHandler(res, true).Handle(context.Background(), lambdaEvent("GET", "", tt.host, tt.target))
			if out.StatusCode != 301 || out.Headers["location"] != tt.want {
				t.Errorf("%d %q, want 301 %q", out.StatusCode, out.Headers["location"], tt.want)
			}
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := redirect.NewServer(redirect.NewHandler(res, false), nil)
	go srv.Serve(ln)
	defer srv.Close()
	for _, tt := range tests {
		if !tt.rawHTTP {
			continue
		}
		t.Run("http/"+tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			io.WriteString(conn, "GET "+tt.target+" HTTP/1.1\r\nHost: "+tt.host+"\r\nConnection: close\r\n\r\n")
			raw, _ := io.ReadAll(conn)
			if !strings.Contains(string(raw), "\r\nLocation: "+tt.want+"\r\n") {
				t.Errorf("raw response lacks Location: %s\n%s", tt.want, raw)
			}
		})
	}
}
