package httpapi_test

import "testing"

// Without Stripe keys (the local default), billing endpoints say so clearly and
// everything else works.
func TestBillingNotConfigured(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "A")
	r := e.do("GET", "/v1/orgs/"+org+"/billing", alice, nil)
	e.want(r, 200, "")
	if r.str("plan") != "free" || r.str("status") != "none" || r.json["pastDue"] != false {
		t.Errorf("billing %s", r.body)
	}
	for _, c := range []struct {
		path string
		body any
	}{
		{"/v1/orgs/" + org + "/billing/checkout", map[string]any{"plan": "developer"}},
		{"/v1/orgs/" + org + "/billing/portal", nil},
	} {
		r := e.do("POST", c.path, alice, c.body)
		e.want(r, 501, "billing_not_configured")
		if r.str("detail") == "" {
			t.Errorf("%s: the problem does not say what to set up: %s", c.path, r.body)
		}
	}
	r = e.do("GET", "/v1/plans", "", nil)
	for _, p := range r.json["plans"].([]any) {
		plan := p.(map[string]any)
		if want := plan["name"] == "free"; plan["available"] != want {
			t.Errorf("without billing only the free plan is available: %v", plan)
		}
	}
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", alice, map[string]any{"host": "a.example.com", "target": "https://a.example.org/"}), 201, "")
	e.want(e.do("DELETE", "/v1/orgs/"+org, alice, nil), 204, "")
}
