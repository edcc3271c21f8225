package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// newOrg is an org on one of the catalog's plans.
func newOrg(id, plan string) reroute.Org {
	p, ok := reroute.DefaultCatalog().Get(plan)
	if !ok {
		panic("no plan " + plan)
	}
	return reroute.Org{ID: id, Name: "Org " + id, Plan: p.Name, RouteLimit: p.RouteLimit, MemberLimit: p.MemberLimit, RuleLimit: p.RuleLimit}
}

func member(org, email string, role reroute.Role) reroute.Member {
	return reroute.Member{OrgID: org, Email: email, Role: role, OrgName: "Org " + org}
}

func owner(org, email string) reroute.Member { return member(org, email, reroute.RoleOwner) }

// mustCreateOrg creates org with first as its first member.
func mustCreateOrg(t testing.TB, s *dynamo.Store, org reroute.Org, first reroute.Member) {
	t.Helper()
	if err := s.CreateOrg(context.Background(), org, first); err != nil {
		t.Fatalf("CreateOrg(%s): %v", org.ID, err)
	}
}

// wantCounts fails unless org's counters are routes, members and owners.
func wantCounts(t *testing.T, s *dynamo.Store, org string, routes, members, owners int) {
	t.Helper()
	o, err := s.GetOrg(t.Context(), org)
	if err != nil {
		t.Fatalf("GetOrg(%s): %v", org, err)
	}
	if o.RouteCount != routes || o.MemberCount != members || o.OwnerCount != owners {
		t.Fatalf("org %s counts routes %d, members %d, owners %d; want %d, %d, %d",
			org, o.RouteCount, o.MemberCount, o.OwnerCount, routes, members, owners)
	}
}

// scanKeys returns the PK, SK and GSI1PK of every item in the table but the
// outbox's, sorted.
func scanKeys(t *testing.T, client *dynamodb.Client, table string) []string {
	t.Helper()
	var keys []string
	in := &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)}
	for {
		out, err := client.Scan(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			pk := it["PK"].(*types.AttributeValueMemberS).Value
			sk := it["SK"].(*types.AttributeValueMemberS).Value
			if strings.HasPrefix(pk, dynamo.OutboxPrefix) {
				continue // events outlive their change, until TTL removes them
			}
			k := pk + " " + sk
			if g, ok := it["GSI1PK"].(*types.AttributeValueMemberS); ok {
				k += " " + g.Value
			}
			keys = append(keys, k)
		}
		if len(out.LastEvaluatedKey) == 0 {
			slices.Sort(keys)
			return keys
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func TestOrgLifecycle(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600)) // no fraction: stored fixed-width all the same
	org := newOrg("org-1", reroute.PlanDeveloper)
	org.CreatedAt = created
	org.RouteCount, org.MemberCount, org.OwnerCount = 7, 7, 7 // ignored: the store counts
	mustCreateOrg(t, s, org, reroute.Member{Email: "boss@example.com", Role: reroute.RoleOwner})

	got, err := s.GetOrg(ctx, "org-1")
	if err != nil {
		t.Fatal(err)
	}
	want := reroute.Org{ID: "org-1", Name: "Org org-1", Plan: reroute.PlanDeveloper, RouteLimit: 10, MemberLimit: 5, RuleLimit: 1000, MemberCount: 1, OwnerCount: 1}
	if !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(created) {
		t.Errorf("times = %v, %v; want %v", got.CreatedAt, got.UpdatedAt, created)
	}
	got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("GetOrg = %+v, want %+v", got, want)
	}
	m, err := s.GetMember(ctx, "org-1", "boss@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if want := (reroute.Member{OrgID: "org-1", Email: "boss@example.com", Role: reroute.RoleOwner, OrgName: "Org org-1", CreatedAt: created}); !m.CreatedAt.Equal(created) || m.OrgName != want.OrgName || m.OrgID != want.OrgID || m.Role != want.Role {
		t.Errorf("owner = %+v, want %+v", m, want)
	}

	again := newOrg("org-1", reroute.PlanFree)
	wantErr(t, s.CreateOrg(ctx, again, owner("org-1", "other@example.com")), reroute.CodeConflict, "org_exists")
	if _, err := s.GetMember(ctx, "org-1", "other@example.com"); !reroute.IsNotFound(err) {
		t.Errorf("the refused org's owner was stored: %v", err)
	}

	renamed := created.Add(time.Hour)
	if err := s.RenameOrg(ctx, "org-1", "Renamed", renamed); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetOrg(ctx, "org-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Renamed" || !got.UpdatedAt.Equal(renamed) || !got.CreatedAt.Equal(created) {
		t.Errorf("after rename GetOrg = %+v", got)
	}
	wantErr(t, s.RenameOrg(ctx, "nope", "X", renamed), reroute.CodeNotFound, "org_not_found")

	if err := s.DeleteOrg(ctx, "org-1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetOrg(ctx, "org-1")
	wantErr(t, err, reroute.CodeNotFound, "org_not_found")
	_, err = s.GetMember(ctx, "org-1", "boss@example.com")
	wantErr(t, err, reroute.CodeNotFound, "member_not_found")
	wantErr(t, s.DeleteOrg(ctx, "org-1"), reroute.CodeNotFound, "org_not_found")
	wantErr(t, s.RenameOrg(ctx, "org-1", "X", renamed), reroute.CodeNotFound, "org_not_found")
	// The id is free again.
	mustCreateOrg(t, s, newOrg("org-1", reroute.PlanFree), owner("org-1", "new@example.com"))
	wantCounts(t, s, "org-1", 0, 1, 1)
}

func TestCreateOrgInvalid(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	negative := newOrg("org-1", reroute.PlanFree)
	negative.RouteLimit = -1
	tests := []struct {
		name  string
		org   reroute.Org
		owner reroute.Member
	}{
		{name: "no id", org: newOrg("", reroute.PlanFree), owner: owner("", "a@example.com")},
		{name: "negative limit", org: negative},
		{name: "owner without role", org: newOrg("org-1", reroute.PlanFree), owner: reroute.Member{Email: "a@example.com"}},
		{name: "owner with a bad role", org: newOrg("org-1", reroute.PlanFree), owner: member("org-1", "a@example.com", "boss")},
		{name: "owner of another org", org: newOrg("org-1", reroute.PlanFree), owner: owner("org-2", "a@example.com")},
		{name: "owner without email", org: newOrg("org-1", reroute.PlanFree), owner: reroute.Member{Role: reroute.RoleOwner}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, s.CreateOrg(t.Context(), tt.org, tt.owner), reroute.CodeInvalid, "validation_failed")
		})
	}
	_, err := s.GetOrg(t.Context(), "org-1")
	wantErr(t, err, reroute.CodeNotFound, "org_not_found")
}

// TestCreateOrgFirstMember checks what the first member counts: an owner, another
// role, or none at all (the operator's own orgs).
func TestCreateOrgFirstMember(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	tests := []struct {
		name                   string
		first                  reroute.Member
		wantMembers, wantOwner int
	}{
		{name: "owner", first: owner("", "a@example.com"), wantMembers: 1, wantOwner: 1},
		{name: "admin", first: member("", "a@example.com", reroute.RoleAdmin), wantMembers: 1},
		{name: "none", first: reroute.Member{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := fmt.Sprintf("org-%d", i)
			mustCreateOrg(t, s, newOrg(id, reroute.PlanDeveloper), tt.first)
			wantCounts(t, s, id, 0, tt.wantMembers, tt.wantOwner)
			p, err := s.ListMembers(t.Context(), id, reroute.PageRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Items) != tt.wantMembers {
				t.Errorf("%d members listed, want %d", len(p.Items), tt.wantMembers)
			}
		})
	}
}

// TestRouteCount checks that the org's route count follows every route written,
// and only those: failed writes count nothing.
func TestRouteCount(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	limited := newOrg("org-a", reroute.PlanDeveloper)
	limited.RouteLimit = 3
	mustCreateOrg(t, s, limited, owner("org-a", "a@example.com"))
	mustCreateOrg(t, s, newOrg("org-b", reroute.PlanDeveloper), owner("org-b", "b@example.com"))
	ctx := t.Context()
	steps := []struct {
		name       string
		do         func() error
		wantCode   reroute.Code
		wantReason string
		wantA      int // org-a's route count afterwards
		wantB      int
	}{
		{name: "create a1", do: func() error { return s.CreateRoute(ctx, route("org-a", "a1.example.com")) }, wantA: 1},
		{name: "create a2", do: func() error { return s.CreateRoute(ctx, route("org-a", "a2.example.com")) }, wantA: 2},
		{name: "create a1 again", do: func() error { return s.CreateRoute(ctx, route("org-a", "a1.example.com")) },
			wantCode: reroute.CodeConflict, wantReason: "host_taken", wantA: 2},
		{name: "create b1", do: func() error { return s.CreateRoute(ctx, route("org-b", "b1.example.com")) }, wantA: 2, wantB: 1},
		{name: "org-a claims b1", do: func() error { return s.CreateRoute(ctx, route("org-a", "b1.example.com")) },
			wantCode: reroute.CodeConflict, wantReason: "host_taken", wantA: 2, wantB: 1},
		{name: "org-b claims a1", do: func() error { return s.CreateRoute(ctx, route("org-b", "a1.example.com")) },
			wantCode: reroute.CodeConflict, wantReason: "host_taken", wantA: 2, wantB: 1},
		{name: "create a3", do: func() error { return s.CreateRoute(ctx, route("org-a", "a3.example.com")) }, wantA: 3, wantB: 1},
		{name: "create a4 over the limit", do: func() error { return s.CreateRoute(ctx, route("org-a", "a4.example.com")) },
			wantCode: reroute.CodeLimit, wantReason: "plan_limit_reached", wantA: 3, wantB: 1},
		{name: "taken and over the limit: taken", do: func() error { return s.CreateRoute(ctx, route("org-a", "b1.example.com")) },
			wantCode: reroute.CodeConflict, wantReason: "host_taken", wantA: 3, wantB: 1},
		{name: "update counts nothing", do: func() error { return s.UpdateRoute(ctx, route("org-a", "a3.example.com"), reroute.KeepRules) }, wantA: 3, wantB: 1},
		{name: "org-b deletes a1", do: func() error { return s.DeleteRoute(ctx, "org-b", "a1.example.com") },
			wantCode: reroute.CodeNotFound, wantReason: "route_not_found", wantA: 3, wantB: 1},
		{name: "delete a1", do: func() error { return s.DeleteRoute(ctx, "org-a", "a1.example.com") }, wantA: 2, wantB: 1},
		{name: "delete a1 again", do: func() error { return s.DeleteRoute(ctx, "org-a", "a1.example.com") },
			wantCode: reroute.CodeNotFound, wantReason: "route_not_found", wantA: 2, wantB: 1},
		{name: "create a4 within the limit", do: func() error { return s.CreateRoute(ctx, route("org-a", "a4.example.com")) }, wantA: 3, wantB: 1},
		{name: "org-b takes the freed a1", do: func() error { return s.CreateRoute(ctx, route("org-b", "a1.example.com")) }, wantA: 3, wantB: 2},
		{name: "route of a missing org", do: func() error { return s.CreateRoute(ctx, route("org-z", "z.example.com")) },
			wantCode: reroute.CodeNotFound, wantReason: "org_not_found", wantA: 3, wantB: 2},
		{name: "delete b1", do: func() error { return s.DeleteRoute(ctx, "org-b", "b1.example.com") }, wantA: 3, wantB: 1},
	}
	for _, st := range steps {
		err := st.do()
		if st.wantCode == "" && err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.wantCode != "" {
			wantErr(t, err, st.wantCode, st.wantReason)
		}
		wantCounts(t, s, "org-a", st.wantA, 1, 1)
		wantCounts(t, s, "org-b", st.wantB, 1, 1)
	}
	if _, err := s.GetRoute(ctx, "z.example.com"); !reroute.IsNotFound(err) {
		t.Errorf("the missing org's route was stored: %v", err)
	}
}

func TestPlanLimitMessage(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	mustCreateOrg(t, s, newOrg("free", reroute.PlanFree), owner("free", "a@example.com"))
	mustCreateOrg(t, s, newOrg("dev", reroute.PlanDeveloper), owner("dev", "a@example.com"))
	mustCreate(t, s, route("free", "one.example.com"))
	for i := range 10 {
		mustCreate(t, s, route("dev", fmt.Sprintf("d%d.example.com", i)))
	}
	for i := range 4 {
		if err := s.AddMember(ctx, member("dev", fmt.Sprintf("m%d@example.com", i), reroute.RoleMember)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "free route", err: s.CreateRoute(ctx, route("free", "two.example.com")), want: "the free plan allows 1 route: upgrade to add more"},
		{name: "developer route", err: s.CreateRoute(ctx, route("dev", "d10.example.com")), want: "the developer plan allows 10 routes: upgrade to add more"},
		{name: "free member", err: s.AddMember(ctx, member("free", "b@example.com", reroute.RoleAdmin)), want: "the free plan allows 1 member: upgrade to add more"},
		{name: "developer member", err: s.AddMember(ctx, member("dev", "m4@example.com", reroute.RoleAdmin)), want: "the developer plan allows 5 members: upgrade to add more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.err, reroute.CodeLimit, "plan_limit_reached")
			if got := tt.err.(*reroute.Error).Message; got != tt.want {
				t.Errorf("message = %q, want %q", got, tt.want)
			}
		})
	}
}

// race runs do n times at once and returns each call's error.
func race(n int, do func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = do(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// wantOneWinner checks that exactly one call succeeded and every other hit the
// plan limit (in particular none gave up on a transaction conflict).
func wantOneWinner(t *testing.T, errs []error) {
	t.Helper()
	wins := 0
	for i, err := range errs {
		if err == nil {
			wins++
			continue
		}
		var e *reroute.Error
		if !errors.As(err, &e) || e.Code != reroute.CodeLimit || e.Reason != "plan_limit_reached" {
			t.Errorf("call %d: %v, want plan_limit_reached", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d calls succeeded, want exactly 1", wins)
	}
}

// conflictCounter counts the transactions DynamoDB cancelled for a conflict, to
// show that the race tests race.
type conflictCounter struct {
	dynamo.API
	conflicts atomic.Int64
}

func (c *conflictCounter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := c.API.TransactWriteItems(ctx, in, opts...)
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				c.conflicts.Add(1)
				break
			}
		}
	}
	return out, err
}

// randomConflicts cancels a share of transactions for a conflict before they
// reach DynamoDB Local, which serialises transactions and so never does: real
// DynamoDB cancels one that meets another on an item.
type randomConflicts struct {
	dynamo.API
	share float64
}

func (r randomConflicts) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if rand.Float64() < r.share {
		reasons := make([]types.CancellationReason, len(in.TransactItems))
		for i := range reasons {
			reasons[i].Code = aws.String("TransactionConflict")
		}
		return nil, &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: reasons}
	}
	return r.API.TransactWriteItems(ctx, in, opts...)
}

// raceAPIs are the DynamoDBs a limit race runs against: DynamoDB Local as it is,
// and with a quarter of the transactions cancelled for a conflict.
func raceAPIs(client dynamo.API) []struct {
	name string
	api  *conflictCounter
} {
	return []struct {
		name string
		api  *conflictCounter
	}{
		{name: "as it answers", api: &conflictCounter{API: client}},
		{name: "with conflicts", api: &conflictCounter{API: randomConflicts{API: client, share: 0.25}}},
	}
}

// TestCreateRouteLimitRace checks that the route limit holds in the database: of
// 25 routes created at once on a free org, exactly one is stored, and every other
// call hits the limit rather than giving up on a conflict.
func TestCreateRouteLimitRace(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	for i, tt := range raceAPIs(client) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dynamo.New(tt.api, table)
			org := fmt.Sprintf("org-free-%d", i)
			mustCreateOrg(t, s, newOrg(org, reroute.PlanFree), owner(org, "a@example.com"))
			errs := race(25, func(n int) error {
				return s.CreateRoute(context.Background(), route(org, fmt.Sprintf("h%d.%s.example.com", n, org)))
			})
			t.Logf("%d transactions cancelled by a conflict and retried", tt.api.conflicts.Load())
			wantOneWinner(t, errs)
			wantCounts(t, s, org, 1, 1, 1)
			p, err := s.ListRoutes(t.Context(), org, reroute.PageRequest{})
			if err != nil || len(p.Items) != 1 {
				t.Fatalf("ListRoutes = %d routes, %v; want 1", len(p.Items), err)
			}
		})
	}
}

// conflictingAPI cancels the first few transactions for a conflict, as DynamoDB
// does when another transaction holds one of their items.
type conflictingAPI struct {
	dynamo.API
	mu        sync.Mutex
	conflicts int // cancel this many
	calls     int
}

func (c *conflictingAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.mu.Lock()
	c.calls++
	conflict := c.calls <= c.conflicts
	c.mu.Unlock()
	if conflict {
		reasons := make([]types.CancellationReason, len(in.TransactItems))
		for i := range reasons {
			reasons[i].Code = aws.String("None")
		}
		reasons[len(reasons)-1].Code = aws.String("TransactionConflict")
		return nil, &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: reasons}
	}
	return c.API.TransactWriteItems(ctx, in, opts...)
}

func TestTransactionConflictRetried(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	mustOrg(t, dynamo.New(client, table), "org-a")
	tests := []struct {
		name      string
		conflicts int
		wantCalls int
		wantErr   bool
	}{
		{name: "retried", conflicts: 3, wantCalls: 4},
		{name: "given up", conflicts: 1000, wantCalls: 10, wantErr: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := &conflictingAPI{API: client, conflicts: tt.conflicts}
			s := dynamo.New(api, table)
			host := fmt.Sprintf("h%d.example.com", i)
			err := s.CreateRoute(t.Context(), route("org-a", host))
			if tt.wantErr {
				wantErr(t, err, reroute.CodeUnavailable, "store_unavailable")
			} else if err != nil {
				t.Fatal(err)
			}
			if api.calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", api.calls, tt.wantCalls)
			}
			if _, err := s.GetRoute(t.Context(), host); (err == nil) == tt.wantErr {
				t.Errorf("GetRoute after CreateRoute: %v", err)
			}
		})
	}
}

// batchFaults makes BatchWriteItem misbehave: the first `unprocess` calls leave
// all but one request unprocessed, and calls after `failAfter` (if set) fail.
type batchFaults struct {
	dynamo.API
	mu        sync.Mutex
	unprocess int
	failAfter int
	failTx    bool // every transaction fails
	calls     int
}

func (b *batchFaults) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if b.failTx {
		return nil, errDown
	}
	return b.API.TransactWriteItems(ctx, in, opts...)
}

func (b *batchFaults) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	b.mu.Lock()
	b.calls++
	n := b.calls
	b.mu.Unlock()
	if b.failAfter > 0 && n > b.failAfter {
		return nil, errDown
	}
	if n <= b.unprocess {
		for table, reqs := range in.RequestItems {
			if len(reqs) > 1 {
				out, err := b.API.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
					RequestItems: map[string][]types.WriteRequest{table: reqs[:1]},
				}, opts...)
				if err != nil {
					return nil, err
				}
				out.UnprocessedItems = map[string][]types.WriteRequest{table: reqs[1:]}
				return out, nil
			}
		}
	}
	return b.API.BatchWriteItem(ctx, in, opts...)
}

// fillOrg gives org n routes, n API keys and n members besides its owner.
func fillOrg(t *testing.T, s *dynamo.Store, org string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			create(t, s, route(org, fmt.Sprintf("r%03d.%s.example.com", i, org)))
			if err := s.CreateAPIKey(context.Background(), apiKey(org, fmt.Sprintf("%s-k%03d", org, i))); err != nil {
				t.Errorf("CreateAPIKey: %v", err)
			}
			if err := s.AddMember(context.Background(), member(org, fmt.Sprintf("m%03d@%s.example.com", i, org), reroute.RoleMember)); err != nil {
				t.Errorf("AddMember: %v", err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// bigOrg is an org with room for what fillOrg gives it.
func bigOrg(id string) reroute.Org {
	o := newOrg(id, reroute.PlanEnterprise)
	o.RouteLimit, o.MemberLimit = 1000, 1000
	return o
}

// TestDeleteOrg checks that deleting an org leaves nothing of it in the table,
// through more items than one BatchWriteItem takes and with some left
// unprocessed, and nothing else is touched.
func TestDeleteOrg(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	seed := dynamo.New(client, table)
	for _, id := range []string{"doomed", "kept"} {
		mustCreateOrg(t, seed, bigOrg(id), owner(id, "boss@example.com"))
	}
	fillOrg(t, seed, "doomed", 60)
	fillOrg(t, seed, "kept", 3)
	keptBefore := slices.DeleteFunc(scanKeys(t, client, table), func(k string) bool { return strings.Contains(k, "doomed") })

	api := &batchFaults{API: client, unprocess: 3}
	s := dynamo.New(api, table)
	if err := s.DeleteOrg(t.Context(), "doomed"); err != nil {
		t.Fatal(err)
	}
	if after := scanKeys(t, client, table); !slices.Equal(after, keptBefore) {
		t.Errorf("after DeleteOrg the table holds\n%s\nwant\n%s", strings.Join(after, "\n"), strings.Join(keptBefore, "\n"))
	}
	// 60 keys and 61 members take 3+3 batches, plus the retries (routes go in
	// transactions, each with its release).
	if api.calls < 6+3 {
		t.Errorf("%d BatchWriteItem calls, want at least 9", api.calls)
	}
	wantErr(t, s.DeleteOrg(t.Context(), "doomed"), reroute.CodeNotFound, "org_not_found")
	ms, err := s.ListMemberships(t.Context(), "boss@example.com")
	if err != nil || len(ms) != 1 || ms[0].OrgID != "kept" {
		t.Errorf("boss's memberships = %+v, %v; want kept only", ms, err)
	}
	wantCounts(t, s, "kept", 3, 4, 1)
}

// TestDeleteOrgResumes checks that a DeleteOrg that fails part way leaves the org
// closed to new items and reading as not found, and that calling it again
// finishes the job.
func TestDeleteOrgResumes(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	healthy := dynamo.New(client, table)
	mustCreateOrg(t, healthy, bigOrg("doomed"), owner("doomed", "boss@example.com"))
	fillOrg(t, healthy, "doomed", 30)
	mustCreate(t, healthy, route("doomed", "zz-kept.example.com"))

	broken := dynamo.New(&batchFaults{API: client, failTx: true}, table)
	err := broken.DeleteOrg(t.Context(), "doomed")
	wantErr(t, err, reroute.CodeUnavailable, "store_unavailable")

	ctx := t.Context()
	tests := []struct {
		name   string
		do     func() error
		reason string
	}{
		{name: "get", do: func() error { _, err := healthy.GetOrg(ctx, "doomed"); return err }, reason: "org_not_found"},
		{name: "rename", do: func() error { return healthy.RenameOrg(ctx, "doomed", "X", time.Time{}) }, reason: "org_not_found"},
		{name: "create route", do: func() error { return healthy.CreateRoute(ctx, route("doomed", "new.example.com")) }, reason: "org_not_found"},
		{name: "add member", do: func() error { return healthy.AddMember(ctx, member("doomed", "new@example.com", reroute.RoleAdmin)) }, reason: "org_not_found"},
		{name: "create key", do: func() error { return healthy.CreateAPIKey(ctx, apiKey("doomed", "new")) }, reason: "org_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.do(), reroute.CodeNotFound, tt.reason)
		})
	}
	// A route of an org being deleted can still be deleted on its own.
	if err := healthy.DeleteRoute(ctx, "doomed", "zz-kept.example.com"); err != nil {
		t.Errorf("DeleteRoute while deleting: %v", err)
	}
	if left := scanKeys(t, client, table); len(left) < 30 {
		t.Fatalf("only %d items left after a failed DeleteOrg: did it fail part way?", len(left))
	}

	if err := healthy.DeleteOrg(ctx, "doomed"); err != nil {
		t.Fatalf("DeleteOrg again: %v", err)
	}
	if left := scanKeys(t, client, table); len(left) != 0 {
		t.Errorf("after DeleteOrg the table holds %d items: %v", len(left), left)
	}
	wantErr(t, healthy.DeleteOrg(ctx, "doomed"), reroute.CodeNotFound, "org_not_found")
}

// TestStoredItems checks the items an org, a member and an API key are stored as:
// their keys, from keys.go, and their times, fixed-width.
func TestStoredItems(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	o := newOrg("org-1", reroute.PlanFree)
	o.CreatedAt = at
	mustCreateOrg(t, s, o, owner("org-1", "a@example.com"))
	k := apiKey("org-1", "key-1")
	k.CreatedAt = at
	if err := s.CreateAPIKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  map[string]types.AttributeValue
		want map[string]any
	}{
		{name: "org", key: dynamo.OrgKey("org-1"), want: map[string]any{
			"PK": "ORG#org-1", "SK": "ORG", "id": "org-1", "plan": "free", "routeLimit": 1.0, "memberLimit": 1.0,
			"routeCount": 0.0, "memberCount": 1.0, "ownerCount": 1.0, "createdAt": "2025-01-02T03:04:05.000000000Z",
		}},
		{name: "member", key: dynamo.MemberKey("org-1", "a@example.com"), want: map[string]any{
			"PK": "ORG#org-1", "SK": "MEMBER#a@example.com", "GSI1PK": "USER#a@example.com", "GSI1SK": "ORG#org-1",
			"role": "owner", "email": "a@example.com", "orgId": "org-1",
		}},
		{name: "api key", key: dynamo.APIKeyKey(k.Hash), want: map[string]any{
			"PK": "APIKEY#" + k.Hash, "SK": "KEY", "GSI1PK": "ORG#org-1", "GSI1SK": "APIKEY#key-1",
			"id": "key-1", "orgId": "org-1", "hash": k.Hash, "createdAt": "2025-01-02T03:04:05.000000000Z",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: tt.key})
			if err != nil || out.Item == nil {
				t.Fatalf("GetItem = %v, %v", out, err)
			}
			var item map[string]any
			if err := attributevalue.UnmarshalMap(out.Item, &item); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if item[k] != v {
					t.Errorf("item[%s] = %v, want %v", k, item[k], v)
				}
			}
			if _, ok := item["deleting"]; ok {
				t.Error("a live org is marked deleting")
			}
		})
	}
}
