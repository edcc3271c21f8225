package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/billing"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// The billing endpoints with Stripe configured: the API's Payments is a real
// billing.Stripe talking to stripe-mock (STRIPE_MOCK_URL, set by cmd/testenv), and
// every request it sends is recorded.

const stripeTestKey = "sk_test_123"

// billingPlans is the default catalogue with the Stripe prices an operator sets.
var billingPlans = reroute.DefaultCatalog().WithStripePrices(map[string]string{
	reroute.PlanDeveloper:  "price_dev",
	reroute.PlanEnterprise: "price_ent",
})

var billingConfig = billing.Config{
	SecretKey:       stripeTestKey,
	SuccessURL:      dashboard + "/billing?checkout=done",
	CancelURL:       dashboard + "/billing?checkout=canceled",
	PortalReturnURL: dashboard + "/billing",
}

func billingPlan(t *testing.T, name string) reroute.Plan {
	t.Helper()
	p, ok := billingPlans.Get(name)
	if !ok {
		t.Fatalf("no plan %q", name)
	}
	return p
}

// stripeCall is one request to Stripe as it left the client.
type stripeCall struct {
	Method, Path string
	Header       http.Header
	Form         url.Values // the body's, or the query's
}

func (c stripeCall) String() string { return c.Method + " " + c.Path }

// stripeRecorder is a transport that records each request before sending it on.
type stripeRecorder struct {
	mu    sync.Mutex
	calls []stripeCall
}

func (r *stripeRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	c := stripeCall{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Form: req.URL.Query()}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && len(form) > 0 {
			c.Form = form
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// take returns the calls recorded since the last take.
func (r *stripeRecorder) take() []stripeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// billingEnv is the API with Stripe configured at some base URL.
type billingEnv struct {
	*apiEnv
	stripe *stripeRecorder
}

// newBillingEnv is the API with Payments talking to stripe-mock.
func newBillingEnv(t *testing.T) *billingEnv {
	t.Helper()
	base := os.Getenv("STRIPE_MOCK_URL")
	if base == "" {
		t.Fatal("STRIPE_MOCK_URL is not set: these tests need stripe-mock; run them with `make test` " +
			"(or `go run ./cmd/testenv -- go test ./shared/httpapi/`)")
	}
	return newBillingEnvAt(t, base)
}

// newBillingEnvAt is the API with Payments talking to the Stripe API at base.
func newBillingEnvAt(t *testing.T, base string) *billingEnv {
	t.Helper()
	rec := &stripeRecorder{}
	cfg := billingConfig
	cfg.APIBase = base
	e := newAPIEnvWith(t, func(d *httpapi.Deps) {
		d.Payments = billing.NewStripe(cfg, &http.Client{Transport: rec, Timeout: 10 * time.Second})
		d.Plans = billingPlans
	})
	return &billingEnv{apiEnv: e, stripe: rec}
}

// closedStripe returns a loopback URL where nothing listens.
func closedStripe(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// applyBilling applies a billing change to org as the webhook would.
func (e *billingEnv) applyBilling(orgID string, change reroute.BillingChange) {
	e.t.Helper()
	plan := billingPlan(e.t, change.Plan)
	res, err := e.store.ApplyBilling(context.Background(), orgID, change, plan)
	if err != nil {
		e.t.Fatal(err)
	}
	if res != reroute.Applied {
		e.t.Fatalf("ApplyBilling %s: %s, want applied", change.EventID, res)
	}
}

// subscribe gives org an active developer subscription sub_x of customer cus_x.
func (e *billingEnv) subscribe(orgID string) {
	e.t.Helper()
	e.applyBilling(orgID, reroute.BillingChange{
		EventID: "evt_x", EventAt: time.Now(), CustomerID: "cus_x", SubscriptionID: "sub_x",
		Status: "active", Plan: reroute.PlanDeveloper, CurrentPeriodEnd: time.Now().Add(30 * 24 * time.Hour),
	})
}

func (e *billingEnv) customerOf(orgID string) string {
	e.t.Helper()
	o, err := e.store.GetOrg(context.Background(), orgID)
	if err != nil {
		e.t.Fatal(err)
	}
	return o.Billing.CustomerID
}

// wantCalls fails unless the Stripe calls since the last check are exactly these
// (method and path), and returns them.
func (e *billingEnv) wantCalls(want ...string) []stripeCall {
	e.t.Helper()
	calls := e.stripe.take()
	got := make([]string, len(calls))
	for i, c := range calls {
		got[i] = c.String()
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		e.t.Fatalf("Stripe calls = %q, want %q", got, want)
	}
	for _, c := range calls {
		if auth := c.Header.Get("Authorization"); auth != "Bearer "+stripeTestKey {
			e.t.Errorf("%s: Authorization = %q", c, auth)
		}
	}
	return calls
}

func wantForm(t *testing.T, c stripeCall, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := c.Form.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q (form: %v)", c, k, got, v, c.Form)
		}
	}
}

func wantURL(t *testing.T, r resp, prefix string) {
	t.Helper()
	if u := r.str("url"); !strings.HasPrefix(u, prefix) {
		t.Errorf("url = %q, want one starting %q (%s)", u, prefix, r.body)
	}
}

func TestBillingCheckoutCreatesCustomer(t *testing.T) {
	e := newBillingEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Acme")
	e.wantCalls()
	checkout := "/v1/orgs/" + org + "/billing/checkout"

	r := e.do("POST", checkout, alice, map[string]any{"plan": "developer"})
	e.want(r, 200, "")
	wantURL(t, r, "https://checkout.stripe.com/")
	calls := e.wantCalls("POST /v1/customers", "POST /v1/checkout/sessions")
	if got, want := calls[0].Header.Get("Idempotency-Key"), "customer-"+org; got != want {
		t.Errorf("customer Idempotency-Key = %q, want %q", got, want)
	}
	wantForm(t, calls[0], map[string]string{"email": "alice@example.com", "name": "Acme", "metadata[org_id]": org})

	customer := e.customerOf(org)
	if !strings.HasPrefix(customer, "cus_") {
		t.Fatalf("the org's customer = %q, want the one Stripe made", customer)
	}
	wantForm(t, calls[1], map[string]string{
		"client_reference_id":                 org,
		"mode":                                "subscription",
		"line_items[0][price]":                "price_dev",
		"line_items[0][quantity]":             "1",
		"customer":                            customer,
		"subscription_data[metadata][org_id]": org,
		"subscription_data[metadata][plan]":   "developer",
		"success_url":                         billingConfig.SuccessURL,
		"cancel_url":                          billingConfig.CancelURL,
	})
	if got, err := e.store.OrgByStripeCustomer(context.Background(), customer); err != nil || got.ID != org {
		t.Errorf("OrgByStripeCustomer(%s) = %s, %v; want %s", customer, got.ID, err, org)
	}

	// Checkout changes nothing until Stripe says the subscription exists.
	r = e.do("GET", "/v1/orgs/"+org+"/billing", alice, nil)
	e.want(r, 200, "")
	if r.str("plan") != "free" || r.str("status") != "none" || r.json["pastDue"] != false {
		t.Errorf("billing after checkout: %s", r.body)
	}

	// A second checkout (another plan) reuses the customer.
	r = e.do("POST", checkout, alice, map[string]any{"plan": "enterprise"})
	e.want(r, 200, "")
	wantURL(t, r, "https://checkout.stripe.com/")
	calls = e.wantCalls("POST /v1/checkout/sessions")
	wantForm(t, calls[0], map[string]string{
		"customer": customer, "client_reference_id": org, "line_items[0][price]": "price_ent",
		"subscription_data[metadata][plan]": "enterprise",
	})
	if got := e.customerOf(org); got != customer {
		t.Errorf("the customer changed: %q, was %q", got, customer)
	}

	// The org now has a billing account: the portal opens.
	r = e.do("POST", "/v1/orgs/"+org+"/billing/portal", alice, nil)
	e.want(r, 200, "")
	wantURL(t, r, "https://")
	calls = e.wantCalls("POST /v1/billing_portal/sessions")
	wantForm(t, calls[0], map[string]string{"customer": customer, "return_url": billingConfig.PortalReturnURL})
}

func TestBillingCheckoutInvalidPlan(t *testing.T) {
	e := newBillingEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Acme")
	checkout := "/v1/orgs/" + org + "/billing/checkout"
	for _, body := range []any{
		map[string]any{"plan": "free"},
		map[string]any{"plan": "nonexistent"},
		map[string]any{"plan": ""},
		map[string]any{},
	} {
		r := e.do("POST", checkout, alice, body)
		e.want(r, 400, "validation_failed")
		fields, _ := r.json["fields"].([]any)
		if len(fields) != 1 || fields[0].(map[string]any)["field"] != "plan" {
			t.Errorf("%v: fields %s, want one for plan", body, r.body)
		}
	}
	e.wantCalls()
	if c := e.customerOf(org); c != "" {
		t.Errorf("an invalid checkout made customer %q", c)
	}
}

func TestBillingCheckoutWithSubscriptionOpensPortal(t *testing.T) {
	e := newBillingEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Acme")
	e.subscribe(org)
	e.wantCalls()

	r := e.do("POST", "/v1/orgs/"+org+"/billing/checkout", alice, map[string]any{"plan": "enterprise"})
	e.want(r, 200, "")
	wantURL(t, r, "https://")
	if strings.HasPrefix(r.str("url"), "https://checkout.stripe.com/") {
		t.Errorf("a subscribed org was sent to Checkout: %s", r.body)
	}
	calls := e.wantCalls("POST /v1/billing_portal/sessions")
	wantForm(t, calls[0], map[string]string{"customer": "cus_x", "return_url": billingConfig.PortalReturnURL})
}

func TestBillingPortal(t *testing.T) {
	e := newBillingEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Acme")
	portal := "/v1/orgs/" + org + "/billing/portal"

	r := e.do("POST", portal, alice, nil)
	e.want(r, 409, "no_billing_account")
	if r.str("detail") == "" {
		t.Errorf("no detail: %s", r.body)
	}
	e.wantCalls()

	if _, err := e.store.SetStripeCustomer(context.Background(), org, "cus_portal"); err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", portal, alice, nil)
	e.want(r, 200, "")
	wantURL(t, r, "https://")
	calls := e.wantCalls("POST /v1/billing_portal/sessions")
	wantForm(t, calls[0], map[string]string{"customer": "cus_portal", "return_url": billingConfig.PortalReturnURL})
}

func TestBillingRoles(t *testing.T) {
	e := newBillingEnv(t)
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "developer")
	m := "/v1/orgs/" + org + "/members"
	e.want(e.do("POST", m, alice, map[string]any{"email": "admin@example.com", "role": "admin"}), 201, "")
	e.want(e.do("POST", m, alice, map[string]any{"email": "carol@example.com", "role": "member"}), 201, "")
	admin, carol := e.token("admin@example.com"), e.token("carol@example.com")
	b := "/v1/orgs/" + org + "/billing"
	dev := map[string]any{"plan": "developer"}

	steps := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		status int
		code   string
	}{
		{"an admin reads billing", "GET", b, admin, nil, 200, ""},
		{"an admin cannot check out", "POST", b + "/checkout", admin, dev, 403, "role_not_allowed"},
		{"an admin cannot open the portal", "POST", b + "/portal", admin, nil, 403, "role_not_allowed"},
		{"a member cannot read billing", "GET", b, carol, nil, 403, "role_not_allowed"},
		{"a member cannot check out", "POST", b + "/checkout", carol, dev, 403, "role_not_allowed"},
		{"a member cannot open the portal", "POST", b + "/portal", carol, nil, 403, "role_not_allowed"},
		{"a stranger sees no org", "GET", b, e.token("mallory@example.com"), nil, 404, "org_not_found"},
		{"the owner reads billing", "GET", b, alice, nil, 200, ""},
	}
	for _, s := range steps {
		r := e.do(s.method, s.path, s.token, s.body)
		if r.status != s.status || s.code != "" && r.str("code") != s.code {
			t.Errorf("%s: got %d %s, want %d %s", s.name, r.status, r.body, s.status, s.code)
		}
	}
	e.wantCalls()
}

func TestBillingStatus(t *testing.T) {
	e := newBillingEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Acme")
	b := "/v1/orgs/" + org + "/billing"
	start := time.Now()
	periodEnd := start.Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)

	e.applyBilling(org, reroute.BillingChange{
		EventID: "evt_active", EventAt: start, CustomerID: "cus_x", SubscriptionID: "sub_x",
		Status: "active", Plan: reroute.PlanDeveloper, CurrentPeriodEnd: periodEnd,
	})
	r := e.do("GET", b, alice, nil)
	e.want(r, 200, "")
	if r.str("status") != "active" || r.str("plan") != "developer" || r.json["pastDue"] != false ||
		r.json["cancelAtPeriodEnd"] != false || r.json["pausedRoutes"] != false {
		t.Errorf("active: %s", r.body)
	}
	if got, err := time.Parse(time.RFC3339, r.str("currentPeriodEnd")); err != nil || !got.Equal(periodEnd) {
		t.Errorf("currentPeriodEnd = %q, want %s", r.str("currentPeriodEnd"), periodEnd.Format(time.RFC3339))
	}
	if u, _ := r.json["usage"].(map[string]any); u["routeLimit"] != 10.0 || u["memberLimit"] != 5.0 {
		t.Errorf("usage on developer: %v", u)
	}
	r = e.do("GET", "/v1/orgs/"+org, alice, nil)
	e.want(r, 200, "")
	if r.json["pastDue"] != false || r.str("plan") != "developer" {
		t.Errorf("org when active: %s", r.body)
	}

	e.applyBilling(org, reroute.BillingChange{
		EventID: "evt_past_due", EventAt: start.Add(time.Minute), CustomerID: "cus_x", SubscriptionID: "sub_x",
		Status: "past_due", Plan: reroute.PlanDeveloper, CurrentPeriodEnd: periodEnd,
	})
	r = e.do("GET", b, alice, nil)
	e.want(r, 200, "")
	if r.str("status") != "past_due" || r.str("plan") != "developer" || r.json["pastDue"] != true {
		t.Errorf("past due: %s", r.body)
	}
	r = e.do("GET", "/v1/orgs/"+org, alice, nil)
	e.want(r, 200, "")
	if r.json["pastDue"] != true || r.str("plan") != "developer" {
		t.Errorf("org when past due: %s", r.body)
	}
	e.wantCalls()
}

func TestDeleteOrgCancelsSubscription(t *testing.T) {
	e := newBillingEnv(t)
	alice := e.token("alice@example.com")

	// Without a subscription, Stripe is not called.
	free := e.newOrg("alice@example.com", "Free")
	e.want(e.do("DELETE", "/v1/orgs/"+free, alice, nil), 204, "")
	e.wantCalls()

	org := e.newOrg("alice@example.com", "Acme")
	e.subscribe(org)
	e.want(e.do("DELETE", "/v1/orgs/"+org, alice, nil), 204, "")
	e.wantCalls("DELETE /v1/subscriptions/sub_x")
	e.want(e.do("GET", "/v1/orgs/"+org, alice, nil), 404, "org_not_found")
}

func TestDeleteOrgBillingUnavailable(t *testing.T) {
	e := newBillingEnvAt(t, closedStripe(t))
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Acme")
	e.subscribe(org)

	r := e.do("DELETE", "/v1/orgs/"+org, alice, nil)
	e.want(r, 503, "billing_unavailable")
	if d := r.str("detail"); !strings.Contains(d, "not deleted") {
		t.Errorf("detail = %q, want it to say the org was not deleted", d)
	}
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After on a 503")
	}
	calls := e.stripe.take()
	if len(calls) == 0 {
		t.Fatal("no call to Stripe was attempted")
	}
	for _, c := range calls {
		if c.String() != "DELETE /v1/subscriptions/sub_x" {
			t.Errorf("call %s, want DELETE /v1/subscriptions/sub_x", c)
		}
	}
	r = e.do("GET", "/v1/orgs/"+org, alice, nil)
	e.want(r, 200, "")
	if r.str("plan") != "developer" {
		t.Errorf("the org after a failed delete: %s", r.body)
	}
	if r := e.do("GET", "/v1/orgs/"+org+"/billing", alice, nil); r.str("status") != "active" {
		t.Errorf("billing after a failed delete: %s", r.body)
	}

	// A checkout that cannot reach Stripe stores no customer.
	other := e.newOrg("alice@example.com", "Other")
	r = e.do("POST", "/v1/orgs/"+other+"/billing/checkout", alice, map[string]any{"plan": "developer"})
	e.want(r, 503, "billing_unavailable")
	if c := e.customerOf(other); c != "" {
		t.Errorf("a failed checkout stored customer %q", c)
	}
}
