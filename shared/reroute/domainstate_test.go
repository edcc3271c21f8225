package reroute_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func TestDomainLifecycle(t *testing.T) {
	const target = "d111.cloudfront.net"
	created := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	policy := reroute.DomainPolicy{ReleaseAfter: 7 * 24 * time.Hour}
	fresh := policy.NewDomain("www.example.com", target, created)
	refs := reroute.EdgeRefs{TenantID: "dt_1"}
	wildRefs := reroute.EdgeRefs{CertificateARN: "arn:aws:acm:us-east-1:1:certificate/x"}
	validation := []reroute.DNSRecord{{Type: "CNAME", Name: "_x.example.com", Value: "_y.acm-validations.aws", Purpose: reroute.PurposeCertificate}}

	pointing := &reroute.DNSCheck{PointsAtUs: true, CAAAllowsAmazon: true}
	missing := &reroute.DNSCheck{CAAAllowsAmazon: true, Findings: []reroute.Finding{
		{Level: reroute.FindingError, Code: "cname_missing", Message: "www.example.com has no CNAME record."}}}
	caa := &reroute.DNSCheck{PointsAtUs: true, Findings: []reroute.Finding{
		{Level: reroute.FindingOK, Code: "cname_ok", Message: "fine"},
		{Level: reroute.FindingError, Code: "caa_forbids_amazon", Message: "CAA at example.com allows only letsencrypt.org."}}}
	pending := &reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificatePending}
	serving := &reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificateIssued, Serving: true}
	failedCert := &reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificateFailed, CertificateReason: "validation-timed-out"}
	wildPending := &reroute.EdgeReport{Refs: wildRefs, Certificate: reroute.CertificatePending, ValidationRecords: validation}
	wildIssued := &reroute.EdgeReport{Refs: reroute.EdgeRefs{TenantID: "dt_2", CertificateARN: wildRefs.CertificateARN}, Certificate: reroute.CertificateIssued}
	// An exact host's tenant waits for DNS: the edge holds nothing yet.
	awaiting := &reroute.EdgeReport{AwaitingDNS: true}
	lagging := &reroute.EdgeReport{AwaitingDNS: true, AwaitingReason: "Could not verify Domain Name ownership."}
	retryRefused := &reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificateFailed, CertificateReason: "validation-timed-out",
		AwaitingDNS: true, AwaitingReason: "Could not verify Domain Name ownership."}
	verified := fresh
	verified.VerifiedAt = created.Add(time.Hour)
	certifying := verified
	certifying.State = reroute.DomainPendingCertificate
	active := verified
	active.State, active.Reason, active.NextCheckAt = reroute.DomainActive, "", time.Time{}

	at := func(d time.Duration) time.Time { return created.Add(d) }
	tests := []struct {
		name        string
		host        string
		domain      reroute.Domain
		obs         reroute.Observation
		state       reroute.DomainState
		reason      string // a substring
		verified    bool
		release     bool
		next        time.Duration // from obs.Now; 0: nothing due
		failures    int
		wantRefs    reroute.EdgeRefs
		wantRecords int
	}{
		{name: "created, DNS missing", domain: fresh, obs: reroute.Observation{Now: at(0), DNS: missing, Edge: pending},
			state: reroute.DomainPendingDNS, reason: "no CNAME", next: 2 * time.Minute, wantRefs: refs},
		{name: "DNS appears: verified, certificate pending", domain: fresh, obs: reroute.Observation{Now: at(time.Hour), DNS: pointing, Edge: pending},
			state: reroute.DomainPendingCertificate, reason: "being issued", verified: true, next: 2 * time.Minute, wantRefs: refs},
		{name: "exact host without DNS: no tenant, told the CNAME", domain: fresh, obs: reroute.Observation{Now: at(0), DNS: missing, Edge: awaiting},
			state: reroute.DomainPendingDNS, reason: "no CNAME", next: 2 * time.Minute},
		{name: "exact host, DNS unreachable, no tenant: pending_dns stands", domain: fresh, obs: reroute.Observation{Now: at(time.Minute), Edge: awaiting},
			state: reroute.DomainPendingDNS, reason: "Create a CNAME record www.example.com pointing at " + target, next: 2 * time.Minute},
		{name: "we see the CNAME, the CDN not yet: pending_dns, looked at soon", domain: fresh,
			obs:   reroute.Observation{Now: at(50 * time.Hour), DNS: pointing, Edge: lagging},
			state: reroute.DomainPendingDNS, reason: "waiting for the CDN to see the CNAME", verified: true, next: 2 * time.Minute},
		{name: "the CDN's refusal is passed on", domain: verified, obs: reroute.Observation{Now: at(2 * time.Hour), DNS: pointing, Edge: lagging},
			state: reroute.DomainPendingDNS, reason: "The CDN said: Could not verify Domain Name ownership.", verified: true, next: 2 * time.Minute},
		{name: "a new certificate refused until the CDN sees the CNAME", domain: verified,
			obs:   reroute.Observation{Now: at(2 * time.Hour), DNS: pointing, Edge: retryRefused},
			state: reroute.DomainPendingDNS, reason: "waiting for the CDN", verified: true, next: 2 * time.Minute, wantRefs: refs},
		{name: "tenant gone, DNS unreachable: back to pending_dns", domain: certifying, obs: reroute.Observation{Now: at(3 * time.Hour), Edge: awaiting},
			state: reroute.DomainPendingDNS, reason: "Create a CNAME", verified: true, next: 10 * time.Minute},
		{name: "activate", domain: verified, obs: reroute.Observation{Now: at(2 * time.Hour), DNS: pointing, Edge: serving},
			state: reroute.DomainActive, verified: true, wantRefs: refs},
		{name: "serving verifies even without a DNS answer", domain: fresh, obs: reroute.Observation{Now: at(time.Hour), Edge: serving},
			state: reroute.DomainActive, verified: true, wantRefs: refs},
		{name: "DNS unreachable keeps pending_dns", domain: fresh, obs: reroute.Observation{Now: at(time.Minute), Edge: pending},
			state: reroute.DomainPendingDNS, reason: "Create a CNAME", next: 2 * time.Minute, wantRefs: refs},
		{name: "older pending checked less often", domain: fresh, obs: reroute.Observation{Now: at(3 * time.Hour), DNS: missing, Edge: pending},
			state: reroute.DomainPendingDNS, next: 10 * time.Minute, wantRefs: refs},
		{name: "days-old pending checked half-hourly", domain: fresh, obs: reroute.Observation{Now: at(50 * time.Hour), DNS: missing, Edge: pending},
			state: reroute.DomainPendingDNS, next: 30 * time.Minute, wantRefs: refs},
		{name: "CAA forbids Amazon", domain: verified, obs: reroute.Observation{Now: at(time.Hour), DNS: caa, Edge: pending},
			state: reroute.DomainFailed, reason: "letsencrypt.org", verified: true, next: time.Hour, wantRefs: refs},
		{name: "certificate failed", domain: verified, obs: reroute.Observation{Now: at(time.Hour), DNS: pointing, Edge: failedCert},
			state: reroute.DomainFailed, reason: "validation-timed-out", verified: true, next: time.Hour, wantRefs: refs},
		{name: "domain in use elsewhere", domain: fresh, obs: reroute.Observation{Now: at(0), DNS: missing,
			EdgeErr: reroute.Errorf(reroute.CodeConflict, "domain_in_use", "www.example.com is already attached to another CloudFront distribution")},
			state: reroute.DomainFailed, reason: "another CloudFront", next: time.Hour},
		{name: "edge throttled: state stands, backs off", domain: fresh, obs: reroute.Observation{Now: at(0), DNS: missing,
			EdgeErr: reroute.Errorf(reroute.CodeUnavailable, "edge_unavailable", "slow down")},
			state: reroute.DomainPendingDNS, reason: "Create a CNAME", next: time.Minute, failures: 1},
		{name: "edge throttled again: longer", domain: func() reroute.Domain { d := fresh; d.Failures = 3; return d }(),
			obs:   reroute.Observation{Now: at(0), EdgeErr: reroute.Errorf(reroute.CodeUnavailable, "edge_unavailable", "slow down")},
			state: reroute.DomainPendingDNS, next: 8 * time.Minute, failures: 4},
		{name: "active stays active when the edge fails", domain: active, obs: reroute.Observation{Now: at(5 * time.Hour),
			EdgeErr: reroute.Errorf(reroute.CodeUnavailable, "edge_unavailable", "down")},
			state: reroute.DomainActive, verified: true, next: time.Minute, failures: 1},
		{name: "unverified past ReleaseAt: released", domain: fresh, obs: reroute.Observation{Now: at(7 * 24 * time.Hour), DNS: missing, Edge: pending},
			release: true, state: reroute.DomainPendingDNS, wantRefs: refs},
		{name: "verified past ReleaseAt: kept", domain: verified, obs: reroute.Observation{Now: at(8 * 24 * time.Hour), DNS: missing, Edge: pending},
			state: reroute.DomainPendingDNS, verified: true, next: 30 * time.Minute, wantRefs: refs},
		{name: "ownership record just in time: kept", domain: fresh, obs: reroute.Observation{Now: at(7 * 24 * time.Hour), DNS: missing, Edge: pending, OwnershipProven: true},
			state: reroute.DomainPendingDNS, verified: true, next: 30 * time.Minute, wantRefs: refs},
		{name: "wildcard waits for its validation record", host: "*.example.com", domain: fresh,
			obs:   reroute.Observation{Now: at(0), DNS: pointing, Edge: wildPending},
			state: reroute.DomainPendingCertificate, reason: "validation record", verified: true, next: 2 * time.Minute, wantRefs: wildRefs, wantRecords: 1},
		{name: "wildcard without CNAME is told both", host: "*.example.com", domain: fresh,
			obs:   reroute.Observation{Now: at(0), DNS: missing, Edge: wildPending},
			state: reroute.DomainPendingDNS, reason: "Also create the certificate validation record", next: 2 * time.Minute, wantRefs: wildRefs, wantRecords: 1},
		{name: "wildcard certificate issued verifies", host: "*.example.com", domain: fresh,
			obs:   reroute.Observation{Now: at(0), DNS: missing, Edge: wildIssued},
			state: reroute.DomainPendingDNS, verified: true, next: 2 * time.Minute, wantRefs: wildIssued.Refs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host
			if host == "" {
				host = "www.example.com"
			}
			r := reroute.Route{Host: host, OrgID: "o1", CreatedAt: created, Domain: tc.domain}
			step := policy.Advance(r, target, tc.obs)
			d := step.Domain
			if step.Release != tc.release {
				t.Fatalf("release = %v, want %v", step.Release, tc.release)
			}
			if d.State != tc.state {
				t.Errorf("state = %s, want %s (reason %q)", d.State, tc.state, d.Reason)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason = %q, want it to contain %q", d.Reason, tc.reason)
			}
			if tc.state == reroute.DomainActive && d.Reason != "" {
				t.Errorf("an active domain has reason %q", d.Reason)
			}
			if d.Verified() != tc.verified {
				t.Errorf("verified = %v, want %v", d.Verified(), tc.verified)
			}
			if !tc.release {
				var next time.Duration
				if !d.NextCheckAt.IsZero() {
					next = d.NextCheckAt.Sub(tc.obs.Now)
				}
				if next != tc.next {
					t.Errorf("next check in %s, want %s", next, tc.next)
				}
			}
			if d.Failures != tc.failures {
				t.Errorf("failures = %d, want %d", d.Failures, tc.failures)
			}
			if tc.obs.Edge != nil && d.Refs != tc.wantRefs {
				t.Errorf("refs = %+v, want %+v", d.Refs, tc.wantRefs)
			}
			if len(d.CertificateRecords) != tc.wantRecords {
				t.Errorf("certificate records = %v, want %d", d.CertificateRecords, tc.wantRecords)
			}
			if !d.CheckedAt.Equal(tc.obs.Now) {
				t.Errorf("checkedAt = %s", d.CheckedAt)
			}
			// Advancing is a function of its inputs: the same look gives the same step.
			if again := policy.Advance(r, target, tc.obs); again.Domain.State != d.State || again.Release != step.Release ||
				!again.Domain.NextCheckAt.Equal(d.NextCheckAt) {
				t.Errorf("a second advance differs: %+v", again)
			}
		})
	}
}

func TestNewDomain(t *testing.T) {
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	d := reroute.DomainPolicy{}.NewDomain("go.example.com", "d1.cloudfront.net", now)
	if d.State != reroute.DomainPendingDNS || !d.NextCheckAt.Equal(now) || !d.ReleaseAt.Equal(now.Add(reroute.DefaultReleaseAfter)) || d.Verified() {
		t.Fatalf("new domain = %+v", d)
	}
	if !strings.Contains(d.Reason, "go.example.com") || !strings.Contains(d.Reason, "d1.cloudfront.net") {
		t.Errorf("reason %q does not name the record", d.Reason)
	}
}

func TestOwnershipRecord(t *testing.T) {
	a := reroute.OwnershipRecord("org1", "www.example.com")
	if a.Type != "TXT" || a.Name != "_dnsreroute.www.example.com" || !strings.HasPrefix(a.Value, "dnsreroute-verification=") || a.Purpose != reroute.PurposeOwnership {
		t.Fatalf("record = %+v", a)
	}
	if a != reroute.OwnershipRecord("org1", "www.example.com") {
		t.Error("the record is not stable")
	}
	if b := reroute.OwnershipRecord("org2", "www.example.com"); b.Value == a.Value {
		t.Error("two orgs get the same token")
	}
	if w := reroute.OwnershipRecord("org1", "*.example.com"); w.Name != "_dnsreroute.example.com" || w.Value == reroute.OwnershipRecord("org1", "example.com").Value {
		t.Errorf("wildcard record = %+v", w)
	}
}
