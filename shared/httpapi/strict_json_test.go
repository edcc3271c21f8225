package httpapi_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// TestRequestBodiesAreStrict sends, to every operation the OpenAPI document gives a
// request body, a valid body and each way of bending it: what the document refuses
// (null, an unknown or case-mismatched member, a wrong type) the server refuses too,
// and so it does what no schema can say (a duplicate member, invalid UTF-8, data
// after the object, an oversized body), each answer naming the member at fault.
func TestRequestBodiesAreStrict(t *testing.T) {
	e := newAPIEnv(t)
	const alice = "alice@example.com"
	tok := e.token(alice)
	org := e.newPaidOrg(alice, reroute.PlanEnterprise)
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", tok, map[string]any{"host": "strict.example.com", "target": "https://example.com/"}), 201, "")
	e.want(e.do("POST", "/v1/orgs/"+org+"/members", tok, map[string]any{"email": "bob@example.com"}), 201, "")
	created := e.do("POST", "/v1/orgs/"+org+"/webhooks", tok, map[string]any{"url": "https://1.1.1.1/hook", "events": []string{"route.created"}})
	e.want(created, 201, "")
	hook := created.str("id")

	app := registerApp(t, e, org, tok)
	// A valid body for each operation, with every member its schema has, and the
	// path to send it to.
	future := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	rule := map[string]any{"source": "/docs", "target": "https://example.org/docs", "status": 308, "subpath": true, "keepSuffix": true, "keepQuery": true}
	valid := map[string]struct {
		path string
		body map[string]any
	}{
		"POST /v1/orgs":                          {"/v1/orgs", map[string]any{"name": "Acme"}},
		"PATCH /v1/orgs/{orgId}":                 {"/v1/orgs/" + org, map[string]any{"name": "Renamed"}},
		"POST /v1/orgs/{orgId}/members":          {"/v1/orgs/" + org + "/members", map[string]any{"email": "carol@example.com", "role": "member"}},
		"PATCH /v1/orgs/{orgId}/members/{email}": {"/v1/orgs/" + org + "/members/bob@example.com", map[string]any{"role": "admin"}},
		"POST /v1/orgs/{orgId}/api-keys":         {"/v1/orgs/" + org + "/api-keys", map[string]any{"name": "ci", "scope": "write", "expiresAt": future}},
		"POST /v1/orgs/{orgId}/billing/checkout": {"/v1/orgs/" + org + "/billing/checkout", map[string]any{"plan": "developer"}},
		"PATCH /v1/orgs/{orgId}/routes/{host}": {"/v1/orgs/" + org + "/routes/strict.example.com", map[string]any{"target": "https://example.org/", "status": 302, "keepPath": true, "keepQuery": true, "enabled": true, "httpsRedirect": false, "hsts": true,
			"pathOptions": map[string]any{"ignoreCase": true}, "fallback": map[string]any{"kind": "not_configured"}, "rules": []any{rule}}},
		"POST /v1/orgs/{orgId}/routes": {"/v1/orgs/" + org + "/routes", map[string]any{"host": "new.example.com", "target": "https://example.com/",
			"status": 301, "keepPath": false, "keepQuery": false, "enabled": true, "httpsRedirect": true, "hsts": false, "claim": false,
			"pathOptions": map[string]any{"ignoreCase": false, "ignoreTrailingSlash": true}, "fallback": map[string]any{"kind": "not_configured"}, "rules": []any{rule}}},
		"POST /v1/orgs/{orgId}/routes/{host}/rules": {"/v1/orgs/" + org + "/routes/strict.example.com/rules", rule},
		"PATCH /v1/orgs/{orgId}/routes/{host}/rules/{ruleId}": {"/v1/orgs/" + org + "/routes/strict.example.com/rules/L2RvY3M", map[string]any{
			"source": "/help", "target": "https://example.org/help", "status": 302, "subpath": false, "keepSuffix": false, "keepQuery": false}},
		"POST /v1/orgs/{orgId}/routes/{host}/try":      {"/v1/orgs/" + org + "/routes/strict.example.com/try", map[string]any{"url": "https://strict.example.com/docs/a"}},
		"POST /v1/orgs/{orgId}/oauth-apps":             {"/v1/orgs/" + org + "/oauth-apps", map[string]any{"name": "App", "redirectUris": []any{"https://app.example.net/cb"}, "confidential": false}},
		"PATCH /v1/orgs/{orgId}/oauth-apps/{clientId}": {"/v1/orgs/" + org + "/oauth-apps/" + app.id, map[string]any{"name": "App 2", "redirectUris": []any{"https://app.example.net/callback"}}},
		"POST /v1/oauth/authorizations": {"/v1/oauth/authorizations", map[string]any{"client_id": app.id, "redirect_uri": "https://app.example.net/callback",
			"scope": "routes:read", "state": "state-123456", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256",
			"response_type": "code", "orgId": org, "deny": true}},
		"POST /v1/orgs/{orgId}/webhooks": {"/v1/orgs/" + org + "/webhooks", map[string]any{"url": "https://1.1.1.1/hook", "description": "CI",
			"events": []any{"route.created"}, "enabled": true}},
		"PATCH /v1/orgs/{orgId}/webhooks/{webhookId}": {"/v1/orgs/" + org + "/webhooks/" + hook, map[string]any{"url": "https://1.1.1.1/other",
			"description": "CI", "events": []any{"route.deleted"}, "enabled": false}},
		"PUT /v1/orgs/{orgId}/members/me/notifications": {"/v1/orgs/" + org + "/members/me/notifications", map[string]any{"events": []any{"domain.failed"}}},
	}
	// The import's JSON body is a file, read by package bulk with errors of
	// its own (a line and a member each; see the import tests), not a request.
	// The authorization server's endpoints are form-encoded (RFC 6749), parsed by
	// the OAuth library.
	exempt := map[string]bool{"POST /v1/orgs/{orgId}/routes/import": true,
		"POST /oauth/token": true, "POST /oauth/revoke": true, "POST /oauth/introspect": true}

	spec := e.checker.spec
	compiler := newSchemaCompiler(spec.doc)
	seen := 0
	for _, op := range spec.ops {
		raw, _ := lookupPointer(spec.doc, "/paths/"+pointerToken(op.path)+"/"+strings.ToLower(op.method))
		if _, ok := raw.(map[string]any)["requestBody"]; !ok {
			continue
		}
		if exempt[op.String()] {
			continue
		}
		seen++
		ptr := "/paths/" + pointerToken(op.path) + "/" + strings.ToLower(op.method) + "/requestBody/content/application~1json/schema"
		node, _ := lookupPointer(spec.doc, ptr)
		schemaObj, _, err := resolveRef(spec.doc, node, ptr)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		schema, err := compiler.Compile(openAPIDocURL + "#" + ptr)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		props, _ := schemaObj["properties"].(map[string]any)
		v, ok := valid[op.String()]
		if !ok {
			t.Errorf("%s takes a body: give it a valid one in this test", op)
			continue
		}
		if got, want := slices.Sorted(maps.Keys(v.body)), slices.Sorted(maps.Keys(props)); !slices.Equal(got, want) {
			t.Errorf("%s: the valid body has members %v, the schema %v", op, got, want)
		}
		if err := validate(schema, encode(t, v.body)); err != nil {
			t.Errorf("%s: the valid body does not match the document: %v", op, err)
		}

		type bent struct {
			name, body   string
			schemaRefuse bool   // the document itself refuses it
			field        string // the member the problem names; "" for malformed_json
			status       int
		}
		var cases []bent
		for _, p := range slices.Sorted(maps.Keys(props)) {
			val := string(encode(t, v.body[p]))
			typ, _ := props[p].(map[string]any)["type"].(string)
			wrong := `"x"`
			if typ == "string" {
				wrong = "12"
			}
			cases = append(cases,
				bent{name: "null " + p, body: splice(t, v.body, p, p, "null"), schemaRefuse: true, field: p},
				bent{name: "case-mismatched " + p, body: splice(t, v.body, p, strings.ToUpper(p), val), schemaRefuse: true, field: strings.ToUpper(p)},
				bent{name: "duplicate " + p, body: splice(t, v.body, "", p, val), field: p},
				bent{name: "wrong type " + p, body: splice(t, v.body, p, p, wrong), schemaRefuse: true, field: p},
			)
			if typ == "string" {
				cases = append(cases, bent{name: "invalid UTF-8 " + p, body: splice(t, v.body, p, p, "\"a\xffb\""), field: p})
			}
		}
		cases = append(cases,
			bent{name: "unknown member", body: splice(t, v.body, "", "bogus", "1"), schemaRefuse: true, field: "bogus"},
			bent{name: "trailing data", body: string(encode(t, v.body)) + " {}"},
			bent{name: "two objects", body: string(encode(t, v.body)) + string(encode(t, v.body))},
			bent{name: "null body", body: "null", schemaRefuse: true},
			bent{name: "array body", body: "[" + string(encode(t, v.body)) + "]", schemaRefuse: true},
			bent{name: "empty body", body: " "},
			bent{name: "truncated", body: strings.TrimSuffix(string(encode(t, v.body)), "}")},
			bent{name: "oversized", body: `{"x":"` + strings.Repeat("a", 64<<10) + `"}`, status: 413},
		)
		for _, c := range cases {
			what := op.String() + ": " + c.name
			if c.schemaRefuse {
				if err := validate(schema, []byte(c.body)); err == nil {
					t.Errorf("%s: the document accepts %s", what, c.body)
				}
			}
			r := e.do(op.method, v.path, tok, c.body)
			switch {
			case c.status == 413:
				if r.status != 413 || r.str("code") != "body_too_large" {
					t.Errorf("%s: got %d %s, want 413 body_too_large", what, r.status, clip(r.body))
				}
			case c.field == "":
				if r.status != 400 || r.str("code") != "malformed_json" {
					t.Errorf("%s: got %d %s, want 400 malformed_json", what, r.status, clip(r.body))
				}
			default:
				fields, _ := r.json["fields"].([]any)
				f, _ := func() (map[string]any, bool) {
					if len(fields) != 1 {
						return nil, false
					}
					m, ok := fields[0].(map[string]any)
					return m, ok
				}()
				if r.status != 400 || r.str("code") != "validation_failed" || f["field"] != c.field {
					t.Errorf("%s: got %d %s, want 400 validation_failed naming %q", what, r.status, clip(r.body), c.field)
				}
			}
		}
		// Last, the valid body itself is not refused as input.
		r := e.do(op.method, v.path, tok, string(encode(t, v.body)))
		if r.status == 400 || r.status == 413 || r.status == 415 {
			t.Errorf("%s: the valid body is refused: %d %s", op, r.status, clip(r.body))
		}
	}
	if seen != len(valid) {
		t.Errorf("%d operations take a body, the test has valid bodies for %d", seen, len(valid))
	}
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splice is body without member drop ("" for none), with the member name set to
// the raw JSON value added first.
func splice(t *testing.T, body map[string]any, drop, name, value string) string {
	t.Helper()
	rest := maps.Clone(body)
	delete(rest, drop)
	out := string(encode(t, rest))
	member := string(encode(t, name)) + ":" + value
	if out == "{}" {
		return "{" + member + "}"
	}
	return "{" + member + "," + out[1:]
}

func validate(schema *jsonschema.Schema, body []byte) error {
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	return schema.Validate(v)
}
