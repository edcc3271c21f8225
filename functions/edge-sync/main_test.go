package main_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/edgekvs"
	"github.com/dnsreroute/dnsreroute/shared/edgesync"
	"github.com/dnsreroute/dnsreroute/shared/edgesync/kvsfake"
	"github.com/dnsreroute/dnsreroute/shared/lambdatest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const kvsARN = "arn:aws:cloudfront::123456789012:key-value-store/2d3f6c1e-1111-4222-8333-444455556666"

// The built bootstrap, driven by the sample events in events/: a stream batch
// publishes the hosts it names (and an org's routes, for a plan change), and
// any other event reconciles the whole store and answers what it fixed.
func TestBootstrapSyncsTheEdge(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	fake := kvsfake.New(kvsARN)
	t.Cleanup(fake.Close)
	ctx := t.Context()
	if err := store.CreateOrg(ctx, reroute.Org{ID: "o1", Name: "Shop", Plan: reroute.PlanDeveloper, RouteLimit: 10, MemberLimit: 5, RuleLimit: 1000}, reroute.Member{}); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"www.shop.example", "api.shop.example"} {
		r := reroute.Route{Host: host, OrgID: "o1", Target: "https://shop.example.org/", Status: 301, Enabled: true, HTTPSRedirect: true}
		if err := store.CreateRoute(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	rt := lambdatest.Start(t, lambdatest.Build(t, "github.com/dnsreroute/dnsreroute/functions/edge-sync"), map[string]string{
		"TABLE_NAME":            table,
		"KVS_ARN":               kvsARN,
		"KVS_ENDPOINT":          fake.URL(),
		"REDIRECT_MAX_AGE":      "3600s",
		"NEGATIVE_CACHE_TTL":    "10s",
		"DYNAMODB_ENDPOINT":     os.Getenv(dynamotest.EndpointEnv),
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "local",
		"AWS_SECRET_ACCESS_KEY": "local",
	})
	invoke := func(name string, out any) {
		t.Helper()
		event, err := os.ReadFile(filepath.Join("..", "..", "events", name))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := rt.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		if res.Error != nil {
			t.Fatalf("%s: function error: %s", name, res.Error)
		}
		if err := json.Unmarshal(res.Payload, out); err != nil {
			t.Fatalf("%s: %s: %v", name, res.Payload, err)
		}
	}

	// The batch names www's route, and o1's plan change: both routes go out.
	var resp events.DynamoDBEventResponse
	invoke("edge-sync-stream.json", &resp)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batch item failures: %v", resp.BatchItemFailures)
	}
	items := fake.Items()
	for _, host := range []string{"www.shop.example", "api.shop.example"} {
		if v, ok := items[host]; !ok || v == edgekvs.Placeholder(host).Value {
			t.Errorf("%s at the edge: %q, %v", host, v, ok)
		}
	}
	if _, ok := items[edgekvs.ConfigKey]; !ok {
		t.Error("no config record")
	}

	// Drift, then the scheduled reconciliation repairs it and says so.
	fake.Set("stale.shop.example", "0")
	fake.Set("api.shop.example", "")
	var rep edgesync.Report
	invoke("edge-sync-reconcile.json", &rep)
	if rep.Routes != 2 || rep.AtEdge != 2 || rep.Puts != 1 || rep.Deletes != 1 {
		t.Errorf("reconciliation report %+v, want 2 routes at the edge, 1 put, 1 delete", rep)
	}
	if _, ok := fake.Items()["stale.shop.example"]; ok {
		t.Error("the stale key is still there")
	}
}
