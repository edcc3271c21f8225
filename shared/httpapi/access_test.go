package httpapi_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/devstack"
)

// TestTenantIsolation calls every endpoint as every kind of caller and checks each
// answer. Bodies are left invalid where a call is allowed, so that an allowed call
// answers 400 and changes nothing; the org is deleted last.
func TestTenantIsolation(t *testing.T) {
	e := newAPIEnv(t)
	ownerA := e.token("alice@example.com")
	orgA := e.newPaidOrg("alice@example.com", "developer")
	e.want(e.do("POST", "/v1/orgs/"+orgA+"/members", ownerA, map[string]any{"email": "carol@example.com", "role": "member"}), 201, "")
	e.want(e.do("POST", "/v1/orgs/"+orgA+"/routes", ownerA, map[string]any{"host": "a.example.com", "target": "https://a.example.org/"}), 201, "")
	keyAr := e.do("POST", "/v1/orgs/"+orgA+"/api-keys", ownerA, map[string]any{"name": "read", "scope": "read"}).str("secret")
	keyAw := e.do("POST", "/v1/orgs/"+orgA+"/api-keys", ownerA, map[string]any{"name": "write", "scope": "write"}).str("secret")

	ownerB := e.token("bob@example.com")
	orgB := e.newOrg("bob@example.com", "B")
	e.want(e.do("POST", "/v1/orgs/"+orgB+"/routes", ownerB, map[string]any{"host": "b.example.com", "target": "https://b.example.org/"}), 201, "")
	keyB := e.do("POST", "/v1/orgs/"+orgB+"/api-keys", ownerB, map[string]any{"name": "w", "scope": "write"}).str("secret")

	expired, err := e.issuer.Mint("alice@example.com", -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(ownerA, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B" + "." + parts[2]
	otherIssuer := newAPIEnv(t).token("alice@example.com") // same email, another issuer
	wrongAudience := mintForAudience(t, e, "another-client")

	callers := []struct{ name, token string }{
		{"ownerA", ownerA}, {"memberA", e.token("carol@example.com")}, {"ownerB", ownerB},
		{"keyA-read", keyAr}, {"keyA-write", keyAw}, {"keyB", keyB},
		{"none", ""}, {"expired", expired}, {"other-issuer", otherIssuer}, {"wrong-audience", wrongAudience},
		{"tampered", tampered}, {"garbage", "not-a-token"}, {"unknown-key", "drr_" + strings.Repeat("x", 43)},
	}
	// Apps' OAuth tokens: of org A (alice's for each scope, and carol's, a
	// member, for routes:write), of org B, revoked, and expired.
	appA := registerApp(t, e, orgA, ownerA)
	appCallers := []struct{ name, token string }{
		{"appA-routes:read", appToken(t, e, appA, ownerA, orgA, "routes:read")},
		{"appA-routes:write", appToken(t, e, appA, ownerA, orgA, "routes:write")},
		{"appA-analytics:read", appToken(t, e, appA, ownerA, orgA, "analytics:read")},
		{"appA-member-routes:write", appToken(t, e, appA, e.token("carol@example.com"), orgA, "routes:write")},
		{"appB", appToken(t, e, appA, ownerB, orgB, "routes:read routes:write analytics:read")},
		{"app-revoked", revokedAppToken(t, e, appA, ownerA, orgA)},
		{"app-expired", expiredAppToken(t, e, appA, ownerA, orgA)},
	}
	const unauth = "401"
	a := "/v1/orgs/" + orgA
	const (
		noApp   = "403 app_not_allowed"
		noScope = "403 insufficient_scope"
		noOrg   = "404 org_not_found"
	)
	// What each app caller gets, in the order above, for the first five; revoked
	// and expired tokens get what a garbage token gets.
	appWant := map[string][]string{
		"GET /v1/plans":          {"200", "200", "200", "200", "200"},
		"GET /v1/openapi.json":   {"200", "200", "200", "200", "200"},
		"GET /v1/me":             {noApp, noApp, noApp, noApp, noApp},
		"POST /v1/orgs":          {noApp, noApp, noApp, noApp, noApp},
		"GET " + a:               {noApp, noApp, noApp, noApp, noOrg},
		"PATCH " + a:             {noApp, noApp, noApp, noApp, noOrg},
		"GET " + a + "/members":  {noApp, noApp, noApp, noApp, noOrg},
		"POST " + a + "/members": {noApp, noApp, noApp, noApp, noOrg},
		"PATCH " + a + "/members/carol@example.com":   {noApp, noApp, noApp, noApp, noOrg},
		"DELETE " + a + "/members/nobody@example.com": {noApp, noApp, noApp, noApp, noOrg},
		"GET " + a + "/routes":                        {"200", "200", noScope, "200", noOrg},
		"POST " + a + "/routes":                       {noScope, "400", noScope, "400", noOrg},
		"GET " + a + "/routes/a.example.com":          {"200", "200", noScope, "200", noOrg},
		"GET " + a + "/routes/b.example.com":          {"404 route_not_found", "404 route_not_found", noScope, "404 route_not_found", noOrg},
		"PATCH " + a + "/routes/a.example.com":        {noScope, "400", noScope, "400", noOrg},
		"POST " + a + "/routes/a.example.com/check":   {"200", "200", noScope, "200", noOrg},
		"POST " + a + "/routes/b.example.com/check":   {"404 route_not_found", "404 route_not_found", noScope, "404 route_not_found", noOrg},
		"DELETE " + a + "/routes/b.example.com":       {noScope, "404 route_not_found", noScope, "404 route_not_found", noOrg},
		"GET " + a + "/analytics?host=a.example.com":  {noScope, noScope, "200", noScope, noOrg},
		"GET " + a + "/analytics?host=b.example.com":  {noScope, noScope, "404 route_not_found", noScope, noOrg},
		"GET " + a + "/api-keys":                      {noApp, noApp, noApp, noApp, noOrg},
		"POST " + a + "/api-keys":                     {noApp, noApp, noApp, noApp, noOrg},
		"DELETE " + a + "/api-keys/key_nope":          {noApp, noApp, noApp, noApp, noOrg},
		"GET " + a + "/oauth-apps":                    {noApp, noApp, noApp, noApp, noOrg},
		"GET " + a + "/oauth-grants":                  {noApp, noApp, noApp, noApp, noApp},
		"GET " + a + "/billing":                       {noApp, noApp, noApp, noApp, noOrg},
		"POST " + a + "/billing/checkout":             {noApp, noApp, noApp, noApp, noOrg},
		"POST " + a + "/billing/portal":               {noApp, noApp, noApp, noApp, noOrg},
		"DELETE " + a:                                 {noApp, noApp, noApp, noApp, noOrg},
	}
	rows := []struct {
		method, path string
		body         any
		// want per caller, in the order above; the last seven callers all get 401
		// unless the endpoint is public.
		want []string
	}{
		{"GET", "/v1/plans", nil, []string{"200", "200", "200", "200", "200", "200", "200", "200", "200", "200", "200", "200", "200"}},
		{"GET", "/v1/openapi.json", nil, []string{"200", "200", "200", "200", "200", "200", "200", "200", "200", "200", "200", "200", "200"}},
		{"GET", "/v1/me", nil, []string{"200", "200", "200", "403 api_key_not_allowed", "403 api_key_not_allowed", "403 api_key_not_allowed"}},
		{"POST", "/v1/orgs", map[string]any{}, []string{"400", "400", "400", "403 api_key_not_allowed", "403 api_key_not_allowed", "403 api_key_not_allowed"}},
		{"GET", a, nil, []string{"200", "200", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"PATCH", a, map[string]any{}, []string{"400", "403 role_not_allowed", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"GET", a + "/members", nil, []string{"200", "200", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"POST", a + "/members", map[string]any{}, []string{"400", "403 role_not_allowed", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"PATCH", a + "/members/carol@example.com", map[string]any{}, []string{"400", "403 role_not_allowed", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"DELETE", a + "/members/nobody@example.com", nil, []string{"404 member_not_found", "404 member_not_found", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"GET", a + "/routes", nil, []string{"200", "200", "404 org_not_found", "200", "200", "404 org_not_found"}},
		{"POST", a + "/routes", map[string]any{}, []string{"400", "400", "404 org_not_found", "403 insufficient_scope", "400", "404 org_not_found"}},
		{"GET", a + "/routes/a.example.com", nil, []string{"200", "200", "404 org_not_found", "200", "200", "404 org_not_found"}},
		{"GET", a + "/routes/b.example.com", nil, []string{"404 route_not_found", "404 route_not_found", "404 org_not_found", "404 route_not_found", "404 route_not_found", "404 org_not_found"}},
		{"PATCH", a + "/routes/a.example.com", map[string]any{"status": 0}, []string{"400", "400", "404 org_not_found", "403 insufficient_scope", "400", "404 org_not_found"}},
		{"POST", a + "/routes/a.example.com/check", nil, []string{"200", "200", "404 org_not_found", "200", "200", "404 org_not_found"}},
		{"POST", a + "/routes/b.example.com/check", nil, []string{"404 route_not_found", "404 route_not_found", "404 org_not_found", "404 route_not_found", "404 route_not_found", "404 org_not_found"}},
		{"DELETE", a + "/routes/b.example.com", nil, []string{"404 route_not_found", "404 route_not_found", "404 org_not_found", "403 insufficient_scope", "404 route_not_found", "404 org_not_found"}},
		{"GET", a + "/analytics?host=a.example.com", nil, []string{"200", "200", "404 org_not_found", "200", "200", "404 org_not_found"}},
		{"GET", a + "/analytics?host=b.example.com", nil, []string{"404 route_not_found", "404 route_not_found", "404 org_not_found", "404 route_not_found", "404 route_not_found", "404 org_not_found"}},
		{"GET", a + "/api-keys", nil, []string{"200", "403 role_not_allowed", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"POST", a + "/api-keys", map[string]any{}, []string{"400", "403 role_not_allowed", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"DELETE", a + "/api-keys/key_nope", nil, []string{"404 api_key_not_found", "403 role_not_allowed", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"GET", a + "/oauth-apps", nil, []string{"200", "403 role_not_allowed", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"GET", a + "/oauth-grants", nil, []string{"200", "200", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "403 api_key_not_allowed"}},
		{"GET", a + "/billing", nil, []string{"200", "403 role_not_allowed", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"POST", a + "/billing/checkout", map[string]any{}, []string{"501 billing_not_configured", "403 role_not_allowed", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		{"POST", a + "/billing/portal", nil, []string{"501 billing_not_configured", "403 role_not_allowed", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
		// Deleting the org comes last, and the owner's call is the one that succeeds.
		{"DELETE", a, nil, []string{"", "403 role_not_allowed", "404 org_not_found", "403 api_key_not_allowed", "403 api_key_not_allowed", "404 org_not_found"}},
	}
	for _, row := range rows {
		wantApps, ok := appWant[row.method+" "+row.path]
		if !ok {
			t.Fatalf("%s %s: no answers for apps' tokens", row.method, row.path)
		}
		garbage := unauth
		if len(row.want) == len(callers) {
			garbage = row.want[len(callers)-1]
		}
		for i, c := range append(callers, appCallers...) {
			want := unauth
			switch {
			case i < len(row.want):
				want = row.want[i]
			case i >= len(callers) && i-len(callers) < len(wantApps):
				want = wantApps[i-len(callers)]
			case i >= len(callers):
				want = garbage
			}
			if want == "" {
				continue
			}
			r := e.do(row.method, row.path, c.token, row.body)
			got := strings.TrimSpace(itoa(r.status) + " " + r.str("code"))
			if r.status < 400 || !strings.Contains(want, " ") {
				got = itoa(r.status)
			}
			if got != want {
				t.Errorf("%s %s as %s: got %s, want %s (%s)", row.method, row.path, c.name, got, want, r.body)
			}
			if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s as %s: a 401 without WWW-Authenticate", row.method, row.path, c.name)
			}
		}
	}
	e.want(e.do("DELETE", a, ownerA, nil), 204, "")
	e.want(e.do("GET", a, ownerA, nil), 404, "org_not_found")
	e.want(e.do("GET", a+"/routes", keyAw, nil), 401, "")
	e.want(e.do("GET", "/v1/orgs/"+orgB+"/routes/b.example.com", ownerB, nil), 200, "")
}

func itoa(n int) string { return strconv.Itoa(n) }

// mintForAudience signs a token for another audience with an issuer at the same URL.
func mintForAudience(t *testing.T, e *apiEnv, aud string) string {
	other, err := devstack.NewDevIssuer(e.issuer.Issuer(), aud)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := other.Mint("alice@example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
