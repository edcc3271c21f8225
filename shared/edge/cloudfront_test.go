package edge_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/dnsreroute/dnsreroute/shared/edge"
	"github.com/dnsreroute/dnsreroute/shared/edge/awsfake"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

var (
	_ reroute.Edge = (*edge.CloudFront)(nil)
	_ reroute.Edge = (*edge.Local)(nil)
)

const distribution = "E2QWRUHAPOMQZL"

// fastRetryer is the SDK's standard retryer (3 attempts) without its waits or
// client-side rate limit.
func fastRetryer() aws.Retryer {
	return retry.AddWithMaxBackoffDelay(retry.NewStandard(func(o *retry.StandardOptions) {
		o.RateLimiter = ratelimit.None
	}), time.Millisecond)
}

func newEdge(t *testing.T) (*edge.CloudFront, *awsfake.Fake) {
	t.Helper()
	f := awsfake.New()
	t.Cleanup(f.Close)
	awsCfg := aws.Config{
		Region:      "eu-west-1", // the stack's region: ACM must still be asked in us-east-1
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-secret", ""),
	}
	return edge.NewCloudFront(awsCfg, edge.Config{
		DistributionID: distribution, ConnectionGroupID: "cg_routing", Endpoint: f.URL(), Retryer: fastRetryer,
	}), f
}

func ensure(t *testing.T, e *edge.CloudFront, host string, refs reroute.EdgeRefs, dnsReady bool) reroute.EdgeReport {
	t.Helper()
	rep, err := e.Ensure(context.Background(), host, refs, dnsReady)
	if err != nil {
		t.Fatalf("Ensure(%s): %v", host, err)
	}
	return rep
}

func TestExactHostLifecycle(t *testing.T) {
	t.Parallel()
	e, f := newEdge(t)
	const host = "www.example.com"

	// Before the customer's CNAME is there, CloudFront is not even asked.
	rep := ensure(t, e, host, reroute.EdgeRefs{}, false)
	if !rep.AwaitingDNS || !rep.Refs.IsZero() || rep.Certificate != reroute.CertificateNone || rep.Serving {
		t.Fatalf("before DNS: %+v, want awaiting DNS with nothing made", rep)
	}
	for _, op := range []string{"CreateDistributionTenant", "GetDistributionTenantByDomain", "GetManagedCertificateDetails"} {
		if n := f.Calls(op); n != 0 {
			t.Errorf("%s called %d times before DNS pointed at CloudFront", op, n)
		}
	}

	f.PointDNS(host)
	rep = ensure(t, e, host, reroute.EdgeRefs{}, true)
	if rep.AwaitingDNS || rep.Refs.TenantID == "" || rep.Refs.CertificateARN != "" {
		t.Fatalf("refs = %+v, want a tenant and no certificate of its own", rep.Refs)
	}
	if rep.Certificate != reroute.CertificatePending || rep.Serving || len(rep.ValidationRecords) != 0 {
		t.Fatalf("after create: %+v, want pending, not serving, no records", rep)
	}
	tn, ok := f.Tenant(host)
	if !ok {
		t.Fatal("no tenant at CloudFront")
	}
	if tn.DistributionID != distribution || tn.ConnectionGroupID != "cg_routing" || !tn.Enabled ||
		tn.Name != "h-www.example.com" || tn.ManagedCertificate != "pending-validation" {
		t.Fatalf("tenant = %+v", tn)
	}
	if len(tn.Tags) != 1 || tn.Tags[edge.DistributionTag] != distribution {
		t.Errorf("tenant tags = %v, want %s=%s", tn.Tags, edge.DistributionTag, distribution)
	}

	f.SetManagedCertificate(host, "issued")
	rep = ensure(t, e, host, rep.Refs, true)
	if rep.Certificate != reroute.CertificateIssued || rep.Serving {
		t.Fatalf("issued, not deployed: %+v, want issued and not serving", rep)
	}

	f.Deploy(host)
	rep = ensure(t, e, host, rep.Refs, true)
	if rep.Certificate != reroute.CertificateIssued || !rep.Serving {
		t.Fatalf("issued and deployed: %+v, want serving", rep)
	}
	if n := f.Calls("CreateDistributionTenant"); n != 1 {
		t.Errorf("created %d tenants, want 1", n)
	}
	if n := f.Calls("UpdateDistributionTenant"); n != 0 {
		t.Errorf("updated the tenant %d times, want 0", n)
	}
}

func TestEnsureIsIdempotent(t *testing.T) {
	t.Parallel()
	e, f := newEdge(t)
	const host = "example.com"
	f.PointDNS(host)
	var refs reroute.EdgeRefs
	for range 5 {
		refs = ensure(t, e, host, refs, true).Refs
	}
	// A caller that lost the answer asks again with no refs: it gets the same tenant.
	again := ensure(t, e, host, reroute.EdgeRefs{}, true)
	if again.Refs != refs {
		t.Errorf("refs without refs = %+v, want %+v", again.Refs, refs)
	}
	if n := f.Calls("CreateDistributionTenant"); n != 1 {
		t.Errorf("created %d tenants, want 1", n)
	}
	if f.Tenants() != 1 {
		t.Errorf("CloudFront holds %d tenants, want 1", f.Tenants())
	}
}

func TestEnsureExactHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		host     string
		setup    func(f *awsfake.Fake) // before Ensure with empty refs
		notReady bool                  // our own lookup does not see the CNAME
		code     reroute.Code
		reason   string
		message  string // part of the error's message
		created  int
		serving  bool
		awaiting string // the report awaits DNS, with this in its reason
	}{
		{name: "our DNS lookup sees no CNAME: nothing asked", host: "nocname.example.com", notReady: true, awaiting: ""},
		// We see the CNAME, CloudFront does not yet (a new record spreading):
		// its refusal is a state, not an error.
		{name: "CloudFront does not see the CNAME yet", host: "lag.example.com",
			setup: func(f *awsfake.Fake) { f.SetDNSCheck(func(string) bool { return false }) }, created: 1,
			awaiting: "Could not verify Domain Name ownership"},
		{name: "adopts a tenant of its distribution", host: "adopt.example.com",
			setup: func(f *awsfake.Fake) { f.AddTenant(distribution, "adopt.example.com") }, serving: true},
		{name: "tenant on another distribution", host: "other.example.com",
			setup: func(f *awsfake.Fake) { f.AddTenant("EOTHERDIST", "other.example.com") },
			code:  reroute.CodeConflict, reason: "domain_in_use", message: "other.example.com is already attached"},
		{name: "domain held by another account", host: "taken.example.com",
			setup: func(f *awsfake.Fake) { f.UseElsewhere("taken.example.com") }, created: 1,
			code: reroute.CodeConflict, reason: "domain_in_use", message: "perhaps in another AWS account"},
		{name: "domain refused", host: "bad.example.com",
			setup: func(f *awsfake.Fake) { f.RefuseDomain("bad.example.com", "The domain is reserved.") }, created: 1,
			code: reroute.CodeInvalid, reason: "domain_refused", message: "The domain is reserved."},
		{name: "throttled beyond the retries", host: "slow.example.com",
			setup: func(f *awsfake.Fake) { f.Throttle(10) },
			code:  reroute.CodeUnavailable, reason: "edge_unavailable"},
		{name: "throttled within the retries", host: "slow.example.com",
			setup: func(f *awsfake.Fake) { f.Throttle(2) }, created: 1},
		{name: "CloudFront down", host: "down.example.com",
			setup: func(f *awsfake.Fake) { f.FailNext(10) },
			code:  reroute.CodeUnavailable, reason: "edge_unavailable"},
		{name: "punycode host", host: "xn--bcher-kva.example", created: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, f := newEdge(t)
			if !tt.notReady {
				f.PointDNS(tt.host)
			}
			if tt.setup != nil {
				tt.setup(f)
			}
			rep, err := e.Ensure(context.Background(), tt.host, reroute.EdgeRefs{}, !tt.notReady)
			if n := f.Calls("CreateDistributionTenant"); n != tt.created {
				t.Errorf("CreateDistributionTenant calls = %d, want %d", n, tt.created)
			}
			if tt.code != "" {
				var re *reroute.Error
				if !errors.As(err, &re) || re.Code != tt.code || re.Reason != tt.reason {
					t.Fatalf("err = %v, want %s %s", err, tt.code, tt.reason)
				}
				if !strings.Contains(re.Message, tt.message) {
					t.Errorf("message %q, want it to contain %q", re.Message, tt.message)
				}
				if re.Err == nil {
					t.Error("the AWS cause is lost")
				}
				return
			}
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if tt.notReady || tt.awaiting != "" {
				if !rep.AwaitingDNS || !rep.Refs.IsZero() || !strings.Contains(rep.AwaitingReason, tt.awaiting) || f.Tenants() != 0 {
					t.Errorf("report = %+v (%d tenants), want awaiting DNS (%q) with nothing made", rep, f.Tenants(), tt.awaiting)
				}
				return
			}
			tn, _ := f.Tenant(tt.host)
			if rep.Refs.TenantID != tn.ID || rep.Serving != tt.serving {
				t.Errorf("report = %+v, want tenant %s, serving %v", rep, tn.ID, tt.serving)
			}
		})
	}
}

func TestEnsureRecreatesAMissingTenant(t *testing.T) {
	t.Parallel()
	e, f := newEdge(t)
	const host = "gone.example.com"
	f.PointDNS(host)
	first := ensure(t, e, host, reroute.EdgeRefs{}, true)
	f.RemoveTenant(host)
	// Without the CNAME in our lookup, the lost tenant is not made again yet.
	if rep := ensure(t, e, host, first.Refs, false); !rep.AwaitingDNS || rep.Refs.TenantID != "" || f.Tenants() != 0 {
		t.Fatalf("without DNS: %+v (%d tenants), want awaiting DNS", rep, f.Tenants())
	}
	second := ensure(t, e, host, first.Refs, true)
	tn, ok := f.Tenant(host)
	if !ok || second.Refs.TenantID != tn.ID || second.Refs.TenantID == first.Refs.TenantID {
		t.Fatalf("refs %+v -> %+v, want a new tenant (fake holds %+v)", first.Refs, second.Refs, tn)
	}
	if second.Certificate != reroute.CertificatePending {
		t.Errorf("certificate = %q, want pending", second.Certificate)
	}
}

func TestEnsureReenablesADisabledTenant(t *testing.T) {
	t.Parallel()
	e, f := newEdge(t)
	const host = "off.example.com"
	f.PointDNS(host)
	refs := ensure(t, e, host, reroute.EdgeRefs{}, true).Refs
	f.SetManagedCertificate(host, "issued")
	f.SetEnabled(host, false)
	f.Deploy(host)

	rep := ensure(t, e, host, refs, false)
	tn, _ := f.Tenant(host)
	if !tn.Enabled || tn.ConnectionGroupID != "cg_routing" || len(tn.Domains) != 1 || tn.Domains[0] != host {
		t.Fatalf("tenant = %+v, want enabled with its domain and connection group kept", tn)
	}
	if rep.Refs != refs || rep.Serving {
		t.Errorf("report = %+v, want the same refs, not serving until deployed", rep)
	}
	f.Deploy(host)
	if rep := ensure(t, e, host, refs, false); !rep.Serving {
		t.Errorf("after deploy: %+v, want serving", rep)
	}
}

func TestEnsureManagedCertificateStates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    string
		dnsReady  bool
		want      reroute.CertificateStatus
		reason    string
		requested bool // a new certificate was asked for
	}{
		{"issued", true, reroute.CertificateIssued, "", false},
		{"pending-validation", true, reroute.CertificatePending, "", false},
		{"issued", false, reroute.CertificateIssued, "", false},
		{"failed", false, reroute.CertificateFailed, "failed", false},
		{"validation-timed-out", false, reroute.CertificateFailed, "validation-timed-out", false},
		{"validation-timed-out", true, reroute.CertificatePending, "", true},
		{"expired", true, reroute.CertificatePending, "", true},
		{"inactive", true, reroute.CertificatePending, "", true},
		{"failed", true, reroute.CertificatePending, "", true},
		{"revoked", true, reroute.CertificateFailed, "revoked", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s dnsReady %v", tt.status, tt.dnsReady), func(t *testing.T) {
			t.Parallel()
			e, f := newEdge(t)
			const host = "cert.example.com"
			f.PointDNS(host)
			refs := ensure(t, e, host, reroute.EdgeRefs{}, true).Refs
			// CloudFront records a certificate's status on its tenant (a new
			// ETag) at any time, here between our reads: every update must use
			// the latest ETag.
			f.ChangeTenantOnCertificateRead(true)
			f.SetManagedCertificate(host, tt.status)
			rep := ensure(t, e, host, refs, tt.dnsReady)
			if rep.Certificate != tt.want || rep.CertificateReason != tt.reason {
				t.Errorf("certificate %q (%q), want %q (%q)", rep.Certificate, rep.CertificateReason, tt.want, tt.reason)
			}
			tn, _ := f.Tenant(host)
			if requested := f.Calls("UpdateDistributionTenant") == 1 && tn.ManagedCertificate == "pending-validation"; requested != tt.requested {
				t.Errorf("new certificate requested = %v, want %v (tenant %+v)", requested, tt.requested, tn)
			}
			if tt.requested && (!tn.Enabled || tn.ConnectionGroupID != "cg_routing") {
				t.Errorf("re-request changed the tenant: %+v", tn)
			}
		})
	}
}

func TestWildcardLifecycle(t *testing.T) {
	t.Parallel()
	e, f := newEdge(t)
	const host = "*.example.com"
	f.HideValidationRecords(1)

	// No DNS at all, ours or CloudFront's: a wildcard's certificate is validated
	// through a record in the customer's zone, and its tenant carries that
	// certificate, which proves control to CloudFront without the CNAME.
	rep := ensure(t, e, host, reroute.EdgeRefs{}, false)
	if rep.Refs.CertificateARN == "" || rep.Refs.TenantID != "" || rep.Certificate != reroute.CertificatePending {
		t.Fatalf("first: %+v, want a pending certificate and no tenant", rep)
	}
	if len(rep.ValidationRecords) != 0 {
		t.Errorf("records before ACM made them: %+v", rep.ValidationRecords)
	}
	if got := f.SigningRegion("acm"); got != "us-east-1" {
		t.Errorf("ACM asked in %q, want us-east-1", got)
	}
	if c, _ := f.Certificate(rep.Refs.CertificateARN); len(c.Tags) != 1 || c.Tags[edge.DistributionTag] != distribution {
		t.Errorf("certificate tags = %v, want %s=%s", c.Tags, edge.DistributionTag, distribution)
	}

	rep = ensure(t, e, host, rep.Refs, false)
	if len(rep.ValidationRecords) != 1 {
		t.Fatalf("records = %+v, want one", rep.ValidationRecords)
	}
	rec := rep.ValidationRecords[0]
	if rec.Type != "CNAME" || rec.Purpose != reroute.PurposeCertificate ||
		!strings.HasSuffix(rec.Name, ".example.com.") || !strings.Contains(rec.Value, "acm-validations.aws") {
		t.Errorf("record = %+v", rec)
	}
	if f.Tenants() != 0 {
		t.Error("a tenant before the certificate is issued")
	}

	f.IssueCertificate(rep.Refs.CertificateARN)
	rep = ensure(t, e, host, rep.Refs, false)
	tn, ok := f.Tenant(host)
	if !ok || rep.Refs.TenantID != tn.ID || tn.CertificateARN != rep.Refs.CertificateARN || tn.ManagedCertificate != "" ||
		tn.Name != "w-example.com" || tn.Tags[edge.DistributionTag] != distribution {
		t.Fatalf("tenant %+v for report %+v, want one carrying the certificate", tn, rep)
	}
	if rep.Certificate != reroute.CertificateIssued || rep.Serving {
		t.Errorf("issued, not deployed: %+v", rep)
	}

	f.Deploy(host)
	rep = ensure(t, e, host, rep.Refs, false)
	if !rep.Serving {
		t.Errorf("deployed: %+v, want serving", rep)
	}
	if f.Calls("RequestCertificate") != 1 || f.Calls("CreateDistributionTenant") != 1 {
		t.Errorf("requested %d certificates and created %d tenants, want 1 and 1",
			f.Calls("RequestCertificate"), f.Calls("CreateDistributionTenant"))
	}
}

func TestWildcardCertificateRequestIsIdempotent(t *testing.T) {
	t.Parallel()
	e, f := newEdge(t)
	const host = "*.retry.example.com"
	a := ensure(t, e, host, reroute.EdgeRefs{}, false)
	b := ensure(t, e, host, reroute.EdgeRefs{}, false) // the first answer was lost
	if a.Refs.CertificateARN != b.Refs.CertificateARN || f.Certificates() != 1 {
		t.Errorf("certificates %s, %s (ACM holds %d), want one", a.Refs.CertificateARN, b.Refs.CertificateARN, f.Certificates())
	}
}

func TestWildcardCertificateFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, status, reason string
		want                 string
	}{
		{"CAA forbids Amazon", "FAILED", "CAA_ERROR", "CAA_ERROR"},
		{"validation timed out", "VALIDATION_TIMED_OUT", "", "VALIDATION_TIMED_OUT"},
		{"expired", "EXPIRED", "", "EXPIRED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, f := newEdge(t)
			const host = "*.caa.example.com"
			refs := ensure(t, e, host, reroute.EdgeRefs{}, false).Refs
			if tt.reason != "" {
				f.FailCertificate(refs.CertificateARN, tt.reason)
			} else {
				f.SetCertificateStatus(refs.CertificateARN, tt.status)
			}

			rep := ensure(t, e, host, refs, false)
			if rep.Certificate != reroute.CertificateFailed || rep.CertificateReason != tt.want || rep.Refs != refs {
				t.Fatalf("not dnsReady: %+v, want failed %s with the same refs", rep, tt.want)
			}

			rep = ensure(t, e, host, refs, true)
			if rep.Certificate != reroute.CertificatePending || rep.Refs.CertificateARN == refs.CertificateARN ||
				rep.Refs.CertificateARN == "" || len(rep.ValidationRecords) != 1 {
				t.Fatalf("dnsReady: %+v, want a new pending certificate with its records", rep)
			}
			if _, ok := f.Certificate(refs.CertificateARN); ok {
				t.Error("the failed certificate is still in ACM")
			}
			// Asked again with the old refs (the answer was lost): the same new certificate.
			if again := ensure(t, e, host, refs, true); again.Refs.CertificateARN != rep.Refs.CertificateARN {
				t.Errorf("retry got %s, want %s", again.Refs.CertificateARN, rep.Refs.CertificateARN)
			}
			if f.Certificates() != 1 {
				t.Errorf("ACM holds %d certificates, want 1", f.Certificates())
			}
		})
	}
}

// serve takes host to serving.
func serve(t *testing.T, e *edge.CloudFront, f *awsfake.Fake, host string) reroute.EdgeRefs {
	t.Helper()
	f.PointDNS(host)
	refs := ensure(t, e, host, reroute.EdgeRefs{}, true).Refs
	if refs.CertificateARN != "" {
		f.IssueCertificate(refs.CertificateARN)
	} else {
		f.SetManagedCertificate(host, "issued")
	}
	refs = ensure(t, e, host, refs, false).Refs
	f.Deploy(host)
	if rep := ensure(t, e, host, refs, false); !rep.Serving {
		t.Fatalf("%s not serving: %+v", host, rep)
	}
	return refs
}

func TestRelease(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"bye.example.com", "*.bye.example.com"} {
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			e, f := newEdge(t)
			ctx := context.Background()
			refs := serve(t, e, f, host)
			arn := refs.CertificateARN
			release := func() reroute.EdgeRefs {
				t.Helper()
				next, err := e.Release(ctx, host, refs)
				if err != nil {
					t.Fatalf("Release: %v", err)
				}
				refs = next
				return next
			}

			if got := release(); got.TenantID == "" {
				t.Fatal("step 1 finished the tenant")
			}
			if tn, _ := f.Tenant(host); tn.Enabled {
				t.Fatal("step 1: tenant still enabled")
			}
			if got := release(); got.TenantID == "" {
				t.Fatal("deleted before the disabling was deployed")
			}
			f.Deploy(host)
			got := release()
			if _, ok := f.Tenant(host); ok || got.TenantID != "" {
				t.Fatalf("after deploy: refs %+v, tenant still there: %v", got, ok)
			}
			if got.CertificateARN != arn {
				t.Fatalf("refs %+v, want the certificate %q left for the next step", got, arn)
			}
			if arn != "" {
				if got := release(); !got.IsZero() {
					t.Fatalf("refs %+v, want none", got)
				}
				if _, ok := f.Certificate(arn); ok {
					t.Error("certificate still in ACM")
				}
			}
			if got := release(); !got.IsZero() {
				t.Errorf("release of nothing left %+v", got)
			}
		})
	}
}

func TestReleaseKeepsACertificateInUse(t *testing.T) {
	t.Parallel()
	e, f := newEdge(t)
	const host = "*.kept.example.com"
	refs := serve(t, e, f, host)
	// The tenant is not in the refs (say, a claim moved it): its certificate stays.
	only := reroute.EdgeRefs{CertificateARN: refs.CertificateARN}
	got, err := e.Release(context.Background(), host, only)
	if err != nil || got != only {
		t.Fatalf("Release = %+v, %v; want %+v kept", got, err, only)
	}
	if _, ok := f.Certificate(refs.CertificateARN); !ok {
		t.Error("certificate in use was deleted")
	}
}

func TestReleaseOfAGoneTenant(t *testing.T) {
	t.Parallel()
	e, f := newEdge(t)
	const host = "vanished.example.com"
	f.PointDNS(host)
	refs := ensure(t, e, host, reroute.EdgeRefs{}, true).Refs
	f.RemoveTenant(host)
	got, err := e.Release(context.Background(), host, refs)
	if err != nil || !got.IsZero() {
		t.Errorf("Release = %+v, %v; want zero refs", got, err)
	}
}

func TestVerifyDNS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		status, reason string
		noTenant       bool
		ok             bool
		says           string
	}{
		{name: "valid", status: "valid-configuration", ok: true},
		{name: "invalid", status: "invalid-configuration", reason: "The CNAME points at d111111abcdef8.cloudfront.net.",
			says: "does not point at the service: The CNAME points at d111111abcdef8.cloudfront.net."},
		{name: "unknown", status: "unknown-configuration", reason: "DNS lookup timed out", says: "could not check"},
		{name: "not registered", noTenant: true, says: "not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, f := newEdge(t)
			const host = "dns.example.com"
			var refs reroute.EdgeRefs
			if !tt.noTenant {
				f.PointDNS(host)
				refs = ensure(t, e, host, reroute.EdgeRefs{}, true).Refs
				f.SetDNSConfiguration(host, tt.status, tt.reason)
			}
			ok, reason, err := e.VerifyDNS(context.Background(), host, refs)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.ok || !strings.Contains(reason, tt.says) || (tt.ok && reason != "") {
				t.Errorf("VerifyDNS = %v, %q; want %v, %q", ok, reason, tt.ok, tt.says)
			}
		})
	}
}

func TestVerifyDNSUnavailable(t *testing.T) {
	t.Parallel()
	e, f := newEdge(t)
	f.PointDNS("dns.example.com")
	refs := ensure(t, e, "dns.example.com", reroute.EdgeRefs{}, true).Refs
	f.Throttle(10)
	_, _, err := e.VerifyDNS(context.Background(), "dns.example.com", refs)
	if reroute.ErrorCode(err) != reroute.CodeUnavailable {
		t.Errorf("err = %v, want unavailable", err)
	}
}

func TestTenantName(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]{1,126}[a-zA-Z0-9]$`)
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + ".example.com"
	tests := []struct{ host, want string }{
		{"example.com", "h-example.com"},
		{"*.example.com", "w-example.com"},
		{"xn--bcher-kva.example", "h-xn--bcher-kva.example"},
		{long, ""},
		{"x" + long, ""},
		{"*." + long, ""},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := edge.TenantName(tt.host)
		if !valid.MatchString(got) {
			t.Errorf("TenantName(%q) = %q, not a valid tenant name", tt.host, got)
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("TenantName(%q) = %q, want %q", tt.host, got, tt.want)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%q and %q share the name %q", other, tt.host, got)
		}
		seen[got] = tt.host
		if edge.TenantName(tt.host) != got {
			t.Errorf("TenantName(%q) is not stable", tt.host)
		}
	}
}

// A certificate asked for anew while CloudFront does not see the CNAME (we do)
// is refused like a premature tenant: the old status stands and the report
// says the edge waits for DNS, not that something failed.
func TestNewCertificateAwaitsCloudFrontsDNS(t *testing.T) {
	t.Parallel()
	e, f := newEdge(t)
	const host = "renew.example.com"
	f.PointDNS(host)
	refs := ensure(t, e, host, reroute.EdgeRefs{}, true).Refs
	f.SetManagedCertificate(host, "validation-timed-out")
	f.SetDNSCheck(func(string) bool { return false })
	rep := ensure(t, e, host, refs, true)
	if !rep.AwaitingDNS || !strings.Contains(rep.AwaitingReason, "Could not verify Domain Name ownership") ||
		rep.Certificate != reroute.CertificateFailed || rep.CertificateReason != "validation-timed-out" || rep.Refs != refs {
		t.Fatalf("report = %+v", rep)
	}
	f.SetDNSCheck(nil)
	if rep := ensure(t, e, host, refs, true); rep.AwaitingDNS || rep.Certificate != reroute.CertificatePending {
		t.Errorf("once CloudFront sees the CNAME: %+v, want a new pending certificate", rep)
	}
}
