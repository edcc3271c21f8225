package edge_test

import (
	"context"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/edge"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func TestLocalAnswersAtOnce(t *testing.T) {
	t.Parallel()
	var e reroute.Edge = edge.NewLocal()
	tests := []struct {
		host string
		want reroute.EdgeRefs
	}{
		{"example.com", reroute.EdgeRefs{TenantID: "local-example.com"}},
		{"*.example.com", reroute.EdgeRefs{TenantID: "local-*.example.com", CertificateARN: "arn:local:certificate/*.example.com"}},
	}
	for _, tt := range tests {
		rep, err := e.Ensure(context.Background(), tt.host, reroute.EdgeRefs{}, false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Refs != tt.want || rep.Certificate != reroute.CertificateIssued || !rep.Serving || len(rep.ValidationRecords) != 0 {
			t.Errorf("Ensure(%s) = %+v, want %+v issued and serving", tt.host, rep, tt.want)
		}
		left, err := e.Release(context.Background(), tt.host, rep.Refs)
		if err != nil || !left.IsZero() {
			t.Errorf("Release(%s) = %+v, %v; want nothing left", tt.host, left, err)
		}
		ok, reason, err := edge.NewLocal().VerifyDNS(context.Background(), tt.host, rep.Refs)
		if !ok || reason != "" || err != nil {
			t.Errorf("VerifyDNS(%s) = %v, %q, %v; want ok", tt.host, ok, reason, err)
		}
	}
}
