package main_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dnscheck"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
	"github.com/dnsreroute/dnsreroute/shared/domains"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/edge/awsfake"
	"github.com/dnsreroute/dnsreroute/shared/lambdatest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const target = "d111abcdef8.cloudfront.net"

// The built bootstrap, driven by the scheduled EventBridge event in events/,
// takes the due routes on: it sees a pending route's DNS (a DNS server on
// loopback), registers its hostname with CloudFront (the AWS fake) once the
// CNAME is there, never before, and activates it once CloudFront serves it; a
// deleted route's tenant is removed.
func TestBootstrapRunsTheDomainWorker(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	fake.AutoDeploy(true)
	dns := dnstest.Start(t)
	dns.Set(t, target+". 60 IN A 192.0.2.10", "www.shop.example. 60 IN CNAME "+target+".", "gone.shop.example. 60 IN CNAME "+target+".")
	// CloudFront sees the same DNS: it refuses a tenant for a hostname whose
	// CNAME does not reach it. The timeout is a ceiling only (the server is on
	// loopback, but the machine may be loaded).
	res := dnscheck.New(dnscheck.Config{Servers: []string{dns.Addr}, Timeout: 10 * time.Second})
	fake.SetDNSCheck(func(domain string) bool {
		l, err := res.LookupDomain(context.Background(), domain, target)
		return err == nil && reroute.CheckDNS(domain, target, l).PointsAtUs
	})

	ctx := t.Context()
	if err := store.CreateOrg(ctx, reroute.Org{ID: "o1", Name: "Shop", Plan: reroute.PlanDeveloper, RouteLimit: 10, MemberLimit: 5, RuleLimit: 1000}, reroute.Member{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Add(-time.Minute)
	for _, host := range []string{"www.shop.example", "gone.shop.example", "later.shop.example"} {
		r := reroute.Route{Host: host, OrgID: "o1", Target: "https://shop.example.org/", Status: 301, Enabled: true, HTTPSRedirect: true,
			CreatedAt: now, UpdatedAt: now, Domain: reroute.DomainPolicy{}.NewDomain(host, target, now)}
		if err := store.CreateRoute(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	rt := lambdatest.Start(t, lambdatest.Build(t, "github.com/dnsreroute/dnsreroute/functions/domains"), map[string]string{
		"TABLE_NAME":            table,
		"CNAME_TARGET":          target,
		"DISTRIBUTION_ID":       "EDFDVBD6EXAMPLE",
		"CONNECTION_GROUP_ID":   "cg_1",
		"EDGE_ENDPOINT":         fake.URL(),
		"DNS_SERVERS":           dns.Addr,
		"DYNAMODB_ENDPOINT":     os.Getenv(dynamotest.EndpointEnv),
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "local",
		"AWS_SECRET_ACCESS_KEY": "local",
	})
	event, err := os.ReadFile(filepath.Join("..", "..", "events", "domains-schedule.json"))
	if err != nil {
		t.Fatal(err)
	}
	run := func() domains.RunStats {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := rt.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		if res.Error != nil {
			t.Fatalf("function error: %s", res.Error)
		}
		var st domains.RunStats
		if err := json.Unmarshal(res.Payload, &st); err != nil {
			t.Fatalf("%s: %v", res.Payload, err)
		}
		return st
	}

	if st := run(); st.Due != 3 || st.Advanced != 3 || st.Errors != 0 {
		t.Fatalf("first run = %+v", st)
	}
	r, err := store.GetRoute(ctx, "www.shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if r.Domain.State != reroute.DomainPendingCertificate || !r.Domain.Verified() || r.Domain.Refs.TenantID == "" {
		t.Fatalf("after the first run the domain is %+v", r.Domain)
	}
	if fake.Tenants() != 2 || fake.Calls("CreateDistributionTenant") != 2 {
		t.Fatalf("%d tenants (%d creations), want one per route whose CNAME is there", fake.Tenants(), fake.Calls("CreateDistributionTenant"))
	}
	later, err := store.GetRoute(ctx, "later.shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if later.Domain.State != reroute.DomainPendingDNS || !later.Domain.Refs.IsZero() {
		t.Fatalf("a route without its CNAME: %+v, want pending_dns with nothing at CloudFront", later.Domain)
	}

	// Its CNAME appears: the next run (once due) registers it.
	dns.Set(t, "later.shop.example. 60 IN CNAME "+target+".")
	if err := store.SaveDomain(ctx, later, dueNow(later.Domain)); err != nil {
		t.Fatal(err)
	}
	run()
	if later, _ = store.GetRoute(ctx, "later.shop.example"); later.Domain.State != reroute.DomainPendingCertificate || later.Domain.Refs.TenantID == "" {
		t.Fatalf("once its CNAME is there: %+v", later.Domain)
	}
	if r, err = store.GetRoute(ctx, "www.shop.example"); err != nil {
		t.Fatal(err)
	}

	// CloudFront issues the certificate: the next run (once due) activates it.
	fake.SetManagedCertificate("www.shop.example", "issued")
	if err := store.SaveDomain(ctx, r, dueNow(r.Domain)); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteRoute(ctx, "o1", "gone.shop.example"); err != nil {
		t.Fatal(err)
	}
	st := run()
	if r, _ = store.GetRoute(ctx, "www.shop.example"); r.Domain.State != reroute.DomainActive {
		t.Fatalf("after the second run (%+v) the domain is %+v", st, r.Domain)
	}
	// The deleted route's tenant was disabled; the fake deploys it, and a later
	// run removes it.
	deadline := time.Now().Add(20 * time.Second)
	for fake.Tenants() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the deleted route's tenant is still there: %d tenants", fake.Tenants())
		}
		time.Sleep(100 * time.Millisecond)
		waitDue(t, store)
		run()
	}
}

// dueNow is d due at once, as if its next check had come.
func dueNow(d reroute.Domain) reroute.Domain {
	d.NextCheckAt = time.Now().UTC().Add(-time.Second)
	return d
}

// waitDue makes every pending release due now (releases wait minutes between
// steps; the test has no time to wait).
func waitDue(t *testing.T, store *dynamo.Store) {
	t.Helper()
	work, err := store.DueDomains(t.Context(), time.Now().Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range work {
		if w.Release != nil {
			next := *w.Release
			next.NextCheckAt = time.Now().UTC().Add(-time.Second)
			if err := store.SaveRelease(t.Context(), *w.Release, next); err != nil {
				t.Fatal(err)
			}
		}
	}
}
