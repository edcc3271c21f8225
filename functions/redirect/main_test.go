package main_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/lambdatest"
	"github.com/dnsreroute/dnsreroute/shared/netfault"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const serviceHost = "redirect.example.com" // the host events/redirect-healthz.json asks for

// startFunction builds the real bootstrap and runs it under a Runtime API served by
// the test, against a fresh table in DynamoDB Local reached through a proxy that the
// test can take down.
func startFunction(t *testing.T, extraEnv map[string]string) (*lambdatest.Runtime, *dynamo.Store, *netfault.Proxy) {
	t.Helper()
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	plan, _ := reroute.DefaultCatalog().Get(reroute.PlanEnterprise)
	if err := store.CreateOrg(context.Background(), reroute.Org{ID: "org-e2e", Name: "E2E", Plan: plan.Name,
		RouteLimit: plan.RouteLimit, MemberLimit: plan.MemberLimit, RuleLimit: plan.RuleLimit}, reroute.Member{}); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(os.Getenv("DYNAMODB_ENDPOINT"))
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := netfault.Listen(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })

	env := map[string]string{
		"TABLE_NAME":            table,
		"SERVICE_HOSTNAME":      serviceHost,
		"TRUST_FORWARDED_HOST":  "true",
		"DYNAMODB_ENDPOINT":     "http://" + proxy.Addr(),
		"AWS_ACCESS_KEY_ID":     "local",
		"AWS_SECRET_ACCESS_KEY": "local",
		// A ceiling only: DynamoDB Local on a loaded machine takes seconds at
		// times, and during an outage the proxy resets connections at once.
		"LOOKUP_TIMEOUT": "10s",
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	rt := lambdatest.Start(t, lambdatest.Build(t, "github.com/dnsreroute/dnsreroute/functions/redirect"), env)
	return rt, store, proxy
}

func addRoute(t *testing.T, store *dynamo.Store, host, target string, keep bool) {
	t.Helper()
	now := time.Now().UTC()
	r := reroute.Route{Host: host, OrgID: "org-e2e", Target: target, Status: 301, KeepPath: keep, KeepQuery: keep, Enabled: true, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateRoute(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

// putRoute stores r for the e2e org, as the API would once its domain moved on.
func putRoute(t *testing.T, store *dynamo.Store, r reroute.Route) {
	t.Helper()
	now := time.Now().UTC()
	r.OrgID, r.Status, r.Enabled, r.CreatedAt, r.UpdatedAt = "org-e2e", 301, true, now, now
	if err := store.CreateRoute(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func invoke(t *testing.T, rt *lambdatest.Runtime, payload []byte) events.LambdaFunctionURLResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := rt.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != nil {
		t.Fatalf("function error: %s", res.Error)
	}
	var out events.LambdaFunctionURLResponse
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatalf("response %s: %v", res.Payload, err)
	}
	return out
}

func eventFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eventFor is the CloudFront sample event asking for another host.
func eventFor(t *testing.T, host string) []byte {
	t.Helper()
	return eventWith(t, map[string]string{"x-forwarded-host": host})
}

// eventWith is the CloudFront sample event with some headers replaced.
func eventWith(t *testing.T, headers map[string]string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(eventFile(t, "redirect-cloudfront.json"), &ev); err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		ev["headers"].(map[string]any)[k] = v
	}
	b, _ := json.Marshal(ev)
	return b
}

func TestBootstrapAnswersSampleEvents(t *testing.T) {
	rt, store, _ := startFunction(t, nil)
	addRoute(t, store, "old.example.com", "https://new.example.org/", true)

	tests := []struct {
		name         string
		event        []byte
		status       int
		location     string
		cacheControl string
		bodyHas      string
	}{
		{"redirect-cloudfront.json", eventFile(t, "redirect-cloudfront.json"), 301, "https://new.example.org/some/path?x=1&utm_source=mail", "public, max-age=3600", `<a href="https://new.example.org/some/path?x=1&amp;utm_source=mail">`},
		{"redirect-unknown-host.json", eventFile(t, "redirect-unknown-host.json"), 404, "", "public, max-age=10", "No redirect is set up for <b>unknown.example.net</b>"},
		{"redirect-healthz.json", eventFile(t, "redirect-healthz.json"), 200, "", "no-store", `{"status":"ok"}`},
		// A plain-HTTP viewer is upgraded only for a route with HTTPS redirect whose
		// domain is active at the edge; this route's domain is not (the upgrade
		// is tested below and in shared/redirect).
		{"plain-HTTP viewer, domain not active: no upgrade", eventWith(t, map[string]string{"cloudfront-forwarded-proto": "http"}),
			301, "https://new.example.org/some/path?x=1&utm_source=mail", "public, max-age=3600", "Redirecting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := invoke(t, rt, tt.event)
			if out.StatusCode != tt.status || out.Headers["location"] != tt.location || out.Headers["cache-control"] != tt.cacheControl {
				t.Errorf("got %d location=%q cache-control=%q, want %d %q %q", out.StatusCode, out.Headers["location"], out.Headers["cache-control"], tt.status, tt.location, tt.cacheControl)
			}
			if !strings.Contains(out.Body, tt.bodyHas) {
				t.Errorf("body %q lacks %q", out.Body, tt.bodyHas)
			}
			if v, ok := out.Headers["strict-transport-security"]; ok {
				t.Errorf("a route without HSTS answered Strict-Transport-Security %q", v)
			}
		})
	}
}

func TestBootstrapUpgradesPlainHTTP(t *testing.T) {
	rt, store, _ := startFunction(t, nil)
	putRoute(t, store, reroute.Route{Host: "up.example.com", Target: "https://new.example.org/", KeepPath: true, KeepQuery: true,
		HTTPSRedirect: true, HSTS: true, Domain: reroute.Domain{State: reroute.DomainActive}})
	putRoute(t, store, reroute.Route{Host: "pending.example.com", Target: "https://new.example.org/",
		HTTPSRedirect: true, HSTS: true, Domain: reroute.Domain{State: reroute.DomainPendingCertificate}})

	tests := []struct {
		name, host, proto      string
		location, cacheControl string
		hsts                   string
	}{
		{"http viewer of an active domain: upgrade", "up.example.com", "http",
			"https://up.example.com/some/path?x=1&utm_source=mail", "public, max-age=3600", ""},
		{"https viewer: the route's redirect, with HSTS", "up.example.com", "https",
			"https://new.example.org/some/path?x=1&utm_source=mail", "public, max-age=3600", "max-age=31536000"},
		{"http viewer of a domain without its certificate: no upgrade", "pending.example.com", "http",
			"https://new.example.org/", "public, max-age=3600", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := invoke(t, rt, eventWith(t, map[string]string{"x-forwarded-host": tt.host, "cloudfront-forwarded-proto": tt.proto}))
			if out.StatusCode != 301 || out.Headers["location"] != tt.location || out.Headers["cache-control"] != tt.cacheControl ||
				out.Headers["strict-transport-security"] != tt.hsts {
				t.Errorf("got %d %v, want 301 location=%q cache-control=%q hsts=%q", out.StatusCode, out.Headers, tt.location, tt.cacheControl, tt.hsts)
			}
		})
	}
}

func TestBootstrapSurvivesDynamoDBOutage(t *testing.T) {
	// A short TTL makes the function go back to the store during the outage, so the
	// redirects below come from stale-if-error, not from a still-fresh cache.
	rt, store, proxy := startFunction(t, map[string]string{"CACHE_TTL": "200ms", "NEGATIVE_CACHE_TTL": "200ms"})
	addRoute(t, store, "old.example.com", "https://new.example.org/", true)

	if out := invoke(t, rt, eventFile(t, "redirect-cloudfront.json")); out.StatusCode != 301 {
		t.Fatalf("warm lookup: %d", out.StatusCode)
	}
	proxy.SetDown(true)
	time.Sleep(300 * time.Millisecond)

	out := invoke(t, rt, eventFile(t, "redirect-cloudfront.json"))
	if out.StatusCode != 301 || out.Headers["location"] != "https://new.example.org/some/path?x=1&utm_source=mail" {
		t.Errorf("DynamoDB down: a cached host must keep redirecting, got %d %q", out.StatusCode, out.Headers["location"])
	}
	out = invoke(t, rt, eventFor(t, "fresh.example.com"))
	if out.StatusCode != 503 || out.Headers["retry-after"] == "" || out.Headers["cache-control"] != "no-store" {
		t.Errorf("DynamoDB down: an unknown host must get 503 with Retry-After, never 404; got %d %v", out.StatusCode, out.Headers)
	}

	addRoute(t, store, "fresh.example.com", "https://fresh.example.org/", false) // written directly, not through the proxy
	proxy.SetDown(false)
	out = invoke(t, rt, eventFor(t, "fresh.example.com"))
	if out.StatusCode != 301 || out.Headers["location"] != "https://fresh.example.org/" {
		t.Errorf("DynamoDB back: lookups must recover without a restart, got %d %q", out.StatusCode, out.Headers["location"])
	}
	if !rt.WaitForLog("serving stale route", 5*time.Second) {
		t.Errorf("the outage was not logged:\n%s", rt.Logs.String())
	}
}

func TestBootstrapRefusesMissingConfig(t *testing.T) {
	rt := lambdatest.Start(t, lambdatest.Build(t, "github.com/dnsreroute/dnsreroute/functions/redirect"), map[string]string{"CACHE_SIZE": "zero"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := rt.Invoke(ctx, eventFile(t, "redirect-cloudfront.json"))
	if err == nil {
		t.Fatal("a function without its configuration must not serve")
	}
	for _, want := range []string{"TABLE_NAME is required", "SERVICE_HOSTNAME is required", "CACHE_SIZE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("startup error does not say %q:\n%v", want, err)
		}
	}
}
