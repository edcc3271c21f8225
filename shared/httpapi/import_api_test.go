package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const mediaCSVUTF8 = "text/csv; charset=utf-8"

// lineActions sums up an import's lines: "1:create 2:error".
func lineActions(r resp) string {
	lines, _ := r.json["lines"].([]any)
	var parts []string
	for _, l := range lines {
		m := l.(map[string]any)
		parts = append(parts, fmt.Sprintf("%d:%s", num(m["line"]), m["action"]))
	}
	return strings.Join(parts, " ")
}

// errorLines lists the lines a refused import names: "2 3".
func errorLines(r resp) string {
	errs, _ := r.json["errors"].([]any)
	var parts []string
	for _, e := range errs {
		parts = append(parts, fmt.Sprint(num(e.(map[string]any)["line"])))
	}
	return strings.Join(parts, " ")
}

func (e *apiEnv) orgRouteCount(tok, org string) int {
	e.t.Helper()
	r := e.do("GET", "/v1/orgs/"+org, tok, nil)
	return num(r.json["usage"].(map[string]any)["routes"])
}

// Imports of Cloudflare CSV files and of the JSON format: a dry run says what
// would happen and writes nothing; a real import writes, all or nothing; the
// same file again is all unchanged.
func TestImportAPI(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", reroute.PlanDeveloper)
	imp := "/v1/orgs/" + org + "/routes/import"
	csv := "old.example.com/contact,https://new.example/contact-us\n" +
		"# a comment\n" +
		"old.example.com/blog,https://new.example/articles,308,TRUE,,TRUE,TRUE\n" +
		"\"docs.example.com/a,b\",https://new.example/docs,302,,TRUE\n" +
		"old.example.com,https://new.example/,301,,,TRUE,TRUE\n"

	r := e.doRaw("POST", imp+"?dryRun=true", tok, "text/csv", csv, nil)
	e.want(r, 200, "")
	if got := lineActions(r); got != "1:create 3:create 4:create 5:create" || r.json["dryRun"] != true || num(r.json["routesCreated"]) != 3 {
		t.Fatalf("dry run: %s", r.body)
	}
	if n := e.orgRouteCount(tok, org); n != 0 {
		t.Fatalf("a dry run wrote %d routes", n)
	}

	r = e.doRaw("POST", imp, tok, "text/csv; charset=utf-8", csv, nil)
	e.want(r, 200, "")
	if got := lineActions(r); got != "1:create 3:create 4:create 5:create" || r.json["dryRun"] != false {
		t.Fatalf("import: %s", r.body)
	}
	r = e.do("GET", "/v1/orgs/"+org+"/routes/old.example.com", tok, nil)
	if r.str("target") != "https://new.example/" || r.json["keepPath"] != true || num(r.json["ruleCount"]) != 2 {
		t.Errorf("imported route: %s", r.body)
	}
	r = e.do("GET", "/v1/orgs/"+org+"/routes/*.docs.example.com/rules", tok, nil)
	if items := r.items(); len(items) != 1 || items[0].(map[string]any)["source"] != "/a,b" {
		t.Errorf("the wildcard's rules: %s", r.body)
	}

	// Again: all unchanged, nothing written.
	before := e.do("GET", "/v1/orgs/"+org+"/routes/old.example.com", tok, nil).str("updatedAt")
	r = e.doRaw("POST", imp, tok, "text/csv", csv, nil)
	e.want(r, 200, "")
	if got := lineActions(r); got != "1:unchanged 3:unchanged 4:unchanged 5:unchanged" || num(r.json["routesUpdated"]) != 0 {
		t.Errorf("second import: %s", r.body)
	}
	if after := e.do("GET", "/v1/orgs/"+org+"/routes/old.example.com", tok, nil).str("updatedAt"); after != before {
		t.Errorf("the second import wrote the route: updatedAt %s, then %s", before, after)
	}

	// One changed, one added: update and create.
	r = e.doRaw("POST", imp, tok, "text/csv", "old.example.com/contact,https://new.example/contact\nold.example.com/new,https://new.example/new\n", nil)
	if got := lineActions(r); got != "1:update 2:create" || num(r.json["routesUpdated"]) != 1 {
		t.Errorf("changes: %s", r.body)
	}

	// Bad lines: every one named, with its line number, and nothing written.
	bad := "a.example.com/x,https://new.example/x\n" +
		"b.example.com/x\n" +
		"\n" +
		"c.example.com/x,ftp://new.example/,200\n" +
		"a.example.com/y,https://a.example.com/loop\n"
	for _, dry := range []bool{false, true} {
		r = e.doRaw("POST", fmt.Sprintf("%s?dryRun=%t", imp, dry), tok, "text/csv", bad, nil)
		if dry {
			e.want(r, 200, "")
			if got := lineActions(r); got != "1:create 2:error 4:error 5:error" {
				t.Errorf("dry run of a bad file: %s", r.body)
			}
			continue
		}
		e.want(r, 400, "invalid_import")
		if got := errorLines(r); got != "2 4 4 5" {
			t.Errorf("errors on lines %q: %s", got, r.body)
		}
	}
	e.want(e.do("GET", "/v1/orgs/"+org+"/routes/a.example.com", tok, nil), 404, "route_not_found")
	r = e.doRaw("POST", imp, tok, "text/csv", "source_url,target_url\n", nil)
	e.want(r, 400, "invalid_import")
	if !strings.Contains(string(r.body), "header row") {
		t.Errorf("a header row: %s", r.body)
	}

	// The JSON format, with route settings.
	js := `{"version": 1, "routes": [
  {"host": "old.example.com", "target": "https://new.example/", "keepPath": true, "ignoreCase": true,
   "rules": [{"source": "/contact", "target": "https://new.example/contact"}]},
  {"host": "json.example.com", "fallback": {"kind": "gone"},
   "rules": [{"source": "/x", "target": "https://new.example/x", "status": 307}]}
]}`
	r = e.doRaw("POST", imp, tok, "application/json", js, nil)
	e.want(r, 200, "")
	if got := lineActions(r); got != "2:update 3:unchanged 4:create 5:create" {
		t.Errorf("json import: %s", r.body)
	}
	r = e.do("GET", "/v1/orgs/"+org+"/routes/json.example.com", tok, nil)
	if r.json["fallback"].(map[string]any)["kind"] != "gone" {
		t.Errorf("json route: %s", r.body)
	}
	r = e.doRaw("POST", imp, tok, "application/json", `{"version": 1, "routes": [{"host": "x.example.com", "rules": [{"source": "/x"}]}]}`, nil)
	e.want(r, 400, "invalid_import")
	if errs, _ := r.json["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["line"] == nil {
		t.Errorf("a bad JSON file: %s", r.body)
	}

	// What is not a file.
	e.want(e.doRaw("POST", imp, tok, "text/plain", csv, nil), 415, "unsupported_media_type")
	e.want(e.doRaw("POST", imp, tok, "", csv, nil), 415, "unsupported_media_type")
	e.want(e.doRaw("POST", imp+"?dryRun=maybe", tok, "text/csv", csv, nil), 400, "validation_failed")
	big := strings.Repeat("big.example.com/"+strings.Repeat("a", 100)+",https://new.example/\n", (5<<20)/120+10)
	e.want(e.doRaw("POST", imp, tok, "text/csv", big, nil), 413, "body_too_large")
	e.want(e.doRaw("POST", imp, tok, "text/csv", big, map[string]string{"Idempotency-Key": "big-import"}), 413, "body_too_large")

	// Another org cannot be imported into.
	e.want(e.doRaw("POST", "/v1/orgs/"+e.newOrg("mallory@example.com", "M")+"/routes/import", tok, "text/csv", csv, nil), 404, "org_not_found")
}

// An import past a plan limit lists the lines beyond it and writes nothing.
func TestImportPlanLimits(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Free") // 1 route, 25 rules
	imp := "/v1/orgs/" + org + "/routes/import"
	r := e.doRaw("POST", imp, tok, "text/csv", "a.example.com/x,https://new.example/\nb.example.com/x,https://new.example/\nc.example.com/x,https://new.example/\n", nil)
	e.want(r, 403, "plan_limit_reached")
	if got := errorLines(r); got != "2 3" {
		t.Errorf("lines beyond the route limit %q: %s", got, r.body)
	}
	var rules strings.Builder
	for i := range 27 {
		fmt.Fprintf(&rules, "a.example.com/p%d,https://new.example/%d\n", i, i)
	}
	r = e.doRaw("POST", imp, tok, "text/csv", rules.String(), nil)
	e.want(r, 403, "plan_limit_reached")
	if got := errorLines(r); got != "26 27" {
		t.Errorf("lines beyond the rule limit %q: %s", got, r.body)
	}
	if n := e.orgRouteCount(tok, org); n != 0 {
		t.Errorf("a refused import wrote %d routes", n)
	}
}

// An import with an Idempotency-Key answers a retry with the first answer.
func TestImportIdempotent(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", reroute.PlanDeveloper)
	imp := "/v1/orgs/" + org + "/routes/import"
	csv := "a.example.com/x,https://new.example/x\n"
	key := map[string]string{"Idempotency-Key": "import-1"}
	first := e.doRaw("POST", imp, tok, "text/csv", csv, key)
	e.want(first, 200, "")
	again := e.doRaw("POST", imp, tok, "text/csv", csv, key)
	e.want(again, 200, "")
	if again.header.Get("Idempotent-Replayed") != "true" || lineActions(again) != "1:create" {
		t.Errorf("retry: %v %s", again.header, again.body)
	}
	e.want(e.doRaw("POST", imp, tok, "text/csv", "b.example.com/x,https://new.example/x\n", key), 422, "idempotency_key_reused")
}

// An export, in either format, imports back as all unchanged.
func TestExportImportRoundTrip(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", reroute.PlanDeveloper)
	routes := "/v1/orgs/" + org + "/routes"
	e.want(e.do("POST", routes, tok, map[string]any{"host": "old.example.com", "target": "https://new.example/", "keepPath": true, "keepQuery": true, "status": 302,
		"pathOptions": map[string]any{"ignoreCase": true, "ignoreTrailingSlash": true},
		"rules": []any{
			map[string]any{"source": "/Contact", "target": "https://new.example/contact-us", "keepQuery": true},
			map[string]any{"source": "/docs", "target": "https://new.example/help", "subpath": true, "keepSuffix": true, "status": 308},
			map[string]any{"source": "/caf\u00e9", "target": "https://new.example/cafe?x=1"},
		}}), 201, "")
	e.want(e.do("POST", routes, tok, map[string]any{"host": "*.old.example.com", "fallback": map[string]any{"kind": "redirect", "target": "https://new.example/lost"},
		"rules": []any{map[string]any{"source": "/docs", "target": "https://new.example/help", "subpath": true, "keepSuffix": true, "status": 308}}}), 201, "")
	e.want(e.do("POST", routes, tok, map[string]any{"host": "plain.example.com", "target": "https://plain.example.org/"}), 201, "")

	r := e.doRaw("GET", routes+"/export", tok, "", "", map[string]string{"Accept": "text/csv"})
	e.want(r, 200, "")
	if ct, cd := r.header.Get("Content-Type"), r.header.Get("Content-Disposition"); ct != mediaCSVUTF8 || cd != `attachment; filename="`+org+`-routes.csv"` {
		t.Errorf("CSV headers: %q, %q", ct, cd)
	}
	csv := string(r.body)
	if !strings.Contains(csv, "old.example.com/docs,https://new.example/help,308,FALSE,TRUE,TRUE,TRUE\n") {
		t.Errorf("the CSV export:\n%s", csv)
	}
	r = e.doRaw("POST", routes+"/import", tok, "text/csv", csv, nil)
	e.want(r, 200, "")
	if s := r.json["summary"].(map[string]any); num(s["unchanged"]) == 0 || num(s["create"])+num(s["update"])+num(s["error"]) != 0 {
		t.Errorf("the CSV export imported: %s", r.body)
	}

	r = e.doRaw("GET", routes+"/export", tok, "", "", map[string]string{"Accept": "application/json"})
	e.want(r, 200, "")
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="`+org+`-routes.json"` {
		t.Errorf("JSON Content-Disposition %q", cd)
	}
	var file struct {
		Version int
		Routes  []json.RawMessage
	}
	if err := json.Unmarshal(r.body, &file); err != nil || file.Version != 1 || len(file.Routes) != 3 {
		t.Fatalf("the JSON export (%v): %s", err, r.body)
	}
	r = e.doRaw("POST", routes+"/import", tok, "application/json", string(r.body), nil)
	e.want(r, 200, "")
	if s := r.json["summary"].(map[string]any); num(s["unchanged"]) == 0 || num(s["create"])+num(s["update"])+num(s["error"]) != 0 {
		t.Errorf("the JSON export imported: %s", r.body)
	}
	e.want(e.doRaw("GET", "/v1/orgs/"+e.newOrg("mallory@example.com", "M")+"/routes/export", tok, "", "", nil), 404, "org_not_found")
}

// 10,000 lines on one enterprise route import through the API against DynamoDB
// Local, every rule stored.
func TestImportTenThousandLines(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 10,000 lines")
	}
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", reroute.PlanEnterprise)
	var b strings.Builder
	for i := range 10_000 {
		fmt.Fprintf(&b, "big.example.com/section-%d/page-%05d,https://new.example.org/articles/%05d,301,TRUE,,%t,%t\n", i%37, i, i, i%3 == 0, i%3 == 0)
	}
	start := time.Now()
	r := e.doRaw("POST", "/v1/orgs/"+org+"/routes/import", tok, "text/csv", b.String(), nil)
	took := time.Since(start)
	e.want(r, 200, "")
	if s := r.json["summary"].(map[string]any); num(s["create"]) != 10_000 {
		t.Fatalf("summary %v", s)
	}
	t.Logf("10,000 lines (%d bytes) imported in %v", b.Len(), took)
	r = e.do("GET", "/v1/orgs/"+org+"/routes/big.example.com", tok, nil)
	if n := num(r.json["ruleCount"]); n != 10_000 {
		t.Fatalf("ruleCount %d, want 10000", n)
	}
	seen, cursor := 0, ""
	for {
		r = e.do("GET", "/v1/orgs/"+org+"/routes/big.example.com/rules?limit=200&cursor="+cursor, tok, nil)
		e.want(r, 200, "")
		seen += len(r.items())
		if cursor = r.str("nextCursor"); cursor == "" {
			break
		}
	}
	if seen != 10_000 {
		t.Errorf("%d rules listed, want 10000", seen)
	}
	start = time.Now()
	r = e.doRaw("POST", "/v1/orgs/"+org+"/routes/import", tok, "text/csv", b.String(), nil)
	e.want(r, 200, "")
	if s := r.json["summary"].(map[string]any); num(s["unchanged"]) != 10_000 {
		t.Fatalf("again: summary %v", s)
	}
	t.Logf("the same 10,000 lines again (all unchanged) in %v", time.Since(start))
}
