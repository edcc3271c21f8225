package reroute

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"
)

// DomainState is where a route's hostname stands on its way to serving HTTPS at
// the edge.
type DomainState string

const (
	// DomainPendingDNS: the hostname does not point at the service yet (no CNAME).
	DomainPendingDNS DomainState = "pending_dns"
	// DomainPendingCertificate: DNS is right; the certificate is being issued or
	// the edge is deploying the hostname.
	DomainPendingCertificate DomainState = "pending_certificate"
	// DomainActive: the edge serves the hostname over HTTPS.
	DomainActive DomainState = "active"
	// DomainFailed: something the customer must fix; Reason says what.
	DomainFailed DomainState = "failed"
)

// Purposes of the DNS records a customer creates.
const (
	PurposeRouting     = "routing"     // sends the hostname's traffic to the service
	PurposeCertificate = "certificate" // lets the certificate authority validate the hostname
	PurposeOwnership   = "ownership"   // proves control of the hostname, to claim or protect it
)

// DNSRecord is a record a customer creates at their DNS provider.
type DNSRecord struct {
	Type    string // "CNAME", "TXT"
	Name    string
	Value   string
	Purpose string
}

// EdgeRefs name what the edge holds for a hostname. They belong to the hostname,
// not to the route: a claimed route keeps them, and releasing them outlives it.
type EdgeRefs struct {
	TenantID       string // the CloudFront distribution tenant
	CertificateARN string // a wildcard's own DNS-validated certificate (exact hosts use a managed one)
}

// IsZero reports whether the edge holds nothing.
func (r EdgeRefs) IsZero() bool { return r.TenantID == "" && r.CertificateARN == "" }

// Domain is a route's hostname as the edge serves it.
type Domain struct {
	State DomainState
	// Reason says, in words a customer can act on, why the domain is pending or
	// failed; empty when active.
	Reason string
	Refs   EdgeRefs
	// CertificateRecords are the validation records a wildcard's certificate waits
	// for (exact hostnames are validated over HTTP and need none).
	CertificateRecords []DNSRecord
	// VerifiedAt is when the hostname was first seen under its org's control: its
	// DNS pointing at the service, its ownership record, or a wildcard's issued
	// certificate. A verified route is never released or claimed.
	VerifiedAt time.Time
	// ReleaseAt is when an unverified route is released, freeing its hostname.
	ReleaseAt time.Time
	// CheckedAt is the last time the domain was advanced; NextCheckAt when it is
	// due again (zero: nothing left to do).
	CheckedAt   time.Time
	NextCheckAt time.Time
	// Failures counts consecutive attempts that could not reach the edge, for
	// backing off.
	Failures int
}

// Verified reports whether the hostname was ever shown to be under the route's
// org's control.
func (d Domain) Verified() bool { return !d.VerifiedAt.IsZero() }

// ---- the edge

// CertificateStatus is where a hostname's certificate stands.
type CertificateStatus string

const (
	CertificateNone    CertificateStatus = ""                   // not requested yet
	CertificatePending CertificateStatus = "pending_validation" // requested, waiting for validation
	CertificateIssued  CertificateStatus = "issued"
	// CertificateFailed: the certificate authority gave up (validation timed out,
	// CAA forbids it, revoked, expired). Ensure with dnsReady requests a new one.
	CertificateFailed CertificateStatus = "failed"
)

// EdgeReport is what the edge holds for a hostname, as Ensure found it.
type EdgeReport struct {
	Refs        EdgeRefs
	Certificate CertificateStatus
	// CertificateReason is the edge's word for a certificate that failed or waits
	// ("validation-timed-out", "CAA_ERROR").
	CertificateReason string
	// ValidationRecords are the DNS records a certificate waits for (wildcards).
	ValidationRecords []DNSRecord
	// Serving is true once the edge serves the hostname over HTTPS: the tenant is
	// deployed and enabled, its domain active and its certificate issued.
	Serving bool
	// AwaitingDNS: the edge registers host only once host's DNS points at it,
	// and nothing is registered yet. An exact host's tenant is created with a
	// certificate CloudFront validates over HTTP through the customer's CNAME,
	// so CloudFront refuses it before that CNAME reaches CloudFront.
	// AwaitingReason is the edge's own word when it was asked and refused
	// (its DNS view lags ours while a new record spreads).
	AwaitingDNS    bool
	AwaitingReason string
}

// Edge registers hostnames with the CDN in front of the redirector and releases
// them. Errors carry codes: CodeUnavailable for throttling and outages (try
// again later), CodeConflict "domain_in_use" for a hostname another distribution
// (perhaps another AWS account) holds, CodeInvalid for one the edge refuses.
type Edge interface {
	// Ensure makes host known to the edge and moves it on, creating what is
	// missing (a wildcard's certificate first, its tenant once the certificate is
	// issued; an exact host's tenant only with dnsReady, reporting AwaitingDNS
	// until then), re-enabling a disabled tenant, adopting one the edge already
	// holds for host, and reports where it stands. It is idempotent: called again
	// with the refs it returned, it creates nothing twice. dnsReady says our own
	// lookup sees host pointing at the service (the CNAME target); with it a
	// failed or timed-out certificate is also requested anew.
	Ensure(ctx context.Context, host string, refs EdgeRefs, dnsReady bool) (EdgeReport, error)
	// Release removes what the edge holds for host, one step per call (a tenant
	// is disabled, then deleted once the edge has deployed that), and returns what
	// is left: zero refs once nothing is.
	Release(ctx context.Context, host string, refs EdgeRefs) (EdgeRefs, error)
	// VerifyDNS asks the edge whether host's DNS reaches it (CloudFront's own
	// check); reason says what is wrong, in words a customer can act on.
	VerifyDNS(ctx context.Context, host string, refs EdgeRefs) (ok bool, reason string, err error)
}

// ---- DNS

// DNSLookup is what public DNS answered for a hostname, and for the service's
// CNAME target, at one moment.
type DNSLookup struct {
	// Name is the name looked up: the route's host, or for a wildcard route a
	// random name under it.
	Name string
	// NXDomain: the name does not exist at all.
	NXDomain bool
	// CNAMEs is the chain of CNAME targets followed from Name, in order.
	CNAMEs []string
	// Addresses are the A and AAAA addresses at the end of the chain.
	Addresses []string
	// TargetAddresses are the CNAME target's own addresses, to recognise a
	// flattened record (ALIAS, ANAME, CNAME flattening at the apex).
	TargetAddresses []string
	// CAA is the CAA record set that governs Name (the closest one up the tree),
	// found at CAAName.
	CAA     []CAARecord
	CAAName string
}

// CAARecord is one CAA record.
type CAARecord struct {
	Flag  uint8
	Tag   string // "issue", "issuewild", "iodef"
	Value string
}

// DNSResolver looks hostnames up in public DNS. An error means DNS could not be
// asked (the resolver is unreachable or failing); an answer that the name does not
// exist or has no such records is not an error.
type DNSResolver interface {
	// LookupDomain looks name up: its CNAME chain and addresses, the CAA records
	// governing it, and cnameTarget's addresses.
	LookupDomain(ctx context.Context, name, cnameTarget string) (DNSLookup, error)
	// LookupTXT returns the TXT strings at name (each record's strings joined).
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Finding levels.
const (
	FindingOK      = "ok"
	FindingWarning = "warning"
	FindingError   = "error"
)

// Finding is one thing a DNS check found, right or wrong, said so a customer can act.
type Finding struct {
	Level   string // FindingOK, FindingWarning, FindingError
	Code    string // stable: "cname_ok", "cname_missing", "cname_wrong_target", "caa_forbids_amazon", ...
	Message string
}

// DNSCheck is a DNS lookup judged against what the service needs.
type DNSCheck struct {
	// PointsAtUs: the name reaches the service, through a CNAME chain or a
	// flattened record resolving to the target's addresses.
	PointsAtUs bool
	// CAAAllowsAmazon: no CAA record stops Amazon's certificate authority.
	CAAAllowsAmazon bool
	Findings        []Finding
}

// OK reports whether nothing is wrong.
func (c DNSCheck) OK() bool { return c.PointsAtUs && c.CAAAllowsAmazon }

// ---- ownership

// ownershipLabel is the label under which an ownership record lives.
const ownershipLabel = "_dnsreroute."

// OwnershipRecord is the TXT record that proves orgID controls host's DNS, which
// lets it claim host from another org's unverified route, and verifies its own.
// A wildcard's record lives under its base ("_dnsreroute.example.com" for
// "*.example.com"): a wildcard label cannot hold records of its own. The value is
// derived from the org and host, so it needs no storing and proves nothing for
// any other org.
func OwnershipRecord(orgID, host string) DNSRecord {
	sum := sha256.Sum256([]byte("dnsreroute-ownership\x00" + orgID + "\x00" + host))
	token := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20]))
	return DNSRecord{Type: "TXT", Name: ownershipLabel + strings.TrimPrefix(host, "*."),
		Value: "dnsreroute-verification=" + token, Purpose: PurposeOwnership}
}

// RoutingRecord is the CNAME that sends host's traffic to cnameTarget.
func RoutingRecord(host, cnameTarget string) DNSRecord {
	return DNSRecord{Type: "CNAME", Name: host, Value: cnameTarget, Purpose: PurposeRouting}
}

// ---- the store

// Release is what is left to remove at the edge for a hostname whose route is
// gone (deleted, released, or its org deleted).
type Release struct {
	Host string
	Refs EdgeRefs
	// OrgID and RouteCreatedAt name the route it came from.
	OrgID          string
	RouteCreatedAt time.Time
	NextCheckAt    time.Time
	Failures       int
}

// DomainWork is one thing due: a route's domain to advance, or a release to carry on.
type DomainWork struct {
	Route   *Route
	Release *Release
}

// DomainStore keeps the domain side of routes.
type DomainStore interface {
	// SaveDomain stores next as r's domain if the route is still the one read as r
	// (same org and creation) and its domain unchanged since (same CheckedAt):
	// CodeConflict "domain_changed" if it changed, CodeNotFound if it is gone.
	SaveDomain(ctx context.Context, r Route, next Domain) error
	// DueDomains lists up to limit routes and releases due at or before now, the
	// most overdue first.
	DueDomains(ctx context.Context, now time.Time, limit int) ([]DomainWork, error)
	// ReleaseRoute removes r from its org, as DeleteRoute does (its edge refs
	// queued for release), if it is still as read and unverified; CodeConflict
	// "route_verified" if it was verified meanwhile.
	ReleaseRoute(ctx context.Context, r Route) error
	// SaveRelease records what is left of rel after a step (next); zero refs
	// finish it. It holds only if the release is still as read.
	SaveRelease(ctx context.Context, rel Release, next Release) error
	// ClaimRoute gives held's hostname to claimant in one transaction: held,
	// another org's route, is removed from its org if still as read and
	// unverified, and claimant is stored and counted on its org within its plan
	// (CodeLimit "plan_limit_reached"), keeping the hostname's edge refs.
	// CodeConflict "route_verified" if held was verified meanwhile,
	// "host_taken" if it changed hands.
	ClaimRoute(ctx context.Context, held, claimant Route) error
}

// DomainCheck is a DNS check a customer asked for: what is right and wrong (the
// edge's own view among it), and the route as the check moved it on.
type DomainCheck struct {
	Findings []Finding
	OK       bool
	Route    Route
}

// Domains runs the custom-domain lifecycle of routes, for the API.
type Domains interface {
	// NewDomain is the domain a route created now starts with.
	NewDomain(host string) Domain
	// Refresh moves r's domain on now and returns the route as stored.
	Refresh(ctx context.Context, r Route) (Route, error)
	// Check moves r's domain on now and says what is right and wrong with its DNS.
	Check(ctx context.Context, r Route) (DomainCheck, error)
	// Claim gives host, held by another org's unverified route, to claimant,
	// whose org proved control with its ownership record: CodeConflict
	// "ownership_not_proven" without it, "host_taken" for a verified route.
	Claim(ctx context.Context, held, claimant Route) (Route, error)
}
