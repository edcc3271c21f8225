// Package awsfake is an in-process fake of the CloudFront SaaS Manager and ACM
// operations the edge uses, answering their wire shapes (CloudFront REST-XML,
// ACM awsJson1_1) so the real SDK clients run against it unchanged.
//
// It keeps tenants and certificates in memory and moves them only when a test
// says so: a tenant stays "InProgress" after every change until Deploy (or,
// with AutoDeploy, until it is next read), a managed certificate stays
// pending-validation until SetManagedCertificate, an ACM certificate
// PENDING_VALIDATION until IssueCertificate or FailCertificate. A domain is
// "active" while its tenant is enabled and its certificate issued.
//
// It refuses what CloudFront documents refusing: a tenant whose managed
// certificate CloudFront would validate (ValidationTokenHost "cloudfront")
// before the domain's DNS points at CloudFront (PointDNS, SetDNSCheck), an
// update or delete with an ETag older than the tenant's latest (a managed
// certificate's status change updates the tenant too), and deleting an enabled
// tenant. Tags sent on creation are kept and shown (Tenant.Tags,
// Certificate.Tags).
//
// Where CloudFront's documentation leaves a rule open the fake takes the strict
// reading: UpdateDistributionTenant replaces the connection group,
// customizations and parameters with what it is sent (Enabled, left out, is
// kept), and a tenant can be deleted only once it is disabled and deployed.
//
// All methods are safe for concurrent use.
package awsfake

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Account is the account id in the ARNs the fake makes.
const Account = "123456789012"

// Tenant is a distribution tenant as the fake holds it.
type Tenant struct {
	ID, ARN, Name     string
	DistributionID    string
	ConnectionGroupID string
	Domains           []string
	Enabled           bool
	Status            string // "InProgress" or "Deployed"
	// CertificateARN is the tenant's own certificate (Customizations); "" for none.
	CertificateARN string
	// ManagedCertificate is the status of its CloudFront-managed certificate
	// ("pending-validation", "issued", ...); "" for none.
	ManagedCertificate string
	ETag               string
	// Tags are the tags it was created with.
	Tags map[string]string
}

// Certificate is an ACM certificate as the fake holds it.
type Certificate struct {
	ARN, Domain   string
	Status        string // PENDING_VALIDATION, ISSUED, FAILED, ...
	FailureReason string
	InUseBy       []string
	// Tags are the tags it was requested with.
	Tags map[string]string
}

// Fake is a CloudFront and ACM endpoint.
type Fake struct {
	srv *httptest.Server

	mu          sync.Mutex
	seq         int
	tenants     map[string]*tenant // by id
	certs       map[string]*cert   // by ARN
	tokens      map[string]string  // idempotency token + domain -> ARN
	elsewhere   map[string]bool
	refused     map[string]string
	dns         map[string][2]string // domain -> status, reason
	throttle    int
	unavailable int
	autoDeploy  bool
	hideRecords int
	calls       map[string]int
	regions     map[string]string
	pointing    map[string]bool
	dnsCheck    func(domain string) bool
	// certReadChanges: every GetManagedCertificateDetails is followed by an
	// update of the tenant (ChangeTenantOnCertificateRead).
	certReadChanges bool
}

type tenant struct {
	id, arn, name, dist, group string
	domains                    []string
	enabled                    bool
	status                     string
	certARN                    string
	managed                    string
	managedARN                 string
	params                     [][2]string
	tags                       map[string]string
	version                    int
	created, modified          time.Time
}

func (t *tenant) etag() string {
	return fmt.Sprintf("E%dV%s", t.version, strings.TrimPrefix(t.id, "dt_"))
}

// change records a change: CloudFront deploys it from now on.
func (t *tenant) change() {
	t.touch()
	t.status = "InProgress"
}

// touch records an update of the tenant that needs no deployment (CloudFront
// recording its certificate's status): a new ETag.
func (t *tenant) touch() {
	t.version++
	t.modified = time.Now().UTC()
}

type cert struct {
	arn, domain, status, reason string
	token                       string
	tags                        map[string]string
	hidden                      int // DescribeCertificate answers left without records
	created, issued             time.Time
}

// New starts a fake; Close stops it.
func New() *Fake {
	f := &Fake{
		tenants:   map[string]*tenant{},
		certs:     map[string]*cert{},
		tokens:    map[string]string{},
		elsewhere: map[string]bool{},
		refused:   map[string]string{},
		dns:       map[string][2]string{},
		calls:     map[string]int{},
		regions:   map[string]string{},
		pointing:  map[string]bool{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the base URL for both services (edge.Config.Endpoint).
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// ---- knobs

// Throttle makes the next n requests, to either service, answer throttling
// errors (CloudFront 400 Throttling, ACM ThrottlingException).
func (f *Fake) Throttle(n int) { f.mu.Lock(); f.throttle = n; f.mu.Unlock() }

// FailNext makes the next n requests answer 503 ServiceUnavailable.
func (f *Fake) FailNext(n int) { f.mu.Lock(); f.unavailable = n; f.mu.Unlock() }

// UseElsewhere marks domain as held by another distribution, perhaps in
// another account: creating a tenant with it answers 409 CNAMEAlreadyExists.
func (f *Fake) UseElsewhere(domain string) { f.mu.Lock(); f.elsewhere[domain] = true; f.mu.Unlock() }

// RefuseDomain makes CloudFront refuse domain with 400 InvalidArgument and message.
func (f *Fake) RefuseDomain(domain, message string) {
	f.mu.Lock()
	f.refused[domain] = message
	f.mu.Unlock()
}

// PointDNS says domains' DNS now points at CloudFront (the customer's CNAME to
// the connection group's routing endpoint is visible): from now on a tenant
// may take a managed certificate validated by CloudFront for them.
func (f *Fake) PointDNS(domains ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range domains {
		f.pointing[strings.ToLower(d)] = true
	}
}

// SetDNSCheck makes fn the judge of whether a domain's DNS points at CloudFront
// (say, a look-up in the test's own DNS server), in place of PointDNS. fn is
// called while the fake is locked: it must not call the fake.
func (f *Fake) SetDNSCheck(fn func(domain string) bool) {
	f.mu.Lock()
	f.dnsCheck = fn
	f.mu.Unlock()
}

// ChangeTenantOnCertificateRead, on, updates a tenant (a new ETag) right after
// each GetManagedCertificateDetails for it, as CloudFront does when it records
// a certificate status that changed meanwhile: the race an update that reuses
// an ETag read earlier loses.
func (f *Fake) ChangeTenantOnCertificateRead(on bool) {
	f.mu.Lock()
	f.certReadChanges = on
	f.mu.Unlock()
}

// AddTenant puts a deployed, enabled tenant for domain on distributionID, as if
// made outside the service, with an issued managed certificate, and returns
// its id.
func (f *Fake) AddTenant(distributionID, domain string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.newTenant("seed-"+domain, distributionID, "", []string{domain})
	t.enabled, t.status = true, "Deployed"
	t.managed, t.managedARN = "issued", f.newARN("certificate/managed-")
	return t.id
}

// SetEnabled enables or disables domain's tenant, as a change to deploy.
func (f *Fake) SetEnabled(domain string, enabled bool) {
	f.withTenant(domain, func(t *tenant) { t.enabled = enabled; t.change() })
}

// RemoveTenant deletes domain's tenant outright, as if removed by hand.
func (f *Fake) RemoveTenant(domain string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.byDomain(domain); t != nil {
		delete(f.tenants, t.id)
	}
}

// Deploy finishes deploying domain's tenant.
func (f *Fake) Deploy(domain string) { f.withTenant(domain, func(t *tenant) { t.status = "Deployed" }) }

// AutoDeploy, on, deploys every tenant change the next time the tenant is
// read (GetDistributionTenant, GetDistributionTenantByDomain).
func (f *Fake) AutoDeploy(on bool) { f.mu.Lock(); f.autoDeploy = on; f.mu.Unlock() }

// SetManagedCertificate sets the status of domain's managed certificate:
// "issued", "failed", "validation-timed-out", "expired", ... CloudFront
// records the status on the tenant, so a change gives it a new ETag
// ("Your distribution tenant will be updated with the latest certificate
// status. When calling the UpdateDistributionTenant operation, use the latest
// value for the ETag."):
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ManagedCertificateDetails.html
func (f *Fake) SetManagedCertificate(domain, status string) {
	f.withTenant(domain, func(t *tenant) {
		if t.managed != status {
			t.managed = status
			t.touch()
		}
	})
}

// IssueCertificate issues the ACM certificate arn.
func (f *Fake) IssueCertificate(arn string) { f.setCert(arn, "ISSUED", "") }

// FailCertificate fails the ACM certificate arn with reason (e.g. CAA_ERROR).
func (f *Fake) FailCertificate(arn, reason string) { f.setCert(arn, "FAILED", reason) }

// SetCertificateStatus sets the status of the ACM certificate arn
// (VALIDATION_TIMED_OUT, EXPIRED, REVOKED, ...).
func (f *Fake) SetCertificateStatus(arn, status string) { f.setCert(arn, status, "") }

// HideValidationRecords makes certificates requested from now on answer their
// first n DescribeCertificate calls without validation records, as ACM does
// while it makes them.
func (f *Fake) HideValidationRecords(n int) { f.mu.Lock(); f.hideRecords = n; f.mu.Unlock() }

// SetDNSConfiguration sets what VerifyDnsConfiguration answers for domain:
// status "valid-configuration", "invalid-configuration" or
// "unknown-configuration", with reason. Unset domains are valid.
func (f *Fake) SetDNSConfiguration(domain, status, reason string) {
	f.mu.Lock()
	f.dns[domain] = [2]string{status, reason}
	f.mu.Unlock()
}

// Calls is how many requests for op (the API's operation name, e.g.
// "CreateDistributionTenant", "RequestCertificate") the fake handled; requests
// refused by Throttle or FailNext are not counted.
func (f *Fake) Calls(op string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls[op] }

// SigningRegion is the region in the SigV4 scope of the last request to
// service ("cloudfront", "acm").
func (f *Fake) SigningRegion(service string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.regions[service]
}

// Tenant returns domain's tenant.
func (f *Fake) Tenant(domain string) (Tenant, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.byDomain(domain)
	if t == nil {
		return Tenant{}, false
	}
	return Tenant{ID: t.id, ARN: t.arn, Name: t.name, DistributionID: t.dist, ConnectionGroupID: t.group,
		Domains: append([]string(nil), t.domains...), Enabled: t.enabled, Status: t.status,
		CertificateARN: t.certARN, ManagedCertificate: t.managed, ETag: t.etag(), Tags: maps.Clone(t.tags)}, true
}

// Tenants is how many tenants the fake holds.
func (f *Fake) Tenants() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.tenants) }

// Certificate returns the ACM certificate arn.
func (f *Fake) Certificate(arn string) (Certificate, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.certs[arn]
	if c == nil {
		return Certificate{}, false
	}
	return Certificate{ARN: c.arn, Domain: c.domain, Status: c.status, FailureReason: c.reason, InUseBy: f.inUseBy(arn),
		Tags: maps.Clone(c.tags)}, true
}

// Certificates is how many ACM certificates the fake holds.
func (f *Fake) Certificates() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.certs) }

// ---- state helpers (f.mu held)

func (f *Fake) withTenant(domain string, fn func(*tenant)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.byDomain(domain); t != nil {
		fn(t)
	}
}

func (f *Fake) setCert(arn, status, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.certs[arn]; c != nil {
		c.status, c.reason = status, reason
		if status == "ISSUED" {
			c.issued = time.Now().UTC()
		}
	}
}

// pointsAtCloudFront reports whether domain's DNS reaches CloudFront.
func (f *Fake) pointsAtCloudFront(domain string) bool {
	if f.dnsCheck != nil {
		return f.dnsCheck(domain)
	}
	return f.pointing[strings.ToLower(domain)]
}

func (f *Fake) byDomain(domain string) *tenant {
	for _, t := range f.tenants {
		for _, d := range t.domains {
			if strings.EqualFold(d, domain) {
				return t
			}
		}
	}
	return nil
}

// lookup finds a tenant by id, ARN or name, as CloudFront's Identifier allows.
func (f *Fake) lookup(ident string) *tenant {
	if t := f.tenants[ident]; t != nil {
		return t
	}
	for _, t := range f.tenants {
		if t.arn == ident || t.name == ident {
			return t
		}
	}
	return nil
}

func (f *Fake) next() int { f.seq++; return f.seq }

func (f *Fake) newARN(resource string) string {
	return fmt.Sprintf("arn:aws:acm:us-east-1:%s:%s%08x-0000-4000-8000-%012x", Account, resource, f.next(), f.seq)
}

func (f *Fake) newTenant(name, dist, group string, domains []string) *tenant {
	id := fmt.Sprintf("dt_%027d", f.next())
	now := time.Now().UTC()
	t := &tenant{id: id, arn: fmt.Sprintf("arn:aws:cloudfront::%s:distribution-tenant/%s", Account, id),
		name: name, dist: dist, group: group, domains: domains, enabled: true, status: "InProgress",
		version: 1, created: now, modified: now}
	if t.group == "" {
		t.group = "cg_default"
	}
	f.tenants[id] = t
	return t
}

func (f *Fake) inUseBy(arn string) []string {
	var by []string
	for _, t := range f.tenants {
		if t.certARN == arn {
			by = append(by, t.arn)
		}
	}
	return by
}

// certIssued: the tenant has a certificate that is issued.
func (f *Fake) certIssued(t *tenant) bool {
	if t.certARN != "" {
		c := f.certs[t.certARN]
		return c != nil && c.status == "ISSUED"
	}
	return t.managed == "issued"
}

// ---- HTTP

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if target := r.Header.Get("X-Amz-Target"); strings.HasPrefix(target, "CertificateManager.") {
		f.serveACM(w, r, strings.TrimPrefix(target, "CertificateManager."))
		return
	}
	f.serveCloudFront(w, r)
}

var scopeRE = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// admit applies the throttling and outage knobs and counts op; false means an
// error was answered.
func (f *Fake) admit(r *http.Request, op string) (throttled, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		f.regions[m[2]] = m[1]
	}
	switch {
	case f.throttle > 0:
		f.throttle--
		return true, false
	case f.unavailable > 0:
		f.unavailable--
		return false, true
	}
	f.calls[op]++
	return false, false
}
