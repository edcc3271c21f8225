package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// eventTypes lists the types of orgID's recorded events, in time order.
func eventTypes(t *testing.T, db dynamo.Scanner, table, orgID string) []reroute.EventType {
	t.Helper()
	evs, err := dynamo.ScanEvents(context.Background(), db, table, orgID)
	if err != nil {
		t.Fatalf("ScanEvents: %v", err)
	}
	var types []reroute.EventType
	for _, e := range evs {
		types = append(types, e.Type)
	}
	return types
}

// TestOutboxOnePerChange: every committed change of a route records exactly one
// event in its own transaction, and a refused change records none.
func TestOutboxOnePerChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "o1", "o2")

	steps := []struct {
		name    string
		change  func() error
		wantErr bool
		want    []reroute.EventType // o1's events after the step
	}{
		{"create", func() error { return s.CreateRoute(ctx, route("o1", "a.example.com")) }, false,
			[]reroute.EventType{reroute.EventRouteCreated}},
		{"create a taken host", func() error { return s.CreateRoute(ctx, route("o1", "a.example.com")) }, true,
			[]reroute.EventType{reroute.EventRouteCreated}},
		{"another org's create of it", func() error { return s.CreateRoute(ctx, route("o2", "a.example.com")) }, true,
			[]reroute.EventType{reroute.EventRouteCreated}},
		{"update", func() error {
			r := route("o1", "a.example.com")
			r.Target = "https://elsewhere.example.net/"
			return s.UpdateRoute(ctx, r, reroute.KeepRules)
		}, false, []reroute.EventType{reroute.EventRouteCreated, reroute.EventRouteUpdated}},
		{"another org's update", func() error { return s.UpdateRoute(ctx, route("o2", "a.example.com"), reroute.KeepRules) }, true,
			[]reroute.EventType{reroute.EventRouteCreated, reroute.EventRouteUpdated}},
		{"update of a stale rules version", func() error {
			r := route("o1", "a.example.com")
			r.RulesVersion = 42
			return s.UpdateRoute(ctx, r, reroute.KeepRules)
		}, true, []reroute.EventType{reroute.EventRouteCreated, reroute.EventRouteUpdated}},
		{"replace rules", func() error {
			r := route("o1", "a.example.com")
			r.PathRules = []reroute.PathRule{{Source: "/x", Target: "https://t.example.net/x", Status: 301}}
			return s.UpdateRoute(ctx, r, reroute.ReplaceRules)
		}, false, []reroute.EventType{reroute.EventRouteCreated, reroute.EventRouteUpdated, reroute.EventRouteUpdated}},
		{"another org's delete", func() error { return s.DeleteRoute(ctx, "o2", "a.example.com") }, true,
			[]reroute.EventType{reroute.EventRouteCreated, reroute.EventRouteUpdated, reroute.EventRouteUpdated}},
		{"delete", func() error { return s.DeleteRoute(ctx, "o1", "a.example.com") }, false,
			[]reroute.EventType{reroute.EventRouteCreated, reroute.EventRouteUpdated, reroute.EventRouteUpdated, reroute.EventRouteDeleted}},
		{"delete again", func() error { return s.DeleteRoute(ctx, "o1", "a.example.com") }, true,
			[]reroute.EventType{reroute.EventRouteCreated, reroute.EventRouteUpdated, reroute.EventRouteUpdated, reroute.EventRouteDeleted}},
	}
	for _, st := range steps {
		err := st.change()
		if (err != nil) != st.wantErr {
			t.Fatalf("%s: error = %v, want error %v", st.name, err, st.wantErr)
		}
		if got := eventTypes(t, client, table, "o1"); !slices.Equal(got, st.want) {
			t.Fatalf("%s: o1's events = %v, want %v", st.name, got, st.want)
		}
	}
	if got := eventTypes(t, client, table, "o2"); len(got) != 0 {
		t.Errorf("o2's events = %v, want none: every change of o2 was refused", got)
	}

	evs, err := dynamo.ScanEvents(ctx, client, table, "o1")
	if err != nil {
		t.Fatal(err)
	}
	var d reroute.RouteEventData
	if err := json.Unmarshal(evs[0].Data, &d); err != nil || d.Host != "a.example.com" || d.Target == "" {
		t.Errorf("route.created data = %s (%v), want the host and its target", evs[0].Data, err)
	}
	ids := map[string]bool{}
	for _, e := range evs {
		if ids[e.ID] || e.Time.IsZero() {
			t.Errorf("event %+v: ids must be unique and times set", e)
		}
		ids[e.ID] = true
	}
}

// TestOutboxDomainTransitions: a domain that becomes active or fails is told
// once, with the reason; a save that changes nothing of the state tells nothing.
func TestOutboxDomainTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "o1")
	mustCreate(t, s, route("o1", "d.example.com"))
	get := func() reroute.Route {
		r, err := s.GetRoute(ctx, "d.example.com")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	save := func(d reroute.Domain) {
		t.Helper()
		r := get()
		d.CheckedAt = r.Domain.CheckedAt.Add(1e9)
		if err := s.SaveDomain(ctx, r, d); err != nil {
			t.Fatalf("SaveDomain(%s): %v", d.State, err)
		}
	}
	save(reroute.Domain{State: reroute.DomainPendingDNS})
	save(reroute.Domain{State: reroute.DomainPendingDNS})
	save(reroute.Domain{State: reroute.DomainFailed, Reason: "the CNAME points elsewhere"})
	save(reroute.Domain{State: reroute.DomainActive})
	save(reroute.Domain{State: reroute.DomainActive})

	// A save against a stale read fails and tells nothing.
	stale := get()
	stale.Domain.CheckedAt = stale.Domain.CheckedAt.Add(-1e9)
	if err := s.SaveDomain(ctx, stale, reroute.Domain{State: reroute.DomainFailed}); err == nil {
		t.Fatal("SaveDomain on a stale read: nil error")
	}

	want := []reroute.EventType{reroute.EventRouteCreated, reroute.EventDomainFailed, reroute.EventDomainActive}
	if got := eventTypes(t, client, table, "o1"); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	evs, _ := dynamo.ScanEvents(ctx, client, table, "o1")
	var d reroute.DomainEventData
	if err := json.Unmarshal(evs[1].Data, &d); err != nil || d.Reason != "the CNAME points elsewhere" || d.Host != "d.example.com" {
		t.Errorf("domain.failed data = %s, want the host and the reason", evs[1].Data)
	}
}

// TestOutboxBillingEvents: a billing change tells its plan change, a payment
// failing, routes pausing and resuming, once each, in its own transaction; a
// duplicate or stale Stripe event tells nothing.
func TestOutboxBillingEvents(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustCreateOrg(t, s, newOrg("org-b", reroute.PlanFree), owner("org-b", "b@example.com"))
	apply(t, s, "org-b", change("evt_1", 0, "active", reroute.PlanDeveloper), reroute.Applied)
	for i := range 3 {
		mustCreate(t, s, route("org-b", fmt.Sprintf("r%d.example.com", i)))
	}
	apply(t, s, "org-b", change("evt_1", 0, "active", reroute.PlanDeveloper), reroute.Duplicate)
	apply(t, s, "org-b", change("evt_2", 10, "past_due", reroute.PlanDeveloper), reroute.Applied)
	apply(t, s, "org-b", change("evt_3", 20, "canceled", reroute.PlanFree), reroute.Applied) // 2 routes pause
	apply(t, s, "org-b", change("evt_old", 5, "active", reroute.PlanDeveloper), reroute.Stale)
	apply(t, s, "org-b", change("evt_4", 30, "active", reroute.PlanDeveloper), reroute.Applied) // they resume

	var got []reroute.EventType
	for _, e := range eventTypes(t, client, table, "org-b") {
		if !strings.HasPrefix(string(e), "route.") {
			got = append(got, e)
		}
	}
	want := []reroute.EventType{
		reroute.EventBillingPlanChanged,                            // evt_1
		reroute.EventBillingPaymentFailed,                          // evt_2
		reroute.EventBillingPlanChanged, reroute.EventRoutesPaused, // evt_3
		reroute.EventBillingPlanChanged, reroute.EventRoutesResumed, // evt_4
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("billing events = %v, want %v", got, want)
	}
	evs, _ := dynamo.ScanEvents(context.Background(), client, table, "org-b")
	for _, e := range evs {
		if e.Type == reroute.EventRoutesPaused {
			var d reroute.BillingEventData
			if err := json.Unmarshal(e.Data, &d); err != nil || d.Count != 2 || d.Limit != 1 {
				t.Errorf("routes.paused data %s, want 2 paused under a limit of 1", e.Data)
			}
		}
	}
}

// TestOutboxReleaseScheduled: an unverified hostname's coming release is told
// once, by the first check inside the two days before it.
func TestOutboxReleaseScheduled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "o1")
	mustCreate(t, s, route("o1", "r.example.com"))
	release := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Second)
	for _, checked := range []time.Time{release.Add(-60 * time.Hour), release.Add(-47 * time.Hour), release.Add(-20 * time.Hour), release.Add(-time.Hour)} {
		r, err := s.GetRoute(ctx, "r.example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveDomain(ctx, r, reroute.Domain{State: reroute.DomainPendingDNS, ReleaseAt: release, CheckedAt: checked}); err != nil {
			t.Fatal(err)
		}
	}
	want := []reroute.EventType{reroute.EventRouteCreated, reroute.EventDomainReleaseScheduled}
	if got := eventTypes(t, client, table, "o1"); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
}
