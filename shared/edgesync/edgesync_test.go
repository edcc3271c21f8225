package edgesync_test

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	kvs "github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/edgekvs"
	"github.com/dnsreroute/dnsreroute/shared/edgesync"
	"github.com/dnsreroute/dnsreroute/shared/edgesync/kvsfake"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const testARN = "arn:aws:cloudfront::123456789012:key-value-store/2d3f6c1e-1111-4222-8333-444455556666"

var edgeCfg = edgekvs.Config{PermanentMaxAge: time.Hour, NegativeTTL: 10 * time.Second}

type env struct {
	store  *dynamo.ScanStore
	fake   *kvsfake.Fake
	client *kvs.Client
	sync   *edgesync.Syncer
	table  string
}

func newEnv(t *testing.T, budget int) *env {
	t.Helper()
	db, table := dynamotest.NewTable(t)
	store := dynamo.New(db, table).WithScanner(db)
	fake := kvsfake.New(testARN)
	t.Cleanup(fake.Close)
	client := kvs.New(kvs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(fake.URL()),
		HTTPClient:   fake.HTTPClient(),
	})
	s, err := edgesync.New(store, client, edgesync.Config{ARN: testARN, Budget: budget, Edge: edgeCfg},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &env{store: store, fake: fake, client: client, sync: s, table: table}
}

func (e *env) org(t *testing.T, id, plan string) {
	t.Helper()
	p, _ := reroute.DefaultCatalog().Get(plan)
	org := reroute.Org{ID: id, Name: "Org " + id, Plan: p.Name, RouteLimit: p.RouteLimit, MemberLimit: p.MemberLimit, RuleLimit: p.RuleLimit}
	if err := e.store.CreateOrg(t.Context(), org, reroute.Member{}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) route(t *testing.T, org, host, target string, created time.Time) {
	t.Helper()
	r := reroute.Route{Host: host, OrgID: org, Target: target, Status: 301, Enabled: true, HTTPSRedirect: true, CreatedAt: created}
	if err := e.store.CreateRoute(t.Context(), r); err != nil {
		t.Fatal(err)
	}
}

func (e *env) syncHosts(t *testing.T, hosts ...string) {
	t.Helper()
	failed, err := e.sync.SyncHosts(t.Context(), hosts)
	if err != nil || len(failed) > 0 {
		t.Fatalf("SyncHosts(%v): %v %v", hosts, failed, err)
	}
}

// hostKeys is the store's content for host.
func (e *env) hostKeys(host string) map[string]string {
	out := map[string]string{}
	for k, v := range e.fake.Items() {
		if edgekvs.HostOf(k) == host {
			out[k] = v
		}
	}
	return out
}

// want fails unless host's keys are what edgekvs encodes for its route as
// stored now, and its edge status says from and reason.
func (e *env) want(t *testing.T, host, from, reason string) {
	t.Helper()
	r, err := e.store.GetRoute(t.Context(), host)
	if err != nil {
		t.Fatal(err)
	}
	recs, _, _ := edgekvs.Encode(r)
	if reason == edgekvs.ReasonStoreFull {
		recs = []edgekvs.Record{edgekvs.Placeholder(host)}
	}
	want := map[string]string{}
	for _, rec := range recs {
		want[rec.Key] = rec.Value
	}
	if got := e.hostKeys(host); !maps.Equal(got, want) {
		t.Errorf("%s: the store holds %v, want %v", host, got, want)
	}
	if r.Edge.ServedFrom != from || r.Edge.Reason != reason || r.Edge.Records != len(recs) || r.Edge.SyncedAt.IsZero() {
		t.Errorf("%s: Edge = %+v, want served from %q (%q) with %d records", host, r.Edge, from, reason, len(recs))
	}
}

func TestSyncFollowsTheRoute(t *testing.T) {
	e := newEnv(t, 0)
	ctx := t.Context()
	e.org(t, "org-a", reroute.PlanDeveloper)
	e.route(t, "org-a", "a.example.com", "https://target.example/", time.Time{})

	e.syncHosts(t, "a.example.com")
	e.want(t, "a.example.com", reroute.ServedAtEdge, "")
	if v, ok := e.fake.Items()[edgekvs.ConfigKey]; !ok || v != edgekvs.ConfigRecords(edgeCfg)[0].Value {
		t.Errorf("the config record is %q, %v", v, ok)
	}

	// Rules: their records appear; fewer rules: the others go.
	r, _ := e.store.GetRoute(ctx, "a.example.com")
	r.PathRules = []reroute.PathRule{
		{Source: "/old", Target: "https://target.example/new", Status: 301},
		{Source: "/blog", Target: "https://blog.example/", Status: 302, Subpath: true, KeepSuffix: true},
	}
	if err := e.store.UpdateRoute(ctx, r, reroute.ReplaceRules); err != nil {
		t.Fatal(err)
	}
	e.syncHosts(t, "a.example.com")
	e.want(t, "a.example.com", reroute.ServedAtEdge, "")
	if n := len(e.hostKeys("a.example.com")); n < 3 {
		t.Errorf("with two rules the host has %d keys", n)
	}
	r, _ = e.store.GetRoute(ctx, "a.example.com")
	r.PathRules = r.PathRules[:1]
	if err := e.store.UpdateRoute(ctx, r, reroute.ReplaceRules); err != nil {
		t.Fatal(err)
	}
	e.syncHosts(t, "a.example.com")
	e.want(t, "a.example.com", reroute.ServedAtEdge, "")

	// Disabled: a placeholder, so no wildcard answers for it at the edge.
	r, _ = e.store.GetRoute(ctx, "a.example.com")
	r.Enabled = false
	if err := e.store.UpdateRoute(ctx, r, reroute.KeepRules); err != nil {
		t.Fatal(err)
	}
	e.syncHosts(t, "a.example.com")
	e.want(t, "a.example.com", reroute.ServedByOrigin, edgekvs.ReasonNotRedirecting)
	if got := e.hostKeys("a.example.com"); len(got) != 1 || got["a.example.com"] != edgekvs.Placeholder("a.example.com").Value {
		t.Errorf("a disabled route's keys: %v", got)
	}

	// Deleted: every key goes, and its edge record.
	if err := e.store.DeleteRoute(ctx, "org-a", "a.example.com"); err != nil {
		t.Fatal(err)
	}
	e.syncHosts(t, "a.example.com")
	if got := e.hostKeys("a.example.com"); len(got) != 0 {
		t.Errorf("a deleted route's keys are still there: %v", got)
	}
	recs, err := e.store.EdgeRecords(ctx, []string{"a.example.com"})
	if err != nil || len(recs) != 0 {
		t.Errorf("a deleted route's edge record: %v %v", recs, err)
	}
	// Again: nothing to do, and no error.
	e.syncHosts(t, "a.example.com")
}

func TestSyncRetriesAStaleETag(t *testing.T) {
	e := newEnv(t, 0)
	e.org(t, "org-a", reroute.PlanDeveloper)
	e.route(t, "org-a", "a.example.com", "https://target.example/", time.Time{})
	e.fake.ConflictNext(2) // another writer, twice
	e.syncHosts(t, "a.example.com")
	e.want(t, "a.example.com", reroute.ServedAtEdge, "")
	if n := e.fake.Calls("DescribeKeyValueStore"); n < 3 {
		t.Errorf("the store was described %d times: a stale ETag is read again", n)
	}
}

// orgEvent is a stream record of an org item's change from oldPlan to newPlan.
func orgEvent(seq, org string, old, new map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{
		SequenceNumber: seq,
		Keys:           map[string]events.DynamoDBAttributeValue{"PK": events.NewStringAttribute("ORG#" + org), "SK": events.NewStringAttribute("ORG")},
		OldImage:       old, NewImage: new,
	}}
}

func hostEvent(seq, host, sk string) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{
		SequenceNumber: seq,
		Keys:           map[string]events.DynamoDBAttributeValue{"PK": events.NewStringAttribute("HOST#" + host), "SK": events.NewStringAttribute(sk)},
	}}
}

func handle(t *testing.T, e *env, recs ...events.DynamoDBEventRecord) {
	t.Helper()
	resp, err := e.sync.HandleStream(t.Context(), events.DynamoDBEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("HandleStream: %v %v", resp.BatchItemFailures, err)
	}
}

func TestPlanChangePausesAndResumes(t *testing.T) {
	e := newEnv(t, 0)
	ctx := t.Context()
	e.org(t, "org-a", reroute.PlanDeveloper)
	base := time.Now().Add(-time.Hour)
	hosts := []string{"one.example.com", "two.example.com", "three.example.com"}
	for i, h := range hosts {
		e.route(t, "org-a", h, "https://target.example/"+h, base.Add(time.Duration(i)*time.Minute))
	}
	handle(t, e, hostEvent("1", hosts[0], "ROUTE"), hostEvent("2", hosts[1], "ROUTE"), hostEvent("3", hosts[2], "ROUTE"))
	for _, h := range hosts {
		e.want(t, h, reroute.ServedAtEdge, "")
	}
	// Down to free (one route): the two newest pause.
	free, _ := reroute.DefaultCatalog().Get(reroute.PlanFree)
	if _, err := e.store.ApplyBilling(ctx, "org-a", reroute.BillingChange{EventID: "evt_down1", EventAt: time.Now(), Status: "canceled", Plan: reroute.PlanFree}, free); err != nil {
		t.Fatal(err)
	}
	old := map[string]events.DynamoDBAttributeValue{"plan": events.NewStringAttribute("developer"), "routeLimit": events.NewNumberAttribute("10")}
	nw := map[string]events.DynamoDBAttributeValue{"plan": events.NewStringAttribute("free"), "routeLimit": events.NewNumberAttribute("1"),
		"pausedFrom": events.NewStringAttribute("x")}
	// A count change alone syncs nothing; the plan change syncs the org's routes.
	handle(t, e, orgEvent("4", "org-a", old, old))
	if n := e.fake.Calls("UpdateKeys"); n != 1 {
		t.Errorf("an org change that pauses nothing made %d updates in all, want the first sync's 1", n)
	}
	handle(t, e, orgEvent("5", "org-a", old, nw))
	e.want(t, hosts[0], reroute.ServedAtEdge, "")
	e.want(t, hosts[1], reroute.ServedByOrigin, edgekvs.ReasonNotRedirecting)
	e.want(t, hosts[2], reroute.ServedByOrigin, edgekvs.ReasonNotRedirecting)

	// Back up: they resume.
	dev, _ := reroute.DefaultCatalog().Get(reroute.PlanDeveloper)
	if _, err := e.store.ApplyBilling(ctx, "org-a", reroute.BillingChange{EventID: "evt_up1", EventAt: time.Now().Add(time.Second), Status: "active", Plan: reroute.PlanDeveloper}, dev); err != nil {
		t.Fatal(err)
	}
	handle(t, e, orgEvent("6", "org-a", nw, old))
	for _, h := range hosts {
		e.want(t, h, reroute.ServedAtEdge, "")
	}
}

func TestReplayAndReorderChangeNothing(t *testing.T) {
	e := newEnv(t, 0)
	e.org(t, "org-a", reroute.PlanDeveloper)
	e.route(t, "org-a", "a.example.com", "https://a.example/", time.Time{})
	e.route(t, "org-a", "b.example.com", "https://b.example/", time.Time{})
	batch := []events.DynamoDBEventRecord{
		hostEvent("1", "a.example.com", "ROUTE"), hostEvent("2", "b.example.com", "ROUTE"),
		hostEvent("3", "a.example.com", "RULES#0000000000000000001#0000"), hostEvent("4", "b.example.com", "ROUTE#EDGE"),
	}
	handle(t, e, batch...)
	after := e.fake.Items()
	updates := e.fake.Calls("UpdateKeys")
	// The same batch again, and reversed: the store is as it was, untouched.
	handle(t, e, batch...)
	for i, j := 0, len(batch)-1; i < j; i, j = i+1, j-1 {
		batch[i], batch[j] = batch[j], batch[i]
	}
	handle(t, e, batch...)
	if got := e.fake.Items(); !maps.Equal(got, after) {
		t.Errorf("replayed events changed the store:\n%v\nwant\n%v", got, after)
	}
	if n := e.fake.Calls("UpdateKeys"); n != updates {
		t.Errorf("replayed events made %d more updates", n-updates)
	}
	// The edge record's own events are never a reason to sync.
	handle(t, e, hostEvent("9", "c.example.com", "ROUTE#EDGE"))
	if n := e.fake.Calls("DescribeKeyValueStore"); n != 3 {
		t.Errorf("DescribeKeyValueStore called %d times, want one per batch naming a host (3)", n)
	}
}

// routeSize is the bytes host's route takes at the edge.
func routeSize(t *testing.T, s *dynamo.ScanStore, host string) int {
	t.Helper()
	r, err := s.GetRoute(t.Context(), host)
	if err != nil {
		t.Fatal(err)
	}
	recs, _, ok := edgekvs.Encode(r)
	if !ok {
		t.Fatalf("%s is not for the edge", host)
	}
	return edgekvs.Size(recs)
}

func TestStoreFullServesTheRestFromTheOrigin(t *testing.T) {
	// Sizes first, in a table of their own, to set the budget from.
	probe := newEnv(t, 0)
	probe.org(t, "org-p", reroute.PlanDeveloper)
	long := "https://target.example/" + strings.Repeat("p", 300)
	probe.route(t, "org-p", "paid.example.com", long, time.Time{})
	size := routeSize(t, probe.store, "paid.example.com")
	config := edgekvs.Size(edgekvs.ConfigRecords(edgeCfg))
	ph := func(h string) int { return edgekvs.Size([]edgekvs.Record{edgekvs.Placeholder(h)}) }
	// Room for the config, the paid route and the free one's placeholder, little more.
	budget := config + size + ph("free.example.com") + 20

	e := newEnv(t, budget)
	e.org(t, "org-paid", reroute.PlanDeveloper)
	e.org(t, "org-free", reroute.PlanFree)
	// The free route is older: without priorities it would win.
	e.route(t, "org-free", "free.example.com", "https://target.example/"+strings.Repeat("f", 300), time.Now().Add(-time.Hour))
	e.route(t, "org-paid", "paid.example.com", long, time.Now())

	rep, err := e.sync.Reconcile(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	e.want(t, "paid.example.com", reroute.ServedAtEdge, "")
	e.want(t, "free.example.com", reroute.ServedByOrigin, edgekvs.ReasonStoreFull)
	if rep.AtEdge != 1 || rep.Routes != 2 {
		t.Errorf("report %+v, want 2 routes, 1 at the edge", rep)
	}
	if got := e.fake.Size(); got > budget {
		t.Errorf("the store holds %d bytes, over its budget of %d", got, budget)
	}
	// The stream sync keeps to the budget too.
	e.syncHosts(t, "free.example.com", "paid.example.com")
	e.want(t, "free.example.com", reroute.ServedByOrigin, edgekvs.ReasonStoreFull)
	e.want(t, "paid.example.com", reroute.ServedAtEdge, "")
}

func TestReconcileRepairsDrift(t *testing.T) {
	e := newEnv(t, 0)
	ctx := t.Context()
	e.org(t, "org-a", reroute.PlanDeveloper)
	e.route(t, "org-a", "a.example.com", "https://a.example/", time.Time{})
	e.route(t, "org-a", "b.example.com", "https://b.example/", time.Time{})
	r, _ := e.store.GetRoute(ctx, "b.example.com")
	r.PathRules = []reroute.PathRule{{Source: "/x", Target: "https://b.example/y", Status: 301}}
	if err := e.store.UpdateRoute(ctx, r, reroute.ReplaceRules); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.sync.Reconcile(ctx); err != nil || rep.Puts == 0 || rep.Records != 2 {
		t.Fatalf("first reconciliation: %+v %v", rep, err)
	}
	good := e.fake.Items()

	// Drift: a key no route wants, a key missing, a key with another value, and
	// an edge record of a route long gone.
	e.fake.Set("stale.example.com", "[1]")
	var ruleKey string
	for k := range good {
		if edgekvs.HostOf(k) == "b.example.com" && k != "b.example.com" {
			ruleKey = k
		}
	}
	e.fake.Set(ruleKey, "")
	e.fake.Set("a.example.com", "0")
	if err := e.store.PutEdgeRecord(ctx, reroute.EdgeRecord{Host: "gone.example.com",
		Status: reroute.EdgeStatus{ServedFrom: reroute.ServedAtEdge, SyncedAt: time.Now().Add(-time.Hour)}, Keys: []string{"gone.example.com"}}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.sync.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reconciliation: %+v", rep)
	if rep.Puts != 2 || rep.Deletes != 1 || rep.Hosts != 3 || rep.Orphans != 1 {
		t.Errorf("report %+v, want 2 puts, 1 delete, 3 hosts, 1 orphan", rep)
	}
	if got := e.fake.Items(); !maps.Equal(got, good) {
		t.Errorf("after reconciliation the store holds\n%v\nwant\n%v", got, good)
	}
	// Nothing left to fix.
	if rep, err := e.sync.Reconcile(ctx); err != nil || rep.Puts+rep.Deletes+rep.Orphans != 0 {
		t.Errorf("a second reconciliation: %+v %v", rep, err)
	}
}

func TestListRoutesShowsWhereEachIsServed(t *testing.T) {
	e := newEnv(t, 0)
	e.org(t, "org-a", reroute.PlanDeveloper)
	e.route(t, "org-a", "a.example.com", "https://a.example/", time.Time{})
	e.route(t, "org-a", "b.example.com", "https://b.example/", time.Time{})
	e.syncHosts(t, "a.example.com")
	p, err := e.store.ListRoutes(t.Context(), "org-a", reroute.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range p.Items {
		got[r.Host] = r.Edge.ServedFrom
	}
	if got["a.example.com"] != reroute.ServedAtEdge || got["b.example.com"] != "" {
		t.Errorf("ListRoutes says %v", got)
	}
}

// A route of more records than one UpdateKeys takes (50 keys) goes out in
// several, rule records before the host record that names them; and a record
// that says more than the store holds (a key lost) does not stop the next sync.
func TestSyncBatchesAndRecoversLostKeys(t *testing.T) {
	e := newEnv(t, 0)
	ctx := t.Context()
	e.org(t, "org-a", reroute.PlanDeveloper)
	e.route(t, "org-a", "big.example.com", "https://target.example/", time.Time{})
	r, _ := e.store.GetRoute(ctx, "big.example.com")
	for i := range 120 {
		r.PathRules = append(r.PathRules, reroute.PathRule{Source: fmt.Sprintf("/page/%d", i), Target: fmt.Sprintf("https://target.example/p/%d", i), Status: 301})
	}
	if err := e.store.UpdateRoute(ctx, r, reroute.ReplaceRules); err != nil {
		t.Fatal(err)
	}
	var order []int // records in the store after each update
	e.fake.OnUpdate(func() { order = append(order, len(e.hostKeys("big.example.com"))) })
	e.syncHosts(t, "big.example.com")
	e.want(t, "big.example.com", reroute.ServedAtEdge, "")
	if len(order) < 3 {
		t.Errorf("%d updates for 121 records and the config record, want at least 3 of at most 50 keys", len(order))
	}

	// A rule's key is lost; then the rules shrink, and the sync deletes what
	// the edge record names, the lost key included: refused, then without it.
	var lost string
	for k := range e.hostKeys("big.example.com") {
		if strings.HasSuffix(k, "/page/100") {
			lost = k
		}
	}
	if lost == "" {
		t.Fatalf("no key for /page/100 among %v", e.hostKeys("big.example.com"))
	}
	e.fake.Set(lost, "")
	gets := e.fake.Calls("GetKey")
	r, _ = e.store.GetRoute(ctx, "big.example.com")
	r.PathRules = r.PathRules[:2]
	if err := e.store.UpdateRoute(ctx, r, reroute.ReplaceRules); err != nil {
		t.Fatal(err)
	}
	e.syncHosts(t, "big.example.com")
	e.want(t, "big.example.com", reroute.ServedAtEdge, "")
	if e.fake.Calls("GetKey") == gets {
		t.Error("the refused delete was not looked into")
	}
}
