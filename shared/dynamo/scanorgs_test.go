package dynamo_test

import (
	"slices"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// ScanOrgs finds the live orgs among every kind of item, and stops at its limit.
func TestScanOrgs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	for _, id := range []string{"org-a", "org-b", "org-gone"} {
		mustCreateOrg(t, s, newOrg(id, reroute.PlanFree), owner(id, "boss@example.com"))
	}
	mustCreate(t, s, route("org-a", "a.example.com"))
	if err := s.DeleteOrg(ctx, "org-gone"); err != nil {
		t.Fatal(err)
	}

	orgs, more, err := dynamo.ScanOrgs(ctx, client, table, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range orgs {
		ids = append(ids, o.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"org-a", "org-b"}) || more {
		t.Errorf("ScanOrgs = %v (more %t), want [org-a org-b] and no more", ids, more)
	}
	if orgs, more, err := dynamo.ScanOrgs(ctx, client, table, 1); err != nil || len(orgs) != 1 || !more {
		t.Errorf("ScanOrgs(limit 1) = %d orgs (more %t), %v; want 1 and more", len(orgs), more, err)
	}
	if _, _, err := dynamo.ScanOrgs(ctx, client, table, 0); err == nil {
		t.Error("ScanOrgs(limit 0) answered, want an error")
	}
}
