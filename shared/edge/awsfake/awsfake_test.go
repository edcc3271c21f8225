package awsfake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"

	"github.com/dnsreroute/dnsreroute/shared/edge/awsfake"
)

// clients are the real SDK clients on a fake, retrying once without waiting.
func clients(t *testing.T) (*cloudfront.Client, *acm.Client, *awsfake.Fake) {
	t.Helper()
	f := awsfake.New()
	t.Cleanup(f.Close)
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-secret", ""),
		Retryer: func() aws.Retryer {
			return retry.AddWithMaxBackoffDelay(retry.NewStandard(func(o *retry.StandardOptions) {
				o.RateLimiter = ratelimit.None
			}), time.Millisecond)
		},
	}
	cf := cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) { o.BaseEndpoint = aws.String(f.URL()) })
	ac := acm.NewFromConfig(cfg, func(o *acm.Options) { o.BaseEndpoint = aws.String(f.URL()) })
	return cf, ac, f
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestTenantWireShapes(t *testing.T) {
	t.Parallel()
	cf, _, f := clients(t)
	ctx := context.Background()
	f.PointDNS("example.com")

	out, err := cf.CreateDistributionTenant(ctx, &cloudfront.CreateDistributionTenantInput{
		DistributionId:    aws.String("EDIST"),
		Name:              aws.String("h-example.com"),
		Tags:              &cftypes.Tags{Items: []cftypes.Tag{{Key: aws.String("dnsreroute:distribution"), Value: aws.String("EDIST")}}},
		ConnectionGroupId: aws.String("cg_1"),
		Domains:           []cftypes.DomainItem{{Domain: aws.String("example.com")}},
		Enabled:           aws.Bool(true),
		Parameters:        []cftypes.Parameter{{Name: aws.String("origin"), Value: aws.String("a")}},
		ManagedCertificateRequest: &cftypes.ManagedCertificateRequest{
			ValidationTokenHost: cftypes.ValidationTokenHostCloudFront, PrimaryDomainName: aws.String("example.com")},
	})
	if err != nil {
		t.Fatal(err)
	}
	dt := out.DistributionTenant
	if aws.ToString(out.ETag) == "" || aws.ToString(dt.Id) == "" || aws.ToString(dt.Status) != "InProgress" ||
		!aws.ToBool(dt.Enabled) || len(dt.Domains) != 1 || dt.Domains[0].Status != cftypes.DomainStatusInactive ||
		aws.ToString(dt.ConnectionGroupId) != "cg_1" || len(dt.Parameters) != 1 || dt.CreatedTime == nil {
		t.Fatalf("created tenant = %+v, etag %v", dt, aws.ToString(out.ETag))
	}
	if tn, _ := f.Tenant("example.com"); len(tn.Tags) != 1 || tn.Tags["dnsreroute:distribution"] != "EDIST" {
		t.Errorf("tags = %v, want the one sent", tn.Tags)
	}

	// The name is unique; the domain belongs to one tenant.
	_, err = cf.CreateDistributionTenant(ctx, &cloudfront.CreateDistributionTenantInput{
		DistributionId: aws.String("EDIST"), Name: aws.String("h-example.com"),
		Domains: []cftypes.DomainItem{{Domain: aws.String("other.example.com")}}})
	var exists *cftypes.EntityAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("same name: %v, want EntityAlreadyExists", err)
	}
	_, err = cf.CreateDistributionTenant(ctx, &cloudfront.CreateDistributionTenantInput{
		DistributionId: aws.String("EDIST"), Name: aws.String("again"),
		Domains: []cftypes.DomainItem{{Domain: aws.String("example.com")}}})
	var cname *cftypes.CNAMEAlreadyExists
	if !errors.As(err, &cname) {
		t.Errorf("same domain: %v, want CNAMEAlreadyExists", err)
	}

	// Identifier may be the id, the ARN or the name.
	for _, ident := range []string{aws.ToString(dt.Id), aws.ToString(dt.Arn), aws.ToString(dt.Name)} {
		if _, err := cf.GetDistributionTenant(ctx, &cloudfront.GetDistributionTenantInput{Identifier: aws.String(ident)}); err != nil {
			t.Errorf("get by %q: %v", ident, err)
		}
	}
	by, err := cf.GetDistributionTenantByDomain(ctx, &cloudfront.GetDistributionTenantByDomainInput{Domain: aws.String("example.com")})
	if err != nil || aws.ToString(by.DistributionTenant.Id) != aws.ToString(dt.Id) {
		t.Fatalf("by domain: %v", err)
	}
	_, err = cf.GetDistributionTenant(ctx, &cloudfront.GetDistributionTenantInput{Identifier: aws.String("dt_missing")})
	var nf *cftypes.EntityNotFound
	if !errors.As(err, &nf) {
		t.Errorf("missing: %v, want EntityNotFound", err)
	}

	mc, err := cf.GetManagedCertificateDetails(ctx, &cloudfront.GetManagedCertificateDetailsInput{Identifier: dt.Id})
	if err != nil || mc.ManagedCertificateDetails.CertificateStatus != cftypes.ManagedCertificateStatusPendingValidation ||
		len(mc.ManagedCertificateDetails.ValidationTokenDetails) != 1 {
		t.Fatalf("managed certificate = %+v, %v", mc, err)
	}
	f.SetManagedCertificate("example.com", "issued")
	f.Deploy("example.com")
	got, _ := cf.GetDistributionTenant(ctx, &cloudfront.GetDistributionTenantInput{Identifier: dt.Id})
	if got.DistributionTenant.Domains[0].Status != cftypes.DomainStatusActive || aws.ToString(got.DistributionTenant.Status) != "Deployed" {
		t.Errorf("issued and deployed: %+v", got.DistributionTenant)
	}

	// Updates and deletes match the latest ETag (the certificate's issue
	// changed it); deletes need a disabled, deployed tenant.
	if aws.ToString(got.ETag) == aws.ToString(out.ETag) {
		t.Error("the certificate's issue left the tenant's ETag as it was")
	}
	update := &cloudfront.UpdateDistributionTenantInput{Id: dt.Id, IfMatch: got.ETag, DistributionId: aws.String("EDIST"),
		ConnectionGroupId: aws.String("cg_1"), Domains: []cftypes.DomainItem{{Domain: aws.String("example.com")}}, Enabled: aws.Bool(false)}
	if _, err := cf.UpdateDistributionTenant(ctx, update); err != nil {
		t.Fatalf("update with the latest ETag: %v", err)
	}
	if _, err := cf.UpdateDistributionTenant(ctx, update); code(err) != "PreconditionFailed" {
		t.Errorf("stale ETag: %v, want PreconditionFailed", err)
	}
	got, _ = cf.GetDistributionTenant(ctx, &cloudfront.GetDistributionTenantInput{Identifier: dt.Id})
	_, err = cf.DeleteDistributionTenant(ctx, &cloudfront.DeleteDistributionTenantInput{Id: dt.Id, IfMatch: got.ETag})
	var notDisabled *cftypes.ResourceNotDisabled
	if !errors.As(err, &notDisabled) {
		t.Errorf("delete while deploying: %v, want ResourceNotDisabled", err)
	}
	f.Deploy("example.com")
	if _, err := cf.DeleteDistributionTenant(ctx, &cloudfront.DeleteDistributionTenantInput{Id: dt.Id, IfMatch: got.ETag}); err != nil {
		t.Errorf("delete: %v", err)
	}
	if f.Calls("DeleteDistributionTenant") != 2 || f.Tenants() != 0 {
		t.Errorf("deletes %d, tenants %d", f.Calls("DeleteDistributionTenant"), f.Tenants())
	}
}

// "If you use this API operation to delete a distribution tenant that is
// currently enabled, the request will fail": 409 ResourceNotDisabled.
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DeleteDistributionTenant.html
func TestDeleteEnabledTenant(t *testing.T) {
	t.Parallel()
	cf, _, f := clients(t)
	id := f.AddTenant("EDIST", "on.example.com")
	tn, _ := f.Tenant("on.example.com")
	_, err := cf.DeleteDistributionTenant(context.Background(), &cloudfront.DeleteDistributionTenantInput{Id: aws.String(id), IfMatch: aws.String(tn.ETag)})
	var re *awshttp.ResponseError
	if code(err) != "ResourceNotDisabled" || !errors.As(err, &re) || re.HTTPStatusCode() != 409 {
		t.Errorf("err = %v, want 409 ResourceNotDisabled", err)
	}
	if _, ok := f.Tenant("on.example.com"); !ok {
		t.Error("the enabled tenant was deleted")
	}
}

// A managed certificate requested with ValidationTokenHost "cloudfront" is for
// a domain that points at CloudFront already ("Choose this mode if you can
// point the domain's DNS to CloudFront immediately"):
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ManagedCertificateRequest.html
// Before it does, CloudFront answers 400 InvalidArgument "The provided Domain
// Name is not valid. Could not verify Domain Name ownership. It may not be
// pointing to a valid CloudFront resource." (as reported against the SDKs in
// https://github.com/aws/aws-sdk-php/issues/3129), on create and on an update
// that asks for a new certificate. A tenant carrying its own issued
// certificate is not checked: the certificate proves control of the domain.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/CNAMEs.html
func TestTenantBeforeDNSPointsAtCloudFront(t *testing.T) {
	t.Parallel()
	cf, ac, f := clients(t)
	ctx := context.Background()
	managed := func(host, name string) *cloudfront.CreateDistributionTenantInput {
		return &cloudfront.CreateDistributionTenantInput{DistributionId: aws.String("EDIST"), Name: aws.String(name),
			Domains: []cftypes.DomainItem{{Domain: aws.String(host)}}, Enabled: aws.Bool(true),
			ManagedCertificateRequest: &cftypes.ManagedCertificateRequest{
				ValidationTokenHost: cftypes.ValidationTokenHostCloudFront, PrimaryDomainName: aws.String(host)}}
	}
	const want = "The provided Domain Name is not valid. Could not verify Domain Name ownership. It may not be pointing to a valid CloudFront resource."
	refused := func(what string, err error) {
		t.Helper()
		var ae smithy.APIError
		var re *awshttp.ResponseError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidArgument" || ae.ErrorMessage() != want ||
			ae.ErrorFault() != smithy.FaultClient || !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
			t.Errorf("%s: %v, want 400 InvalidArgument %q", what, err, want)
		}
	}

	_, err := cf.CreateDistributionTenant(ctx, managed("early.example.com", "h-early.example.com"))
	refused("create before DNS", err)
	if f.Tenants() != 0 {
		t.Fatal("a refused create made a tenant")
	}
	// Self-hosted tokens are served by the customer: no DNS needed.
	self := managed("self.example.com", "h-self.example.com")
	self.ManagedCertificateRequest.ValidationTokenHost = cftypes.ValidationTokenHostSelfHosted
	if _, err := cf.CreateDistributionTenant(ctx, self); err != nil {
		t.Errorf("self-hosted token before DNS: %v", err)
	}

	// A test's own DNS decides, when given.
	pointing := map[string]bool{}
	f.SetDNSCheck(func(d string) bool { return pointing[d] })
	_, err = cf.CreateDistributionTenant(ctx, managed("early.example.com", "h-early.example.com"))
	refused("create with the DNS check saying no", err)
	pointing["early.example.com"] = true
	out, err := cf.CreateDistributionTenant(ctx, managed("early.example.com", "h-early.example.com"))
	if err != nil {
		t.Fatalf("create once DNS points at CloudFront: %v", err)
	}

	// A new certificate for a domain that no longer points there is refused too.
	pointing["early.example.com"] = false
	_, err = cf.UpdateDistributionTenant(ctx, &cloudfront.UpdateDistributionTenantInput{Id: out.DistributionTenant.Id, IfMatch: out.ETag,
		DistributionId: aws.String("EDIST"), Domains: []cftypes.DomainItem{{Domain: aws.String("early.example.com")}},
		ManagedCertificateRequest: &cftypes.ManagedCertificateRequest{ValidationTokenHost: cftypes.ValidationTokenHostCloudFront}})
	refused("a new managed certificate without DNS", err)

	// An issued certificate of the tenant's own needs no DNS.
	arn, err := ac.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String("*.wild.example.com"), ValidationMethod: acmtypes.ValidationMethodDns})
	if err != nil {
		t.Fatal(err)
	}
	f.IssueCertificate(aws.ToString(arn.CertificateArn))
	if _, err := cf.CreateDistributionTenant(ctx, &cloudfront.CreateDistributionTenantInput{DistributionId: aws.String("EDIST"),
		Name: aws.String("w-wild.example.com"), Domains: []cftypes.DomainItem{{Domain: aws.String("*.wild.example.com")}},
		Customizations: &cftypes.Customizations{Certificate: &cftypes.Certificate{Arn: arn.CertificateArn}}}); err != nil {
		t.Errorf("own certificate before DNS: %v", err)
	}
}

// Updates and deletes name the ETag they were read at; CloudFront refuses an
// older one with 412 PreconditionFailed and a missing one with 400
// InvalidIfMatchVersion.
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateDistributionTenant.html
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DeleteDistributionTenant.html
// A managed certificate's status change updates the tenant, so its ETag
// changes then too ("When calling the UpdateDistributionTenant operation, use
// the latest value for the ETag"):
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ManagedCertificateDetails.html
func TestStaleETag(t *testing.T) {
	t.Parallel()
	cf, _, f := clients(t)
	ctx := context.Background()
	id := f.AddTenant("EDIST", "etag.example.com")
	get := func() *cloudfront.GetDistributionTenantOutput {
		t.Helper()
		out, err := cf.GetDistributionTenant(ctx, &cloudfront.GetDistributionTenantInput{Identifier: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	update := func(etag *string) error {
		_, err := cf.UpdateDistributionTenant(ctx, &cloudfront.UpdateDistributionTenantInput{Id: aws.String(id), IfMatch: etag,
			DistributionId: aws.String("EDIST"), Domains: []cftypes.DomainItem{{Domain: aws.String("etag.example.com")}}, Enabled: aws.Bool(false)})
		return err
	}
	status := func(err error) int {
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			return re.HTTPStatusCode()
		}
		return 0
	}

	before := get()
	f.SetManagedCertificate("etag.example.com", "expired")
	after := get()
	if aws.ToString(before.ETag) == aws.ToString(after.ETag) {
		t.Fatal("a certificate status change left the ETag as it was")
	}
	if err := update(before.ETag); code(err) != "PreconditionFailed" || status(err) != 412 {
		t.Errorf("update with the ETag from before the certificate changed: %v, want 412 PreconditionFailed", err)
	}
	if err := update(aws.String("")); code(err) != "InvalidIfMatchVersion" || status(err) != 400 {
		t.Errorf("update without an ETag: %v, want 400 InvalidIfMatchVersion", err)
	}
	if err := update(after.ETag); err != nil {
		t.Fatalf("update with the latest ETag: %v", err)
	}
	f.Deploy("etag.example.com")
	_, err := cf.DeleteDistributionTenant(ctx, &cloudfront.DeleteDistributionTenantInput{Id: aws.String(id), IfMatch: after.ETag})
	if code(err) != "PreconditionFailed" || status(err) != 412 {
		t.Errorf("delete with the ETag from before the update: %v, want 412 PreconditionFailed", err)
	}
	if _, err := cf.DeleteDistributionTenant(ctx, &cloudfront.DeleteDistributionTenantInput{Id: aws.String(id), IfMatch: get().ETag}); err != nil {
		t.Errorf("delete with the latest ETag: %v", err)
	}

	// The knob for the race: a certificate read is followed by a tenant update.
	id2 := f.AddTenant("EDIST", "race.example.com")
	f.ChangeTenantOnCertificateRead(true)
	first, _ := f.Tenant("race.example.com")
	if _, err := cf.GetManagedCertificateDetails(ctx, &cloudfront.GetManagedCertificateDetailsInput{Identifier: aws.String(id2)}); err != nil {
		t.Fatal(err)
	}
	if second, _ := f.Tenant("race.example.com"); second.ETag == first.ETag {
		t.Error("ChangeTenantOnCertificateRead left the ETag as it was")
	}
}

// ACM keeps the tags a certificate is requested with, refusing keys that
// start with the reserved "aws:".
// https://docs.aws.amazon.com/acm/latest/userguide/tags-restrictions.html
func TestCertificateTags(t *testing.T) {
	t.Parallel()
	_, ac, f := clients(t)
	ctx := context.Background()
	out, err := ac.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String("*.tags.example.com"),
		ValidationMethod: acmtypes.ValidationMethodDns,
		Tags:             []acmtypes.Tag{{Key: aws.String("dnsreroute:distribution"), Value: aws.String("EDIST")}}})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := f.Certificate(aws.ToString(out.CertificateArn)); len(c.Tags) != 1 || c.Tags["dnsreroute:distribution"] != "EDIST" {
		t.Errorf("tags = %v", c.Tags)
	}
	_, err = ac.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String("*.aws.example.com"),
		ValidationMethod: acmtypes.ValidationMethodDns,
		Tags:             []acmtypes.Tag{{Key: aws.String("aws:owner"), Value: aws.String("me")}}})
	var bad *acmtypes.InvalidTagException
	if !errors.As(err, &bad) {
		t.Errorf("reserved tag key: %v, want InvalidTagException", err)
	}
}

func TestVerifyDnsConfiguration(t *testing.T) {
	t.Parallel()
	cf, _, f := clients(t)
	id := f.AddTenant("EDIST", "v.example.com")
	f.SetDNSConfiguration("v.example.com", "invalid-configuration", "no CNAME")
	out, err := cf.VerifyDnsConfiguration(context.Background(), &cloudfront.VerifyDnsConfigurationInput{
		Identifier: aws.String(id), Domain: aws.String("v.example.com")})
	if err != nil || len(out.DnsConfigurationList) != 1 {
		t.Fatalf("verify = %+v, %v", out, err)
	}
	c := out.DnsConfigurationList[0]
	if aws.ToString(c.Domain) != "v.example.com" || c.Status != cftypes.DnsConfigurationStatusInvalid || aws.ToString(c.Reason) != "no CNAME" {
		t.Errorf("configuration = %+v", c)
	}
}

func TestThrottling(t *testing.T) {
	t.Parallel()
	cf, ac, f := clients(t)
	ctx := context.Background()
	f.Throttle(3)
	_, err := cf.GetDistributionTenant(ctx, &cloudfront.GetDistributionTenantInput{Identifier: aws.String("x")})
	if code(err) != "Throttling" {
		t.Errorf("CloudFront: %v, want Throttling after the retries", err)
	}
	f.Throttle(3)
	_, err = ac.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String("arn:aws:acm:us-east-1:1:certificate/x")})
	var te *acmtypes.ThrottlingException
	if !errors.As(err, &te) {
		t.Errorf("ACM: %v, want ThrottlingException", err)
	}
	if f.Calls("GetDistributionTenant") != 0 || f.Calls("DescribeCertificate") != 0 {
		t.Error("throttled requests counted")
	}
}

func TestCertificates(t *testing.T) {
	t.Parallel()
	cf, ac, f := clients(t)
	ctx := context.Background()
	req := &acm.RequestCertificateInput{DomainName: aws.String("*.example.com"),
		ValidationMethod: acmtypes.ValidationMethodDns, IdempotencyToken: aws.String("tok1")}
	a, err := ac.RequestCertificate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ac.RequestCertificate(ctx, req)
	if aws.ToString(a.CertificateArn) != aws.ToString(b.CertificateArn) || f.Certificates() != 1 {
		t.Fatalf("same token: %s and %s", aws.ToString(a.CertificateArn), aws.ToString(b.CertificateArn))
	}
	arn := a.CertificateArn

	d, err := ac.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Certificate
	if c.Status != acmtypes.CertificateStatusPendingValidation || len(c.DomainValidationOptions) != 1 ||
		c.DomainValidationOptions[0].ResourceRecord == nil || c.DomainValidationOptions[0].ResourceRecord.Type != acmtypes.RecordTypeCname ||
		c.CreatedAt == nil || c.CreatedAt.IsZero() {
		t.Fatalf("pending certificate = %+v", c)
	}

	// A tenant cannot take a certificate that is not issued.
	create := &cloudfront.CreateDistributionTenantInput{DistributionId: aws.String("EDIST"), Name: aws.String("w-example.com"),
		Domains:        []cftypes.DomainItem{{Domain: aws.String("*.example.com")}},
		Customizations: &cftypes.Customizations{Certificate: &cftypes.Certificate{Arn: arn}}}
	if _, err := cf.CreateDistributionTenant(ctx, create); code(err) != "InvalidArgument" {
		t.Errorf("pending certificate on a tenant: %v, want InvalidArgument", err)
	}
	f.FailCertificate(aws.ToString(arn), "CAA_ERROR")
	d, _ = ac.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: arn})
	if d.Certificate.Status != acmtypes.CertificateStatusFailed || d.Certificate.FailureReason != acmtypes.FailureReasonCaaError {
		t.Errorf("failed certificate = %+v", d.Certificate)
	}
	f.IssueCertificate(aws.ToString(arn))
	if _, err := cf.CreateDistributionTenant(ctx, create); err != nil {
		t.Fatalf("issued certificate on a tenant: %v", err)
	}

	var inUse *acmtypes.ResourceInUseException
	if _, err := ac.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: arn}); !errors.As(err, &inUse) {
		t.Errorf("delete in use: %v, want ResourceInUseException", err)
	}
	f.RemoveTenant("*.example.com")
	if _, err := ac.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: arn}); err != nil {
		t.Errorf("delete: %v", err)
	}
	var nf *acmtypes.ResourceNotFoundException
	if _, err := ac.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: arn}); !errors.As(err, &nf) {
		t.Errorf("describe deleted: %v, want ResourceNotFoundException", err)
	}
}
