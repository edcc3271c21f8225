package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/billing"
	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/netfault"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// hookEnv is the webhook handler over the real store, in a fresh table of DynamoDB
// Local reached through a proxy the test can take down, with one free org.
type hookEnv struct {
	t     *testing.T
	h     http.Handler
	store *dynamo.Store
	proxy *netfault.Proxy
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	_, table := dynamotest.NewTable(t)
	u, err := url.Parse(os.Getenv(dynamotest.EndpointEnv))
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := netfault.Listen(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	store := dynamo.New(devstack.NewDynamoDBClient("http://"+proxy.Addr()), table)
	free, _ := testCatalog().Get(reroute.PlanFree)
	if err := store.CreateOrg(context.Background(), reroute.Org{ID: orgID, Name: "Lantern", Plan: free.Name, RouteLimit: free.RouteLimit, MemberLimit: free.MemberLimit, RuleLimit: free.RuleLimit},
		reroute.Member{OrgID: orgID, Email: "owner@example.com", Role: reroute.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := billing.NewHandler(newWebhook(), store, store, testCatalog(), log)
	return &hookEnv{t: t, h: h, store: store, proxy: proxy}
}

type hookAnswer struct {
	status int
	Result string `json:"result"`
	Error  string `json:"error"`
}

func (e *hookEnv) post(payload []byte, signature string) hookAnswer {
	e.t.Helper()
	req := httptest.NewRequest("POST", "/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", signature)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	a := hookAnswer{status: rec.Code}
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		e.t.Fatalf("answer %d %q: %v", rec.Code, rec.Body, err)
	}
	return a
}

func (e *hookEnv) org() reroute.Org {
	e.t.Helper()
	o, err := e.store.GetOrg(context.Background(), orgID)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// subEvent is a customer.subscription.<kind> event of the fixture subscription.
func subEvent(t *testing.T, kind, id string, at time.Time, status, price string) []byte {
	t.Helper()
	return edit(t, load(t, "customer.subscription.updated.json"), func(ev map[string]any) {
		ev["id"], ev["type"], ev["created"] = id, "customer.subscription."+kind, at.Unix()
		o := object(ev)
		o["status"] = status
		item := o["items"].(map[string]any)["data"].([]any)[0].(map[string]any)
		item["price"].(map[string]any)["id"] = price
		if p, ok := item["plan"].(map[string]any); ok {
			p["id"] = price
		}
	})
}

func TestWebhookAppliesEachEventType(t *testing.T) {
	e := newHookEnv(t)
	steps := []struct {
		name    string
		payload []byte
		result  string
		plan    string
		status  string
		pastDue bool
	}{
		{"checkout completed ties the customer", load(t, "checkout.session.completed.json"), "applied", "free", "", false},
		{"subscription created", subEvent(t, "created", "evt_c1", created.Add(time.Hour), "active", devPrice), "applied", "developer", "active", false},
		{"upgraded", subEvent(t, "updated", "evt_u1", created.Add(2*time.Hour), "active", entPrice), "applied", "enterprise", "active", false},
		{"invoice paid", edit(t, load(t, "invoice.paid.json"), func(ev map[string]any) { ev["created"] = created.Add(3 * time.Hour).Unix() }), "applied", "enterprise", "active", false},
		{"payment failed: past due keeps the plan", subEvent(t, "updated", "evt_u2", created.Add(4*time.Hour), "past_due", entPrice), "applied", "enterprise", "past_due", true},
		{"invoice payment failed", edit(t, load(t, "invoice.payment_failed.json"), func(ev map[string]any) { ev["created"] = created.Add(5 * time.Hour).Unix() }), "applied", "enterprise", "past_due", true},
		{"unpaid returns to free", subEvent(t, "updated", "evt_u3", created.Add(6*time.Hour), "unpaid", entPrice), "applied", "free", "unpaid", false},
		{"trialing gives the plan", subEvent(t, "updated", "evt_u4", created.Add(7*time.Hour), "trialing", devPrice), "applied", "developer", "trialing", false},
		{"deleted returns to free", subEvent(t, "deleted", "evt_d1", created.Add(8*time.Hour), "canceled", devPrice), "applied", "free", "canceled", false},
		{"an event of another API version", edit(t, load(t, "customer.subscription.updated.2025-03-31.basil.json"), func(ev map[string]any) { ev["created"] = created.Add(9 * time.Hour).Unix() }), "applied", "", "", false},
		{"an irrelevant type", load(t, "customer.created.json"), "ignored", "", "", false},
	}
	for _, s := range steps {
		a := e.post(s.payload, sign(s.payload))
		if a.status != 200 || a.Result != s.result {
			t.Fatalf("%s: %d %+v, want 200 %s", s.name, a.status, a, s.result)
		}
		if s.plan == "" {
			continue
		}
		o := e.org()
		if o.Plan != s.plan || o.Billing.Status != s.status || o.Billing.PastDue() != s.pastDue || o.Billing.CustomerID != cusID {
			t.Fatalf("%s: org on %s, status %q, past due %v, customer %q; want %s %q %v", s.name, o.Plan, o.Billing.Status, o.Billing.PastDue(), o.Billing.CustomerID, s.plan, s.status, s.pastDue)
		}
		if p, _ := testCatalog().Get(s.plan); o.RouteLimit != p.RouteLimit || o.MemberLimit != p.MemberLimit {
			t.Fatalf("%s: limits %d/%d do not follow the %s plan", s.name, o.RouteLimit, o.MemberLimit, s.plan)
		}
	}
}

func TestWebhookOnceAndInOrder(t *testing.T) {
	e := newHookEnv(t)
	up := subEvent(t, "updated", "evt_up", created.Add(2*time.Hour), "active", entPrice)
	if a := e.post(up, sign(up)); a.Result != "applied" {
		t.Fatalf("first delivery: %+v", a)
	}
	if a := e.post(up, sign(up)); a.status != 200 || a.Result != "duplicate" {
		t.Errorf("the same event again: %+v, want 200 duplicate", a)
	}

	copies := subEvent(t, "updated", "evt_copies", created.Add(3*time.Hour), "active", devPrice)
	results := make([]hookAnswer, 10)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = e.post(copies, sign(copies)) })
	}
	wg.Wait()
	count := map[string]int{}
	for _, a := range results {
		if a.status != 200 {
			t.Errorf("a concurrent copy answered %d %s", a.status, a.Error)
		}
		count[a.Result]++
	}
	if count["applied"] != 1 || count["duplicate"] != 9 {
		t.Errorf("ten concurrent copies: %v, want one applied and nine duplicates", count)
	}

	older := subEvent(t, "updated", "evt_older", created.Add(time.Hour), "active", entPrice)
	if a := e.post(older, sign(older)); a.status != 200 || a.Result != "stale" {
		t.Errorf("an older updated after a newer one: %+v, want 200 stale", a)
	}
	if o := e.org(); o.Plan != "developer" {
		t.Errorf("an older event changed the plan to %s", o.Plan)
	}

	deleted := subEvent(t, "deleted", "evt_deleted", created.Add(10*time.Hour), "canceled", devPrice)
	lateUpdate := subEvent(t, "updated", "evt_late", created.Add(9*time.Hour), "active", entPrice)
	if a := e.post(deleted, sign(deleted)); a.Result != "applied" {
		t.Fatalf("deleted: %+v", a)
	}
	if a := e.post(lateUpdate, sign(lateUpdate)); a.Result != "stale" {
		t.Errorf("an updated delivered after the deletion it preceded: %+v, want stale", a)
	}
	if o := e.org(); o.Plan != "free" || o.Billing.Status != "canceled" {
		t.Errorf("after deleted-then-older-updated: %s %s, want free canceled", o.Plan, o.Billing.Status)
	}
}

func TestWebhookRefusals(t *testing.T) {
	e := newHookEnv(t)
	ev := subEvent(t, "updated", "evt_r1", created.Add(time.Hour), "active", devPrice)
	unknown := edit(t, ev, func(m map[string]any) {
		o := object(m)
		o["customer"] = "cus_SomeoneElse"
		o["metadata"] = map[string]any{}
	})
	tests := []struct {
		name      string
		payload   []byte
		signature string
		status    int
		result    string
	}{
		{"bad signature", ev, signAt(ev, "whsec_wrong", now), 400, ""},
		{"no signature", ev, "", 400, ""},
		{"stale timestamp", ev, signAt(ev, whsec, now.Add(-6*time.Minute)), 400, ""},
		{"tampered after signing", ev, sign(subEvent(t, "updated", "evt_r1", created.Add(time.Hour), "active", entPrice)), 400, ""},
		{"unknown customer", unknown, sign(unknown), 200, "unknown_customer"},
	}
	for _, tt := range tests {
		a := e.post(tt.payload, tt.signature)
		if a.status != tt.status || a.Result != tt.result {
			t.Errorf("%s: %d %+v, want %d %s", tt.name, a.status, a, tt.status, tt.result)
		}
	}
	if o := e.org(); o.Plan != "free" {
		t.Errorf("a refused event changed the plan to %s", o.Plan)
	}
}

// When DynamoDB fails the webhook answers 500, so Stripe retries, and the retry applies.
func TestWebhookStoreDownThenRetry(t *testing.T) {
	e := newHookEnv(t)
	ev := subEvent(t, "updated", "evt_retry", created.Add(time.Hour), "active", devPrice)
	e.proxy.SetDown(true)
	if a := e.post(ev, sign(ev)); a.status != 500 {
		t.Fatalf("store down: %+v, want 500", a)
	}
	e.proxy.SetDown(false)
	if a := e.post(ev, sign(ev)); a.status != 200 || a.Result != "applied" {
		t.Fatalf("Stripe's retry: %+v, want applied", a)
	}
	if o := e.org(); o.Plan != "developer" {
		t.Errorf("plan %s after the retry", o.Plan)
	}
}

// An upgrade then a downgrade pauses the newest routes beyond the limit, and an
// upgrade resumes them; the redirect path sees the same.
func TestWebhookDowngradePausesRoutes(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	up := subEvent(t, "updated", "evt_p1", created.Add(time.Hour), "active", devPrice)
	if a := e.post(up, sign(up)); a.Result != "applied" {
		t.Fatalf("upgrade: %+v", a)
	}
	hosts := []string{"r0.example.com", "r1.example.com", "r2.example.com", "r3.example.com"}
	base := time.Now().UTC()
	for i, h := range hosts {
		at := base.Add(time.Duration(i) * time.Second)
		if err := e.store.CreateRoute(ctx, reroute.Route{Host: h, OrgID: orgID, Target: "https://t.example.org/", Status: 301, Enabled: true, CreatedAt: at, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	pausedOf := func() []bool {
		var out []bool
		for _, h := range hosts {
			r, found, err := e.store.FindRoute(ctx, h)
			if err != nil || !found {
				t.Fatalf("FindRoute(%s): %v %v", h, found, err)
			}
			out = append(out, r.Paused)
		}
		return out
	}
	down := subEvent(t, "deleted", "evt_p2", created.Add(2*time.Hour), "canceled", devPrice)
	if a := e.post(down, sign(down)); a.Result != "applied" {
		t.Fatalf("downgrade: %+v", a)
	}
	if got := pausedOf(); !equal(got, []bool{false, true, true, true}) {
		t.Errorf("after the downgrade to free, paused = %v: want the three newest paused", got)
	}
	again := subEvent(t, "updated", "evt_p3", created.Add(3*time.Hour), "active", devPrice)
	if a := e.post(again, sign(again)); a.Result != "applied" {
		t.Fatalf("upgrade again: %+v", a)
	}
	if got := pausedOf(); !equal(got, []bool{false, false, false, false}) {
		t.Errorf("after upgrading again, paused = %v: want none", got)
	}
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWebhookIgnoresTheEndOfAnOldSubscription(t *testing.T) {
	e := newHookEnv(t)
	oldSub := subEvent(t, "updated", "evt_o1", created.Add(time.Hour), "active", devPrice)
	newSub := edit(t, subEvent(t, "created", "evt_o2", created.Add(3*time.Hour), "active", entPrice), func(ev map[string]any) {
		object(ev)["id"] = "sub_TheNewOne"
	})
	lateEnd := subEvent(t, "deleted", "evt_o3", created.Add(4*time.Hour), "canceled", devPrice) // of the old one, delivered last
	for _, p := range [][]byte{oldSub, newSub} {
		if a := e.post(p, sign(p)); a.Result != "applied" {
			t.Fatalf("%+v", a)
		}
	}
	if a := e.post(lateEnd, sign(lateEnd)); a.status != 200 || a.Result != "other_subscription" {
		t.Errorf("the end of a replaced subscription: %+v, want 200 other_subscription", a)
	}
	if o := e.org(); o.Plan != "enterprise" || o.Billing.SubscriptionID != "sub_TheNewOne" {
		t.Errorf("org on %s with %s, want enterprise with the new subscription", o.Plan, o.Billing.SubscriptionID)
	}
}

// Behind API Gateway the Lambda adapter splits header values on commas: the
// signature must still verify.
func TestWebhookSignatureSplitOnCommas(t *testing.T) {
	e := newHookEnv(t)
	ev := subEvent(t, "updated", "evt_split", created.Add(time.Hour), "active", devPrice)
	req := httptest.NewRequest("POST", "/webhooks/stripe", bytes.NewReader(ev))
	for _, part := range strings.Split(sign(ev), ",") {
		req.Header.Add("Stripe-Signature", part)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "applied") {
		t.Errorf("a signature split into values: %d %s", rec.Code, rec.Body)
	}
}
