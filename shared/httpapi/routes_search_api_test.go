package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// searchOrg is an org of n routes (r000.example.com, ...; every tenth a
// "shop" target and disabled), written to the store directly: more routes than
// one page of the store, so a search must read several.
func searchOrg(t *testing.T, e *apiEnv, email string, n int) string {
	t.Helper()
	id := "org_search"
	now := time.Now().UTC()
	ctx := context.Background()
	if err := e.store.CreateOrg(ctx,
		reroute.Org{ID: id, Name: "Search", Plan: reroute.PlanEnterprise, RouteLimit: n, MemberLimit: 5, RuleLimit: 100, MemberCount: 1, OwnerCount: 1, CreatedAt: now, UpdatedAt: now},
		reroute.Member{OrgID: id, Email: email, Role: reroute.RoleOwner, OrgName: "Search", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		rt := reroute.Route{Host: fmt.Sprintf("r%03d.example.com", i), OrgID: id, Target: "https://www.example.org/", Status: 301,
			Enabled: true, Domain: reroute.Domain{State: reroute.DomainActive}, CreatedAt: now, UpdatedAt: now}
		if i%10 == 3 {
			rt.Target, rt.Enabled = fmt.Sprintf("https://Shop.Example.net/%d", i), false
		}
		if err := e.store.CreateRoute(ctx, rt); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// listAll follows a filtered list's cursors to its end, checking each page's size.
func listAll(t *testing.T, e *apiEnv, tok, orgID string, q url.Values, limit int) []string {
	t.Helper()
	var hosts []string
	q.Set("limit", fmt.Sprint(limit))
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the cursors never end")
		}
		r := e.do("GET", "/v1/orgs/"+orgID+"/routes?"+q.Encode(), tok, nil)
		e.want(r, 200, "")
		if len(r.items()) > limit {
			t.Fatalf("a page of %d routes, over the limit %d", len(r.items()), limit)
		}
		for _, it := range r.items() {
			m := it.(map[string]any)
			hosts = append(hosts, m["host"].(string))
		}
		next := r.str("nextCursor")
		if next == "" {
			return hosts
		}
		q.Set("cursor", next)
	}
}

func TestRouteSearch(t *testing.T) {
	e := newAPIEnv(t)
	const email = "search@example.com"
	tok := e.token(email)
	orgID := searchOrg(t, e, email, 250)

	want := func(pred func(i int) bool) []string {
		var out []string
		for i := range 250 {
			if pred(i) {
				out = append(out, fmt.Sprintf("r%03d.example.com", i))
			}
		}
		return out
	}
	shop := want(func(i int) bool { return i%10 == 3 })
	cases := []struct {
		name  string
		q     url.Values
		limit int
		want  []string
	}{
		{"target, ignoring case, across store pages", url.Values{"search": {"SHOP.example"}}, 7, shop},
		{"hostname", url.Values{"search": {"r24"}}, 3, want(func(i int) bool { return i >= 240 && i < 250 })},
		{"state", url.Values{"state": {"disabled"}}, 10, shop},
		{"state and search", url.Values{"state": {"redirecting"}, "search": {"r19"}}, 50, want(func(i int) bool { return i >= 190 && i < 200 && i%10 != 3 })},
		{"the last match ends the last page", url.Values{"search": {"r249"}}, 1, []string{"r249.example.com"}},
		{"nothing matches", url.Values{"search": {"nope"}}, 5, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := listAll(t, e, tok, orgID, c.q, c.limit)
			if !slices.Equal(got, c.want) {
				t.Fatalf("search %v: got %d routes %v, want %d %v", c.q, len(got), got, len(c.want), c.want)
			}
		})
	}

	t.Run("a route says what a visitor gets", func(t *testing.T) {
		r := e.do("GET", "/v1/orgs/"+orgID+"/routes/r003.example.com", tok, nil)
		e.want(r, 200, "")
		if r.str("state") != "disabled" {
			t.Fatalf("state %q, want disabled", r.str("state"))
		}
		r = e.do("GET", "/v1/orgs/"+orgID+"/routes/r004.example.com", tok, nil)
		if r.str("state") != "redirecting" {
			t.Fatalf("state %q, want redirecting", r.str("state"))
		}
	})

	for _, c := range []struct{ q, field string }{
		{"state=broken", "state"},
		{"search=" + strings.Repeat("a", 201), "search"},
	} {
		r := e.do("GET", "/v1/orgs/"+orgID+"/routes?"+c.q, tok, nil)
		e.want(r, 400, "validation_failed")
		if !strings.Contains(string(r.body), `"field":"`+c.field+`"`) {
			t.Fatalf("%s: %s does not name the field %s", c.q, r.body, c.field)
		}
	}
}

// TestPlanAllowances: what GET /v1/plans says a plan allows is what the API
// lets its orgs do, and its features are written from the same fields.
func TestPlanAllowances(t *testing.T) {
	noExtras := reroute.DefaultCatalog()
	noExtras[0].Allows = reroute.Allowances{}
	e := newAPIEnvWith(t, func(d *httpapi.Deps) { d.Plans = noExtras })
	alice := e.token("allow@example.com")
	org := e.newOrg("allow@example.com", "Allow")

	r := e.do("GET", "/v1/plans", "", nil)
	e.want(r, 200, "")
	plans := r.json["plans"].([]any)
	for _, p := range plans {
		m := p.(map[string]any)
		allows := m["allows"].(map[string]any)
		var features []string
		for _, f := range m["features"].([]any) {
			features = append(features, f.(string))
		}
		for key, word := range map[string]string{"wildcardRoutes": "Wildcard routes", "apiKeys": "API keys", "destinationMonitoring": "Destination monitoring"} {
			if allows[key].(bool) != slices.Contains(features, word) {
				t.Errorf("plan %s: allows.%s is %v but its features %v", m["name"], key, allows[key], features)
			}
		}
		if m["name"] == "free" && !slices.Contains(features, "1 route") {
			t.Errorf("free plan features %v lack its route limit", features)
		}
	}

	r = e.do("POST", "/v1/orgs/"+org+"/routes", alice, map[string]any{"host": "*.allow.example.com", "target": "https://example.org/"})
	e.want(r, 403, "not_in_plan")
	r = e.do("POST", "/v1/orgs/"+org+"/api-keys", alice, map[string]any{"name": "ci"})
	e.want(r, 403, "not_in_plan")
	// What the plan allows still works.
	r = e.do("POST", "/v1/orgs/"+org+"/routes", alice, map[string]any{"host": "www.allow.example.com", "target": "https://example.org/"})
	e.want(r, 201, "")

	// The default free plan allows both.
	d := newAPIEnv(t)
	bob := d.token("bob@example.com")
	org2 := d.newOrg("bob@example.com", "Bob")
	d.want(d.do("POST", "/v1/orgs/"+org2+"/routes", bob, map[string]any{"host": "*.bob.example.com", "target": "https://example.org/"}), 201, "")
	d.want(d.do("POST", "/v1/orgs/"+org2+"/api-keys", bob, map[string]any{"name": "ci"}), 201, "")
}
