package dynamo_test

import (
	"slices"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func edgeRecord(host, from string, at time.Time, keys ...string) reroute.EdgeRecord {
	return reroute.EdgeRecord{Host: host, Keys: keys, Digest: "d-" + from,
		Status: reroute.EdgeStatus{ServedFrom: from, Records: len(keys), Bytes: 10 * len(keys), SyncedAt: at}}
}

// The edge record lives beside its route: GetRoute and ListRoutes show it, the
// redirector's lookup is not disturbed by it, it outlives its route (for the
// sync to clean), and of two syncs finishing out of order the later-started
// one's record stands.
func TestEdgeRecord(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "org-a")
	mustCreate(t, s, route("org-a", "a.example.com"), route("org-a", "b.example.com"))
	ctx := t.Context()

	if r, err := s.GetRoute(ctx, "a.example.com"); err != nil || r.Edge != (reroute.EdgeStatus{}) {
		t.Fatalf("before any sync: %+v %v", r.Edge, err)
	}
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.PutEdgeRecord(ctx, edgeRecord("a.example.com", reroute.ServedAtEdge, t0, "a.example.com", "a.example.com|e/x")); err != nil {
		t.Fatal(err)
	}
	// An older sync finishing later changes nothing.
	if err := s.PutEdgeRecord(ctx, edgeRecord("a.example.com", reroute.ServedByOrigin, t0.Add(-time.Second), "a.example.com")); err != nil {
		t.Fatal(err)
	}
	r, err := s.GetRoute(ctx, "a.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if r.Edge.ServedFrom != reroute.ServedAtEdge || r.Edge.Records != 2 || !r.Edge.SyncedAt.Equal(t0) {
		t.Errorf("GetRoute's Edge = %+v", r.Edge)
	}
	if f, found, err := s.FindRoute(ctx, "a.example.com"); err != nil || !found || f.Target != r.Target {
		t.Errorf("FindRoute beside an edge record: %+v %v %v", f, found, err)
	}
	p, err := s.ListRoutes(ctx, "org-a", reroute.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 2 || p.Items[0].Edge.ServedFrom != reroute.ServedAtEdge || p.Items[1].Edge.ServedFrom != "" {
		t.Errorf("ListRoutes' Edge: %+v", p.Items)
	}
	recs, err := s.EdgeRecords(ctx, []string{"a.example.com", "b.example.com", "a.example.com"})
	if err != nil || len(recs) != 1 || !slices.Equal(recs["a.example.com"].Keys, []string{"a.example.com", "a.example.com|e/x"}) {
		t.Errorf("EdgeRecords = %+v, %v", recs, err)
	}

	// The route goes; its record stays, and reads as no route.
	if err := s.DeleteRoute(ctx, "org-a", "a.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRoute(ctx, "a.example.com"); !reroute.IsNotFound(err) {
		t.Errorf("GetRoute of a deleted route with an edge record: %v", err)
	}
	inv, err := s.WithScanner(client).EdgeInventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := inv.Records["a.example.com"]; !ok || len(inv.Routes) != 1 || inv.Routes[0].Host != "b.example.com" || len(inv.Orgs) != 1 {
		t.Errorf("EdgeInventory = %+v", inv)
	}
	// A delete by an older sync leaves it; by a later one, removes it.
	if err := s.DeleteEdgeRecord(ctx, "a.example.com", t0.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if recs, _ := s.EdgeRecords(ctx, []string{"a.example.com"}); len(recs) != 1 {
		t.Error("an older sync deleted the record")
	}
	if err := s.DeleteEdgeRecord(ctx, "a.example.com", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if recs, _ := s.EdgeRecords(ctx, []string{"a.example.com"}); len(recs) != 0 {
		t.Error("the record is still there")
	}
}
