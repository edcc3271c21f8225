package httpapi_test

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestMembersOnFreePlan(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Free")
	r := e.do("POST", "/v1/orgs/"+org+"/members", alice, map[string]any{"email": "bob@example.com", "role": "member"})
	e.want(r, 403, "plan_limit_reached")
	if r.str("detail") == "" {
		t.Error("the upgrade message is missing")
	}
	r = e.do("GET", "/v1/me", alice, nil)
	e.want(r, 200, "")
	orgs := r.json["orgs"].([]any)
	if len(orgs) != 1 || orgs[0].(map[string]any)["role"] != "owner" || orgs[0].(map[string]any)["plan"] != "free" {
		t.Errorf("me: %s", r.body)
	}
}

func TestMemberRoles(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "developer")
	m := "/v1/orgs/" + org + "/members"
	e.want(e.do("POST", m, alice, map[string]any{"email": "Admin@Example.com", "role": "admin"}), 201, "")
	admin := e.token("admin@example.com")
	e.want(e.do("POST", m, alice, map[string]any{"email": "admin@example.com", "role": "member"}), 409, "member_exists")
	e.want(e.do("POST", m, admin, map[string]any{"email": "carol@example.com"}), 201, "")
	carol := e.token("carol@example.com")

	steps := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		status int
		code   string
	}{
		{"bad email", "POST", m, alice, map[string]any{"email": "not-an-email"}, 400, "validation_failed"},
		{"bad role", "POST", m, alice, map[string]any{"email": "x@example.com", "role": "king"}, 400, "validation_failed"},
		{"an admin cannot make owners", "POST", m, admin, map[string]any{"email": "o@example.com", "role": "owner"}, 403, "role_not_allowed"},
		{"a member cannot invite", "POST", m, carol, map[string]any{"email": "d@example.com"}, 403, "role_not_allowed"},
		{"an admin cannot promote to owner", "PATCH", m + "/carol@example.com", admin, map[string]any{"role": "owner"}, 403, "role_not_allowed"},
		{"an admin cannot demote the owner", "PATCH", m + "/alice@example.com", admin, map[string]any{"role": "member"}, 403, "role_not_allowed"},
		{"an admin cannot remove the owner", "DELETE", m + "/alice@example.com", admin, nil, 403, "role_not_allowed"},
		{"the last owner cannot be demoted", "PATCH", m + "/alice@example.com", alice, map[string]any{"role": "admin"}, 409, "last_owner"},
		{"the last owner cannot leave", "DELETE", m + "/alice@example.com", alice, nil, 409, "last_owner"},
		{"an owner promotes", "PATCH", m + "/carol@example.com", alice, map[string]any{"role": "owner"}, 200, ""},
		{"then the first owner may step down", "PATCH", m + "/alice@example.com", alice, map[string]any{"role": "admin"}, 200, ""},
		{"a member in the path is case-blind", "GET", m, carol, nil, 200, ""},
		{"an admin removes a member", "DELETE", m + "/admin@example.com", alice, nil, 204, ""},
		{"a removed member is gone", "GET", "/v1/orgs/" + org, admin, nil, 404, "org_not_found"},
		{"anyone may leave", "DELETE", m + "/alice@example.com", alice, nil, 204, ""},
		{"the new owner is alone", "DELETE", m + "/carol@example.com", carol, nil, 409, "last_owner"},
	}
	for _, s := range steps {
		r := e.do(s.method, s.path, s.token, s.body)
		if r.status != s.status || s.code != "" && r.str("code") != s.code {
			t.Fatalf("%s: got %d %s, want %d %s", s.name, r.status, r.body, s.status, s.code)
		}
	}
	r := e.do("GET", "/v1/orgs/"+org, carol, nil)
	if usage := r.json["usage"].(map[string]any); usage["members"] != 1.0 {
		t.Errorf("member count %v, want 1", usage)
	}
}

func TestMemberLimitUnderConcurrency(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "developer") // 5 members
	results := make([]resp, 25)
	var wg sync.WaitGroup
	for i := range 25 {
		wg.Go(func() {
			results[i] = e.do("POST", "/v1/orgs/"+org+"/members", alice, map[string]any{"email": fmt.Sprintf("m%d@example.com", i)})
		})
	}
	wg.Wait()
	created, limited := 0, 0
	for _, r := range results {
		switch {
		case r.status == 201:
			created++
		case r.status == 403 && r.str("code") == "plan_limit_reached":
			limited++
		default:
			t.Errorf("unexpected %d %s", r.status, r.body)
		}
	}
	if created != 4 || limited != 21 {
		t.Errorf("25 concurrent invitations with room for 4: %d created, %d limited", created, limited)
	}
	r := e.do("GET", "/v1/orgs/"+org+"/members?limit=200", alice, nil)
	if n := len(r.items()); n != 5 {
		t.Errorf("%d members listed, want 5", n)
	}
}

func TestAPIKeys(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "A")
	k := "/v1/orgs/" + org + "/api-keys"

	r := e.do("POST", k, alice, map[string]any{"name": "deploy", "scope": "write"})
	e.want(r, 201, "")
	secret, id := r.str("secret"), r.str("id")
	if len(secret) < 40 || secret[:4] != "drr_" || r.str("hint") != secret[len(secret)-4:] {
		t.Fatalf("created key %s", r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Error("the answer holding the secret may be cached")
	}
	r = e.do("GET", k, alice, nil)
	e.want(r, 200, "")
	if len(r.items()) != 1 || r.items()[0].(map[string]any)["secret"] != nil {
		t.Fatalf("a listed key must not show its secret: %s", r.body)
	}

	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", secret, map[string]any{"host": "k.example.com", "target": "https://k.example.org/"}), 201, "")
	r = e.do("GET", k, alice, nil)
	if r.items()[0].(map[string]any)["lastUsedAt"] == nil {
		t.Errorf("last use not recorded: %s", r.body)
	}

	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	e.want(e.do("POST", k, alice, map[string]any{"name": "old", "expiresAt": past}), 400, "validation_failed")
	e.want(e.do("POST", k, alice, map[string]any{"name": "x", "scope": "admin"}), 400, "validation_failed")
	e.want(e.do("POST", k, alice, map[string]any{"name": ""}), 400, "validation_failed")

	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	r = e.do("POST", k, alice, map[string]any{"name": "short-lived", "expiresAt": soon})
	e.want(r, 201, "")
	short := r.str("secret")
	e.want(e.do("GET", "/v1/orgs/"+org+"/routes", short, nil), 200, "")
	e.advanceAuthClock(61 * time.Minute) // the hour passes, without a test that waits for it
	e.want(e.do("GET", "/v1/orgs/"+org+"/routes", short, nil), 401, "api_key_expired")

	e.want(e.do("DELETE", k+"/"+id, alice, nil), 204, "")
	e.want(e.do("GET", "/v1/orgs/"+org+"/routes", secret, nil), 401, "invalid_api_key")
	e.want(e.do("DELETE", k+"/"+id, alice, nil), 404, "api_key_not_found")
}
