// Package edge registers customer hostnames with the CDN in front of the
// redirector: a CloudFront distribution tenant per hostname on the stack's
// multi-tenant distribution, with a CloudFront-managed certificate for an exact
// hostname and an ACM certificate of its own for a wildcard. Local is the same
// contract for a stack without a CDN.
package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Config says which distribution the tenants belong to.
type Config struct {
	// DistributionID is the multi-tenant distribution every tenant is made from.
	DistributionID string
	// ConnectionGroupID is the connection group whose routing endpoint customers'
	// CNAMEs point at.
	ConnectionGroupID string
	// Endpoint is one base URL for both CloudFront and ACM (tests point it at
	// awsfake); empty on AWS.
	Endpoint string
	// Retryer, when set, replaces the retryer of awsCfg (tests use one that
	// waits milliseconds).
	Retryer func() aws.Retryer
}

// CloudFront is the Edge on CloudFront SaaS Manager. It keeps no state of its
// own: everything it knows comes back in EdgeRefs, so any instance can carry on
// where another stopped. It is safe for concurrent use.
type CloudFront struct {
	cf  *cloudfront.Client
	acm *acm.Client
	cfg Config
}

var _ reroute.Edge = (*CloudFront)(nil)

// certificateRegion is where CloudFront looks for certificates, whatever the
// stack's region.
const certificateRegion = "us-east-1"

// NewCloudFront returns the edge for cfg's distribution.
func NewCloudFront(awsCfg aws.Config, cfg Config) *CloudFront {
	if cfg.Retryer != nil {
		awsCfg.Retryer = cfg.Retryer
	}
	cf := cloudfront.NewFromConfig(awsCfg, func(o *cloudfront.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	ac := acm.NewFromConfig(awsCfg, func(o *acm.Options) {
		o.Region = certificateRegion
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &CloudFront{cf: cf, acm: ac, cfg: cfg}
}

// Tenant and domain states as CloudFront spells them.
const (
	tenantDeployed = "Deployed"
)

// DistributionTag is the tag key on every tenant and certificate the edge
// creates; its value is Config.DistributionID. IAM policies scope what the
// service may change or delete to resources carrying it.
const DistributionTag = "dnsreroute:distribution"

// Ensure implements reroute.Edge. An exact host's tenant is created only once
// dnsReady: its certificate is requested with ValidationTokenHost "cloudfront",
// which CloudFront documents as the choice for a domain whose DNS points at
// CloudFront already, and it refuses the tenant (400 InvalidArgument, "Could
// not verify Domain Name ownership") before then.
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ManagedCertificateRequest.html
func (e *CloudFront) Ensure(ctx context.Context, host string, refs reroute.EdgeRefs, dnsReady bool) (reroute.EdgeReport, error) {
	if isWildcard(host) {
		return e.ensureWildcard(ctx, host, refs, dnsReady)
	}
	if refs.TenantID == "" && !dnsReady {
		// Nothing to ask CloudFront before the CNAME is there.
		return reroute.EdgeReport{Refs: refs, AwaitingDNS: true}, nil
	}
	t, created, err := e.ensureTenant(ctx, host, &refs, "", dnsReady)
	var wait awaitingDNS
	if errors.As(err, &wait) {
		return reroute.EdgeReport{Refs: refs, AwaitingDNS: true, AwaitingReason: wait.reason}, nil
	}
	if err != nil {
		return reroute.EdgeReport{Refs: refs}, err
	}
	rep := reroute.EdgeReport{Refs: refs}
	if err := e.managedCertificate(ctx, host, t, created, dnsReady, &rep); err != nil {
		return rep, err
	}
	rep.Serving = serving(t.tenant, host) && rep.Certificate == reroute.CertificateIssued
	return rep, nil
}

// awaitingDNS is a tenant not created because host's DNS does not reach
// CloudFront yet: not an error to the caller, a state.
type awaitingDNS struct{ reason string }

func (a awaitingDNS) Error() string { return "waiting for DNS: " + a.reason }

// ownershipNotVerified reports CloudFront's refusal of a managed certificate
// request for a domain whose DNS does not point at it.
func ownershipNotVerified(err error) (string, bool) {
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidArgument" {
		return "", false
	}
	msg := ae.ErrorMessage()
	l := strings.ToLower(msg)
	return msg, strings.Contains(l, "verify domain name ownership") || strings.Contains(l, "pointing to a valid cloudfront resource")
}

// tenant is a distribution tenant with the ETag its next change must match.
type tenant struct {
	tenant *cftypes.DistributionTenant
	etag   *string
}

func (t tenant) id() string { return aws.ToString(t.tenant.Id) }

// ensureTenant finds or creates host's tenant, re-enables it and, for a
// wildcard, puts certARN on it. It updates refs.TenantID; created reports a
// tenant made by this call. Without mayCreate a missing tenant is awaitingDNS.
func (e *CloudFront) ensureTenant(ctx context.Context, host string, refs *reroute.EdgeRefs, certARN string, mayCreate bool) (t tenant, created bool, err error) {
	if refs.TenantID != "" {
		out, err := e.cf.GetDistributionTenant(ctx, &cloudfront.GetDistributionTenantInput{Identifier: aws.String(refs.TenantID)})
		switch {
		case apiCode(err) == "EntityNotFound":
			// Deleted behind our back (or by a Release that finished): start afresh.
			refs.TenantID = ""
		case err != nil:
			return t, false, e.fail(host, "get the tenant", err)
		default:
			t = tenant{out.DistributionTenant, out.ETag}
		}
	}
	if refs.TenantID == "" {
		t, created, err = e.findOrCreateTenant(ctx, host, certARN, mayCreate)
		if err != nil {
			return t, false, err
		}
		refs.TenantID = t.id()
	}

	needs := func(dt *cftypes.DistributionTenant) bool {
		return !aws.ToBool(dt.Enabled) || certARN != "" && tenantCertificate(dt) != certARN
	}
	if !needs(t.tenant) {
		return t, created, nil
	}
	t, err = e.updateTenant(ctx, host, t.id(), "enable the tenant", func(in *cloudfront.UpdateDistributionTenantInput, dt *cftypes.DistributionTenant) bool {
		if !needs(dt) {
			return false
		}
		in.Enabled = aws.Bool(true)
		if certARN != "" {
			in.Customizations = withCertificate(dt.Customizations, certARN)
		}
		return true
	})
	return t, created, err
}

// updateTenant changes tenant id as change says, on its latest state: it reads
// the tenant and its ETag just before the update, because CloudFront updates a
// tenant by itself (new ETag) whenever its managed certificate's status
// changes, and an update with an older ETag fails with 412 PreconditionFailed.
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ManagedCertificateDetails.html
// A change that lands between the read and the update is met by one more
// read. change edits the input built from the tenant as read and reports
// whether there is anything to update.
func (e *CloudFront) updateTenant(ctx context.Context, host, id, doing string, change func(*cloudfront.UpdateDistributionTenantInput, *cftypes.DistributionTenant) bool) (tenant, error) {
	for attempt := 1; ; attempt++ {
		out, err := e.cf.GetDistributionTenant(ctx, &cloudfront.GetDistributionTenantInput{Identifier: aws.String(id)})
		if err != nil {
			return tenant{}, e.fail(host, "get the tenant", err)
		}
		t := tenant{out.DistributionTenant, out.ETag}
		in := updateInput(t)
		if !change(in, t.tenant) {
			return t, nil
		}
		up, err := e.cf.UpdateDistributionTenant(ctx, in)
		if apiCode(err) == "PreconditionFailed" && attempt < 2 {
			continue
		}
		if err != nil {
			return t, e.fail(host, doing, err)
		}
		return tenant{up.DistributionTenant, up.ETag}, nil
	}
}

// tags are the tags of everything the edge creates. A create that carries
// tags is also authorized as tagging: cloudfront:TagResource for a tenant, as
// for CreateDistributionWithTags, and acm:AddTagsToCertificate for a
// certificate.
func (e *CloudFront) tags() []cftypes.Tag {
	return []cftypes.Tag{{Key: aws.String(DistributionTag), Value: aws.String(e.cfg.DistributionID)}}
}

// findOrCreateTenant adopts the tenant CloudFront already holds for host (a
// create whose answer was lost, or one made by hand) or, with mayCreate,
// creates one.
func (e *CloudFront) findOrCreateTenant(ctx context.Context, host, certARN string, mayCreate bool) (tenant, bool, error) {
	if t, ok, err := e.tenantByDomain(ctx, host); err != nil || ok {
		return t, false, err
	}
	if !mayCreate {
		return tenant{}, false, awaitingDNS{}
	}
	in := &cloudfront.CreateDistributionTenantInput{
		DistributionId: aws.String(e.cfg.DistributionID),
		Name:           aws.String(TenantName(host)),
		Domains:        []cftypes.DomainItem{{Domain: aws.String(host)}},
		Enabled:        aws.Bool(true),
		Tags:           &cftypes.Tags{Items: e.tags()},
	}
	if e.cfg.ConnectionGroupID != "" {
		in.ConnectionGroupId = aws.String(e.cfg.ConnectionGroupID)
	}
	if certARN != "" {
		in.Customizations = &cftypes.Customizations{Certificate: &cftypes.Certificate{Arn: aws.String(certARN)}}
	} else {
		in.ManagedCertificateRequest = managedCertificateRequest(host)
	}
	out, err := e.cf.CreateDistributionTenant(ctx, in)
	if apiCode(err) == "EntityAlreadyExists" {
		// The name is taken: most likely our own earlier create, now visible.
		if t, ok, err := e.tenantByDomain(ctx, host); err != nil || ok {
			return t, false, err
		}
		return tenant{}, false, domainInUse(host, err)
	}
	if reason, ok := ownershipNotVerified(err); ok {
		return tenant{}, false, awaitingDNS{reason}
	}
	if err != nil {
		return tenant{}, false, e.fail(host, "create the tenant", err)
	}
	return tenant{out.DistributionTenant, out.ETag}, true, nil
}

// tenantByDomain finds the tenant of this account that holds host; one on
// another distribution makes host in use.
func (e *CloudFront) tenantByDomain(ctx context.Context, host string) (tenant, bool, error) {
	out, err := e.cf.GetDistributionTenantByDomain(ctx, &cloudfront.GetDistributionTenantByDomainInput{Domain: aws.String(host)})
	if apiCode(err) == "EntityNotFound" {
		return tenant{}, false, nil
	}
	if err != nil {
		return tenant{}, false, e.fail(host, "look the hostname up", err)
	}
	if aws.ToString(out.DistributionTenant.DistributionId) != e.cfg.DistributionID {
		return tenant{}, false, domainInUse(host, fmt.Errorf("tenant %s on distribution %s holds %s",
			aws.ToString(out.DistributionTenant.Id), aws.ToString(out.DistributionTenant.DistributionId), host))
	}
	return tenant{out.DistributionTenant, out.ETag}, true, nil
}

// managedCertificate reports an exact host's CloudFront-managed certificate
// and, with dnsReady, asks for a new one in place of one that gave up.
func (e *CloudFront) managedCertificate(ctx context.Context, host string, t tenant, created, dnsReady bool, rep *reroute.EdgeReport) error {
	out, err := e.cf.GetManagedCertificateDetails(ctx, &cloudfront.GetManagedCertificateDetailsInput{Identifier: aws.String(t.id())})
	var status cftypes.ManagedCertificateStatus
	switch {
	case apiCode(err) == "EntityNotFound":
		if created {
			// Asked for in the create; CloudFront may not show it yet.
			rep.Certificate = reroute.CertificatePending
			return nil
		}
		// An adopted tenant without a managed certificate.
		status = ""
	case err != nil:
		return e.fail(host, "read the certificate", err)
	default:
		if out.ManagedCertificateDetails != nil {
			status = out.ManagedCertificateDetails.CertificateStatus
		}
	}

	switch status {
	case cftypes.ManagedCertificateStatusIssued:
		rep.Certificate = reroute.CertificateIssued
		return nil
	case cftypes.ManagedCertificateStatusPendingValidation:
		rep.Certificate = reroute.CertificatePending
		return nil
	case cftypes.ManagedCertificateStatusRevoked:
		// Revocation is deliberate; asking again would only repeat it.
		rep.Certificate, rep.CertificateReason = reroute.CertificateFailed, string(status)
		return nil
	}
	if !dnsReady {
		if status == "" {
			rep.Certificate = reroute.CertificateNone
		} else {
			rep.Certificate, rep.CertificateReason = reroute.CertificateFailed, string(status)
		}
		return nil
	}
	// Failed, timed out, expired, inactive or missing, and DNS now points here:
	// ask for a new one; CloudFront validates it over HTTP through the tenant.
	_, err = e.updateTenant(ctx, host, t.id(), "request a new certificate", func(in *cloudfront.UpdateDistributionTenantInput, _ *cftypes.DistributionTenant) bool {
		in.ManagedCertificateRequest = managedCertificateRequest(host)
		if c := in.Customizations; c != nil && c.Certificate != nil {
			// A tenant takes its own certificate or a managed one, not both.
			cc := *c
			cc.Certificate = nil
			in.Customizations = &cc
		}
		return true
	})
	if reason, ok := ownershipNotVerified(err); ok {
		// CloudFront does not see the CNAME yet: the old status stands.
		rep.Certificate, rep.CertificateReason = reroute.CertificateFailed, string(status)
		if status == "" {
			rep.Certificate = reroute.CertificateNone
		}
		rep.AwaitingDNS, rep.AwaitingReason = true, reason
		return nil
	}
	if err != nil {
		return err
	}
	rep.Certificate = reroute.CertificatePending
	return nil
}

// Release implements reroute.Edge: one step per call.
func (e *CloudFront) Release(ctx context.Context, host string, refs reroute.EdgeRefs) (reroute.EdgeRefs, error) {
	if refs.TenantID != "" {
		out, err := e.cf.GetDistributionTenant(ctx, &cloudfront.GetDistributionTenantInput{Identifier: aws.String(refs.TenantID)})
		switch {
		case apiCode(err) == "EntityNotFound":
			refs.TenantID = ""
		case err != nil:
			return refs, e.fail(host, "get the tenant", err)
		case aws.ToBool(out.DistributionTenant.Enabled):
			_, err := e.updateTenant(ctx, host, refs.TenantID, "disable the tenant", func(in *cloudfront.UpdateDistributionTenantInput, dt *cftypes.DistributionTenant) bool {
				in.Enabled = aws.Bool(false)
				return aws.ToBool(dt.Enabled)
			})
			if apiCode(err) == "EntityNotFound" {
				refs.TenantID = ""
				err = nil
			}
			return refs, err
		case aws.ToString(out.DistributionTenant.Status) != tenantDeployed:
			// CloudFront refuses to delete a tenant until its disabling is deployed.
			return refs, nil
		default:
			// The ETag read just above: CloudFront refuses an older one (412).
			_, err := e.cf.DeleteDistributionTenant(ctx, &cloudfront.DeleteDistributionTenantInput{
				Id: out.DistributionTenant.Id, IfMatch: out.ETag})
			switch code := apiCode(err); {
			case code == "ResourceNotDisabled" || code == "PreconditionFailed":
				return refs, nil // it changed meanwhile: the next call sees how
			case code == "EntityNotFound":
			case err != nil:
				return refs, e.fail(host, "delete the tenant", err)
			}
			refs.TenantID = ""
			return refs, nil
		}
	}
	// A wildcard's certificate goes last: CloudFront holds it while a tenant uses it.
	if refs.CertificateARN != "" {
		_, err := e.acm.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(refs.CertificateARN)})
		switch code := apiCode(err); {
		case code == "ResourceInUseException":
			return refs, nil
		case code == "ResourceNotFoundException":
		case err != nil:
			return refs, e.fail(host, "delete the certificate", err)
		}
		refs.CertificateARN = ""
	}
	return refs, nil
}

// VerifyDNS asks CloudFront whether host's DNS reaches the tenant, and says why
// not in words a customer can act on.
func (e *CloudFront) VerifyDNS(ctx context.Context, host string, refs reroute.EdgeRefs) (ok bool, reason string, err error) {
	if refs.TenantID == "" {
		return false, host + " is not registered with the CDN yet", nil
	}
	out, err := e.cf.VerifyDnsConfiguration(ctx, &cloudfront.VerifyDnsConfigurationInput{
		Domain: aws.String(host), Identifier: aws.String(refs.TenantID)})
	if err != nil {
		return false, "", e.fail(host, "verify DNS", err)
	}
	for _, c := range out.DnsConfigurationList {
		if d := aws.ToString(c.Domain); d != "" && !strings.EqualFold(d, host) {
			continue
		}
		why := strings.TrimSpace(aws.ToString(c.Reason))
		switch c.Status {
		case cftypes.DnsConfigurationStatusValid:
			return true, "", nil
		case cftypes.DnsConfigurationStatusInvalid:
			return false, withCause("CloudFront finds that "+host+" does not point at the service", why), nil
		default:
			return false, withCause("CloudFront could not check "+host+"'s DNS yet", why), nil
		}
	}
	return false, "CloudFront did not say whether " + host + " points at the service", nil
}

func withCause(s, why string) string {
	if why == "" {
		return s
	}
	return s + ": " + why
}

// ---- helpers

func isWildcard(host string) bool { return strings.HasPrefix(host, "*.") }

func managedCertificateRequest(host string) *cftypes.ManagedCertificateRequest {
	return &cftypes.ManagedCertificateRequest{
		ValidationTokenHost:                      cftypes.ValidationTokenHostCloudFront,
		PrimaryDomainName:                        aws.String(host),
		CertificateTransparencyLoggingPreference: cftypes.CertificateTransparencyLoggingPreferenceEnabled,
	}
}

// updateInput restates t in full: UpdateDistributionTenant replaces the
// tenant's settings with what it is given, so leaving a field out drops it.
func updateInput(t tenant) *cloudfront.UpdateDistributionTenantInput {
	in := &cloudfront.UpdateDistributionTenantInput{
		Id:                t.tenant.Id,
		IfMatch:           t.etag,
		DistributionId:    t.tenant.DistributionId,
		ConnectionGroupId: t.tenant.ConnectionGroupId,
		Customizations:    t.tenant.Customizations,
		Parameters:        t.tenant.Parameters,
		Enabled:           t.tenant.Enabled,
	}
	for _, d := range t.tenant.Domains {
		in.Domains = append(in.Domains, cftypes.DomainItem{Domain: d.Domain})
	}
	return in
}

func withCertificate(c *cftypes.Customizations, arn string) *cftypes.Customizations {
	var out cftypes.Customizations
	if c != nil {
		out = *c
	}
	out.Certificate = &cftypes.Certificate{Arn: aws.String(arn)}
	return &out
}

func tenantCertificate(t *cftypes.DistributionTenant) string {
	if t.Customizations == nil || t.Customizations.Certificate == nil {
		return ""
	}
	return aws.ToString(t.Customizations.Certificate.Arn)
}

// serving: deployed, enabled and host's domain active (the certificate is
// checked by the caller).
func serving(t *cftypes.DistributionTenant, host string) bool {
	if aws.ToString(t.Status) != tenantDeployed || !aws.ToBool(t.Enabled) {
		return false
	}
	for _, d := range t.Domains {
		if strings.EqualFold(aws.ToString(d.Domain), host) {
			return d.Status == cftypes.DomainStatusActive
		}
	}
	return false
}

// tenantNamePattern is CloudFront's rule for tenant names.
var tenantNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]{1,126}[a-zA-Z0-9]$`)

// TenantName is the tenant name for host: unique per host (names are unique in
// the account), exact and wildcard hosts apart ("h-example.com",
// "w-example.com" for "*.example.com"), within CloudFront's 128 characters
// of letters, digits, dots and hyphens; a longer or odd host is cut and given a
// hash of the whole.
func TenantName(host string) string {
	name := "h-" + host
	if isWildcard(host) {
		name = "w-" + strings.TrimPrefix(host, "*.")
	}
	if tenantNamePattern.MatchString(name) {
		return name
	}
	sum := sha256.Sum256([]byte(host))
	suffix := "-" + hex.EncodeToString(sum[:8])
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, name)
	if max := 128 - len(suffix); len(clean) > max {
		clean = clean[:max]
	}
	return clean + suffix
}

// ---- errors

// apiCode is the AWS error code in err, "" when there is none.
func apiCode(err error) string {
	if err == nil {
		return ""
	}
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func domainInUse(host string, cause error) error {
	e := reroute.Errorf(reroute.CodeConflict, "domain_in_use",
		"%s is already attached to another CloudFront distribution, perhaps in another AWS account: remove it there, then check again", host)
	e.Err = cause
	return e
}
