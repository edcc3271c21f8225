package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// TestRouteLoopsRefused: a target whose host leads back to the route through other
// routes (of any org, wildcards included) is refused on create and on update, in
// the store, so that every writer (the import command too) gets the same answer.
func TestRouteLoopsRefused(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", reroute.PlanDeveloper)
	base := "/v1/orgs/" + org + "/routes"
	bob := e.token("bob@example.com")
	bobOrg := e.newOrg("bob@example.com", "Bob")

	create := func(token, org, host, target string) resp {
		t.Helper()
		return e.do("POST", "/v1/orgs/"+org+"/routes", token, map[string]any{"host": host, "target": target})
	}
	refused := func(r resp, chain string) {
		t.Helper()
		fields, _ := r.json["fields"].([]any)
		if r.status != 400 || r.str("code") != "validation_failed" || len(fields) != 1 ||
			fields[0].(map[string]any)["field"] != "target" || !strings.Contains(fields[0].(map[string]any)["message"].(string), chain) {
			t.Fatalf("got %d %s, want 400 on target naming %q", r.status, r.body, chain)
		}
	}

	e.want(create(alice, org, "a.example.com", "https://b.example.com/"), 201, "")
	refused(create(alice, org, "b.example.com", "https://a.example.com/x"), "b.example.com -> a.example.com -> b.example.com")

	// Three hops, closed by an update of the first route's target.
	e.want(create(alice, org, "b.example.com", "https://c.example.com/"), 201, "")
	e.want(create(alice, org, "c.example.com", "https://elsewhere.example.org/"), 201, "")
	refused(e.do("PATCH", base+"/c.example.com", alice, map[string]any{"target": "https://a.example.com/"}),
		"c.example.com -> a.example.com -> b.example.com -> c.example.com")
	// Another setting of the route is saved as long as its target loops nowhere.
	e.want(e.do("PATCH", base+"/c.example.com", alice, map[string]any{"keepPath": true}), 200, "")

	// Through a wildcard route, and into one.
	e.want(create(alice, org, "*.w.example.com", "https://d.example.com/"), 201, "")
	refused(create(alice, org, "d.example.com", "https://x.w.example.com/"), "d.example.com -> x.w.example.com -> d.example.com")

	// Through another org's route: a loop is a loop whoever owns each step.
	e.want(create(bob, bobOrg, "bob.example.net", "https://e.example.com/"), 201, "")
	refused(create(alice, org, "e.example.com", "https://bob.example.net/"), "e.example.com -> bob.example.net -> e.example.com")

	// A disabled route answers no redirect, so it closes no loop; turning it on
	// is checked like any other change.
	e.want(e.do("PATCH", base+"/b.example.com", alice, map[string]any{"enabled": false}), 200, "")
	e.want(e.do("PATCH", base+"/c.example.com", alice, map[string]any{"target": "https://a.example.com/"}), 200, "")
	refused(e.do("PATCH", base+"/b.example.com", alice, map[string]any{"enabled": true}),
		"b.example.com -> c.example.com -> a.example.com -> b.example.com")

	// The store itself refuses, for writers other than the API.
	err := e.store.CreateRoute(context.Background(), reroute.Route{Host: "f.example.com", OrgID: org,
		Target: "https://bob.example.net/", Status: 301, Enabled: true})
	if err != nil {
		t.Fatalf("a route to a chain that ends elsewhere: %v", err)
	}
	err = e.store.CreateRoute(context.Background(), reroute.Route{Host: "e.example.com", OrgID: org,
		Target: "https://bob.example.net/", Status: 301, Enabled: true})
	if reroute.ErrorCode(err) != reroute.CodeInvalid {
		t.Fatalf("the store wrote a looping route: %v", err)
	}
}
