package main_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/lambdatest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const (
	secret = "whsec_e2e_test_secret"
	orgID  = "org_example00000000" // as in events/stripe-subscription-updated.json
)

// The built bootstrap verifies and applies a signed Stripe event delivered through
// API Gateway, once, and refuses a forged one.
func TestBootstrapAppliesSignedStripeEvent(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	free, _ := reroute.DefaultCatalog().Get(reroute.PlanFree)
	if err := store.CreateOrg(context.Background(), reroute.Org{ID: orgID, Name: "Example", Plan: free.Name, RouteLimit: free.RouteLimit, MemberLimit: free.MemberLimit, RuleLimit: free.RuleLimit},
		reroute.Member{OrgID: orgID, Email: "owner@example.com", Role: reroute.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	rt := lambdatest.Start(t, lambdatest.Build(t, "github.com/dnsreroute/dnsreroute/functions/stripe-webhook"), map[string]string{
		"TABLE_NAME":             table,
		"STRIPE_WEBHOOK_SECRET":  secret,
		"STRIPE_PRICE_DEVELOPER": "price_developer_example",
		"DYNAMODB_ENDPOINT":      os.Getenv(dynamotest.EndpointEnv),
		"AWS_ACCESS_KEY_ID":      "local",
		"AWS_SECRET_ACCESS_KEY":  "local",
	})
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "stripe-subscription-updated.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	deliver := func(signature string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		ev.Headers["stripe-signature"] = signature
		payload, _ := json.Marshal(ev)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := rt.Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		var out events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(res.Payload, &out); err != nil {
			t.Fatalf("%s: %v", res.Payload, err)
		}
		return out
	}
	sign := func(key string) string {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(ev.Body), Secret: key, Timestamp: time.Now()}).Header
	}

	if out := deliver(sign("whsec_forged")); out.StatusCode != 400 {
		t.Errorf("a forged signature: %d %s, want 400", out.StatusCode, out.Body)
	}
	if out := deliver(sign(secret)); out.StatusCode != 200 || !strings.Contains(out.Body, `"result":"applied"`) {
		t.Fatalf("a signed event: %d %s", out.StatusCode, out.Body)
	}
	if out := deliver(sign(secret)); out.StatusCode != 200 || !strings.Contains(out.Body, `"result":"duplicate"`) {
		t.Errorf("the same event again: %d %s", out.StatusCode, out.Body)
	}
	org, err := store.GetOrg(context.Background(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	if org.Plan != reroute.PlanDeveloper || org.RouteLimit != 10 || org.Billing.Status != "active" {
		t.Errorf("the org is on %s (limit %d, status %q), want developer (10, active)", org.Plan, org.RouteLimit, org.Billing.Status)
	}
}
