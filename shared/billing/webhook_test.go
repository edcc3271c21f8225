package billing_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/dnsreroute/dnsreroute/shared/billing"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Values of the payloads in testdata.
const (
	whsec    = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"
	orgID    = "org_01HZX5M3P9Q2R7S4T6V8W0Y1Z3"
	cusID    = "cus_PQm3kWbN4xYz7A"
	subID    = "sub_1PQm4nKx8Yq2Lr3sTuVwXyZa"
	devPrice = "price_1PQlzAKx8Yq2Lr3sDevMonth"
	entPrice = "price_1PQm0BKx8Yq2Lr3sEntMonth"
)

var (
	created   = time.Unix(1767225600, 0).UTC() // 2026-01-01
	periodEnd = time.Unix(1769904000, 0).UTC() // 2026-02-01
	// now is the webhook's clock: the payloads are signed relative to it.
	now = time.Date(2026, 2, 3, 12, 0, 0, 0, time.UTC)
)

func testCatalog() reroute.Catalog {
	c := reroute.DefaultCatalog()
	for i := range c {
		switch c[i].Name {
		case reroute.PlanDeveloper:
			c[i].StripePriceID = devPrice
		case reroute.PlanEnterprise:
			c[i].StripePriceID = entPrice
		}
	}
	return c
}

func newWebhook() *billing.Webhook {
	return billing.NewWebhook(whsec, testCatalog(), 5*time.Minute, func() time.Time { return now })
}

func load(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit changes a payload through its decoded form.
func edit(t *testing.T, payload []byte, change func(ev map[string]any)) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	change(ev)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// object returns the event's data.object.
func object(ev map[string]any) map[string]any {
	return ev["data"].(map[string]any)["object"].(map[string]any)
}

func signAt(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

func sign(payload []byte) string { return signAt(payload, whsec, now.Add(-10*time.Second)) }

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload func(t *testing.T) []byte
		want    billing.Event
		note    string // a part of Note
	}{
		{
			name:    "checkout.session.completed",
			payload: func(t *testing.T) []byte { return load(t, "checkout.session.completed.json") },
			want: billing.Event{ID: "evt_1PQm4qKx8Yq2Lr3sCheckout1", Type: "checkout.session.completed",
				APIVersion: "2023-10-16", Created: created, Kind: billing.CheckoutCompleted,
				CustomerID: cusID, OrgID: orgID, SubscriptionID: subID},
		},
		{
			name:    "customer.subscription.created",
			payload: func(t *testing.T) []byte { return load(t, "customer.subscription.created.json") },
			want: billing.Event{ID: "evt_1PQm4pKx8Yq2Lr3sSubCreated", Type: "customer.subscription.created",
				APIVersion: "2023-10-16", Created: created.Add(-time.Second), Kind: billing.SubscriptionChanged,
				CustomerID: cusID, OrgID: orgID, SubscriptionID: subID, Status: "active",
				PriceID: devPrice, Plan: reroute.PlanDeveloper, CurrentPeriodEnd: periodEnd},
		},
		{
			name:    "customer.subscription.updated",
			payload: func(t *testing.T) []byte { return load(t, "customer.subscription.updated.json") },
			// The metadata still says developer: the price decides.
			want: billing.Event{ID: "evt_1PQn0aKx8Yq2Lr3sSubUpdated", Type: "customer.subscription.updated",
				APIVersion: "2023-10-16", Created: created.Add(time.Hour), Kind: billing.SubscriptionChanged,
				CustomerID: cusID, OrgID: orgID, SubscriptionID: subID, Status: "active",
				PriceID: entPrice, Plan: reroute.PlanEnterprise, CurrentPeriodEnd: periodEnd, CancelAtPeriodEnd: true},
		},
		{
			name:    "customer.subscription.deleted",
			payload: func(t *testing.T) []byte { return load(t, "customer.subscription.deleted.json") },
			want: billing.Event{ID: "evt_1PRa1bKx8Yq2Lr3sSubDeleted", Type: "customer.subscription.deleted",
				APIVersion: "2023-10-16", Created: periodEnd, Kind: billing.SubscriptionDeleted,
				CustomerID: cusID, OrgID: orgID, SubscriptionID: subID, Status: "canceled",
				PriceID: entPrice, Plan: reroute.PlanEnterprise, CurrentPeriodEnd: periodEnd, CancelAtPeriodEnd: true},
		},
		{
			name:    "invoice.paid",
			payload: func(t *testing.T) []byte { return load(t, "invoice.paid.json") },
			want: billing.Event{ID: "evt_1PQm4rKx8Yq2Lr3sInvoicePaid", Type: "invoice.paid",
				APIVersion: "2023-10-16", Created: created.Add(2 * time.Second), Kind: billing.InvoicePaid,
				CustomerID: cusID, OrgID: orgID, SubscriptionID: subID},
		},
		{
			name:    "invoice.payment_failed",
			payload: func(t *testing.T) []byte { return load(t, "invoice.payment_failed.json") },
			want: billing.Event{ID: "evt_1PRa2cKx8Yq2Lr3sInvFailed01", Type: "invoice.payment_failed",
				APIVersion: "2023-10-16", Created: periodEnd.Add(5 * time.Second), Kind: billing.InvoicePaymentFailed,
				CustomerID: cusID, OrgID: orgID, SubscriptionID: subID},
		},
		{
			name: "another API version with the same fields",
			payload: func(t *testing.T) []byte {
				return edit(t, load(t, "customer.subscription.updated.json"), func(ev map[string]any) {
					ev["api_version"] = "2024-06-20"
				})
			},
			want: billing.Event{ID: "evt_1PQn0aKx8Yq2Lr3sSubUpdated", Type: "customer.subscription.updated",
				APIVersion: "2024-06-20", Created: created.Add(time.Hour), Kind: billing.SubscriptionChanged,
				CustomerID: cusID, OrgID: orgID, SubscriptionID: subID, Status: "active",
				PriceID: entPrice, Plan: reroute.PlanEnterprise, CurrentPeriodEnd: periodEnd, CancelAtPeriodEnd: true},
		},
		{
			name:    "subscription in 2025-03-31.basil: the period on the items",
			payload: func(t *testing.T) []byte { return load(t, "customer.subscription.updated.2025-03-31.basil.json") },
			want: billing.Event{ID: "evt_1RBs3dKx8Yq2Lr3sSubBasil01", Type: "customer.subscription.updated",
				APIVersion: "2025-03-31.basil", Created: periodEnd.Add(7 * time.Second), Kind: billing.SubscriptionChanged,
				CustomerID: cusID, OrgID: orgID, SubscriptionID: subID, Status: "past_due",
				PriceID: devPrice, Plan: reroute.PlanDeveloper, CurrentPeriodEnd: periodEnd},
		},
		{
			name:    "invoice in 2025-03-31.basil: the subscription under parent",
			payload: func(t *testing.T) []byte { return load(t, "invoice.payment_failed.2025-03-31.basil.json") },
			want: billing.Event{ID: "evt_1RBs3fKx8Yq2Lr3sInvBasil01", Type: "invoice.payment_failed",
				APIVersion: "2025-03-31.basil", Created: periodEnd.Add(6 * time.Second), Kind: billing.InvoicePaymentFailed,
				CustomerID: cusID, OrgID: orgID, SubscriptionID: subID},
		},
		{
			name: "expanded customer",
			payload: func(t *testing.T) []byte {
				return edit(t, load(t, "customer.subscription.created.json"), func(ev map[string]any) {
					object(ev)["customer"] = map[string]any{"id": cusID, "object": "customer", "email": "owner@example.com"}
				})
			},
			want: billing.Event{ID: "evt_1PQm4pKx8Yq2Lr3sSubCreated", Type: "customer.subscription.created",
				APIVersion: "2023-10-16", Created: created.Add(-time.Second), Kind: billing.SubscriptionChanged,
				CustomerID: cusID, OrgID: orgID, SubscriptionID: subID, Status: "active",
				PriceID: devPrice, Plan: reroute.PlanDeveloper, CurrentPeriodEnd: periodEnd},
		},
		{
			name: "a price in no plan",
			payload: func(t *testing.T) []byte {
				return edit(t, load(t, "customer.subscription.created.json"), func(ev map[string]any) {
					item := object(ev)["items"].(map[string]any)["data"].([]any)[0].(map[string]any)
					item["price"].(map[string]any)["id"] = "price_legacy"
					delete(object(ev)["metadata"].(map[string]any), "org_id")
				})
			},
			want: billing.Event{ID: "evt_1PQm4pKx8Yq2Lr3sSubCreated", Type: "customer.subscription.created",
				APIVersion: "2023-10-16", Created: created.Add(-time.Second), Kind: billing.SubscriptionChanged,
				CustomerID: cusID, SubscriptionID: subID, Status: "active",
				PriceID: "price_legacy", CurrentPeriodEnd: periodEnd},
			note: "price_legacy",
		},
		{
			name:    "another type",
			payload: func(t *testing.T) []byte { return load(t, "customer.created.json") },
			want: billing.Event{ID: "evt_1PQm3zKx8Yq2Lr3sCusCreated", Type: "customer.created",
				APIVersion: "2023-10-16", Created: created.Add(-10 * time.Minute), Kind: billing.Ignored},
			note: "customer.created",
		},
		{
			name: "another type in another version",
			payload: func(t *testing.T) []byte {
				return edit(t, load(t, "customer.created.json"), func(ev map[string]any) {
					ev["api_version"] = "2099-01-01.future"
					ev["data"] = map[string]any{"object": map[string]any{"id": 1}}
				})
			},
			want: billing.Event{ID: "evt_1PQm3zKx8Yq2Lr3sCusCreated", Type: "customer.created",
				APIVersion: "2099-01-01.future", Created: created.Add(-10 * time.Minute), Kind: billing.Ignored},
		},
		{
			name: "Checkout in payment mode",
			payload: func(t *testing.T) []byte {
				return edit(t, load(t, "checkout.session.completed.json"), func(ev map[string]any) {
					object(ev)["mode"] = "payment"
					object(ev)["subscription"] = nil
				})
			},
			want: billing.Event{ID: "evt_1PQm4qKx8Yq2Lr3sCheckout1", Type: "checkout.session.completed",
				APIVersion: "2023-10-16", Created: created, Kind: billing.Ignored},
			note: "payment mode",
		},
		{
			name: "an invoice of no subscription",
			payload: func(t *testing.T) []byte {
				return edit(t, load(t, "invoice.paid.json"), func(ev map[string]any) {
					object(ev)["subscription"] = nil
					object(ev)["subscription_details"] = nil
					object(ev)["billing_reason"] = "manual"
				})
			},
			want: billing.Event{ID: "evt_1PQm4rKx8Yq2Lr3sInvoicePaid", Type: "invoice.paid",
				APIVersion: "2023-10-16", Created: created.Add(2 * time.Second), Kind: billing.Ignored},
			note: "not a subscription's",
		},
	}
	w := newWebhook()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			payload := tt.payload(t)
			got, err := w.Parse(payload, sign(payload))
			if err != nil {
				t.Fatal(err)
			}
			note := got.Note
			got.Note = ""
			if got != tt.want {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
			if tt.note != "" && !strings.Contains(note, tt.note) {
				t.Errorf("Note = %q, want it to contain %q", note, tt.note)
			}
			if tt.note == "" && tt.want.Kind != billing.Ignored && note != "" {
				t.Errorf("Note = %q, want none", note)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	subUpdated := func(t *testing.T) []byte { return load(t, "customer.subscription.updated.json") }
	signed := func(payload []byte) string { return sign(payload) }
	tests := []struct {
		name       string
		payload    func(t *testing.T) []byte
		header     func(payload []byte) string
		wantReason string
		wantIs     error  // an error in the chain, if any
		wantMsg    string // a part of the message
	}{
		{
			name:       "no signature",
			payload:    subUpdated,
			header:     func([]byte) string { return "" },
			wantReason: "bad_signature", wantIs: webhook.ErrNotSigned,
		},
		{
			name:       "garbage header",
			payload:    subUpdated,
			header:     func([]byte) string { return "sha256 deadbeef" },
			wantReason: "bad_signature", wantIs: webhook.ErrInvalidHeader,
		},
		{
			name:       "another secret",
			payload:    subUpdated,
			header:     func(p []byte) string { return signAt(p, "whsec_other", now) },
			wantReason: "bad_signature", wantIs: webhook.ErrNoValidSignature,
		},
		{
			name:    "changed after signing",
			payload: subUpdated,
			header: func(p []byte) string {
				return signed([]byte(strings.Replace(string(p), `"status": "active"`, `"status": "past_due"`, 1)))
			},
			wantReason: "bad_signature", wantIs: webhook.ErrNoValidSignature,
		},
		{
			name:       "signed more than 5 minutes ago",
			payload:    subUpdated,
			header:     func(p []byte) string { return signAt(p, whsec, now.Add(-5*time.Minute-time.Second)) },
			wantReason: "bad_signature", wantIs: webhook.ErrTooOld,
		},
		{
			name:       "signed more than 5 minutes ahead",
			payload:    subUpdated,
			header:     func(p []byte) string { return signAt(p, whsec, now.Add(5*time.Minute+time.Second)) },
			wantReason: "bad_signature", wantIs: webhook.ErrTooOld,
		},
		{
			// The HMAC covers the last t=: a fresh t= put before it changes nothing.
			name:    "an old signature with a fresh timestamp in front",
			payload: subUpdated,
			header: func(p []byte) string {
				old := signAt(p, whsec, now.Add(-time.Hour))
				return fmt.Sprintf("t=%d,%s", now.Unix(), old)
			},
			wantReason: "bad_signature", wantIs: webhook.ErrTooOld,
		},
		{
			name:       "not JSON",
			payload:    func(*testing.T) []byte { return []byte(`{"id": "evt_1", "type":`) },
			header:     signed,
			wantReason: "bad_event",
		},
		{
			name: "no id",
			payload: func(t *testing.T) []byte {
				return edit(t, subUpdated(t), func(ev map[string]any) { delete(ev, "id") })
			},
			header:     signed,
			wantReason: "bad_event",
		},
		{
			name: "no status in the pinned version",
			payload: func(t *testing.T) []byte {
				return edit(t, subUpdated(t), func(ev map[string]any) { delete(object(ev), "status") })
			},
			header:     signed,
			wantReason: "bad_event", wantMsg: "lacks status",
		},
		{
			name: "a subscription without a period in another version",
			payload: func(t *testing.T) []byte {
				return edit(t, load(t, "customer.subscription.updated.2025-03-31.basil.json"), func(ev map[string]any) {
					ev["api_version"] = "2026-01-28.clover"
					for _, it := range object(ev)["items"].(map[string]any)["data"].([]any) {
						delete(it.(map[string]any), "current_period_end")
					}
				})
			},
			header:     signed,
			wantReason: "unsupported_api_version", wantMsg: "lacks current_period_end",
		},
		{
			name: "a subscription's invoice without its subscription in another version",
			payload: func(t *testing.T) []byte {
				return edit(t, load(t, "invoice.payment_failed.2025-03-31.basil.json"), func(ev map[string]any) {
					delete(object(ev), "parent")
				})
			},
			header:     signed,
			wantReason: "unsupported_api_version", wantMsg: "lacks subscription",
		},
		{
			name: "checkout without customer",
			payload: func(t *testing.T) []byte {
				return edit(t, load(t, "checkout.session.completed.json"), func(ev map[string]any) {
					object(ev)["customer"] = nil
				})
			},
			header:     signed,
			wantReason: "bad_event", wantMsg: "lacks customer",
		},
		{
			name: "a field of another type in another version",
			payload: func(t *testing.T) []byte {
				return edit(t, subUpdated(t), func(ev map[string]any) {
					ev["api_version"] = "2099-01-01.future"
					object(ev)["status"] = map[string]any{"value": "active"}
				})
			},
			header:     signed,
			wantReason: "unsupported_api_version", wantMsg: "cannot be read",
		},
	}
	w := newWebhook()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			payload := tt.payload(t)
			ev, err := w.Parse(payload, tt.header(payload))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", ev)
			}
			e := checkError(t, err, reroute.CodeInvalid, tt.wantReason)
			if tt.wantReason == "bad_signature" && !errors.Is(err, billing.ErrBadSignature) {
				t.Errorf("error = %v, want it to wrap ErrBadSignature", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error = %v, want it to wrap %v", err, tt.wantIs)
			}
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tt.wantMsg)
			}
			if tt.wantReason == "unsupported_api_version" && !strings.Contains(e.Message, stripe.APIVersion) {
				t.Errorf("message = %q, want it to name %s", e.Message, stripe.APIVersion)
			}
		})
	}
}

func TestParseTolerance(t *testing.T) {
	t.Parallel()
	payload := load(t, "invoice.paid.json")
	for _, d := range []time.Duration{-5 * time.Minute, -time.Minute, 0, time.Minute, 5 * time.Minute} {
		if _, err := newWebhook().Parse(payload, signAt(payload, whsec, now.Add(d))); err != nil {
			t.Errorf("signed %s from now: %v", d, err)
		}
	}
	// Zero takes Stripe's default, and nil the real clock.
	w := billing.NewWebhook(whsec, testCatalog(), 0, nil)
	if _, err := w.Parse(payload, signAt(payload, whsec, time.Now().Add(-4*time.Minute))); err != nil {
		t.Errorf("4 minutes old, default tolerance: %v", err)
	}
	if _, err := w.Parse(payload, signAt(payload, whsec, time.Now().Add(-6*time.Minute))); !errors.Is(err, webhook.ErrTooOld) {
		t.Errorf("6 minutes old, default tolerance: %v, want ErrTooOld", err)
	}
}

func TestParseWithoutSecret(t *testing.T) {
	t.Parallel()
	payload := load(t, "invoice.paid.json")
	// Signed with the empty secret, which anyone can do.
	_, err := billing.NewWebhook("", testCatalog(), 0, nil).Parse(payload, signAt(payload, "", time.Now()))
	checkError(t, err, reroute.CodeNotConfigured, "billing_not_configured")
}

func TestEventChange(t *testing.T) {
	t.Parallel()
	base := billing.Event{ID: "evt_1", Created: created, Kind: billing.SubscriptionChanged, CustomerID: cusID,
		SubscriptionID: subID, PriceID: devPrice, Plan: reroute.PlanDeveloper, CurrentPeriodEnd: periodEnd,
		CancelAtPeriodEnd: true}
	tests := []struct {
		name    string
		status  string
		plan    string // the event's plan
		current string
		want    string
	}{
		{"active subscribes", "active", reroute.PlanDeveloper, reroute.PlanFree, reroute.PlanDeveloper},
		{"trialing subscribes", "trialing", reroute.PlanDeveloper, reroute.PlanFree, reroute.PlanDeveloper},
		{"a plan change", "active", reroute.PlanEnterprise, reroute.PlanDeveloper, reroute.PlanEnterprise},
		{"past_due keeps the paid plan", "past_due", reroute.PlanDeveloper, reroute.PlanDeveloper, reroute.PlanDeveloper},
		{"unpaid returns to free", "unpaid", reroute.PlanDeveloper, reroute.PlanDeveloper, reroute.PlanFree},
		{"canceled returns to free", "canceled", reroute.PlanEnterprise, reroute.PlanEnterprise, reroute.PlanFree},
		{"incomplete changes nothing", "incomplete", reroute.PlanDeveloper, reroute.PlanFree, reroute.PlanFree},
		{"an unknown price keeps the plan", "active", "", reroute.PlanEnterprise, reroute.PlanEnterprise},
		{"an unknown price still ends", "canceled", "", reroute.PlanEnterprise, reroute.PlanFree},
		{"no status keeps the plan", "", "", reroute.PlanDeveloper, reroute.PlanDeveloper},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base
			e.Status, e.Plan = tt.status, tt.plan
			got := e.Change(tt.current)
			want := reroute.BillingChange{EventID: "evt_1", EventAt: created, CustomerID: cusID,
				SubscriptionID: subID, Status: tt.status, Plan: tt.want, CurrentPeriodEnd: periodEnd,
				CancelAtPeriodEnd: true}
			if got != want {
				t.Errorf("Change(%q) =\n%+v\nwant\n%+v", tt.current, got, want)
			}
		})
	}
}
