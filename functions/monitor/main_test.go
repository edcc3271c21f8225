package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/lambdatest"
	"github.com/dnsreroute/dnsreroute/shared/monitor"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// The built bootstrap, invoked as the schedule does, probes a paid org's
// target (a local site, loopback allowed as in development) and records it.
func TestBootstrapProbesDestinations(t *testing.T) {
	ctx := t.Context()
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer site.Close()
	if err := store.CreateOrg(ctx, reroute.Org{ID: "o1", Name: "Shop", Plan: reroute.PlanDeveloper, RouteLimit: 10, MemberLimit: 5, RuleLimit: 100}, reroute.Member{}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateRoute(ctx, reroute.Route{Host: "www.shop.example", OrgID: "o1", Target: site.URL + "/", Status: 301, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	rt := lambdatest.Start(t, lambdatest.Build(t, "github.com/dnsreroute/dnsreroute/functions/monitor"), map[string]string{
		"TABLE_NAME": table, "DYNAMODB_ENDPOINT": os.Getenv(dynamotest.EndpointEnv), "DNSREROUTE_DEV_ALLOW_LOOPBACK": "true",
		// The Runtime API here gives 30 s: 2 s a request keeps the reserve (a
		// route's worst case, 22 s) inside it.
		"MONITOR_TIMEOUT":   "2s",
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
	})
	ictx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := rt.Invoke(ictx, []byte(`{}`))
	if err != nil || res.Error != nil {
		t.Fatalf("invoke: %v %s\n%s", err, res.Error, rt.Logs.String())
	}
	var rep monitor.Report
	if err := json.Unmarshal(res.Payload, &rep); err != nil || rep.Probed != 1 {
		t.Fatalf("report %s: %v", res.Payload, err)
	}
	d, err := store.GetDestination(ctx, "www.shop.example")
	if err != nil || d.LastError != "HTTP 503" || d.Failures != 1 || d.State != reroute.DestinationUnknown {
		t.Fatalf("destination %+v, %v; want one failure of HTTP 503, not yet broken", d, err)
	}
}
