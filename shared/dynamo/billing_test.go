package dynamo_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
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

// planOf is a plan of the catalog.
func planOf(name string) reroute.Plan {
	p, ok := reroute.DefaultCatalog().Get(name)
	if !ok {
		panic("no plan " + name)
	}
	return p
}

// t0 is when the tests' Stripe events happen (whole seconds, as Stripe's are).
var t0 = time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)

// change is what an event about org's subscription says: status, plan as
// reroute.PlanForStatus gives it, at t0 plus sec seconds.
func change(evt string, sec int, status, plan string) reroute.BillingChange {
	return reroute.BillingChange{
		EventID: evt, EventAt: t0.Add(time.Duration(sec) * time.Second),
		CustomerID: "cus_1", SubscriptionID: "sub_1", Status: status, Plan: plan,
		CurrentPeriodEnd: t0.AddDate(0, 1, 0),
	}
}

// apply applies c with its own plan and fails unless the result is want.
func apply(t *testing.T, s *dynamo.Store, org string, c reroute.BillingChange, want reroute.ApplyResult) {
	t.Helper()
	got, err := s.ApplyBilling(t.Context(), org, c, planOf(c.Plan))
	if err != nil {
		t.Fatalf("ApplyBilling(%s): %v", c.EventID, err)
	}
	if got != want {
		t.Fatalf("ApplyBilling(%s) = %s, want %s", c.EventID, got, want)
	}
}

func getOrg(t *testing.T, s *dynamo.Store, id string) reroute.Org {
	t.Helper()
	o, err := s.GetOrg(t.Context(), id)
	if err != nil {
		t.Fatalf("GetOrg(%s): %v", id, err)
	}
	return o
}

// hasMarker reports whether event's marker is stored.
func hasMarker(t *testing.T, client *dynamodb.Client, table, event string) bool {
	t.Helper()
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName: aws.String(table), Key: dynamo.StripeEventKey(event), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item != nil
}

// rawItem reads an item as plain Go values.
func rawItem(t *testing.T, client *dynamodb.Client, table string, key map[string]types.AttributeValue) map[string]any {
	t.Helper()
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var item map[string]any
	if err := attributevalue.UnmarshalMap(out.Item, &item); err != nil {
		t.Fatal(err)
	}
	return item
}

func TestSetStripeCustomer(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a", "org-b", "org-doomed")
	ctx := t.Context()
	steps := []struct {
		name     string
		org, cus string
		want     string
		code     reroute.Code
		reason   string
	}{
		{name: "first", org: "org-a", cus: "cus_a", want: "cus_a"},
		{name: "again", org: "org-a", cus: "cus_a", want: "cus_a"},
		{name: "another customer", org: "org-a", cus: "cus_other", want: "cus_a"},
		{name: "another org's customer", org: "org-b", cus: "cus_a", code: reroute.CodeConflict, reason: "customer_taken"},
		{name: "second org", org: "org-b", cus: "cus_b", want: "cus_b"},
		{name: "missing org", org: "org-z", cus: "cus_z", code: reroute.CodeNotFound, reason: "org_not_found"},
		{name: "no org", org: "", cus: "cus_z", code: reroute.CodeNotFound, reason: "org_not_found"},
		{name: "no customer", org: "org-a", cus: "", code: reroute.CodeInvalid, reason: "validation_failed"},
		{name: "customer with a space", org: "org-a", cus: "cus x", code: reroute.CodeInvalid, reason: "validation_failed"},
	}
	for _, st := range steps {
		got, err := s.SetStripeCustomer(ctx, st.org, st.cus)
		if st.code != "" {
			t.Run(st.name, func(t *testing.T) { wantErr(t, err, st.code, st.reason) })
			continue
		}
		if err != nil || got != st.want {
			t.Fatalf("%s: SetStripeCustomer(%s, %s) = %q, %v; want %q", st.name, st.org, st.cus, got, err, st.want)
		}
	}
	if err := s.DeleteOrg(ctx, "org-doomed"); err != nil {
		t.Fatal(err)
	}
	_, err := s.SetStripeCustomer(ctx, "org-doomed", "cus_d")
	wantErr(t, err, reroute.CodeNotFound, "org_not_found")

	if got := getOrg(t, s, "org-a").Billing; got != (reroute.Billing{CustomerID: "cus_a"}) {
		t.Errorf("org-a's billing = %+v, want customer cus_a only", got)
	}
	lookups := []struct {
		cus     string
		wantOrg string // "" for not found
	}{
		{cus: "cus_a", wantOrg: "org-a"},
		{cus: "cus_b", wantOrg: "org-b"},
		{cus: "cus_other"}, // refused: never mapped
		{cus: "cus_z"},
		{cus: "cus_d"},
		{cus: ""},
	}
	for _, l := range lookups {
		t.Run("lookup "+l.cus, func(t *testing.T) {
			o, err := s.OrgByStripeCustomer(t.Context(), l.cus)
			if l.wantOrg == "" {
				wantErr(t, err, reroute.CodeNotFound, "org_not_found")
				return
			}
			if err != nil || o.ID != l.wantOrg || o.Billing.CustomerID != l.cus {
				t.Fatalf("OrgByStripeCustomer(%s) = %+v, %v; want %s", l.cus, o, err, l.wantOrg)
			}
		})
	}
}

// TestSetStripeCustomerRace checks that of 10 customers set on one org at once,
// one is stored and mapped, and every caller is told that one.
func TestSetStripeCustomerRace(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	for i, tt := range raceAPIs(client) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dynamo.New(tt.api, table)
			org := fmt.Sprintf("org-%d", i)
			mustOrg(t, s, org)
			got := make([]string, 10)
			errs := race(10, func(n int) error {
				var err error
				got[n], err = s.SetStripeCustomer(context.Background(), org, fmt.Sprintf("cus_%d_%d", i, n))
				return err
			})
			t.Logf("%d transactions cancelled by a conflict and retried", tt.api.conflicts.Load())
			for n, err := range errs {
				if err != nil {
					t.Fatalf("call %d: %v", n, err)
				}
			}
			stored := getOrg(t, s, org).Billing.CustomerID
			mapped := 0
			for n := range 10 {
				if got[n] != stored {
					t.Errorf("call %d got %q, the org has %q", n, got[n], stored)
				}
				cus := fmt.Sprintf("cus_%d_%d", i, n)
				o, err := s.OrgByStripeCustomer(t.Context(), cus)
				switch {
				case err == nil && o.ID == org && cus == stored:
					mapped++
				case err == nil:
					t.Errorf("customer %s, not the org's, maps to %s", cus, o.ID)
				case !reroute.IsNotFound(err):
					t.Errorf("OrgByStripeCustomer(%s): %v", cus, err)
				}
			}
			if mapped != 1 {
				t.Errorf("%d customers mapped to the org, want 1", mapped)
			}
		})
	}
}

// TestApplyBillingUpgrade applies a subscription to a free org: plan, limits,
// billing and the customer's mapping change together, with the event's marker.
func TestApplyBillingUpgrade(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustCreateOrg(t, s, newOrg("org-a", reroute.PlanFree), owner("org-a", "a@example.com"))
	before := time.Now()
	c := change("evt_1", 0, "active", reroute.PlanDeveloper)
	c.CancelAtPeriodEnd = true
	apply(t, s, "org-a", c, reroute.Applied)

	o := getOrg(t, s, "org-a")
	if o.Plan != reroute.PlanDeveloper || o.RouteLimit != 10 || o.MemberLimit != 5 || o.MemberCount != 1 {
		t.Errorf("org after the upgrade = %+v, want developer with 10 routes and 5 members", o)
	}
	wantBilling := reroute.Billing{CustomerID: "cus_1", SubscriptionID: "sub_1", Status: "active",
		CurrentPeriodEnd: t0.AddDate(0, 1, 0), CancelAtPeriodEnd: true, EventAt: t0}
	if o.Billing != wantBilling {
		t.Errorf("billing = %+v, want %+v", o.Billing, wantBilling)
	}
	if byCus, err := s.OrgByStripeCustomer(t.Context(), "cus_1"); err != nil || byCus.ID != "org-a" {
		t.Errorf("OrgByStripeCustomer = %+v, %v; want org-a", byCus, err)
	}
	// The member limit applies at once.
	for i := range 4 {
		if err := s.AddMember(t.Context(), member("org-a", fmt.Sprintf("m%d@example.com", i), reroute.RoleMember)); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, s.AddMember(t.Context(), member("org-a", "m5@example.com", reroute.RoleMember)), reroute.CodeLimit, "plan_limit_reached")

	// The stored items: the org's billing in fixed-width times, the marker with its TTL.
	org := rawItem(t, client, table, dynamo.OrgKey("org-a"))
	for k, v := range map[string]any{
		"stripeCustomerId": "cus_1", "subscriptionId": "sub_1", "subscriptionStatus": "active",
		"currentPeriodEnd": "2025-06-06T07:08:09.000000000Z", "cancelAtPeriodEnd": true,
		"billingEventAt": "2025-05-06T07:08:09.000000000Z", "plan": "developer", "routeLimit": 10.0,
	} {
		if org[k] != v {
			t.Errorf("org[%s] = %v, want %v", k, org[k], v)
		}
	}
	if _, ok := org["pausedFrom"]; ok {
		t.Errorf("org item has pausedFrom %v with nothing to pause", org["pausedFrom"])
	}
	marker := rawItem(t, client, table, dynamo.StripeEventKey("evt_1"))
	if marker["PK"] != "STRIPEEVT#evt_1" || marker["SK"] != "EVT" || marker["orgId"] != "org-a" {
		t.Errorf("marker = %v", marker)
	}
	exp, _ := marker[dynamo.KeyAttributes.TTL].(float64)
	if lo, hi := before.Add(30*24*time.Hour).Unix(), time.Now().Add(30*24*time.Hour).Unix(); int64(exp) < lo || int64(exp) > hi {
		t.Errorf("marker's %s = %v, want 30 days from now (%d..%d)", dynamo.KeyAttributes.TTL, marker[dynamo.KeyAttributes.TTL], lo, hi)
	}
	if cus := rawItem(t, client, table, dynamo.StripeCustomerKey("cus_1")); cus["PK"] != "STRIPE#cus_1" || cus["SK"] != "ORG" || cus["orgId"] != "org-a" {
		t.Errorf("customer item = %v", cus)
	}

	// Canceling at the period's end changes nothing else; then the cancellation.
	c = change("evt_2", 10, "active", reroute.PlanDeveloper)
	apply(t, s, "org-a", c, reroute.Applied)
	if o := getOrg(t, s, "org-a"); o.Billing.CancelAtPeriodEnd || o.Plan != reroute.PlanDeveloper {
		t.Errorf("after evt_2 org = %+v", o)
	}
	if _, ok := rawItem(t, client, table, dynamo.OrgKey("org-a"))["cancelAtPeriodEnd"]; ok {
		t.Error("cancelAtPeriodEnd stored false rather than removed")
	}
	apply(t, s, "org-a", change("evt_3", 20, "canceled", reroute.PlanFree), reroute.Applied)
	o = getOrg(t, s, "org-a")
	if o.Plan != reroute.PlanFree || o.RouteLimit != 1 || o.MemberLimit != 1 || o.Billing.Status != "canceled" {
		t.Errorf("after the cancellation org = %+v", o)
	}
	// Members are kept over the limit; no more are added.
	if o.MemberCount != 5 {
		t.Errorf("member count = %d, want the 5 members kept", o.MemberCount)
	}
	wantErr(t, s.AddMember(t.Context(), member("org-a", "m6@example.com", reroute.RoleMember)), reroute.CodeLimit, "plan_limit_reached")
}

// TestApplyBillingOnce checks events seen before, and events older than the last
// applied: they change nothing and, stale, leave no marker.
func TestApplyBillingOnce(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	type event struct {
		c    reroute.BillingChange
		want reroute.ApplyResult
	}
	tests := []struct {
		name       string
		events     []event
		wantPlan   string
		wantStatus string
		wantMarker map[string]bool
	}{
		{name: "the same event twice", events: []event{
			{change("evt_1", 0, "active", reroute.PlanDeveloper), reroute.Applied},
			{change("evt_1", 0, "active", reroute.PlanDeveloper), reroute.Duplicate},
		}, wantPlan: reroute.PlanDeveloper, wantStatus: "active", wantMarker: map[string]bool{"evt_1": true}},
		{name: "an older event after a newer one", events: []event{
			{change("evt_new", 10, "past_due", reroute.PlanDeveloper), reroute.Applied},
			{change("evt_old", 5, "active", reroute.PlanEnterprise), reroute.Stale},
		}, wantPlan: reroute.PlanDeveloper, wantStatus: "past_due", wantMarker: map[string]bool{"evt_new": true, "evt_old": false}},
		{name: "deleted before updated", events: []event{
			{change("evt_created", 0, "active", reroute.PlanDeveloper), reroute.Applied},
			{change("evt_deleted", 20, "canceled", reroute.PlanFree), reroute.Applied},
			{change("evt_updated", 10, "active", reroute.PlanDeveloper), reroute.Stale},
		}, wantPlan: reroute.PlanFree, wantStatus: "canceled", wantMarker: map[string]bool{"evt_deleted": true, "evt_updated": false}},
		{name: "two events in one second, both applied in order", events: []event{
			{change("evt_a", 0, "incomplete", reroute.PlanFree), reroute.Applied},
			{change("evt_b", 0, "active", reroute.PlanDeveloper), reroute.Applied},
			{change("evt_a", 0, "incomplete", reroute.PlanFree), reroute.Duplicate},
		}, wantPlan: reroute.PlanDeveloper, wantStatus: "active", wantMarker: map[string]bool{"evt_a": true, "evt_b": true}},
		{name: "an old duplicate is stale", events: []event{
			{change("evt_1", 0, "active", reroute.PlanDeveloper), reroute.Applied},
			{change("evt_2", 1, "active", reroute.PlanEnterprise), reroute.Applied},
			{change("evt_1", 0, "active", reroute.PlanDeveloper), reroute.Stale},
		}, wantPlan: reroute.PlanEnterprise, wantStatus: "active", wantMarker: map[string]bool{"evt_1": true, "evt_2": true}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			org := fmt.Sprintf("org-%d", i)
			mustCreateOrg(t, s, newOrg(org, reroute.PlanFree), owner(org, "a@example.com"))
			var before reroute.Org
			for _, e := range tt.events {
				e.c.EventID = fmt.Sprintf("%s_%d", e.c.EventID, i) // events are global: one set per org
				e.c.CustomerID = fmt.Sprintf("cus_%d", i)
				if e.want != reroute.Applied {
					before = getOrg(t, s, org)
				}
				apply(t, s, org, e.c, e.want)
				if e.want != reroute.Applied {
					if after := getOrg(t, s, org); after != before {
						t.Errorf("%s %s changed the org:\n%+v\nto\n%+v", e.want, e.c.EventID, before, after)
					}
				}
			}
			o := getOrg(t, s, org)
			if o.Plan != tt.wantPlan || o.Billing.Status != tt.wantStatus || o.RouteLimit != planOf(tt.wantPlan).RouteLimit {
				t.Errorf("org = %+v, want plan %s, status %s", o, tt.wantPlan, tt.wantStatus)
			}
			for evt, want := range tt.wantMarker {
				if got := hasMarker(t, client, table, fmt.Sprintf("%s_%d", evt, i)); got != want {
					t.Errorf("marker of %s stored: %v, want %v", evt, got, want)
				}
			}
		})
	}
}

// TestApplyBillingDuplicateRace delivers one event 10 times at once: exactly one
// delivery applies it.
func TestApplyBillingDuplicateRace(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	for i, tt := range raceAPIs(client) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dynamo.New(tt.api, table)
			org := fmt.Sprintf("org-%d", i)
			mustCreateOrg(t, s, newOrg(org, reroute.PlanFree), owner(org, "a@example.com"))
			c := change(fmt.Sprintf("evt_%d", i), 0, "active", reroute.PlanDeveloper)
			c.CustomerID = fmt.Sprintf("cus_%d", i)
			results := make([]reroute.ApplyResult, 10)
			errs := race(10, func(n int) error {
				var err error
				results[n], err = s.ApplyBilling(context.Background(), org, c, planOf(c.Plan))
				return err
			})
			t.Logf("%d transactions cancelled by a conflict and retried", tt.api.conflicts.Load())
			count := map[reroute.ApplyResult]int{}
			for n, err := range errs {
				if err != nil {
					t.Fatalf("call %d: %v", n, err)
				}
				count[results[n]]++
			}
			if count[reroute.Applied] != 1 || count[reroute.Duplicate] != 9 {
				t.Errorf("results %v, want 1 applied and 9 duplicates", count)
			}
			if o := getOrg(t, s, org); o.Plan != reroute.PlanDeveloper || o.Billing.CustomerID != c.CustomerID {
				t.Errorf("org = %+v", o)
			}
		})
	}
}

func TestApplyBillingRefused(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a", "org-b", "org-doomed")
	ctx := t.Context()
	if _, err := s.SetStripeCustomer(ctx, "org-b", "cus_b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOrg(ctx, "org-doomed"); err != nil {
		t.Fatal(err)
	}
	good := change("evt_1", 0, "active", reroute.PlanDeveloper)
	with := func(f func(*reroute.BillingChange)) reroute.BillingChange {
		c := good
		f(&c)
		return c
	}
	tests := []struct {
		name   string
		org    string
		c      reroute.BillingChange
		plan   reroute.Plan
		code   reroute.Code
		reason string
	}{
		{name: "missing org", org: "org-z", c: good, plan: planOf(reroute.PlanDeveloper), code: reroute.CodeNotFound, reason: "org_not_found"},
		{name: "no org", org: "", c: good, plan: planOf(reroute.PlanDeveloper), code: reroute.CodeNotFound, reason: "org_not_found"},
		{name: "org being deleted", org: "org-doomed", c: good, plan: planOf(reroute.PlanDeveloper), code: reroute.CodeNotFound, reason: "org_not_found"},
		{name: "no event id", org: "org-a", c: with(func(c *reroute.BillingChange) { c.EventID = "" }), plan: planOf(reroute.PlanDeveloper), code: reroute.CodeInvalid},
		{name: "no event time", org: "org-a", c: with(func(c *reroute.BillingChange) { c.EventAt = time.Time{} }), plan: planOf(reroute.PlanDeveloper), code: reroute.CodeInvalid},
		{name: "no plan", org: "org-a", c: with(func(c *reroute.BillingChange) { c.Plan = "" }), plan: reroute.Plan{}, code: reroute.CodeInvalid},
		{name: "another plan", org: "org-a", c: good, plan: planOf(reroute.PlanEnterprise), code: reroute.CodeInvalid},
		{name: "bad customer", org: "org-a", c: with(func(c *reroute.BillingChange) { c.CustomerID = "cus 1" }), plan: planOf(reroute.PlanDeveloper), code: reroute.CodeInvalid},
		{name: "another org's customer", org: "org-a", c: with(func(c *reroute.BillingChange) { c.CustomerID = "cus_b" }), plan: planOf(reroute.PlanDeveloper), code: reroute.CodeConflict, reason: "customer_taken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.ApplyBilling(t.Context(), tt.org, tt.c, tt.plan)
			wantErr(t, err, tt.code, tt.reason)
			if res != "" {
				t.Errorf("result %q with an error", res)
			}
		})
	}
	if o := getOrg(t, s, "org-a"); o.Plan != reroute.PlanEnterprise || o.Billing != (reroute.Billing{}) {
		t.Errorf("org-a changed: %+v", o)
	}
	// None of them left a marker: the event applies once it can.
	apply(t, s, "org-a", good, reroute.Applied)
}

// routesInOrder creates n routes for org, created a minute apart, whose hosts do
// not sort in creation order; it returns the hosts oldest first.
func routesInOrder(t *testing.T, s *dynamo.Store, org string, n int) []string {
	t.Helper()
	hosts := make([]string, n)
	for i := range n {
		hosts[i] = fmt.Sprintf("h%02d.%s.example.com", (i*7+3)%n, org)
		r := route(org, hosts[i])
		r.CreatedAt = time.Date(2025, 1, 1, 0, i, 0, 0, time.UTC)
		mustCreate(t, s, r)
	}
	return hosts
}

// wantActive checks through every read that the first `active` of hosts (oldest
// first) are active and the rest paused.
func wantActive(t *testing.T, s *dynamo.Store, org string, hosts []string, active int) {
	t.Helper()
	want := map[string]bool{} // host: paused
	for i, h := range hosts {
		want[h] = i >= active
	}
	for _, h := range hosts {
		r, err := s.GetRoute(t.Context(), h)
		if err != nil {
			t.Fatalf("GetRoute(%s): %v", h, err)
		}
		if r.Paused != want[h] {
			t.Errorf("GetRoute(%s).Paused = %v, want %v", h, r.Paused, want[h])
		}
		f, found, err := s.FindRoute(t.Context(), h)
		if err != nil || !found || f.Host != h {
			t.Fatalf("FindRoute(%s) = %+v, %v, %v", h, f, found, err)
		}
		if f.Paused != want[h] {
			t.Errorf("FindRoute(%s).Paused = %v, want %v", h, f.Paused, want[h])
		}
	}
	listed := 0
	for cursor := ""; ; {
		p, err := s.ListRoutes(t.Context(), org, reroute.PageRequest{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Items {
			listed++
			if r.Paused != want[r.Host] {
				t.Errorf("ListRoutes: %s paused %v, want %v", r.Host, r.Paused, want[r.Host])
			}
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if listed != len(hosts) {
		t.Errorf("ListRoutes listed %d routes, want %d", listed, len(hosts))
	}
	o := getOrg(t, s, org)
	if o.RouteCount != len(hosts) || min(o.RouteCount, o.RouteLimit) != active {
		t.Errorf("org counts %d routes with a limit of %d; want %d routes, %d active", o.RouteCount, o.RouteLimit, len(hosts), active)
	}
}

// TestDowngradePausesRoutes walks an org from developer down to free and back:
// the newest routes beyond the limit pause, and resume oldest first.
func TestDowngradePausesRoutes(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	mustCreateOrg(t, s, newOrg("org-a", reroute.PlanDeveloper), owner("org-a", "a@example.com"))
	mustCreateOrg(t, s, newOrg("org-b", reroute.PlanFree), owner("org-b", "b@example.com"))
	hosts := routesInOrder(t, s, "org-a", 10)
	mustCreate(t, s, route("org-b", "b.example.com"))
	wantActive(t, s, "org-a", hosts, 10)

	apply(t, s, "org-a", change("evt_1", 0, "canceled", reroute.PlanFree), reroute.Applied)
	wantActive(t, s, "org-a", hosts, 1)
	wantErr(t, s.CreateRoute(ctx, route("org-a", "new.example.com")), reroute.CodeLimit, "plan_limit_reached")
	wantActive(t, s, "org-b", []string{"b.example.com"}, 1) // another org is untouched

	// An update keeps a paused route paused.
	upd := route("org-a", hosts[5])
	upd.Target = "https://elsewhere.example.net/"
	if err := s.UpdateRoute(ctx, upd, reroute.KeepRules); err != nil {
		t.Fatal(err)
	}
	wantActive(t, s, "org-a", hosts, 1)

	steps := []struct {
		name   string
		delete string
		hosts  []string // left, oldest first
		active int
	}{
		{name: "delete the active route: the oldest paused resumes", delete: hosts[0], hosts: hosts[1:], active: 1},
		{name: "delete a paused route", delete: hosts[5], hosts: slices.Concat(hosts[1:5], hosts[6:]), active: 1},
		{name: "delete the newest", delete: hosts[9], hosts: slices.Concat(hosts[1:5], hosts[6:9]), active: 1},
		{name: "delete the active route again", delete: hosts[1], hosts: slices.Concat(hosts[2:5], hosts[6:9]), active: 1},
	}
	for _, st := range steps {
		if err := s.DeleteRoute(ctx, "org-a", st.delete); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		wantActive(t, s, "org-a", st.hosts, st.active)
		if t.Failed() {
			t.Fatalf("after %q", st.name)
		}
	}
	left := slices.Concat(hosts[2:5], hosts[6:9])

	apply(t, s, "org-a", change("evt_2", 10, "active", reroute.PlanDeveloper), reroute.Applied)
	wantActive(t, s, "org-a", left, 6)
	mustCreate(t, s, route("org-a", "new.example.com"))
	left = append(left, "new.example.com")
	wantActive(t, s, "org-a", left, 7)

	// Down again, then delete down to the limit: nothing paused, the limit holds.
	apply(t, s, "org-a", change("evt_3", 20, "canceled", reroute.PlanFree), reroute.Applied)
	wantActive(t, s, "org-a", left, 1)
	for len(left) > 1 {
		last := left[len(left)-1]
		if err := s.DeleteRoute(ctx, "org-a", last); err != nil {
			t.Fatal(err)
		}
		left = left[:len(left)-1]
	}
	wantActive(t, s, "org-a", left, 1)
	wantErr(t, s.CreateRoute(ctx, route("org-a", "new2.example.com")), reroute.CodeLimit, "plan_limit_reached")
	if err := s.DeleteRoute(ctx, "org-a", left[0]); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, route("org-a", "new2.example.com"))
	wantActive(t, s, "org-a", []string{"new2.example.com"}, 1)
}

// TestFindRoutePaused checks that the redirector finds a paused route, marked:
// the most specific route decides, even paused; and that a route whose org is
// being deleted reads as paused.
func TestFindRoutePaused(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-wild")
	mustCreateOrg(t, s, newOrg("org-a", reroute.PlanDeveloper), owner("org-a", "a@example.com"))
	mustCreate(t, s, route("org-wild", "*.example.com"))
	hosts := routesInOrder(t, s, "org-a", 2) // the second is paused on free
	apply(t, s, "org-a", change("evt_1", 0, "canceled", reroute.PlanFree), reroute.Applied)

	tests := []struct {
		host       string
		wantHost   string
		wantPaused bool
	}{
		{host: hosts[0], wantHost: hosts[0]},
		{host: hosts[1], wantHost: hosts[1], wantPaused: true},
		{host: "other.example.com", wantHost: "*.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			got, found, err := s.FindRoute(t.Context(), tt.host)
			if err != nil || !found || got.Host != tt.wantHost || got.Paused != tt.wantPaused {
				t.Fatalf("FindRoute(%s) = %s paused %v, found %v, %v; want %s paused %v",
					tt.host, got.Host, got.Paused, found, err, tt.wantHost, tt.wantPaused)
			}
		})
	}

	// An org being deleted (as a DeleteOrg that failed part way leaves it) serves nothing.
	client, table := dynamotest.NewTable(t)
	healthy := dynamo.New(client, table)
	mustOrg(t, healthy, "doomed")
	mustCreate(t, healthy, route("doomed", "doomed.example.com"))
	if _, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: dynamo.OrgKey("doomed"),
		UpdateExpression:          aws.String("SET #deleting = :t"),
		ExpressionAttributeNames:  map[string]string{"#deleting": "deleting"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
	}); err != nil {
		t.Fatal(err)
	}
	got, found, err := healthy.FindRoute(t.Context(), "doomed.example.com")
	if err != nil || !found || !got.Paused {
		t.Errorf("FindRoute of a deleting org's route = %+v, %v, %v; want found, paused", got, found, err)
	}
	if r, err := healthy.GetRoute(t.Context(), "doomed.example.com"); err != nil || !r.Paused {
		t.Errorf("GetRoute of a deleting org's route = %+v, %v; want paused", r, err)
	}
}

// brokenAPI fails the calls named, as DynamoDB does when it cannot be reached,
// and passes the rest on.
type brokenAPI struct {
	dynamo.API
	transactions, queries bool
}

func (b brokenAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if b.transactions {
		return nil, errDown
	}
	return b.API.TransactWriteItems(ctx, in, opts...)
}

func (b brokenAPI) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if b.queries {
		return nil, errDown
	}
	return b.API.Query(ctx, in, opts...)
}

// TestApplyBillingUnavailable checks that a change that fails for DynamoDB is an
// error that leaves nothing: no marker, no change, and the event applies later.
func TestApplyBillingUnavailable(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	healthy := dynamo.New(client, table)
	tests := []struct {
		name string
		api  brokenAPI
	}{
		{name: "transaction fails", api: brokenAPI{transactions: true}},
		{name: "listing the routes fails", api: brokenAPI{queries: true}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			org := fmt.Sprintf("org-%d", i)
			mustCreateOrg(t, healthy, newOrg(org, reroute.PlanDeveloper), owner(org, "a@example.com"))
			routesInOrder(t, healthy, org, 3) // a downgrade must list them
			before := getOrg(t, healthy, org)
			tt.api.API = client
			c := change(fmt.Sprintf("evt_%d", i), 0, "canceled", reroute.PlanFree)
			c.CustomerID = fmt.Sprintf("cus_%d", i)
			res, err := dynamo.New(tt.api, table).ApplyBilling(t.Context(), org, c, planOf(reroute.PlanFree))
			wantErr(t, err, reroute.CodeUnavailable, "store_unavailable")
			if !errors.Is(err, errDown) || res != "" {
				t.Errorf("ApplyBilling = %q, %v; want no result and the cause", res, err)
			}
			if hasMarker(t, client, table, c.EventID) {
				t.Error("a failed change left its marker")
			}
			if after := getOrg(t, healthy, org); after != before {
				t.Errorf("a failed change changed the org: %+v", after)
			}
			if _, err := healthy.OrgByStripeCustomer(t.Context(), c.CustomerID); !reroute.IsNotFound(err) {
				t.Errorf("a failed change mapped the customer: %v", err)
			}
			apply(t, healthy, org, c, reroute.Applied)
		})
	}
}

// wantPausedInvariant checks the rule of paused routes on org: of its routes,
// exactly the min(count, limit) oldest are active, through ListRoutes and GetRoute.
func wantPausedInvariant(t *testing.T, s *dynamo.Store, org string) {
	t.Helper()
	o := getOrg(t, s, org)
	p, err := s.ListRoutes(t.Context(), org, reroute.PageRequest{Limit: reroute.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	routes := p.Items
	slices.SortFunc(routes, func(a, b reroute.Route) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Host, b.Host))
	})
	if len(routes) != o.RouteCount {
		t.Fatalf("org %s counts %d routes, lists %d", org, o.RouteCount, len(routes))
	}
	active := min(o.RouteCount, o.RouteLimit)
	for i, r := range routes {
		if r.Paused != (i >= active) {
			t.Errorf("org %s (%d routes, limit %d): route %d (%s) paused %v", org, o.RouteCount, o.RouteLimit, i, r.Host, r.Paused)
			continue
		}
		g, err := s.GetRoute(t.Context(), r.Host)
		if err != nil || g.Paused != r.Paused {
			t.Errorf("GetRoute(%s) = paused %v, %v; ListRoutes says %v", r.Host, g.Paused, err, r.Paused)
		}
	}
}

// jitterAPI delays every call a little, at random, so that concurrent calls
// interleave in many orders: DynamoDB Local answers too fast for most of them.
type jitterAPI struct{ dynamo.API }

func jitter() { time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond) }

func (j jitterAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	jitter()
	return j.API.GetItem(ctx, in, opts...)
}

func (j jitterAPI) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	jitter()
	return j.API.Query(ctx, in, opts...)
}

func (j jitterAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	jitter()
	return j.API.TransactWriteItems(ctx, in, opts...)
}

// TestPausedRace changes an org's plan while its routes are deleted and created,
// many times over, with calls delayed at random: however they interleave, the
// oldest routes up to the limit are active and the rest paused. The plans have
// limits between 2 and 10, so that active routes are deleted as well as paused.
func TestPausedRace(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	plain := dynamo.New(client, table) // sets up and checks, undelayed
	const rounds = 8
	plans := map[string]reroute.Plan{
		reroute.PlanDeveloper: planOf(reroute.PlanDeveloper), // 10 routes
		"small":               {Name: "small", RouteLimit: 4, MemberLimit: 5},
		"tiny":                {Name: "tiny", RouteLimit: 2, MemberLimit: 5},
		"three":               {Name: "three", RouteLimit: 3, MemberLimit: 5},
	}
	apis := []struct {
		name string
		api  *conflictCounter
	}{
		{name: "jittered", api: &conflictCounter{API: jitterAPI{API: client}}},
		{name: "jittered with conflicts", api: &conflictCounter{API: randomConflicts{API: jitterAPI{API: client}, share: 0.25}}},
	}
	for a, tt := range apis {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dynamo.New(tt.api, table)
			t.Cleanup(func() { t.Logf("%d transactions cancelled by a conflict and retried", tt.api.conflicts.Load()) })
			for round := range rounds {
				t.Run(fmt.Sprint(round), func(t *testing.T) {
					t.Parallel()
					org := fmt.Sprintf("org-%d-%d", a, round)
					mustCreateOrg(t, plain, newOrg(org, reroute.PlanDeveloper), owner(org, "a@example.com"))
					hosts := routesInOrder(t, plain, org, 10)
					// Event n of the org's own customer.
					applyAt := func(n, sec int, status, plan string) error {
						c := change(fmt.Sprintf("evt_%s_%d", org, n), sec, status, plan)
						c.CustomerID = "cus_" + org
						_, err := s.ApplyBilling(context.Background(), org, c, plans[plan])
						return err
					}
					del := func(i int) error { return s.DeleteRoute(context.Background(), org, hosts[i]) }
					// Down to 4 while two of the 4 oldest, one newer and a new route
					// come and go.
					errs := race(5, func(n int) error {
						switch n {
						case 0:
							return applyAt(0, 0, "active", "small")
						case 1:
							return del(round % 4)
						case 2:
							return del((round+1)%4 + 4)
						case 3:
							return del((round+2)%2 + 8)
						default:
							err := s.CreateRoute(context.Background(), route(org, "new."+org+".example.com"))
							if reroute.ErrorCode(err) == reroute.CodeLimit {
								return nil
							}
							return err
						}
					})
					if err := errors.Join(errs...); err != nil {
						t.Fatal(err)
					}
					wantPausedInvariant(t, plain, org)
					// Up and down at once (in either order, or in one second) while
					// the oldest left and another go.
					left := slices.DeleteFunc(slices.Clone(hosts), func(h string) bool {
						_, err := plain.GetRoute(t.Context(), h)
						return reroute.IsNotFound(err)
					})
					errs = race(4, func(n int) error {
						switch n {
						case 0:
							return applyAt(1, 10, "active", reroute.PlanDeveloper)
						case 1:
							return applyAt(2, 9+round%3, "active", "tiny")
						case 2:
							return s.DeleteRoute(context.Background(), org, left[0])
						default:
							return s.DeleteRoute(context.Background(), org, left[len(left)-1])
						}
					})
					if err := errors.Join(errs...); err != nil {
						t.Fatal(err)
					}
					wantPausedInvariant(t, plain, org)
					// Down to exactly as many routes as the org has, while routes are
					// created: every one created before the plan changed is paused.
					if err := applyAt(3, 20, "active", reroute.PlanDeveloper); err != nil {
						t.Fatal(err)
					}
					p, err := plain.ListRoutes(t.Context(), org, reroute.PageRequest{Limit: reroute.MaxPageSize})
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range p.Items[3:] {
						if err := plain.DeleteRoute(t.Context(), org, r.Host); err != nil {
							t.Fatal(err)
						}
					}
					errs = race(3, func(n int) error {
						if n == 0 {
							return applyAt(4, 30, "active", "three")
						}
						err := s.CreateRoute(context.Background(), route(org, fmt.Sprintf("late%d.%s.example.com", n, org)))
						if reroute.ErrorCode(err) == reroute.CodeLimit {
							return nil
						}
						return err
					})
					if err := errors.Join(errs...); err != nil {
						t.Fatal(err)
					}
					wantPausedInvariant(t, plain, org)
				})
			}
		})
	}
}

// TestOrgWithoutRouteVersion checks an org item stored before routeVersion and
// billing existed: routes and plan changes work on it.
func TestOrgWithoutRouteVersion(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	if _, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "ORG#old"}, "SK": &types.AttributeValueMemberS{Value: "ORG"},
			"id": &types.AttributeValueMemberS{Value: "old"}, "plan": &types.AttributeValueMemberS{Value: "developer"},
			"routeLimit": &types.AttributeValueMemberN{Value: "10"}, "memberLimit": &types.AttributeValueMemberN{Value: "5"},
			"routeCount": &types.AttributeValueMemberN{Value: "0"}, "memberCount": &types.AttributeValueMemberN{Value: "0"},
			"ownerCount": &types.AttributeValueMemberN{Value: "0"},
		},
	}); err != nil {
		t.Fatal(err)
	}
	apply(t, s, "old", change("evt_1", 0, "active", reroute.PlanDeveloper), reroute.Applied)
	hosts := routesInOrder(t, s, "old", 3)
	if v := rawItem(t, client, table, dynamo.OrgKey("old"))["routeVersion"]; v != 3.0 {
		t.Errorf("routeVersion = %v after 3 routes, want 3", v)
	}
	apply(t, s, "old", change("evt_2", 1, "canceled", reroute.PlanFree), reroute.Applied)
	wantActive(t, s, "old", hosts, 1)
	if err := s.DeleteRoute(t.Context(), "old", hosts[0]); err != nil {
		t.Fatal(err)
	}
	wantActive(t, s, "old", hosts[1:], 1)
}
