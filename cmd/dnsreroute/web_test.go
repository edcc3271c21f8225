package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

var testDist = fstest.MapFS{
	"index.html":          {Data: []byte("<!doctype html><title>app</title>")},
	"assets/index-abc.js": {Data: []byte("console.log(1)")},
	"robots.txt":          {Data: []byte("User-agent: *")},
}

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWebHandler(t *testing.T) {
	cfg := webConfig{APIURL: "http://127.0.0.1:8080/v1", Issuer: "http://127.0.0.1:8080", ClientID: "dnsreroute-dashboard", CNAMETarget: "localhost"}
	h := webHandler(testDist, cfg)
	for _, tc := range []struct {
		path, want, cache string
		status            int
	}{
		{"/", "<title>app</title>", "no-cache", 200},
		{"/index.html", "<title>app</title>", "no-cache", 200},
		{"/orgs/org_a/routes", "<title>app</title>", "no-cache", 200},
		{"/callback?code=x&state=y", "<title>app</title>", "no-cache", 200},
		{"/assets/index-abc.js", "console.log(1)", "public, max-age=31536000, immutable", 200},
		{"/assets/gone.js", "404 page not found", "", 404},
		{"/robots.txt", "User-agent", "no-cache", 200},
		{"/../../etc/passwd", "<title>app</title>", "no-cache", 200},
	} {
		r := get(t, h, "GET", tc.path)
		if r.StatusCode != tc.status || !strings.Contains(body(t, r), tc.want) || r.Header.Get("Cache-Control") != tc.cache {
			t.Errorf("GET %s: %d %q cache %q, want %d %q cache %q", tc.path, r.StatusCode, tc.want, r.Header.Get("Cache-Control"), tc.status, tc.want, tc.cache)
		}
	}
	if r := get(t, h, "POST", "/"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", r.StatusCode)
	}
	if r := get(t, h, "GET", "/"); r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("index headers: %v", r.Header)
	}

	r := get(t, h, "GET", "/config.json")
	var got webConfig
	if err := json.NewDecoder(r.Body).Decode(&got); err != nil || got != cfg || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("config.json: %+v %v (%v)", got, err, r.Header)
	}

	unbuilt := webHandler(nil, cfg)
	if r := get(t, unbuilt, "GET", "/"); r.StatusCode != 404 || !strings.Contains(body(t, r), "make web") {
		t.Errorf("unbuilt: %d", r.StatusCode)
	}
	if r := get(t, unbuilt, "GET", "/config.json"); r.StatusCode != 200 {
		t.Errorf("unbuilt config.json: %d", r.StatusCode)
	}
}

// The dashboard must not hide the API, the webhook, the dev endpoints or the
// dev issuer, all served on the same address.
func TestDevAPIRoutesAroundTheDashboard(t *testing.T) {
	h, err := devAPI(context.Background(), "http://127.0.0.1:8080", nil, nil, testDist, func(string) string { return "" }, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		contains     string
	}{
		{"GET", "/", 200, "<title>app</title>"},
		{"GET", "/orgs/org_a/billing", 200, "<title>app</title>"},
		{"GET", "/config.json", 200, `"clientId":"dnsreroute-dashboard"`},
		{"GET", "/v1/plans", 200, `"plans"`},
		{"GET", "/v1/nothing", 404, `"code"`},
		{"GET", "/.well-known/openid-configuration", 200, `"authorization_endpoint"`},
		{"GET", "/.well-known/nothing", 404, ""},
		{"GET", "/authorize", 400, ""},
		{"POST", "/token", 400, "unsupported_grant_type"},
		{"POST", "/dev/token", 400, ""},
		{"GET", "/dev/nothing", 404, ""},
		{"POST", "/webhooks/stripe", 400, ""},
		{"GET", "/webhooks/other", 404, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader("")))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("%s %s: %d %.200q, want %d with %q", tc.method, tc.path, rec.Code, rec.Body.String(), tc.status, tc.contains)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
