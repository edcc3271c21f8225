package httpapi_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/dnsreroute/dnsreroute/shared/dnscheck"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
	"github.com/dnsreroute/dnsreroute/shared/domains"
	"github.com/dnsreroute/dnsreroute/shared/edge"
	"github.com/dnsreroute/dnsreroute/shared/edge/awsfake"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// newCloudFrontEnv is the API whose domains live on the CloudFront edge (the
// AWS fake), with DNS from a server of the test's own that CloudFront sees too.
func newCloudFrontEnv(t *testing.T) (*apiEnv, *awsfake.Fake) {
	t.Helper()
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	dnsServer := dnstest.Start(t)
	res := dnscheck.New(dnscheck.Config{Servers: []string{dnsServer.Addr}, Timeout: time.Second})
	fake.SetDNSCheck(func(domain string) bool {
		l, err := res.LookupDomain(context.Background(), domain, cnameTarget)
		return err == nil && reroute.CheckDNS(domain, cnameTarget, l).PointsAtUs
	})
	awsCfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-secret", "")}
	cf := edge.NewCloudFront(awsCfg, edge.Config{DistributionID: "EDFDVBD6EXAMPLE", ConnectionGroupID: "cg_1", Endpoint: fake.URL(),
		Retryer: func() aws.Retryer {
			return retry.AddWithMaxBackoffDelay(retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None }), time.Millisecond)
		}})
	e := newAPIEnvWith(t, func(d *httpapi.Deps) {
		store, ok := d.Routes.(domains.Store)
		if !ok {
			t.Fatalf("the route store %T is not a domains.Store", d.Routes)
		}
		d.Domains = domains.New(store, cf, res, domains.Config{CNAMETarget: cnameTarget}, time.Now, rand.Reader, d.Log)
	})
	e.dns = dnsServer
	return e, fake
}

// Creating a route registers nothing at CloudFront while the hostname's CNAME
// is missing (CloudFront would refuse the tenant); the check after the CNAME
// appears creates the tenant, and the route turns active once its certificate
// is issued and deployed.
func TestRouteDomainOnCloudFront(t *testing.T) {
	e, fake := newCloudFrontEnv(t)
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "developer")
	base := "/v1/orgs/" + org + "/routes"
	const host = "www.edge.example.com"

	r := e.do("POST", base, alice, map[string]any{"host": host, "target": "https://example.org/"})
	e.want(r, 201, "")
	d := r.obj("domain")
	if d["state"] != "pending_dns" || !strings.Contains(d["reason"].(string), cnameTarget) {
		t.Fatalf("new route's domain %v, want pending_dns naming %s", d, cnameTarget)
	}
	if recs := r.records(); len(recs) != 1 || recs[0]["name"] != host || recs[0]["value"] != cnameTarget {
		t.Errorf("dnsRecords %v, want the CNAME to create", recs)
	}
	if n := fake.Calls("CreateDistributionTenant"); n != 0 || fake.Tenants() != 0 {
		t.Fatalf("route creation without DNS: %d tenant creations, %d tenants; want none", n, fake.Tenants())
	}
	r = e.do("POST", base+"/"+host+"/check", alice, nil)
	e.want(r, 200, "")
	if r.obj("route")["domain"].(map[string]any)["state"] != "pending_dns" || fake.Calls("CreateDistributionTenant") != 0 {
		t.Fatalf("a check without DNS: %s (%d creations)", r.body, fake.Calls("CreateDistributionTenant"))
	}

	// The customer creates the CNAME: the check registers the hostname.
	e.dns.Set(t, host+". 60 IN CNAME "+cnameTarget+".")
	r = e.do("POST", base+"/"+host+"/check", alice, nil)
	e.want(r, 200, "")
	d = r.obj("route")["domain"].(map[string]any)
	tn, ok := fake.Tenant(host)
	if d["state"] != "pending_certificate" || d["verified"] != true || !ok || tn.ManagedCertificate != "pending-validation" {
		t.Fatalf("after the CNAME: domain %v, tenant %+v (%v)", d, tn, ok)
	}

	fake.SetManagedCertificate(host, "issued")
	fake.Deploy(host)
	r = e.do("POST", base+"/"+host+"/check", alice, nil)
	e.want(r, 200, "")
	if d = r.obj("route")["domain"].(map[string]any); d["state"] != "active" {
		t.Fatalf("issued and deployed: domain %v", d)
	}
	if n := fake.Calls("CreateDistributionTenant"); n != 1 {
		t.Errorf("%d tenant creations, want 1", n)
	}
}
