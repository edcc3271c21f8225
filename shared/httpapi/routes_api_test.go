package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestRouteLifecycle(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Alice & Co")
	base := "/v1/orgs/" + org + "/routes"

	r := e.do("POST", base, alice, map[string]any{"host": "Old.Example.com.", "target": "https://new.example.org/", "keepPath": true})
	e.want(r, 201, "")
	if r.str("host") != "old.example.com" || r.json["status"] != 301.0 || r.json["enabled"] != true || r.str("cnameTarget") != cnameTarget {
		t.Errorf("created route %s", r.body)
	}
	if loc := r.header.Get("Location"); loc != base+"/old.example.com" {
		t.Errorf("Location %q", loc)
	}
	e.want(e.do("GET", base+"/old.example.com", alice, nil), 200, "")
	e.want(e.do("GET", base+"/OLD.example.com", alice, nil), 200, "")

	r = e.do("PATCH", base+"/old.example.com", alice, map[string]any{"status": 302, "enabled": false})
	e.want(r, 200, "")
	if r.json["status"] != 302.0 || r.json["enabled"] != false || r.json["keepPath"] != true || r.str("target") != "https://new.example.org/" {
		t.Errorf("patched route %s", r.body)
	}
	r = e.do("GET", base, alice, nil)
	e.want(r, 200, "")
	if len(r.items()) != 1 {
		t.Errorf("list %s", r.body)
	}
	e.want(e.do("DELETE", base+"/old.example.com", alice, nil), 204, "")
	e.want(e.do("GET", base+"/old.example.com", alice, nil), 404, "route_not_found")
	e.want(e.do("DELETE", base+"/old.example.com", alice, nil), 404, "route_not_found")

	r = e.do("GET", "/v1/orgs/"+org, alice, nil)
	e.want(r, 200, "")
	if usage := r.json["usage"].(map[string]any); usage["routes"] != 0.0 {
		t.Errorf("route count after delete: %v", usage)
	}
}

func TestRouteInputErrors(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "A")
	base := "/v1/orgs/" + org + "/routes"
	e.want(e.do("POST", base, alice, map[string]any{"host": "taken.example.com", "target": "https://x.example.org/"}), 201, "")
	bob := e.token("bob@example.com")
	bobOrg := e.newOrg("bob@example.com", "B")

	tests := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		status int
		code   string
		field  string
	}{
		{"host taken by another org", "POST", "/v1/orgs/" + bobOrg + "/routes", bob, map[string]any{"host": "taken.example.com", "target": "https://y.example.org/"}, 409, "host_taken", ""},
		{"bad host", "POST", base, alice, map[string]any{"host": "bad_host.example.com", "target": "https://y.example.org/"}, 400, "validation_failed", "host"},
		{"bad target", "POST", base, alice, map[string]any{"host": "ok.example.com", "target": "ftp://y.example.org/"}, 400, "validation_failed", "target"},
		{"loop", "POST", base, alice, map[string]any{"host": "loop.example.com", "target": "https://loop.example.com/x"}, 400, "validation_failed", "target"},
		{"bad status", "POST", base, alice, map[string]any{"host": "ok.example.com", "target": "https://y.example.org/", "status": 200}, 400, "validation_failed", "status"},
		{"patch status 0", "PATCH", base + "/taken.example.com", alice, map[string]any{"status": 0}, 400, "validation_failed", "status"},
		{"unknown field", "POST", base, alice, map[string]any{"host": "ok.example.com", "target": "https://y.example.org/", "color": "red"}, 400, "validation_failed", "color"},
		{"host is not patchable", "PATCH", base + "/taken.example.com", alice, map[string]any{"host": "other.example.com"}, 400, "validation_failed", "host"},
		{"wrong type", "POST", base, alice, map[string]any{"host": "ok.example.com", "target": "https://y.example.org/", "keepPath": "yes"}, 400, "validation_failed", "keepPath"},
		{"malformed json", "POST", base, alice, `{"host": `, 400, "malformed_json", ""},
		{"not an object", "POST", base, alice, `[1,2]`, 400, "malformed_json", ""},
		{"trailing data", "POST", base, alice, `{"host":"a.example.com","target":"https://y.example.org/"} {}`, 400, "malformed_json", ""},
		{"empty body", "POST", base, alice, ``, 400, "malformed_json", ""},
		{"too large", "POST", base, alice, `{"host":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "body_too_large", ""},
		{"bad limit", "GET", base + "?limit=0", alice, nil, 400, "validation_failed", "limit"},
		{"limit too big", "GET", base + "?limit=201", alice, nil, 400, "validation_failed", "limit"},
		{"tampered cursor", "GET", base + "?cursor=Zm9vYmFy", alice, nil, 400, "invalid_cursor", ""},
		{"unknown path", "GET", "/v1/nothing", alice, nil, 404, "not_found", ""},
		{"wrong method", "PUT", base, alice, map[string]any{}, 405, "method_not_allowed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.token, tt.body)
			if r.status != tt.status || r.str("code") != tt.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			if tt.field != "" && !strings.Contains(string(r.body), `"field":"`+tt.field+`"`) {
				t.Errorf("the problem does not name field %s: %s", tt.field, r.body)
			}
			if tt.status == 409 && strings.Contains(string(r.body), "org_") {
				t.Errorf("a conflict must not reveal the other org: %s", r.body)
			}
		})
	}

	t.Run("wrong content type", func(t *testing.T) {
		req := httptest.NewRequest("POST", base, strings.NewReader(`{"host":"a.example.com"}`))
		req.Header.Set("Authorization", "Bearer "+alice)
		req.Header.Set("Content-Type", "text/plain")
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != 415 {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("405 names the allowed methods", func(t *testing.T) {
		r := e.do("PUT", base, alice, map[string]any{})
		if allow := r.header.Get("Allow"); allow != "GET, HEAD, POST" {
			t.Errorf("Allow %q", allow)
		}
	})
}

func TestRoutePagination(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "enterprise")
	base := "/v1/orgs/" + org + "/routes"
	for i := range 7 {
		e.want(e.do("POST", base, alice, map[string]any{"host": fmt.Sprintf("h%d.example.com", i), "target": "https://t.example.org/"}), 201, "")
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		r := e.do("GET", base+"?limit=3&cursor="+cursor, alice, nil)
		e.want(r, 200, "")
		for _, it := range r.items() {
			seen = append(seen, it.(map[string]any)["host"].(string))
		}
		cursor = r.str("nextCursor")
		if cursor == "" {
			break
		}
	}
	if len(seen) != 7 || seen[0] != "h0.example.com" || seen[6] != "h6.example.com" {
		t.Errorf("pages gave %v", seen)
	}
}

// The route limit holds under concurrency: it is enforced by DynamoDB, not by a read first.
func TestRouteLimitUnderConcurrency(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Free")
	base := "/v1/orgs/" + org + "/routes"
	statuses := make([]resp, 25)
	var wg sync.WaitGroup
	for i := range 25 {
		wg.Go(func() {
			statuses[i] = e.do("POST", base, alice, map[string]any{"host": fmt.Sprintf("c%d.example.com", i), "target": "https://t.example.org/"})
		})
	}
	wg.Wait()
	created, limited := 0, 0
	for _, r := range statuses {
		switch {
		case r.status == 201:
			created++
		case r.status == 403 && r.str("code") == "plan_limit_reached":
			limited++
		default:
			t.Errorf("unexpected answer %d %s", r.status, r.body)
		}
	}
	if created != 1 || limited != 24 {
		t.Errorf("25 concurrent creations on a free org: %d created, %d limited; want 1 and 24", created, limited)
	}
	r := e.do("GET", "/v1/orgs/"+org, alice, nil)
	if usage := r.json["usage"].(map[string]any); usage["routes"] != 1.0 {
		t.Errorf("route count %v, want 1", usage)
	}
	// A failed write leaves the count exact: the one route deleted, one can be added.
	items := e.do("GET", base, alice, nil).items()
	host := items[0].(map[string]any)["host"].(string)
	e.want(e.do("DELETE", base+"/"+host, alice, nil), 204, "")
	e.want(e.do("POST", base, alice, map[string]any{"host": "again.example.com", "target": "https://t.example.org/"}), 201, "")
	e.want(e.do("POST", base, alice, map[string]any{"host": "more.example.com", "target": "https://t.example.org/"}), 403, "plan_limit_reached")
}

func TestCORS(t *testing.T) {
	e := newAPIEnv(t)
	preflight := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("OPTIONS", "/v1/me", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec
	}
	ok := preflight(dashboard)
	if ok.Code != 204 || ok.Header().Get("Access-Control-Allow-Origin") != dashboard || !strings.Contains(ok.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("allowed preflight: %d %v", ok.Code, ok.Header())
	}
	bad := preflight("https://evil.example")
	if bad.Code != 403 || bad.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign preflight: %d %v", bad.Code, bad.Header())
	}
	req := httptest.NewRequest("GET", "/v1/plans", nil)
	req.Header.Set("Origin", "https://evil.example")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a foreign origin must not be reflected: %v", rec.Header())
	}
	req.Header.Set("Origin", dashboard)
	rec = httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Header().Get("Access-Control-Allow-Origin") != dashboard {
		t.Errorf("the dashboard origin is allowed: %v", rec.Header())
	}
}

func TestLogsCarryNoSecrets(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "A")
	r := e.do("POST", "/v1/orgs/"+org+"/api-keys", tok, map[string]any{"name": "ci", "scope": "write"})
	e.want(r, 201, "")
	e.want(e.do("GET", "/v1/orgs/"+org+"/routes", r.str("secret"), nil), 200, "")
	logs := e.logs.String()
	if strings.Contains(logs, tok) || strings.Contains(logs, r.str("secret")) || strings.Contains(logs, strings.Split(tok, ".")[1]) {
		t.Error("a token or key reached the logs")
	}
	for _, want := range []string{`"method":"POST"`, `"status":201`, `"org":"` + org + `"`, `"requestId":`, `"latencyMs":`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	_ = http.StatusOK
}
