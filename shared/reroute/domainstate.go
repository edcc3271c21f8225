package reroute

import (
	"errors"
	"fmt"
	"time"
)

// DefaultReleaseAfter is how long a route may hold a hostname whose DNS never
// points at the service before it is released.
const DefaultReleaseAfter = 7 * 24 * time.Hour

// Check cadence: pending domains are looked at often while they are new (a
// customer who just created the CNAME is waiting), then less and less; failed ones
// hourly, since only the customer can move them on. Edge failures back off
// exponentially up to maxBackoff.
const (
	checkNew        = 2 * time.Minute
	checkDay        = 10 * time.Minute
	checkOld        = 30 * time.Minute
	checkFailed     = time.Hour
	firstBackoff    = time.Minute
	maxBackoff      = 30 * time.Minute
	newDomainPeriod = time.Hour
)

// DomainPolicy sets the timings of the domain lifecycle.
type DomainPolicy struct {
	// ReleaseAfter is how long an unverified route keeps its hostname; zero means
	// DefaultReleaseAfter.
	ReleaseAfter time.Duration
}

func (p DomainPolicy) releaseAfter() time.Duration {
	if p.ReleaseAfter <= 0 {
		return DefaultReleaseAfter
	}
	return p.ReleaseAfter
}

// NewDomain is the domain of a route created at now: waiting for DNS, due for a
// first look at once, released at now+ReleaseAfter unless verified by then.
func (p DomainPolicy) NewDomain(host, cnameTarget string, now time.Time) Domain {
	return Domain{
		State:       DomainPendingDNS,
		Reason:      fmt.Sprintf("Create a CNAME record %s pointing at %s.", host, cnameTarget),
		ReleaseAt:   now.Add(p.releaseAfter()),
		NextCheckAt: now,
	}
}

// Observation is what one look at a route's domain found. A nil DNS or Edge was not
// looked at, or could not be (DNS unreachable); EdgeErr is the edge's failure.
type Observation struct {
	Now             time.Time
	DNS             *DNSCheck
	OwnershipProven bool
	Edge            *EdgeReport
	EdgeErr         error
}

// Step is the outcome of advancing a domain.
type Step struct {
	Domain Domain
	// Release: the route never showed control of its hostname in time and is to be
	// removed, its edge refs released.
	Release bool
}

// Advance moves r's domain on from what o found. It is a pure function of its
// inputs: the same route and observation give the same step, so advancing twice
// is harmless.
func (p DomainPolicy) Advance(r Route, cnameTarget string, o Observation) Step {
	d := r.Domain
	now := o.Now
	d.CheckedAt = now
	if o.Edge != nil {
		d.Refs = o.Edge.Refs
		d.CertificateRecords = o.Edge.ValidationRecords
	}
	if !d.Verified() && controlShown(r.Host, o) {
		d.VerifiedAt = now
	}
	if !d.Verified() && !d.ReleaseAt.IsZero() && !now.Before(d.ReleaseAt) {
		return Step{Domain: d, Release: true}
	}

	var e *Error
	switch {
	case o.EdgeErr != nil && errors.As(o.EdgeErr, &e) && (e.Code == CodeConflict || e.Code == CodeInvalid):
		d.State, d.Reason, d.Failures = DomainFailed, e.Message, 0
		d.NextCheckAt = now.Add(checkFailed)
		return Step{Domain: d}
	case o.EdgeErr != nil || o.Edge == nil:
		// The edge could not be asked: the state stands, looked at again soon.
		if d.State == "" {
			d.State = DomainPendingDNS
		}
		d.Failures++
		d.NextCheckAt = now.Add(backoff(d.Failures))
		return Step{Domain: d}
	}
	d.Failures = 0
	edge := o.Edge
	switch {
	case edge.Serving:
		d.State, d.Reason, d.NextCheckAt = DomainActive, "", time.Time{}
		return Step{Domain: d}
	case o.DNS != nil && !o.DNS.CAAAllowsAmazon:
		d.State, d.Reason = DomainFailed, firstError(o.DNS, "A CAA record forbids Amazon's certificate authority.")
	case edge.AwaitingDNS && o.DNS != nil && o.DNS.PointsAtUs:
		// Our lookup sees the CNAME but the edge does not yet: a new record takes
		// a while to reach every resolver. Looked at again soon.
		d.State = DomainPendingDNS
		d.Reason = fmt.Sprintf("DNS points here; waiting for the CDN to see the CNAME %s -> %s too, which usually takes a few minutes.", r.Host, cnameTarget)
		if edge.AwaitingReason != "" {
			d.Reason += " The CDN said: " + edge.AwaitingReason
		}
		d.NextCheckAt = now.Add(checkNew)
		return Step{Domain: d}
	case edge.Certificate == CertificateFailed:
		d.State = DomainFailed
		d.Reason = fmt.Sprintf("The certificate for %s could not be issued (%s). Make sure %s points at %s and that no CAA record forbids amazon.com, then check DNS again.",
			r.Host, edge.CertificateReason, r.Host, cnameTarget)
	case o.DNS != nil && !o.DNS.PointsAtUs:
		d.State, d.Reason = DomainPendingDNS, firstError(o.DNS, fmt.Sprintf("Create a CNAME record %s pointing at %s.", r.Host, cnameTarget))
		if len(edge.ValidationRecords) > 0 && edge.Certificate == CertificatePending {
			d.Reason += " Also create the certificate validation record shown with the route."
		}
	case edge.AwaitingDNS && d.State != DomainPendingDNS:
		// DNS could not be looked up and the edge holds nothing: back to the start.
		d.State, d.Reason = DomainPendingDNS, fmt.Sprintf("Create a CNAME record %s pointing at %s.", r.Host, cnameTarget)
	case edge.Certificate == CertificatePending && len(edge.ValidationRecords) > 0:
		d.State = DomainPendingCertificate
		d.Reason = "Create the certificate validation record shown with the route; the certificate is issued a few minutes after it appears in DNS."
	case o.DNS == nil && d.State == DomainPendingDNS:
		// DNS could not be looked up: nothing says it changed.
	default:
		d.State = DomainPendingCertificate
		d.Reason = "DNS points here. The certificate is being issued and the hostname deployed to the edge; this usually takes a few minutes."
	}
	d.NextCheckAt = now.Add(p.interval(r, d))
	return Step{Domain: d}
}

// controlShown reports whether o shows the route's org controls host: its DNS
// points here, its ownership record is there, or the edge validated it (an exact
// host's certificate is validated over HTTP through the CNAME, a wildcard's
// through a DNS record in the customer's zone).
func controlShown(host string, o Observation) bool {
	switch {
	case o.OwnershipProven, o.DNS != nil && o.DNS.PointsAtUs, o.Edge != nil && o.Edge.Serving:
		return true
	case o.Edge != nil && IsWildcard(host) && o.Edge.Certificate == CertificateIssued:
		return true
	}
	return false
}

// interval is how long until a domain in state d is looked at again.
func (p DomainPolicy) interval(r Route, d Domain) time.Duration {
	if d.State == DomainFailed {
		return checkFailed
	}
	created := r.CreatedAt
	if created.IsZero() && !d.ReleaseAt.IsZero() {
		created = d.ReleaseAt.Add(-p.releaseAfter())
	}
	switch age := d.CheckedAt.Sub(created); {
	case d.State == DomainPendingCertificate || age < newDomainPeriod:
		return checkNew
	case age < 24*time.Hour:
		return checkDay
	}
	return checkOld
}

// backoff is the wait after the n-th consecutive edge failure.
func backoff(n int) time.Duration {
	d := firstBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// firstError is the first error finding's message, or fallback.
func firstError(c *DNSCheck, fallback string) string {
	for _, f := range c.Findings {
		if f.Level == FindingError {
			return f.Message
		}
	}
	return fallback
}
