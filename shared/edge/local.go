package edge

import (
	"context"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Local is the edge of a stack that has no CDN in front of the redirector
// (`make dev`, tests of the parts around the edge): the redirector itself
// answers every hostname, so there is nothing to register and every hostname
// is served at once. It is a complete implementation of reroute.Edge for such
// a stack, not a stand-in for CloudFront's behaviour.
type Local struct{}

var _ reroute.Edge = Local{}

// NewLocal returns the edge of a stack without a CDN.
func NewLocal() Local { return Local{} }

// Ensure reports host served, with refs that name it so the rest of the
// service handles them as it would CloudFront's.
func (Local) Ensure(_ context.Context, host string, _ reroute.EdgeRefs, _ bool) (reroute.EdgeReport, error) {
	refs := reroute.EdgeRefs{TenantID: "local-" + host}
	if isWildcard(host) {
		refs.CertificateARN = "arn:local:certificate/" + host
	}
	return reroute.EdgeReport{Refs: refs, Certificate: reroute.CertificateIssued, Serving: true}, nil
}

// Release holds nothing, so leaves nothing.
func (Local) Release(context.Context, string, reroute.EdgeRefs) (reroute.EdgeRefs, error) {
	return reroute.EdgeRefs{}, nil
}

// VerifyDNS has no CDN to ask: whatever reaches the redirector is served.
func (Local) VerifyDNS(context.Context, string, reroute.EdgeRefs) (bool, string, error) {
	return true, "", nil
}
