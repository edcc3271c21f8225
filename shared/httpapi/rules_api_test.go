package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// doRaw sends body as contentType (with the extra headers) and checks the
// answer, body and headers, against the OpenAPI document.
func (e *apiEnv) doRaw(method, path, token, contentType, body string, headers map[string]string) resp {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := e.checker.do(e.t, e.h, req)
	out := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if len(out.body) > 0 && out.body[0] == '{' {
		_ = json.Unmarshal(out.body, &out.json)
	}
	return out
}

func ruleIDOf(source string) string { return base64.RawURLEncoding.EncodeToString([]byte(source)) }

func num(v any) int { f, _ := v.(float64); return int(f) }

// The rules of a route are created with it, listed a page at a time (filtered
// with q), added, read, changed and deleted one at a time by their id.
func TestRouteRulesAPI(t *testing.T) {
	e := newAPIEnv(t)
	const alice, mallory = "alice@example.com", "mallory@example.com"
	tok := e.token(alice)
	org := e.newPaidOrg(alice, reroute.PlanDeveloper)
	other := e.newOrg(mallory, "Other")
	base := "/v1/orgs/" + org + "/routes/site.example.com"

	// A route of rules alone, matching case-insensitively.
	r := e.do("POST", "/v1/orgs/"+org+"/routes", tok, map[string]any{"host": "site.example.com",
		"pathOptions": map[string]any{"ignoreCase": true},
		"rules": []any{
			map[string]any{"source": "/contact", "target": "https://new.example/contact-us"},
			map[string]any{"source": "/blog", "target": "https://new.example/articles", "subpath": true, "keepSuffix": true},
			map[string]any{"source": "/about", "target": "https://new.example/team", "status": 302},
		}})
	e.want(r, 201, "")
	if r.str("target") != "" || num(r.json["ruleCount"]) != 3 || r.json["fallback"].(map[string]any)["kind"] != "not_configured" ||
		r.json["pathOptions"].(map[string]any)["ignoreCase"] != true {
		t.Fatalf("created: %s", r.body)
	}
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", tok, map[string]any{"host": "empty.example.com"}), 400, "validation_failed")

	// Listed in source order, a page at a time.
	r = e.do("GET", base+"/rules?limit=2", tok, nil)
	e.want(r, 200, "")
	items := r.items()
	if len(items) != 2 || items[0].(map[string]any)["source"] != "/about" || items[1].(map[string]any)["source"] != "/blog" || r.str("nextCursor") == "" {
		t.Fatalf("first page: %s", r.body)
	}
	if id := items[0].(map[string]any)["id"]; id != ruleIDOf("/about") {
		t.Errorf("id %v, want %s", id, ruleIDOf("/about"))
	}
	r = e.do("GET", base+"/rules?limit=2&cursor="+r.str("nextCursor"), tok, nil)
	e.want(r, 200, "")
	if items := r.items(); len(items) != 1 || items[0].(map[string]any)["source"] != "/contact" || r.str("nextCursor") != "" {
		t.Fatalf("second page: %s", r.body)
	}
	r = e.do("GET", base+"/rules?q=ARTICLES", tok, nil)
	if items := r.items(); len(items) != 1 || items[0].(map[string]any)["source"] != "/blog" {
		t.Errorf("q=ARTICLES: %s", r.body)
	}
	e.want(e.do("GET", base+"/rules?cursor="+ruleIDOf("not-a-path"), tok, nil), 400, "invalid_cursor")
	e.want(e.do("GET", base+"/rules?limit=0", tok, nil), 400, "validation_failed")

	// One at a time.
	r = e.do("POST", base+"/rules", tok, map[string]any{"source": "/Shop/", "target": "https://shop.example/"})
	e.want(r, 201, "")
	if loc := r.header.Get("Location"); loc != base+"/rules/"+ruleIDOf("/Shop/") || r.str("id") != ruleIDOf("/Shop/") {
		t.Errorf("Location %q, id %q", loc, r.str("id"))
	}
	e.want(e.do("POST", base+"/rules", tok, map[string]any{"source": "/shop/", "target": "https://shop.example/x"}), 409, "rule_exists")
	e.want(e.do("POST", base+"/rules", tok, map[string]any{"source": "shop", "target": "https://shop.example/x"}), 400, "validation_failed")
	e.want(e.do("POST", base+"/rules", tok, map[string]any{"source": "/loop", "target": "https://site.example.com/x"}), 400, "validation_failed")
	r = e.do("GET", base+"/rules/"+ruleIDOf("/contact"), tok, nil)
	e.want(r, 200, "")
	if r.str("target") != "https://new.example/contact-us" || num(r.json["status"]) != 301 {
		t.Errorf("rule: %s", r.body)
	}
	r = e.do("PATCH", base+"/rules/"+ruleIDOf("/contact"), tok, map[string]any{"status": 308, "keepQuery": true})
	e.want(r, 200, "")
	if num(r.json["status"]) != 308 || r.json["keepQuery"] != true || r.str("source") != "/contact" {
		t.Errorf("patched: %s", r.body)
	}
	e.want(e.do("PATCH", base+"/rules/"+ruleIDOf("/contact"), tok, map[string]any{"source": "/ABOUT"}), 409, "rule_exists")
	e.want(e.do("PATCH", base+"/rules/"+ruleIDOf("/contact"), tok, map[string]any{"keepSuffix": true}), 400, "validation_failed")
	r = e.do("PATCH", base+"/rules/"+ruleIDOf("/contact"), tok, map[string]any{"source": "/kontakt"})
	e.want(r, 200, "")
	if r.str("id") != ruleIDOf("/kontakt") {
		t.Errorf("renamed: %s", r.body)
	}
	e.want(e.do("GET", base+"/rules/"+ruleIDOf("/contact"), tok, nil), 404, "rule_not_found")
	e.want(e.do("GET", base+"/rules/not-base64!", tok, nil), 404, "rule_not_found")
	e.want(e.do("DELETE", base+"/rules/"+ruleIDOf("/kontakt"), tok, nil), 204, "")
	e.want(e.do("DELETE", base+"/rules/"+ruleIDOf("/kontakt"), tok, nil), 404, "rule_not_found")

	// The route's own settings.
	r = e.do("PATCH", base, tok, map[string]any{"fallback": map[string]any{"kind": "gone"}, "pathOptions": map[string]any{"ignoreTrailingSlash": true}})
	e.want(r, 200, "")
	if r.json["fallback"].(map[string]any)["kind"] != "gone" || r.json["pathOptions"].(map[string]any)["ignoreCase"] != true || num(r.json["ruleCount"]) != 3 {
		t.Errorf("patched route: %s", r.body)
	}
	e.want(e.do("PATCH", base, tok, map[string]any{"target": "https://new.example/"}), 400, "validation_failed") // a fallback would never be used
	r = e.do("PATCH", base, tok, map[string]any{"target": "https://new.example/", "fallback": map[string]any{"kind": "not_configured"}})
	e.want(r, 200, "")
	r = e.do("PATCH", base, tok, map[string]any{"target": ""})
	e.want(r, 200, "")
	if r.str("target") != "" {
		t.Errorf("target not cleared: %s", r.body)
	}
	// The rules replaced whole, then the last one kept.
	r = e.do("PATCH", base, tok, map[string]any{"rules": []any{map[string]any{"source": "/only", "target": "https://new.example/only"}}})
	e.want(r, 200, "")
	if num(r.json["ruleCount"]) != 1 {
		t.Errorf("replaced: %s", r.body)
	}
	e.want(e.do("DELETE", base+"/rules/"+ruleIDOf("/only"), tok, nil), 409, "last_rule")

	// Lists of routes carry the count, not the rules.
	r = e.do("GET", "/v1/orgs/"+org+"/routes", tok, nil)
	if items := r.items(); len(items) != 1 || num(items[0].(map[string]any)["ruleCount"]) != 1 || items[0].(map[string]any)["rules"] != nil {
		t.Errorf("list: %s", r.body)
	}

	// Another org's route is not found, for every rules endpoint.
	mtok := e.token(mallory)
	mbase := "/v1/orgs/" + other + "/routes/site.example.com"
	e.want(e.do("GET", mbase+"/rules", mtok, nil), 404, "route_not_found")
	e.want(e.do("POST", mbase+"/rules", mtok, map[string]any{"source": "/x", "target": "https://x.example/"}), 404, "route_not_found")
	e.want(e.do("GET", mbase+"/rules/"+ruleIDOf("/only"), mtok, nil), 404, "route_not_found")
	e.want(e.do("PATCH", mbase+"/rules/"+ruleIDOf("/only"), mtok, map[string]any{"status": 302}), 404, "route_not_found")
	e.want(e.do("DELETE", mbase+"/rules/"+ruleIDOf("/only"), mtok, nil), 404, "route_not_found")
	e.want(e.do("POST", mbase+"/try", mtok, map[string]any{"url": "/only"}), 404, "route_not_found")
	e.want(e.do("GET", base+"/rules", mtok, nil), 404, "org_not_found")
}

// A route's rules are bounded by the plan's rule limit, which plans and usage show.
func TestRuleLimitAPI(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Free")
	r := e.do("GET", "/v1/orgs/"+org, tok, nil)
	if num(r.json["usage"].(map[string]any)["ruleLimit"]) != 25 {
		t.Errorf("usage: %s", r.body)
	}
	r = e.do("GET", "/v1/plans", "", nil)
	if !strings.Contains(string(r.body), `"ruleLimit":10000`) {
		t.Errorf("plans: %s", r.body)
	}
	var rules []any
	for i := range 26 {
		rules = append(rules, map[string]any{"source": fmt.Sprintf("/p%d", i), "target": "https://new.example/"})
	}
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", tok, map[string]any{"host": "site.example.com", "rules": rules}), 403, "plan_limit_reached")
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", tok, map[string]any{"host": "site.example.com", "rules": rules[:25]}), 201, "")
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes/site.example.com/rules", tok, rules[25]), 403, "plan_limit_reached")
}

// racingStore answers route_changed to the first `races` rule writes, as if
// another request changed the route's rules each time just before.
type racingStore struct {
	reroute.RouteStore
	races   atomic.Int32
	updates atomic.Int32
}

func (s *racingStore) UpdateRoute(ctx context.Context, r reroute.Route, rules reroute.RulesUpdate) error {
	s.updates.Add(1)
	if s.races.Add(-1) >= 0 {
		return reroute.Errorf(reroute.CodeConflict, "route_changed", "the route's rules changed")
	}
	return s.RouteStore.UpdateRoute(ctx, r, rules)
}

// An edit that loses a race with another write of the route's rules reads the
// route again and applies itself anew, up to three times, then answers 409.
func TestRouteChangedRetry(t *testing.T) {
	var racing *racingStore
	e := newAPIEnvWith(t, func(d *httpapi.Deps) {
		racing = &racingStore{RouteStore: d.Routes}
		d.Routes = racing
	})
	tok := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", reroute.PlanDeveloper)
	base := "/v1/orgs/" + org + "/routes/site.example.com"
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", tok, map[string]any{"host": "site.example.com", "target": "https://new.example/"}), 201, "")

	racing.races.Store(2)
	racing.updates.Store(0)
	e.want(e.do("POST", base+"/rules", tok, map[string]any{"source": "/a", "target": "https://new.example/a"}), 201, "")
	if n := racing.updates.Load(); n != 3 {
		t.Errorf("%d writes, want 3 (two lost races, then the write)", n)
	}
	racing.races.Store(3)
	racing.updates.Store(0)
	e.want(e.do("PATCH", base, tok, map[string]any{"status": 302}), 409, "route_changed")
	if n := racing.updates.Load(); n != 3 {
		t.Errorf("%d writes, want 3 attempts", n)
	}
	racing.races.Store(0)
	r := e.do("GET", base, tok, nil)
	if num(r.json["status"]) != 301 {
		t.Errorf("the refused change was written: %s", r.body)
	}
}

// Trying a URL answers what the redirector would: the rule that matches and
// its Location, the target, or the fallback.
func TestTryAPI(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", reroute.PlanDeveloper)
	routes := "/v1/orgs/" + org + "/routes"
	e.want(e.do("POST", routes, tok, map[string]any{"host": "site.example.com", "fallback": map[string]any{"kind": "gone"},
		"rules": []any{
			map[string]any{"source": "/contact", "target": "https://new.example/contact-us"},
			map[string]any{"source": "/blog", "target": "https://new.example/articles", "subpath": true, "keepSuffix": true, "keepQuery": true, "status": 308},
		}}), 201, "")
	e.want(e.do("POST", routes, tok, map[string]any{"host": "*.wild.example.com", "target": "https://new.example/", "keepPath": true,
		"rules": []any{map[string]any{"source": "/x", "target": "https://new.example/y"}}}), 201, "")
	e.want(e.do("POST", routes, tok, map[string]any{"host": "lost.example.com", "fallback": map[string]any{"kind": "redirect", "target": "https://new.example/lost", "status": 302},
		"rules": []any{map[string]any{"source": "/x", "target": "https://new.example/y"}}}), 201, "")
	e.want(e.do("POST", routes, tok, map[string]any{"host": "none.example.com",
		"rules": []any{map[string]any{"source": "/x", "target": "https://new.example/y"}}}), 201, "")

	for _, tc := range []struct {
		host, url string
		kind      string
		status    int
		location  string
		rule      string // the matching rule's source; "" for none
		wholeHost bool
		fallback  bool
	}{
		{"site.example.com", "https://site.example.com/contact", "redirect", 301, "https://new.example/contact-us", "/contact", false, false},
		{"site.example.com", "/blog/2020/post?utm=1", "redirect", 308, "https://new.example/articles/2020/post?utm=1", "/blog", false, false},
		{"site.example.com", "http://SITE.example.com/blog#frag", "redirect", 308, "https://new.example/articles", "/blog", false, false},
		{"site.example.com", "/blogger", "gone", 410, "", "", false, true},
		{"*.wild.example.com", "https://a.wild.example.com/x", "redirect", 301, "https://new.example/y", "/x", false, false},
		{"*.wild.example.com", "https://a.wild.example.com/other/page", "redirect", 301, "https://new.example/other/page", "", true, false},
		{"lost.example.com", "/nope", "redirect", 302, "https://new.example/lost", "", false, true},
		{"none.example.com", "/nope", "not_configured", 404, "", "", false, true},
	} {
		r := e.do("POST", routes+"/"+tc.host+"/try", tok, map[string]any{"url": tc.url})
		e.want(r, 200, "")
		rule, _ := r.json["rule"].(map[string]any)
		src, _ := rule["source"].(string)
		if r.str("kind") != tc.kind || num(r.json["status"]) != tc.status || r.str("location") != tc.location || src != tc.rule ||
			r.json["wholeHost"] != tc.wholeHost || r.json["fallback"] != tc.fallback {
			t.Errorf("%s %s: %s", tc.host, tc.url, r.body)
		}
	}
	for _, bad := range []string{"https://other.example.com/x", "ftp://site.example.com/x", "", "site.example.com/x"} {
		r := e.do("POST", routes+"/site.example.com/try", tok, map[string]any{"url": bad})
		e.want(r, 400, "validation_failed")
		if fields, _ := r.json["fields"].([]any); len(fields) != 1 || fields[0].(map[string]any)["field"] != "url" {
			t.Errorf("%q: %s", bad, r.body)
		}
	}
}
