package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// ensureWildcard moves a wildcard on: CloudFront-managed certificates cannot
// cover "*.example.com", so it gets a DNS-validated ACM certificate of its own
// first and its tenant only once that is issued (a tenant cannot be made with a
// certificate that is not).
func (e *CloudFront) ensureWildcard(ctx context.Context, host string, refs reroute.EdgeRefs, dnsReady bool) (reroute.EdgeReport, error) {
	if refs.IsZero() {
		// A tenant whose create answer was lost carries its certificate.
		t, ok, err := e.tenantByDomain(ctx, host)
		if err != nil {
			return reroute.EdgeReport{Refs: refs}, err
		}
		if ok {
			refs.TenantID, refs.CertificateARN = t.id(), tenantCertificate(t.tenant)
		}
	}
	if refs.CertificateARN == "" {
		arn, err := e.requestCertificate(ctx, host, "")
		if err != nil {
			return reroute.EdgeReport{Refs: refs}, err
		}
		refs.CertificateARN = arn
	}
	cert, err := e.describeCertificate(ctx, host, refs.CertificateARN)
	if err != nil {
		return reroute.EdgeReport{Refs: refs}, err
	}
	if cert == nil {
		// Deleted outside: ask for another, told apart from the first by its token.
		if refs.CertificateARN, err = e.requestCertificate(ctx, host, refs.CertificateARN); err != nil {
			return reroute.EdgeReport{Refs: refs}, err
		}
		if cert, err = e.describeCertificate(ctx, host, refs.CertificateARN); err != nil || cert == nil {
			return reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificatePending}, err
		}
	}

	switch cert.Status {
	case acmtypes.CertificateStatusIssued:
		// Its own issued certificate proves control of host to CloudFront: the
		// tenant needs no CNAME first (unlike a managed certificate's).
		t, _, err := e.ensureTenant(ctx, host, &refs, refs.CertificateARN, true)
		if err != nil {
			return reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificateIssued}, err
		}
		return reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificateIssued, Serving: serving(t.tenant, host)}, nil
	case acmtypes.CertificateStatusPendingValidation:
		return reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificatePending, ValidationRecords: validationRecords(cert)}, nil
	}

	// Failed, timed out, revoked, expired or inactive.
	reason := string(cert.FailureReason)
	if reason == "" {
		reason = string(cert.Status)
	}
	if !dnsReady {
		return reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificateFailed, CertificateReason: reason}, nil
	}
	old := refs.CertificateARN
	_, err = e.acm.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(old)})
	switch code := apiCode(err); {
	case code == "ResourceInUseException":
		// An expired certificate a tenant still carries: the tenant moves to the
		// new one once it is issued; the old one is left to ACM.
	case code == "ResourceNotFoundException":
	case err != nil:
		return reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificateFailed, CertificateReason: reason},
			e.fail(host, "delete the failed certificate", err)
	}
	if refs.CertificateARN, err = e.requestCertificate(ctx, host, old); err != nil {
		// The old one is gone: forget it, so the next call asks afresh.
		refs.CertificateARN = ""
		return reroute.EdgeReport{Refs: refs}, err
	}
	rep := reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificatePending}
	if cert, err := e.describeCertificate(ctx, host, refs.CertificateARN); err == nil && cert != nil {
		rep.ValidationRecords = validationRecords(cert)
	}
	return rep, nil
}

// requestCertificate asks ACM for a DNS-validated certificate for host. The
// idempotency token comes from host and the certificate this one replaces
// (prev, "" for the first), so a retried call gets the same certificate and a
// replacement a new one.
func (e *CloudFront) requestCertificate(ctx context.Context, host, prev string) (string, error) {
	sum := sha256.Sum256([]byte(host + "\x00" + prev))
	out, err := e.acm.RequestCertificate(ctx, &acm.RequestCertificateInput{
		DomainName:       aws.String(host),
		ValidationMethod: acmtypes.ValidationMethodDns,
		IdempotencyToken: aws.String(hex.EncodeToString(sum[:16])), // 32 of \w
		Tags:             []acmtypes.Tag{{Key: aws.String(DistributionTag), Value: aws.String(e.cfg.DistributionID)}},
	})
	if err != nil {
		return "", e.fail(host, "request a certificate", err)
	}
	return aws.ToString(out.CertificateArn), nil
}

// describeCertificate returns nil for a certificate ACM does not have.
func (e *CloudFront) describeCertificate(ctx context.Context, host, arn string) (*acmtypes.CertificateDetail, error) {
	out, err := e.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)})
	if apiCode(err) == "ResourceNotFoundException" {
		return nil, nil
	}
	if err != nil {
		return nil, e.fail(host, "read the certificate", err)
	}
	if out.Certificate == nil {
		return nil, nil
	}
	return out.Certificate, nil
}

// validationRecords are the CNAMEs ACM waits for; none until ACM has made them.
func validationRecords(c *acmtypes.CertificateDetail) []reroute.DNSRecord {
	var recs []reroute.DNSRecord
	seen := map[string]bool{}
	for _, dv := range c.DomainValidationOptions {
		rr := dv.ResourceRecord
		if rr == nil || aws.ToString(rr.Name) == "" {
			continue
		}
		key := aws.ToString(rr.Name) + "\x00" + aws.ToString(rr.Value)
		if seen[key] {
			continue // a name and its wildcard share one record
		}
		seen[key] = true
		recs = append(recs, reroute.DNSRecord{Type: string(rr.Type), Name: aws.ToString(rr.Name),
			Value: aws.ToString(rr.Value), Purpose: reroute.PurposeCertificate})
	}
	return recs
}
