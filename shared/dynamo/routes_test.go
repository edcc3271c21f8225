package dynamo_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"reflect"
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

// newStore returns a store on a table of t's own holding the given orgs, each on
// the enterprise plan.
func newStore(t testing.TB, orgs ...string) *dynamo.Store {
	t.Helper()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, orgs...)
	return s
}

// mustOrg creates orgs on the enterprise plan, without members.
func mustOrg(t testing.TB, s *dynamo.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := s.CreateOrg(context.Background(), newOrg(id, reroute.PlanEnterprise), reroute.Member{}); err != nil {
			t.Fatalf("CreateOrg(%s): %v", id, err)
		}
	}
}

func route(org, host string) reroute.Route {
	return reroute.Route{
		Host: host, OrgID: org, Target: "https://target.example.net/" + host,
		Status: reroute.StatusFound, KeepPath: true, Enabled: true,
	}
}

func mustCreate(t testing.TB, s *dynamo.Store, routes ...reroute.Route) {
	t.Helper()
	for _, r := range routes {
		if err := s.CreateRoute(context.Background(), r); err != nil {
			t.Fatalf("CreateRoute(%s): %v", r.Host, err)
		}
	}
}

// create is mustCreate for other goroutines, where t.Fatal may not be called.
func create(t testing.TB, s *dynamo.Store, r reroute.Route) {
	if err := s.CreateRoute(context.Background(), r); err != nil {
		t.Errorf("CreateRoute(%s): %v", r.Host, err)
	}
}

// wantErr fails unless err is a reroute error with code and, if given, reason.
func wantErr(t *testing.T, err error, code reroute.Code, reason string) {
	t.Helper()
	var e *reroute.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want a reroute.Error with code %s", err, err, code)
	}
	if e.Code != code || reason != "" && e.Reason != reason {
		t.Fatalf("error = %s/%s %q, want %s/%s", e.Code, e.Reason, e.Message, code, reason)
	}
}

func TestRouteLifecycle(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a", "org-b")
	ctx := t.Context()
	created := time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.FixedZone("CET", 3600))

	r := route("org-a", "www.example.com")
	r.CreatedAt, r.UpdatedAt = created, created
	if err := s.CreateRoute(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRoute(ctx, r.Host)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(created) {
		t.Errorf("times = %v, %v, want %v exactly", got.CreatedAt, got.UpdatedAt, created)
	}
	got.CreatedAt, got.UpdatedAt = r.CreatedAt, r.UpdatedAt
	if !reflect.DeepEqual(got, r) {
		t.Errorf("GetRoute = %+v, want %+v", got, r)
	}

	upd := r
	upd.Target, upd.Status, upd.KeepPath, upd.KeepQuery, upd.Enabled = "https://new.example.org/", reroute.StatusPermanentRedirect, false, true, false
	upd.CreatedAt, upd.UpdatedAt = time.Time{}, time.Time{} // the store keeps the one and sets the other
	if err := s.UpdateRoute(ctx, upd, reroute.KeepRules); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRoute(ctx, r.Host)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(created) {
		t.Errorf("CreatedAt after update = %v, want %v kept", got.CreatedAt, created)
	}
	if !got.UpdatedAt.After(created) {
		t.Errorf("UpdatedAt after update = %v, want it set to now", got.UpdatedAt)
	}
	got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, upd) {
		t.Errorf("after update GetRoute = %+v, want %+v", got, upd)
	}

	if err := s.DeleteRoute(ctx, r.OrgID, r.Host); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetRoute(ctx, r.Host)
	wantErr(t, err, reroute.CodeNotFound, "")
	wantErr(t, s.DeleteRoute(ctx, r.OrgID, r.Host), reroute.CodeNotFound, "")
	wantErr(t, s.UpdateRoute(ctx, upd, reroute.KeepRules), reroute.CodeNotFound, "")
	// Once deleted, the host is free for anyone.
	if err := s.CreateRoute(ctx, route("org-b", r.Host)); err != nil {
		t.Fatalf("creating a deleted host again: %v", err)
	}
}

func TestCreateRouteSetsTimes(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a")
	before := time.Now()
	mustCreate(t, s, route("org-a", "example.com"))
	got, err := s.GetRoute(t.Context(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Before(before.Add(-time.Second)) || !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("times = %v, %v, want now twice", got.CreatedAt, got.UpdatedAt)
	}
}

// TestRouteItem checks the stored item itself: its keys, from keys.go, and that
// what is stored is what the domain says.
func TestRouteItem(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "org-a")
	mustCreate(t, s, route("org-a", "*.example.com"))
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName: aws.String(table), Key: dynamo.RouteKey("*.example.com"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var item map[string]any
	if err := attributevalue.UnmarshalMap(out.Item, &item); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"PK": "HOST#*.example.com", "SK": "ROUTE", "GSI1PK": "ORG#org-a", "GSI1SK": "ROUTE#*.example.com",
		"host": "*.example.com", "orgId": "org-a",
	}
	for k, v := range want {
		if item[k] != v {
			t.Errorf("item[%s] = %v, want %v", k, item[k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(item["createdAt"])); err != nil {
		t.Errorf("createdAt = %v, want RFC 3339", item["createdAt"])
	}
}

func TestCreateRouteHostTaken(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a", "org-b")
	mustCreate(t, s, route("org-a", "shop.example.com"), route("org-a", "*.example.com"))
	tests := []struct {
		name string
		r    reroute.Route
	}{
		{name: "same org", r: route("org-a", "shop.example.com")},
		{name: "other org", r: route("org-b", "shop.example.com")},
		{name: "other org, wildcard", r: route("org-b", "*.example.com")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CreateRoute(t.Context(), tt.r)
			wantErr(t, err, reroute.CodeConflict, "host_taken")
			if strings.Contains(err.Error(), "org-a") {
				t.Errorf("error %q names the org holding the host", err)
			}
		})
	}
	got, err := s.GetRoute(t.Context(), "shop.example.com")
	if err != nil || got.OrgID != "org-a" {
		t.Fatalf("after conflicts GetRoute = %+v, %v; want org-a's route", got, err)
	}
}

func TestCreateRouteInvalid(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, r := range []reroute.Route{route("", "example.com"), route("org-a", "")} {
		wantErr(t, s.CreateRoute(t.Context(), r), reroute.CodeInvalid, "")
	}
}

// TestOtherOrgsRoute checks that an org cannot change another's route and cannot
// tell it from a missing one.
func TestOtherOrgsRoute(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a", "org-b")
	orig := route("org-a", "www.example.com")
	mustCreate(t, s, orig)
	tests := []struct {
		name string
		do   func(ctx context.Context) error
	}{
		{name: "update", do: func(ctx context.Context) error {
			r := route("org-b", "www.example.com")
			r.Target = "https://evil.example.net/"
			return s.UpdateRoute(ctx, r, reroute.KeepRules)
		}},
		{name: "delete", do: func(ctx context.Context) error { return s.DeleteRoute(ctx, "org-b", "www.example.com") }},
		{name: "update missing", do: func(ctx context.Context) error {
			return s.UpdateRoute(ctx, route("org-b", "nothing.example.com"), reroute.KeepRules)
		}},
		{name: "delete missing", do: func(ctx context.Context) error { return s.DeleteRoute(ctx, "org-b", "nothing.example.com") }},
		{name: "delete without org", do: func(ctx context.Context) error { return s.DeleteRoute(ctx, "", "www.example.com") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.do(t.Context()), reroute.CodeNotFound, "route_not_found")
		})
	}
	got, err := s.GetRoute(t.Context(), orig.Host)
	if err != nil {
		t.Fatal(err)
	}
	if got.OrgID != orig.OrgID || got.Target != orig.Target {
		t.Fatalf("route changed by another org: %+v", got)
	}
}

// TestCreateRouteRace checks that uniqueness holds in the database: of many orgs
// claiming one host at once, exactly one wins.
func TestCreateRouteRace(t *testing.T) {
	t.Parallel()
	const n = 20
	s := newStore(t)
	for i := range n {
		mustOrg(t, s, fmt.Sprintf("org-%d", i))
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.CreateRoute(context.Background(), route(fmt.Sprintf("org-%d", i), "contested.example.com"))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("both org-%d and org-%d created the host", winner, i)
		case err == nil:
			winner = i
		default:
			wantErr(t, err, reroute.CodeConflict, "host_taken")
		}
	}
	if winner < 0 {
		t.Fatal("no creation succeeded")
	}
	got, err := s.GetRoute(t.Context(), "contested.example.com")
	if err != nil || got.OrgID != fmt.Sprintf("org-%d", winner) {
		t.Fatalf("GetRoute = %+v, %v; want org-%d's", got, err, winner)
	}
}

// listAll pages through org's routes and returns the hosts of each page.
func listAll(t *testing.T, s *dynamo.Store, org string, limit int) [][]string {
	t.Helper()
	var pages [][]string
	cursor := ""
	for {
		p, err := s.ListRoutes(t.Context(), org, reroute.PageRequest{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("ListRoutes(%s, %d, %q): %v", org, limit, cursor, err)
		}
		var hosts []string
		for _, r := range p.Items {
			if r.OrgID != org {
				t.Fatalf("org %s's list holds %+v", org, r)
			}
			hosts = append(hosts, r.Host)
		}
		pages = append(pages, hosts)
		if p.NextCursor == "" {
			return pages
		}
		if len(pages) > 100 {
			t.Fatal("too many pages")
		}
		cursor = p.NextCursor
	}
}

func TestListRoutes(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a", "org-b")
	// org-a has 53 routes (more than a default page); org-b's hosts sort among them.
	var hostsA []string
	var wg sync.WaitGroup
	for i := range 53 {
		host := fmt.Sprintf("h%02d.example.com", i)
		hostsA = append(hostsA, host)
		wg.Go(func() { create(t, s, route("org-a", host)) })
	}
	wg.Go(func() { create(t, s, route("org-a", "*.wild.example.com")) })
	for _, h := range []string{"h00b.example.com", "h10b.example.com", "zzz.example.com"} {
		wg.Go(func() { create(t, s, route("org-b", h)) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	hostsA = append(hostsA, "*.wild.example.com")
	slices.Sort(hostsA) // host order is byte order: "*" sorts first

	tests := []struct {
		name      string
		org       string
		limit     int
		wantSizes []int
	}{
		{name: "default page size", org: "org-a", limit: 0, wantSizes: []int{50, 4}},
		{name: "limit 1", org: "org-a", limit: 1, wantSizes: slices.Repeat([]int{1}, 54)},
		{name: "limit 20", org: "org-a", limit: 20, wantSizes: []int{20, 20, 14}},
		{name: "limit that divides", org: "org-a", limit: 27, wantSizes: []int{27, 27}},
		{name: "max", org: "org-a", limit: reroute.MaxPageSize, wantSizes: []int{54}},
		{name: "other org", org: "org-b", limit: 2, wantSizes: []int{2, 1}},
		{name: "org without routes", org: "org-c", limit: 0, wantSizes: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pages := listAll(t, s, tt.org, tt.limit)
			var sizes []int
			var all []string
			for _, p := range pages {
				sizes = append(sizes, len(p))
				all = append(all, p...)
			}
			if !slices.Equal(sizes, tt.wantSizes) {
				t.Errorf("page sizes = %v, want %v", sizes, tt.wantSizes)
			}
			if tt.org == "org-a" && !slices.Equal(all, hostsA) {
				t.Errorf("hosts = %v, want %v", all, hostsA)
			}
		})
	}
}

func TestListRoutesBadRequest(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	cursor := func(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }
	tests := []struct {
		name   string
		page   reroute.PageRequest
		reason string
	}{
		{name: "limit too large", page: reroute.PageRequest{Limit: reroute.MaxPageSize + 1}, reason: "validation_failed"},
		{name: "negative limit", page: reroute.PageRequest{Limit: -1}, reason: "validation_failed"},
		{name: "not base64", page: reroute.PageRequest{Cursor: "not a cursor!"}, reason: "invalid_cursor"},
		{name: "padded base64", page: reroute.PageRequest{Cursor: base64.URLEncoding.EncodeToString([]byte("1:ab.example.com"))}, reason: "invalid_cursor"},
		{name: "no version", page: reroute.PageRequest{Cursor: cursor("a.example.com")}, reason: "invalid_cursor"},
		{name: "unknown version", page: reroute.PageRequest{Cursor: cursor("2:a.example.com")}, reason: "invalid_cursor"},
		{name: "empty host", page: reroute.PageRequest{Cursor: cursor("1:")}, reason: "invalid_cursor"},
		{name: "not a host", page: reroute.PageRequest{Cursor: cursor("1:HOST#a.example.com")}, reason: "invalid_cursor"},
		{name: "host not normalised", page: reroute.PageRequest{Cursor: cursor("1:A.Example.com")}, reason: "invalid_cursor"},
		{name: "too long", page: reroute.PageRequest{Cursor: strings.Repeat("A", 10000)}, reason: "invalid_cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.ListRoutes(t.Context(), "org-a", tt.page)
			wantErr(t, err, reroute.CodeInvalid, tt.reason)
		})
	}
}

// TestListRoutesForeignCursor checks that a cursor made for one org, given with
// another, pages through the second org's routes only.
func TestListRoutesForeignCursor(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a", "org-b")
	mustCreate(t, s,
		route("org-a", "a1.example.com"), route("org-a", "a2.example.com"),
		route("org-b", "b1.example.com"), route("org-b", "b2.example.com"), route("org-b", "b3.example.com"),
	)
	pb, err := s.ListRoutes(t.Context(), "org-b", reroute.PageRequest{Limit: 1})
	if err != nil || pb.NextCursor == "" {
		t.Fatalf("org-b's first page = %+v, %v", pb, err)
	}
	pa, err := s.ListRoutes(t.Context(), "org-a", reroute.PageRequest{Cursor: pb.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range pa.Items {
		if r.OrgID != "org-a" {
			t.Errorf("org-a's page with org-b's cursor holds %+v", r)
		}
	}
	// A hand-made cursor naming one of org-b's hosts leaks nothing either.
	forged := base64.RawURLEncoding.EncodeToString([]byte("1:a1.example.com"))
	pb, err = s.ListRoutes(t.Context(), "org-b", reroute.PageRequest{Cursor: forged})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range pb.Items {
		if r.OrgID != "org-b" {
			t.Errorf("org-b's page with a forged cursor holds %+v", r)
		}
	}
	if len(pb.Items) != 3 {
		t.Errorf("org-b's page after a1 has %d routes, want 3", len(pb.Items))
	}
}

func TestFindRoute(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a", "org-b", "org-c", "org-d")
	mustCreate(t, s,
		route("org-a", "*.example.com"),
		route("org-b", "*.b.example.com"),
		route("org-c", "a.b.example.com"),
		route("org-d", "example.org"),
	)
	disabled := route("org-d", "off.example.org")
	disabled.Enabled = false
	mustCreate(t, s, disabled)

	tests := []struct {
		host      string
		wantHost  string // "" for no route
		wantOrgID string
	}{
		{host: "a.b.example.com", wantHost: "a.b.example.com", wantOrgID: "org-c"},
		{host: "x.b.example.com", wantHost: "*.b.example.com", wantOrgID: "org-b"},
		{host: "deep.x.b.example.com", wantHost: "*.b.example.com", wantOrgID: "org-b"},
		{host: "x.a.b.example.com", wantHost: "*.b.example.com", wantOrgID: "org-b"},
		{host: "b.example.com", wantHost: "*.example.com", wantOrgID: "org-a"},
		{host: "c.example.com", wantHost: "*.example.com", wantOrgID: "org-a"},
		{host: "example.com", wantHost: ""},
		{host: "example.org", wantHost: "example.org", wantOrgID: "org-d"},
		{host: "www.example.org", wantHost: ""},
		{host: "off.example.org", wantHost: "off.example.org", wantOrgID: "org-d"},
		{host: "unknown.test", wantHost: ""},
		{host: "", wantHost: ""},
	}
	for _, tt := range tests {
		name := tt.host
		if name == "" {
			name = "empty host"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, found, err := s.FindRoute(t.Context(), tt.host)
			if err != nil {
				t.Fatal(err)
			}
			if found != (tt.wantHost != "") || got.Host != tt.wantHost || got.OrgID != tt.wantOrgID {
				t.Fatalf("FindRoute(%q) = %q of %q, found %v; want %q of %q", tt.host, got.Host, got.OrgID, found, tt.wantHost, tt.wantOrgID)
			}
			if !found {
				return
			}
			// The redirector's fields are all there, with the creation time that
			// places the route among its org's; the update time is not read.
			want, err := s.GetRoute(t.Context(), tt.wantHost)
			if err != nil {
				t.Fatal(err)
			}
			want.UpdatedAt = time.Time{}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("FindRoute = %+v, want %+v", got, want)
			}
		})
	}
}

// countingAPI counts the calls that reach DynamoDB, in all and by operation.
type countingAPI struct {
	dynamo.API
	calls atomic.Int64
	mu    sync.Mutex
	ops   map[string]int
}

func (c *countingAPI) count(op string) {
	c.calls.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ops == nil {
		c.ops = map[string]int{}
	}
	c.ops[op]++
}

// byOp returns the calls counted by operation.
func (c *countingAPI) byOp() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.ops)
}

func (c *countingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.count("GetItem")
	return c.API.GetItem(ctx, in, opts...)
}

func (c *countingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.count("Query")
	return c.API.Query(ctx, in, opts...)
}

func (c *countingAPI) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.count("BatchGetItem")
	for _, ka := range in.RequestItems {
		// "The maximum number of items that can be retrieved in a single
		// BatchGetItem operation is 100": https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
		if len(ka.Keys) > 100 {
			return nil, fmt.Errorf("ValidationException: Too many items requested for the BatchGetItem call (%d)", len(ka.Keys))
		}
	}
	return c.API.BatchGetItem(ctx, in, opts...)
}

// TestFindRouteDeepHostRoundTrips checks that a host of 127 labels (the most 253
// bytes can hold) costs two round trips at most, found or not: one Query of the
// exact host's partition beside one BatchGetItem of every wildcard candidate, and
// the org's pause read when a route is found.
func TestFindRouteDeepHostRoundTrips(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	seed := dynamo.New(client, table)
	mustOrg(t, seed, "org-a")
	host := strings.Repeat("a.", 126) + "a" // 127 labels, 253 bytes
	if n := strings.Count(host, ".") + 1; n != 127 || len(host) != 253 {
		t.Fatalf("host has %d labels, %d bytes", n, len(host))
	}
	deepest := "*." + strings.Join(strings.Split(host, ".")[127-reroute.MaxWildcardBaseLabels:], ".")
	mustCreate(t, seed, route("org-a", "*.a.a"), route("org-a", deepest))
	found := map[string]int{"Query": 1, "BatchGetItem": 1, "GetItem": 1}
	tests := []struct {
		name, host, want string
		calls            map[string]int
	}{
		{"deepest wildcard in bounds wins", host, deepest, found},
		{"shallower wildcard", strings.Repeat("a.", 122) + "b.a.a", "*.a.a", found},
		{"no route", strings.Repeat("a.", 126) + "b", "", map[string]int{"Query": 1, "BatchGetItem": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &countingAPI{API: client}
			got, found, err := dynamo.New(api, table).FindRoute(t.Context(), tt.host)
			if err != nil || found != (tt.want != "") || got.Host != tt.want {
				t.Fatalf("FindRoute = %q, %v, %v; want %q", got.Host, found, err, tt.want)
			}
			if calls := api.byOp(); !maps.Equal(calls, tt.calls) {
				t.Errorf("DynamoDB calls %v, want %v", calls, tt.calls)
			}
		})
	}
}

// flakyAPI leaves every key of the first few BatchGetItem calls unprocessed, as
// DynamoDB does when throttled.
type flakyAPI struct {
	dynamo.API
	mu        sync.Mutex
	unprocess int
	calls     int
}

func (f *flakyAPI) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.mu.Lock()
	f.calls++
	skip := f.calls <= f.unprocess
	f.mu.Unlock()
	if skip {
		return &dynamodb.BatchGetItemOutput{UnprocessedKeys: in.RequestItems}, nil
	}
	return f.API.BatchGetItem(ctx, in, opts...)
}

func TestFindRouteUnprocessedKeys(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	seed := dynamo.New(client, table)
	mustOrg(t, seed, "org-a")
	mustCreate(t, seed, route("org-a", "*.example.com"))
	tests := []struct {
		name      string
		unprocess int
		wantErr   bool
	}{
		{name: "retried", unprocess: 2},
		{name: "given up", unprocess: 100, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := &flakyAPI{API: client, unprocess: tt.unprocess}
			got, found, err := dynamo.New(api, table).FindRoute(t.Context(), "www.example.com")
			if tt.wantErr {
				wantErr(t, err, reroute.CodeUnavailable, "store_unavailable")
				if found {
					t.Error("found with an error")
				}
				return
			}
			if err != nil || !found || got.Host != "*.example.com" {
				t.Fatalf("FindRoute = %+v, %v, %v", got, found, err)
			}
			if api.calls != tt.unprocess+1 {
				t.Errorf("%d calls, want %d", api.calls, tt.unprocess+1)
			}
		})
	}
}

// downAPI fails every call, as DynamoDB does when it cannot be reached.
type downAPI struct{ dynamo.API }

var errDown = errors.New("connection refused: secret internal detail")

func (downAPI) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, errDown
}

func (downAPI) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, errDown
}

func (downAPI) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, errDown
}

func (downAPI) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, errDown
}

func (downAPI) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, errDown
}

func (downAPI) BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return nil, errDown
}

func (downAPI) BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	return nil, errDown
}

func (downAPI) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return nil, errDown
}

func TestStoreUnavailable(t *testing.T) {
	t.Parallel()
	s := dynamo.New(downAPI{}, "table")
	r := route("org-a", "example.com")
	tests := []struct {
		name string
		do   func(ctx context.Context) error
	}{
		{name: "get", do: func(ctx context.Context) error { _, err := s.GetRoute(ctx, r.Host); return err }},
		{name: "create", do: func(ctx context.Context) error { return s.CreateRoute(ctx, r) }},
		{name: "update", do: func(ctx context.Context) error { return s.UpdateRoute(ctx, r, reroute.KeepRules) }},
		{name: "delete", do: func(ctx context.Context) error { return s.DeleteRoute(ctx, r.OrgID, r.Host) }},
		{name: "list", do: func(ctx context.Context) error {
			_, err := s.ListRoutes(ctx, r.OrgID, reroute.PageRequest{})
			return err
		}},
		{name: "find", do: func(ctx context.Context) error {
			_, found, err := s.FindRoute(ctx, r.Host)
			if found {
				return errors.New("found a route")
			}
			return err
		}},
		{name: "create org", do: func(ctx context.Context) error {
			return s.CreateOrg(ctx, newOrg("org-a", reroute.PlanFree), owner("org-a", "a@example.com"))
		}},
		{name: "get org", do: func(ctx context.Context) error { _, err := s.GetOrg(ctx, "org-a"); return err }},
		{name: "rename org", do: func(ctx context.Context) error { return s.RenameOrg(ctx, "org-a", "A", time.Time{}) }},
		{name: "delete org", do: func(ctx context.Context) error { return s.DeleteOrg(ctx, "org-a") }},
		{name: "get member", do: func(ctx context.Context) error { _, err := s.GetMember(ctx, "org-a", "a@example.com"); return err }},
		{name: "list members", do: func(ctx context.Context) error {
			_, err := s.ListMembers(ctx, "org-a", reroute.PageRequest{})
			return err
		}},
		{name: "list memberships", do: func(ctx context.Context) error { _, err := s.ListMemberships(ctx, "a@example.com"); return err }},
		{name: "add member", do: func(ctx context.Context) error {
			return s.AddMember(ctx, member("org-a", "b@example.com", reroute.RoleAdmin))
		}},
		{name: "set role", do: func(ctx context.Context) error {
			return s.SetMemberRole(ctx, "org-a", "a@example.com", reroute.RoleAdmin)
		}},
		{name: "remove member", do: func(ctx context.Context) error { return s.RemoveMember(ctx, "org-a", "a@example.com") }},
		{name: "create key", do: func(ctx context.Context) error { return s.CreateAPIKey(ctx, apiKey("org-a", "k1")) }},
		{name: "get key", do: func(ctx context.Context) error { _, err := s.GetAPIKeyByHash(ctx, hashOf("k1")); return err }},
		{name: "list keys", do: func(ctx context.Context) error {
			_, err := s.ListAPIKeys(ctx, "org-a", reroute.PageRequest{})
			return err
		}},
		{name: "delete key", do: func(ctx context.Context) error { return s.DeleteAPIKey(ctx, "org-a", "k1") }},
		{name: "touch key", do: func(ctx context.Context) error { return s.TouchAPIKey(ctx, hashOf("k1"), time.Now()) }},
		{name: "set customer", do: func(ctx context.Context) error { _, err := s.SetStripeCustomer(ctx, "org-a", "cus_1"); return err }},
		{name: "org by customer", do: func(ctx context.Context) error { _, err := s.OrgByStripeCustomer(ctx, "cus_1"); return err }},
		{name: "apply billing", do: func(ctx context.Context) error {
			_, err := s.ApplyBilling(ctx, "org-a", reroute.BillingChange{EventID: "evt_1", EventAt: time.Now()}, reroute.DefaultCatalog()[0])
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.do(t.Context())
			wantErr(t, err, reroute.CodeUnavailable, "store_unavailable")
			if !errors.Is(err, errDown) {
				t.Errorf("error %v does not wrap the cause", err)
			}
			var e *reroute.Error
			errors.As(err, &e)
			if strings.Contains(e.Message, "secret") {
				t.Errorf("message %q carries the internal error", e.Message)
			}
		})
	}
}

func TestConditionFailed(t *testing.T) {
	t.Parallel()
	reasons := func(codes ...string) *types.TransactionCanceledException {
		e := &types.TransactionCanceledException{Message: aws.String("Transaction cancelled")}
		for _, c := range codes {
			e.CancellationReasons = append(e.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
		}
		return e
	}
	tests := []struct {
		name     string
		err      error
		wantOK   bool
		wantItem int
	}{
		{name: "nil", err: nil},
		{name: "other", err: errors.New("boom")},
		{name: "plain write", err: &types.ConditionalCheckFailedException{}, wantOK: true, wantItem: -1},
		{name: "wrapped", err: fmt.Errorf("op: %w", &types.ConditionalCheckFailedException{}), wantOK: true, wantItem: -1},
		{name: "transaction, second item", err: reasons("None", "ConditionalCheckFailed", "None"), wantOK: true, wantItem: 1},
		{name: "transaction, wrapped", err: fmt.Errorf("op: %w", reasons("ConditionalCheckFailed")), wantOK: true, wantItem: 0},
		{name: "transaction conflict", err: reasons("None", "TransactionConflict")},
		{name: "throttled", err: &types.ProvisionedThroughputExceededException{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			item, ok := dynamo.ConditionFailed(tt.err)
			if ok != tt.wantOK || ok && item != tt.wantItem {
				t.Fatalf("ConditionFailed = %d, %v; want %d, %v", item, ok, tt.wantItem, tt.wantOK)
			}
		})
	}
}

func TestRouteKeys(t *testing.T) {
	t.Parallel()
	s := func(v types.AttributeValue) string { return v.(*types.AttributeValueMemberS).Value }
	k := dynamo.RouteIndexKey("org-1", "*.example.com")
	got := map[string]string{}
	for name, v := range k {
		got[name] = s(v)
	}
	want := map[string]string{"PK": "HOST#*.example.com", "SK": "ROUTE", "GSI1PK": "ORG#org-1", "GSI1SK": "ROUTE#*.example.com"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("RouteIndexKey = %v, want %v", got, want)
	}
}

func BenchmarkFindRoute(b *testing.B) {
	s := newStore(b, "org-a")
	mustCreate(b, s, route("org-a", "www.example.com"), route("org-a", "*.example.com"))
	for _, bb := range []struct{ name, host string }{
		{name: "exact", host: "www.example.com"},
		{name: "wildcard", host: "shop.eu.example.com"},
		{name: "miss", host: "www.unknown.test"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				if _, _, err := s.FindRoute(ctx, bb.host); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
