package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/safehttp"
	"github.com/dnsreroute/dnsreroute/shared/webhook"
)

// newWebhooks are the webhook endpoints on store; loopback URLs are allowed, as
// in the local stack, so that a receiver of a test's can be named.
func newWebhooks(store *dynamo.Store) *httpapi.Webhooks {
	return &httpapi.Webhooks{Store: store, URLs: safehttp.Guard{AllowLoopback: true},
		NewSecret: func() (string, error) { return webhook.NewSecret(rand.Reader) }}
}

func (e *apiEnv) eventTypes(org string) []reroute.EventType {
	e.t.Helper()
	evs, err := dynamo.ScanEvents(context.Background(), e.db, e.table, org)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []reroute.EventType
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

func TestWebhooksAPI(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	alice, bob, carol := e.token("alice@example.com"), e.token("bob@example.com"), e.token("carol@example.com")
	org := e.newPaidOrg("alice@example.com", reroute.PlanDeveloper)
	other := e.newOrg("carol@example.com", "Other")
	e.want(e.do("POST", "/v1/orgs/"+org+"/members", alice, map[string]any{"email": "bob@example.com", "role": "member"}), 201, "")
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer receiver.Close()
	base := "/v1/orgs/" + org + "/webhooks"

	r := e.do("GET", "/v1/events", "", nil)
	e.want(r, 200, "")
	if len(r.items()) != len(reroute.EventTypes) {
		t.Fatalf("GET /v1/events: %s", r.body)
	}

	for _, tc := range []struct {
		name string
		body map[string]any
		code string
		tok  string
		st   int
	}{
		{"plain http", map[string]any{"url": "http://hooks.example.com/", "events": []string{"route.created"}}, "validation_failed", alice, 400},
		{"private address", map[string]any{"url": "https://10.1.2.3/", "events": []string{"route.created"}}, "validation_failed", alice, 400},
		{"metadata service", map[string]any{"url": "https://169.254.169.254/", "events": []string{"route.created"}}, "validation_failed", alice, 400},
		{"no events", map[string]any{"url": receiver.URL, "events": []string{}}, "validation_failed", alice, 400},
		{"unknown event", map[string]any{"url": receiver.URL, "events": []string{"route.exploded"}}, "validation_failed", alice, 400},
		{"no url", map[string]any{"events": []string{"route.created"}}, "validation_failed", alice, 400},
		{"a member", map[string]any{"url": receiver.URL, "events": []string{"route.created"}}, "role_not_allowed", bob, 403},
		{"another org", map[string]any{"url": receiver.URL, "events": []string{"route.created"}}, "org_not_found", carol, 404},
	} {
		e.want(e.do("POST", base, tc.tok, tc.body), tc.st, tc.code)
	}

	r = e.do("POST", base, alice, map[string]any{"url": receiver.URL + "/hook", "events": []string{"route.created", "domain.active"}, "description": "CI"})
	e.want(r, 201, "")
	id, secret := r.str("id"), r.str("secret")
	if !strings.HasPrefix(secret, "whsec_") || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created: %s", r.body)
	}
	r = e.do("GET", base+"/"+id, alice, nil)
	e.want(r, 200, "")
	if r.str("secret") != "" {
		t.Fatal("GET shows the secret again")
	}
	e.want(e.do("GET", "/v1/orgs/"+other+"/webhooks/"+id, carol, nil), 404, "webhook_not_found")
	e.want(e.do("GET", "/v1/orgs/"+org+"/webhooks/"+id, carol, nil), 404, "org_not_found")
	e.want(e.do("GET", base, bob, nil), 403, "role_not_allowed")

	r = e.do("PATCH", base+"/"+id, alice, map[string]any{"events": []string{"destination.broken"}, "enabled": false})
	e.want(r, 200, "")
	if evs, _ := r.json["events"].([]any); len(evs) != 1 || r.json["enabled"] != false || r.str("url") != receiver.URL+"/hook" {
		t.Fatalf("patched: %s", r.body)
	}
	e.want(e.do("PATCH", base+"/"+id, alice, map[string]any{"url": "https://127.0.0.1.nip.invalid/"}), 400, "validation_failed")

	r = e.do("POST", base+"/"+id+"/rotate-secret", alice, nil)
	e.want(r, 200, "")
	if s := r.str("secret"); !strings.HasPrefix(s, "whsec_") || s == secret {
		t.Fatalf("rotated: %s", r.body)
	}

	r = e.do("POST", base+"/"+id+"/test", alice, nil)
	e.want(r, 202, "")
	if !strings.HasPrefix(r.str("eventId"), "evt_") {
		t.Fatalf("test: %s", r.body)
	}
	if got := e.eventTypes(org); !slices.Contains(got, reroute.EventWebhookTest) {
		t.Fatalf("events after a test: %v", got)
	}
	r = e.do("GET", base+"/"+id+"/deliveries", alice, nil)
	e.want(r, 200, "")

	r2 := e.do("POST", base, alice, map[string]any{"url": receiver.URL + "/two", "events": []string{"route.deleted"}})
	e.want(r2, 201, "")
	r = e.do("GET", base+"?limit=1", alice, nil)
	e.want(r, 200, "")
	if len(r.items()) != 1 || r.str("nextCursor") == "" {
		t.Fatalf("first page: %s", r.body)
	}
	r = e.do("GET", base+"?limit=1&cursor="+r.str("nextCursor"), alice, nil)
	e.want(r, 200, "")
	if len(r.items()) != 1 || r.str("nextCursor") != "" {
		t.Fatalf("second page: %s", r.body)
	}
	e.want(e.do("GET", base+"?cursor=bogus", alice, nil), 400, "invalid_cursor")
	e.want(e.do("DELETE", base+"/"+id, alice, nil), 204, "")
	e.want(e.do("DELETE", base+"/"+id, alice, nil), 404, "webhook_not_found")
	e.want(e.do("GET", base+"/"+id+"/deliveries", alice, nil), 404, "webhook_not_found")
}

// TestWebhooksNotConfigured: without webhooks the endpoints say so.
func TestWebhooksNotConfigured(t *testing.T) {
	t.Parallel()
	e := newAPIEnvWith(t, func(d *httpapi.Deps) { d.Webhooks = nil })
	org := e.newOrg("alice@example.com", "Acme")
	e.want(e.do("GET", "/v1/orgs/"+org+"/webhooks", e.token("alice@example.com"), nil), 503, "webhooks_not_configured")
}

// TestRouteEventOncePerIdempotentRetry: a create sent twice with one
// Idempotency-Key is one change, told once.
func TestRouteEventOncePerIdempotentRetry(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Acme")
	body := map[string]any{"host": "once.example.com", "target": "https://example.net/"}
	first := e.doKey("POST", "/v1/orgs/"+org+"/routes", alice, "key-1", body)
	e.want(first, 201, "")
	again := e.doKey("POST", "/v1/orgs/"+org+"/routes", alice, "key-1", body)
	e.want(again, 201, "")
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the retry was not replayed: %v", again.header)
	}
	got := e.eventTypes(org)
	if n := len(slices.DeleteFunc(slices.Clone(got), func(t reroute.EventType) bool { return t != reroute.EventRouteCreated })); n != 1 {
		t.Fatalf("events = %v, want one route.created", got)
	}
}

const unsubscribeKey = "test-unsubscribe-key"

// TestNotificationPrefsAndUnsubscribe: a member reads the defaults, chooses,
// and a signed one-click link unsubscribes them from all; a forged one does not.
func TestNotificationPrefsAndUnsubscribe(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Acme")
	path := "/v1/orgs/" + org + "/members/me/notifications"
	r := e.do("GET", path, alice, nil)
	e.want(r, 200, "")
	if r.json["default"] != true || len(r.json["events"].([]any)) != len(reroute.DefaultEmailEvents) {
		t.Fatalf("defaults: %s", r.body)
	}
	r = e.do("PUT", path, alice, map[string]any{"events": []string{"domain.failed", "destination.broken"}})
	e.want(r, 200, "")
	e.want(e.do("PUT", path, alice, map[string]any{"events": []string{"nope"}}), 400, "validation_failed")
	e.want(e.do("PUT", path, alice, map[string]any{}), 400, "validation_failed")
	e.want(e.do("GET", "/v1/orgs/"+org+"/members/me/notifications", e.token("mallory@example.com"), nil), 404, "org_not_found")
	r = e.do("GET", path, alice, nil)
	if r.json["default"] != false || len(r.json["events"].([]any)) != 2 {
		t.Fatalf("chosen: %s", r.body)
	}

	q := "/v1/unsubscribe?org=" + org + "&email=alice@example.com&sig=" + reroute.UnsubscribeSig([]byte(unsubscribeKey), org, "alice@example.com")
	r = e.do("GET", q, "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), "<form method=\"post\">") {
		t.Fatalf("GET unsubscribe: %d %s", r.status, r.body)
	}
	if r := e.do("GET", path, alice, nil); len(r.json["events"].([]any)) != 2 {
		t.Fatal("GET of the link changed the preferences")
	}
	forged := "/v1/unsubscribe?org=" + org + "&email=alice@example.com&sig=" + reroute.UnsubscribeSig([]byte("other"), org, "alice@example.com")
	if r := e.do("POST", forged, "", "List-Unsubscribe=One-Click"); r.status != 400 {
		t.Fatalf("a forged link: %d", r.status)
	}
	if r := e.do("POST", q, "", "List-Unsubscribe=One-Click"); r.status != 200 {
		t.Fatalf("POST unsubscribe: %d %s", r.status, r.body)
	}
	r = e.do("GET", path, alice, nil)
	if evs := r.json["events"].([]any); len(evs) != 0 || r.json["default"] != false {
		t.Fatalf("after unsubscribing: %s", r.body)
	}
}

// TestImportCompletedOnce: an import tells import.completed once, with its
// counts; its replay and a dry run tell nothing more.
func TestImportCompletedOnce(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", reroute.PlanDeveloper)
	imp := "/v1/orgs/" + org + "/routes/import"
	csv := "a.example.com/x,https://new.example/x\nb.example.com,https://new.example/b\n"
	key := map[string]string{"Idempotency-Key": "import-1"}
	e.want(e.doRaw("POST", imp+"?dryRun=true", tok, "text/csv", csv, nil), 200, "")
	e.want(e.doRaw("POST", imp, tok, "text/csv", csv, key), 200, "")
	e.want(e.doRaw("POST", imp, tok, "text/csv", csv, key), 200, "")
	evs, err := dynamo.ScanEvents(context.Background(), e.db, e.table, org)
	if err != nil {
		t.Fatal(err)
	}
	var done []reroute.Event
	for _, ev := range evs {
		if ev.Type == reroute.EventImportCompleted {
			done = append(done, ev)
		}
	}
	if len(done) != 1 {
		t.Fatalf("%d import.completed events, want 1", len(done))
	}
	var d reroute.ImportEventData
	if err := json.Unmarshal(done[0].Data, &d); err != nil || d.Created != 2 {
		t.Errorf("import.completed data %s, want 2 created", done[0].Data)
	}
}

// TestRouteDestination: a route's answer says what the monitor found of its
// target, and whether the plan monitors it.
func TestRouteDestination(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", reroute.PlanDeveloper)
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", tok, map[string]any{"host": "d.example.com", "target": "https://example.net/"}), 201, "")
	r := e.do("GET", "/v1/orgs/"+org+"/routes/d.example.com", tok, nil)
	e.want(r, 200, "")
	if d, _ := r.json["destination"].(map[string]any); d["state"] != "unknown" || d["monitored"] != true {
		t.Fatalf("destination before any probe: %s", r.body)
	}
	now := time.Now().UTC()
	next, _ := reroute.Destination{}.Next("https://example.net/", "HTTP 503", now)
	next.Failures, next.State = 3, reroute.DestinationBroken
	if err := e.store.SaveDestination(context.Background(), org, "d.example.com", reroute.Destination{}, next, nil); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/v1/orgs/"+org+"/routes/d.example.com", tok, nil)
	e.want(r, 200, "")
	if d, _ := r.json["destination"].(map[string]any); d["state"] != "broken" || d["lastError"] != "HTTP 503" || d["failures"] != 3.0 {
		t.Fatalf("destination after probes: %s", r.body)
	}
	// The list carries it too (a page's destinations in one batch read), so
	// the routes table can flag a broken target without opening each route.
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", tok, map[string]any{"host": "e.example.com", "target": "https://example.org/"}), 201, "")
	r = e.do("GET", "/v1/orgs/"+org+"/routes", tok, nil)
	e.want(r, 200, "")
	states := map[string]any{}
	for _, it := range r.json["items"].([]any) {
		rt := it.(map[string]any)
		d, _ := rt["destination"].(map[string]any)
		states[rt["host"].(string)] = d["state"]
	}
	if states["d.example.com"] != "broken" || states["e.example.com"] != "unknown" {
		t.Fatalf("destinations in the list: %v (%s)", states, r.body)
	}
}
