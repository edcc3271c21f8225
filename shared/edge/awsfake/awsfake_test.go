package awsfake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
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

	out, err := cf.CreateDistributionTenant(ctx, &cloudfront.CreateDistributionTenantInput{
		DistributionId:    aws.String("EDIST"),
		Name:              aws.String("h-example.com"),
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

	// Updates and deletes match the ETag; deletes need a disabled, deployed tenant.
	update := &cloudfront.UpdateDistributionTenantInput{Id: dt.Id, IfMatch: out.ETag, DistributionId: aws.String("EDIST"),
		ConnectionGroupId: aws.String("cg_1"), Domains: []cftypes.DomainItem{{Domain: aws.String("example.com")}}, Enabled: aws.Bool(false)}
	if _, err := cf.UpdateDistributionTenant(ctx, update); err != nil {
		t.Fatalf("update with the first ETag: %v", err)
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

func TestDeleteEnabledTenant(t *testing.T) {
	t.Parallel()
	cf, _, f := clients(t)
	id := f.AddTenant("EDIST", "on.example.com")
	tn, _ := f.Tenant("on.example.com")
	_, err := cf.DeleteDistributionTenant(context.Background(), &cloudfront.DeleteDistributionTenantInput{Id: aws.String(id), IfMatch: aws.String(tn.ETag)})
	if code(err) != "ResourceNotDisabled" {
		t.Errorf("err = %v, want ResourceNotDisabled", err)
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
