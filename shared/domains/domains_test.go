package domains_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/dnsreroute/dnsreroute/shared/dnscheck"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
	"github.com/dnsreroute/dnsreroute/shared/domains"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/edge"
	"github.com/dnsreroute/dnsreroute/shared/edge/awsfake"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const (
	target       = "d111abcdef8.cloudfront.net"
	distribution = "EDFDVBD6EXAMPLE"
)

// clock is a test clock that starts now and moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is the service on real parts: DynamoDB Local, the CloudFront edge against
// the AWS fake, the DNS resolver against a DNS server on loopback.
type env struct {
	store *dynamo.Store
	fake  *awsfake.Fake
	dns   *dnstest.Server
	svc   *domains.Service
	clock *clock
	// cfLags makes CloudFront's view of DNS lag ours: it sees no CNAME at all.
	cfLags atomic.Bool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	f := awsfake.New()
	t.Cleanup(f.Close)
	awsCfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-secret", "")}
	e := edge.NewCloudFront(awsCfg, edge.Config{DistributionID: distribution, ConnectionGroupID: "cg_1", Endpoint: f.URL(),
		Retryer: func() aws.Retryer {
			return retry.AddWithMaxBackoffDelay(retry.NewStandard(), time.Millisecond)
		}})
	d := dnstest.Start(t)
	d.Set(t, target+". 60 IN A 192.0.2.10", target+". 60 IN A 192.0.2.11")
	res := dnscheck.New(dnscheck.Config{Servers: []string{d.Addr}, Timeout: time.Second})
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := domains.New(store, e, res, domains.Config{CNAMETarget: target}, c.now, rand.Reader, log)
	en := &env{store: store, fake: f, dns: d, svc: svc, clock: c}
	// CloudFront sees what the test's DNS server says, as it sees public DNS:
	// it takes a tenant with a managed certificate only for a domain whose
	// CNAME reaches the routing endpoint.
	f.SetDNSCheck(func(domain string) bool {
		if en.cfLags.Load() {
			return false
		}
		l, err := res.LookupDomain(context.Background(), domain, target)
		return err == nil && reroute.CheckDNS(domain, target, l).PointsAtUs
	})
	return en
}

func (e *env) org(t *testing.T, id, plan string) {
	t.Helper()
	p, _ := reroute.DefaultCatalog().Get(plan)
	org := reroute.Org{ID: id, Name: id, Plan: p.Name, RouteLimit: p.RouteLimit, MemberLimit: p.MemberLimit, RuleLimit: p.RuleLimit}
	if err := e.store.CreateOrg(t.Context(), org, reroute.Member{}); err != nil {
		t.Fatal(err)
	}
}

// create stores a route as the API does and advances it once.
func (e *env) create(t *testing.T, org, host string) reroute.Route {
	t.Helper()
	now := e.clock.now()
	r := reroute.Route{Host: host, OrgID: org, Target: "https://example.org/", Status: 301, Enabled: true,
		HTTPSRedirect: true, CreatedAt: now, UpdatedAt: now, Domain: e.svc.NewDomain(host)}
	if err := e.store.CreateRoute(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Advance(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	return res.Route
}

func (e *env) route(t *testing.T, host string) reroute.Route {
	t.Helper()
	r, err := e.store.GetRoute(t.Context(), host)
	if err != nil {
		t.Fatalf("GetRoute(%s): %v", host, err)
	}
	return r
}

func (e *env) run(t *testing.T) domains.RunStats {
	t.Helper()
	st, err := e.svc.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func wantState(t *testing.T, r reroute.Route, state reroute.DomainState) {
	t.Helper()
	if r.Domain.State != state {
		t.Fatalf("%s is %s (%q), want %s", r.Host, r.Domain.State, r.Domain.Reason, state)
	}
}

// noTenantCreate fails the test if the edge asked CloudFront for a tenant.
func (e *env) noTenantCreate(t *testing.T, when string) {
	t.Helper()
	if n := e.fake.Calls("CreateDistributionTenant"); n != 0 || e.fake.Tenants() != 0 {
		t.Fatalf("%s: %d CreateDistributionTenant calls, %d tenants; want none", when, n, e.fake.Tenants())
	}
}

// An exact hostname's tenant is created only once its CNAME reaches the
// routing endpoint: its certificate is validated by CloudFront through it, and
// CloudFront refuses the tenant before then.
func TestExactHostLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.org(t, "a", reroute.PlanDeveloper)
	host := "www.shop.example"

	r := e.create(t, "a", host)
	wantState(t, r, reroute.DomainPendingDNS)
	if !r.Domain.Refs.IsZero() || !strings.Contains(r.Domain.Reason, target) {
		t.Fatalf("new route's domain = %+v, want no refs and a reason naming %s", r.Domain, target)
	}
	e.noTenantCreate(t, "created without DNS")
	if r.Domain.Verified() {
		t.Fatal("verified before DNS pointed here")
	}

	// Not due yet: nothing to do. Due: looked at again, still no DNS.
	if st := e.run(t); st.Due != 0 {
		t.Fatalf("run before due took %d items", st.Due)
	}
	e.clock.add(3 * time.Minute)
	if st := e.run(t); st.Due != 1 || st.Advanced != 1 {
		t.Fatalf("run = %+v", st)
	}
	wantState(t, e.route(t, host), reroute.DomainPendingDNS)
	e.noTenantCreate(t, "looked at again without DNS")

	// The customer creates the CNAME; our lookup sees it before CloudFront's
	// does: CloudFront refuses the tenant, the route waits, verified.
	e.dns.Set(t, host+". 60 IN CNAME "+target+".")
	e.cfLags.Store(true)
	e.clock.add(3 * time.Minute)
	e.run(t)
	r = e.route(t, host)
	wantState(t, r, reroute.DomainPendingDNS)
	if !r.Domain.Verified() || !r.Domain.Refs.IsZero() || e.fake.Tenants() != 0 ||
		!strings.Contains(r.Domain.Reason, "Could not verify Domain Name ownership") {
		t.Fatalf("while CloudFront lags: %+v, %d tenants", r.Domain, e.fake.Tenants())
	}
	if next := r.Domain.NextCheckAt.Sub(e.clock.now()); next != 2*time.Minute {
		t.Errorf("looked at again in %s, want 2m", next)
	}

	// CloudFront sees it too: tenant created, certificate pending.
	e.cfLags.Store(false)
	e.clock.add(3 * time.Minute)
	e.run(t)
	r = e.route(t, host)
	wantState(t, r, reroute.DomainPendingCertificate)
	if !r.Domain.Verified() || r.Domain.Refs.TenantID == "" {
		t.Fatalf("once CloudFront sees the CNAME: %+v", r.Domain)
	}
	tn, _ := e.fake.Tenant(host)
	if tn.ID != r.Domain.Refs.TenantID || tn.ManagedCertificate != "pending-validation" || tn.Tags[edge.DistributionTag] != distribution {
		t.Fatalf("tenant = %+v", tn)
	}

	// CloudFront issues the certificate and deploys: active, and nothing is due.
	e.fake.SetManagedCertificate(host, "issued")
	e.fake.Deploy(host)
	e.clock.add(3 * time.Minute)
	e.run(t)
	r = e.route(t, host)
	wantState(t, r, reroute.DomainActive)
	if !r.Domain.NextCheckAt.IsZero() {
		t.Errorf("an active domain is due at %s", r.Domain.NextCheckAt)
	}
	e.clock.add(24 * time.Hour)
	if st := e.run(t); st.Due != 0 {
		t.Errorf("an active domain was taken up again: %+v", st)
	}
	if n := e.fake.Calls("CreateDistributionTenant"); n != 2 {
		t.Errorf("%d tenant creations for one hostname, want 2 (one refused while CloudFront lagged)", n)
	}
	if e.fake.Tenants() != 1 {
		t.Errorf("%d tenants for one hostname", e.fake.Tenants())
	}

	// Deleting the route releases its tenant, step by step: disabled, then gone.
	if err := e.store.DeleteRoute(t.Context(), "a", host); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	if tn, ok := e.fake.Tenant(host); !ok || tn.Enabled {
		t.Fatalf("after the first release step the tenant is %+v (exists %v), want disabled", tn, ok)
	}
	e.fake.Deploy(host)
	e.clock.add(3 * time.Minute)
	if st := e.run(t); st.Removed != 1 {
		t.Fatalf("second release step = %+v", st)
	}
	if e.fake.Tenants() != 0 {
		t.Errorf("%d tenants left after the release", e.fake.Tenants())
	}
	e.clock.add(time.Hour)
	if st := e.run(t); st.Due != 0 {
		t.Errorf("work left after the release: %+v", st)
	}
}

func TestSquatterIsReleasedAndClaimable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.org(t, "squatter", reroute.PlanDeveloper)
	e.org(t, "owner", reroute.PlanDeveloper)
	host := "brand.example"
	held := e.create(t, "squatter", host)
	claimant := reroute.Route{Host: host, OrgID: "owner", Target: "https://brand.example.org/", Status: 301, Enabled: true}

	// Without the ownership record the claim is refused, and nothing changes.
	_, err := e.svc.Claim(t.Context(), held, claimant)
	if reroute.ErrorCode(err) != reroute.CodeConflict || err.(*reroute.Error).Reason != "ownership_not_proven" {
		t.Fatalf("claim without proof: %v", err)
	}
	// The squatter's own record does not help the owner either.
	own := reroute.OwnershipRecord("squatter", host)
	e.dns.Set(t, own.Name+`. 60 IN TXT "`+own.Value+`"`)
	if _, err := e.svc.Claim(t.Context(), held, claimant); reroute.ErrorCode(err) != reroute.CodeConflict {
		t.Fatalf("claim with another org's record: %v", err)
	}
	if e.route(t, host).OrgID != "squatter" {
		t.Fatal("the host changed hands without proof")
	}

	rec := reroute.OwnershipRecord("owner", host)
	e.dns.Set(t, rec.Name+`. 60 IN TXT "`+rec.Value+`"`)
	got, err := e.svc.Claim(t.Context(), held, claimant)
	if err != nil {
		t.Fatalf("claim with proof: %v", err)
	}
	r := e.route(t, host)
	if r.OrgID != "owner" || !r.Domain.Verified() || r.Domain.Refs != held.Domain.Refs || got.Host != host {
		t.Fatalf("after the claim the route is %+v", r)
	}
	for org, want := range map[string]int{"squatter": 0, "owner": 1} {
		if o, err := e.store.GetOrg(t.Context(), org); err != nil || o.RouteCount != want {
			t.Errorf("org %s counts %d routes (%v), want %d", org, o.RouteCount, err, want)
		}
	}
	// A verified route is never taken.
	e.org(t, "third", reroute.PlanDeveloper)
	third := claimant
	third.OrgID = "third"
	if _, err := e.svc.Claim(t.Context(), r, third); reroute.ErrorCode(err) != reroute.CodeConflict || err.(*reroute.Error).Reason != "host_taken" {
		t.Fatalf("claiming a verified route: %v", err)
	}
	// The squatter's hostname never pointed here, so CloudFront holds nothing
	// for it: nothing to keep, nothing made.
	e.noTenantCreate(t, "after the claim")
}

func TestUnverifiedRouteIsReleasedAfterSevenDays(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.org(t, "a", reroute.PlanDeveloper)
	e.create(t, "a", "never.example")
	proven := e.create(t, "a", "proven.example")
	rec := reroute.OwnershipRecord("a", proven.Host)
	e.dns.Set(t, rec.Name+`. 60 IN TXT "`+rec.Value+`"`)

	e.clock.add(6 * 24 * time.Hour)
	e.run(t)
	if !e.route(t, proven.Host).Domain.Verified() {
		t.Fatal("the ownership record did not verify the route")
	}
	e.clock.add(24 * time.Hour)
	st := e.run(t)
	if st.Released != 1 {
		t.Fatalf("run after 7 days = %+v, want one released", st)
	}
	if _, err := e.store.GetRoute(t.Context(), "never.example"); !reroute.IsNotFound(err) {
		t.Fatalf("the unverified route is still there: %v", err)
	}
	e.route(t, proven.Host)
	if o, _ := e.store.GetOrg(t.Context(), "a"); o.RouteCount != 1 {
		t.Errorf("org counts %d routes, want 1", o.RouteCount)
	}
	// Its tenant goes too.
	e.run(t)
	e.fake.Deploy("never.example")
	e.clock.add(3 * time.Minute)
	e.run(t)
	if _, ok := e.fake.Tenant("never.example"); ok {
		t.Error("the released route's tenant is still there")
	}
}

func TestFailuresCustomersCanActOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.org(t, "a", reroute.PlanEnterprise)

	// Held by another distribution: told once the CNAME lets CloudFront answer.
	e.fake.UseElsewhere("www.taken.example")
	e.dns.Set(t, "www.taken.example. 60 IN CNAME "+target+".")
	r := e.create(t, "a", "www.taken.example")
	wantState(t, r, reroute.DomainFailed)
	if r.Domain.Reason == "" {
		t.Error("failed without a reason")
	}

	// A CNAME's name holds no other record: the CAA set governing it is its parent's.
	e.dns.Set(t, "www.caa.example. 60 IN CNAME "+target+".", `caa.example. 60 IN CAA 0 issue "letsencrypt.org"`)
	r = e.create(t, "a", "www.caa.example")
	wantState(t, r, reroute.DomainFailed)
	check, err := e.svc.Check(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if check.OK || len(check.Findings) == 0 || check.Findings[0].Code != "caa_forbids_amazon" {
		t.Fatalf("check = %+v", check)
	}
	// The customer fixes CAA: the next check moves it on.
	e.dns.Set(t, `caa.example. 60 IN CAA 0 issue "amazon.com"`)
	check, err = e.svc.Check(t.Context(), e.route(t, "www.caa.example"))
	if err != nil {
		t.Fatal(err)
	}
	if !check.OK {
		t.Fatalf("check after the fix = %+v", check)
	}
	wantState(t, check.Route, reroute.DomainPendingCertificate)
}

func TestThrottledEdgeEndsTheRunAndBacksOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.org(t, "a", reroute.PlanEnterprise)
	for _, h := range []string{"www.a1.example", "www.a2.example", "www.a3.example", "www.a4.example", "www.a5.example"} {
		e.dns.Set(t, h+". 60 IN CNAME "+target+".")
		e.create(t, "a", h)
	}
	e.clock.add(3 * time.Minute)
	e.fake.Throttle(1000)
	st := e.run(t)
	if st.Stopped != "edge unavailable" || st.Advanced != 3 {
		t.Fatalf("throttled run = %+v, want three tried then a stop", st)
	}
	r := e.route(t, "www.a1.example")
	if r.Domain.Failures != 1 || r.Domain.State != reroute.DomainPendingCertificate {
		t.Errorf("throttled route = %+v", r.Domain)
	}
	e.fake.Throttle(0)
	e.clock.add(2 * time.Minute)
	if st := e.run(t); st.Stopped != "" || st.Due != 5 {
		t.Errorf("run after the throttling = %+v, want all five", st)
	}
}

func TestConcurrentRunsCreateOneTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.org(t, "a", reroute.PlanDeveloper)
	now := e.clock.now()
	e.dns.Set(t, "once.example. 60 IN CNAME "+target+".")
	r := reroute.Route{Host: "once.example", OrgID: "a", Target: "https://example.org/", Status: 301, Enabled: true,
		CreatedAt: now, UpdatedAt: now, Domain: e.svc.NewDomain("once.example")}
	if err := e.store.CreateRoute(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := e.svc.Run(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := e.fake.Tenants(); n != 1 {
		t.Errorf("%d tenants for one hostname after concurrent runs", n)
	}
	if e.route(t, "once.example").Domain.Refs.TenantID == "" {
		t.Error("no run saved the tenant")
	}
}

func TestWildcardNeedsItsValidationRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.org(t, "a", reroute.PlanDeveloper)
	r := e.create(t, "a", "*.wild.example")
	wantState(t, r, reroute.DomainPendingDNS)
	if len(r.Domain.CertificateRecords) == 0 || r.Domain.Refs.CertificateARN == "" {
		t.Fatalf("no certificate requested: %+v", r.Domain)
	}
	// The wildcard's CNAME: the probe name under it resolves to the target.
	e.dns.Set(t, "*.wild.example. 60 IN CNAME "+target+".")
	e.fake.IssueCertificate(r.Domain.Refs.CertificateARN)
	e.clock.add(3 * time.Minute)
	e.run(t)
	r = e.route(t, "*.wild.example")
	if !r.Domain.Verified() || r.Domain.Refs.TenantID == "" {
		t.Fatalf("issued wildcard = %+v", r.Domain)
	}
}

func TestCheckAddsTheEdgesView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.org(t, "a", reroute.PlanDeveloper)
	host := "view.example"
	r := e.create(t, "a", host)
	codes := func(c reroute.DomainCheck) []string {
		var out []string
		for _, f := range c.Findings {
			out = append(out, f.Level+":"+f.Code)
		}
		return out
	}
	// Our lookup finds nothing: that finding alone says what to do.
	c, err := e.svc.Check(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if got := codes(c); len(got) != 1 || got[0] != "error:name_not_found" {
		t.Fatalf("findings without DNS = %v", got)
	}
	// We see the CNAME; CloudFront does not yet.
	e.dns.Set(t, host+". 60 IN CNAME "+target+".")
	e.fake.SetDNSConfiguration(host, "invalid-configuration", "The domain does not resolve to CloudFront.")
	if c, err = e.svc.Check(t.Context(), e.route(t, host)); err != nil {
		t.Fatal(err)
	}
	if got := codes(c); len(got) != 2 || got[0] != "warning:edge_dns_pending" || got[1] != "ok:cname_ok" || !c.OK {
		t.Fatalf("findings while CloudFront lags = %v (ok %v)", got, c.OK)
	}
	e.fake.SetDNSConfiguration(host, "valid-configuration", "")
	if c, err = e.svc.Check(t.Context(), e.route(t, host)); err != nil {
		t.Fatal(err)
	}
	if got := codes(c); len(got) != 2 || got[1] != "ok:edge_dns_ok" {
		t.Fatalf("findings once CloudFront agrees = %v", got)
	}
}
