package main_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/edge/awsfake"
	"github.com/dnsreroute/dnsreroute/shared/lambdatest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// The built bootstrap answers API Gateway (HTTP API, payload 2.0) events, with
// tokens from an OIDC issuer served on loopback and the table in DynamoDB Local.
func TestBootstrapServesHTTPAPIEvents(t *testing.T) {
	_, table := dynamotest.NewTable(t)
	var issuerHandler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { issuerHandler.ServeHTTP(w, r) }))
	defer srv.Close()
	issuer, err := devstack.NewDevIssuer(srv.URL, "dashboard")
	if err != nil {
		t.Fatal(err)
	}
	issuerHandler = issuer.Handler()
	token, err := issuer.Mint("owner@example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	// CloudFront and ACM from the AWS fake, DNS from a server of the test's own.
	fake := awsfake.New()
	defer fake.Close()
	dns := dnstest.Start(t)
	rt := lambdatest.Start(t, lambdatest.Build(t, "github.com/dnsreroute/dnsreroute/functions/api"), map[string]string{
		"DISTRIBUTION_ID":       "EDFDVBD6EXAMPLE",
		"CONNECTION_GROUP_ID":   "cg_1",
		"EDGE_ENDPOINT":         fake.URL(),
		"DNS_SERVERS":           dns.Addr,
		"AWS_REGION":            "eu-west-1",
		"TABLE_NAME":            table,
		"SERVICE_HOSTNAME":      "redirect.example.com",
		"OIDC_ISSUER":           srv.URL,
		"OIDC_AUDIENCE":         "dashboard",
		"CORS_ORIGINS":          "https://app.example.com",
		"DYNAMODB_ENDPOINT":     os.Getenv(dynamotest.EndpointEnv),
		"AWS_ACCESS_KEY_ID":     "local",
		"AWS_SECRET_ACCESS_KEY": "local",
	})
	invoke := func(name string, replace map[string]string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for k, v := range replace {
			s = strings.ReplaceAll(s, k, v)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := rt.Invoke(ctx, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		if res.Error != nil {
			t.Fatalf("function error: %s", res.Error)
		}
		var out events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(res.Payload, &out); err != nil {
			t.Fatalf("%s: %v", res.Payload, err)
		}
		return out
	}

	out := invoke("api-create-org.json", map[string]string{"REPLACE_WITH_A_TOKEN": token})
	if out.StatusCode != 201 || out.Headers["Access-Control-Allow-Origin"] != "https://app.example.com" {
		t.Fatalf("create org: %d %v %s", out.StatusCode, out.Headers, out.Body)
	}
	var org struct{ ID string }
	if err := json.Unmarshal([]byte(out.Body), &org); err != nil || org.ID == "" {
		t.Fatalf("create org body %s", out.Body)
	}

	out = invoke("api-create-route.json", map[string]string{"REPLACE_WITH_A_TOKEN": token, "REPLACE_WITH_ORG_ID": org.ID})
	if out.StatusCode != 201 || !strings.Contains(out.Body, `"host":"www.blacklanternstudio.com"`) || !strings.Contains(out.Body, `"cnameTarget":"redirect.example.com"`) {
		t.Fatalf("create route: %d %s", out.StatusCode, out.Body)
	}
	// The new route waits for its CNAME; CloudFront is not asked for a tenant
	// before then (it would refuse one).
	if n := fake.Calls("CreateDistributionTenant"); n != 0 || fake.Tenants() != 0 || !strings.Contains(out.Body, `"state":"pending_dns"`) {
		t.Fatalf("the new route without DNS: %d tenant creations, %d tenants: %s", n, fake.Tenants(), out.Body)
	}
	out = invoke("api-create-route.json", map[string]string{"REPLACE_WITH_A_TOKEN": token, "REPLACE_WITH_ORG_ID": org.ID})
	if out.StatusCode != 409 || out.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("the same route again: %d %v %s", out.StatusCode, out.Headers, out.Body)
	}

	out = invoke("api-unauthenticated.json", nil)
	if out.StatusCode != 401 || !strings.Contains(out.Body, `"code":"missing_token"`) || out.Headers["Www-Authenticate"] == "" {
		t.Fatalf("no token: %d %v %s", out.StatusCode, out.Headers, out.Body)
	}
	if !rt.WaitForLog(`"status":401`, 5*time.Second) {
		t.Errorf("the function did not log the request:\n%s", rt.Logs.String())
	}
}

// The function starts while the OIDC issuer is unreachable (its keys used to be
// fetched at cold start, and a failure stopped the function, API keys with it): API
// keys work, user tokens answer 503 with Retry-After, and sign-in works once the
// issuer is back.
func TestBootstrapStartsWithTheIssuerDown(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	ctx := context.Background()
	if err := store.CreateOrg(ctx, reroute.Org{ID: "org_ci", Name: "CI", Plan: reroute.PlanFree, RouteLimit: 1, MemberLimit: 1, RuleLimit: 25},
		reroute.Member{OrgID: "org_ci", Email: "owner@example.com", Role: reroute.RoleOwner, OrgName: "CI"}); err != nil {
		t.Fatal(err)
	}
	secret, hash, hint, err := reroute.NewAPIKeySecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateAPIKey(ctx, reroute.APIKey{ID: "key_ci", OrgID: "org_ci", Name: "ci", Scope: reroute.ScopeRead,
		Hash: hash, Hint: hint, CreatedBy: "owner@example.com"}); err != nil {
		t.Fatal(err)
	}

	var down atomic.Bool
	down.Store(true)
	var issuer *devstack.DevIssuer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() { // unreachable: the connection closes without an answer
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		issuer.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	if issuer, err = devstack.NewDevIssuer(srv.URL, "dashboard"); err != nil {
		t.Fatal(err)
	}
	token, err := issuer.Mint("owner@example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	fake := awsfake.New()
	defer fake.Close()
	rt := lambdatest.Start(t, lambdatest.Build(t, "github.com/dnsreroute/dnsreroute/functions/api"), map[string]string{
		"DISTRIBUTION_ID":       "EDFDVBD6EXAMPLE",
		"CONNECTION_GROUP_ID":   "cg_1",
		"EDGE_ENDPOINT":         fake.URL(),
		"DNS_SERVERS":           dnstest.Start(t).Addr,
		"AWS_REGION":            "eu-west-1",
		"TABLE_NAME":            table,
		"SERVICE_HOSTNAME":      "redirect.example.com",
		"OIDC_ISSUER":           srv.URL,
		"OIDC_AUDIENCE":         "dashboard",
		"DYNAMODB_ENDPOINT":     os.Getenv(dynamotest.EndpointEnv),
		"AWS_ACCESS_KEY_ID":     "local",
		"AWS_SECRET_ACCESS_KEY": "local",
	})
	get := func(path, bearer string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		ev, err := json.Marshal(events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "$default", RawPath: path,
			Headers: map[string]string{"authorization": "Bearer " + bearer, "host": "api.example.com"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				DomainName: "api.example.com", RequestID: "req-1", Stage: "$default",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7"},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := rt.Invoke(ctx, ev)
		if err != nil {
			t.Fatalf("%s: %v\n%s", path, err, rt.Logs.String())
		}
		if res.Error != nil {
			t.Fatalf("%s: function error: %s", path, res.Error)
		}
		var out events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(res.Payload, &out); err != nil {
			t.Fatalf("%s: %v", res.Payload, err)
		}
		return out
	}

	for range 2 {
		if out := get("/v1/orgs/org_ci/routes", secret); out.StatusCode != 200 {
			t.Fatalf("API key with the issuer down: %d %s", out.StatusCode, out.Body)
		}
		out := get("/v1/me", token)
		if out.StatusCode != 503 || !strings.Contains(out.Body, `"code":"issuer_unavailable"`) || out.Headers["Retry-After"] == "" {
			t.Fatalf("user token with the issuer down: %d %v %s", out.StatusCode, out.Headers, out.Body)
		}
	}
	down.Store(false)
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := get("/v1/me", token)
		if out.StatusCode == 200 && strings.Contains(out.Body, `"email":"owner@example.com"`) {
			break
		}
		if out.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("user token once the issuer is back: %d %s\n%s", out.StatusCode, out.Body, rt.Logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out := get("/v1/orgs/org_ci/routes", secret); out.StatusCode != 200 {
		t.Fatalf("API key after: %d %s", out.StatusCode, out.Body)
	}
	if !rt.WaitForLog("loading the OIDC issuer's signing keys failed", 5*time.Second) {
		t.Errorf("the failed load was not logged:\n%s", rt.Logs.String())
	}
}
