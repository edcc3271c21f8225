package billing_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/dnsreroute/dnsreroute/shared/billing"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// StripeMockEnv names the variable holding stripe-mock's URL, which cmd/testenv sets.
const StripeMockEnv = "STRIPE_MOCK_URL"

func stripeMockURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(StripeMockEnv)
	if u == "" {
		t.Fatalf("%s is not set: these tests need stripe-mock; run them with `make test` "+
			"(or `go run ./cmd/testenv -- go test ./shared/billing/...`)", StripeMockEnv)
	}
	return u
}

// recorded is one request as it left the client.
type recorded struct {
	Method, Path string
	Header       http.Header
	Form         url.Values // the body's, or the query's
}

// recorder is a transport that records each request before sending it on.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := recorded{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Form: req.URL.Query()}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && len(form) > 0 {
			rec.Form = form
		}
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

var testConfig = billing.Config{
	SecretKey:       "sk_test_51PQlxxKx8Yq2Lr3sTestKey",
	WebhookSecret:   "whsec_test",
	SuccessURL:      "https://app.example.com/billing?checkout=done",
	CancelURL:       "https://app.example.com/billing?checkout=canceled",
	PortalReturnURL: "https://app.example.com/billing",
}

// newStripe returns a client of the API at base and the recorder of its requests.
func newStripe(t *testing.T, base string) (*billing.Stripe, *recorder) {
	t.Helper()
	cfg := testConfig
	cfg.APIBase = base
	rec := &recorder{}
	return billing.NewStripe(cfg, &http.Client{Transport: rec}), rec
}

var testOrg = reroute.Org{ID: "org_01HZX5M3P9Q2R7S4T6V8W0Y1Z3", Name: "Example Inc", Plan: reroute.PlanFree}

func developerPlan() reroute.Plan {
	p, _ := testCatalog().Get(reroute.PlanDeveloper)
	return p
}

// only returns the one request made, or fails.
func only(t *testing.T, rec *recorder) recorded {
	t.Helper()
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("made %d requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

func checkForm(t *testing.T, got url.Values, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("form %s = %q, want %q (form: %v)", k, got.Get(k), v, got)
		}
	}
}

func checkCommon(t *testing.T, r recorded, method, path string) {
	t.Helper()
	if r.Method != method || r.Path != path {
		t.Errorf("request = %s %s, want %s %s", r.Method, r.Path, method, path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testConfig.SecretKey {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.Header.Get("Stripe-Version"); got != stripe.APIVersion {
		t.Errorf("Stripe-Version = %q, want %q", got, stripe.APIVersion)
	}
}

func TestCreateCustomer(t *testing.T) {
	t.Parallel()
	s, rec := newStripe(t, stripeMockURL(t))
	id, err := s.CreateCustomer(t.Context(), testOrg, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "cus_") {
		t.Errorf("id = %q, want a cus_ id", id)
	}
	r := only(t, rec)
	checkCommon(t, r, http.MethodPost, "/v1/customers")
	checkForm(t, r.Form, map[string]string{
		"email":            "owner@example.com",
		"name":             testOrg.Name,
		"metadata[org_id]": testOrg.ID,
	})
	if got, want := r.Header.Get("Idempotency-Key"), "customer-"+testOrg.ID; got != want {
		t.Errorf("Idempotency-Key = %q, want %q", got, want)
	}

	// A retry for the same org sends the same key, so Stripe makes one customer;
	// another org gets another key.
	if _, err := s.CreateCustomer(t.Context(), testOrg, "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	other := testOrg
	other.ID = "org_other"
	if _, err := s.CreateCustomer(t.Context(), other, "x@example.com"); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	keys := []string{reqs[1].Header.Get("Idempotency-Key"), reqs[2].Header.Get("Idempotency-Key")}
	if keys[0] != "customer-"+testOrg.ID || keys[1] != "customer-org_other" {
		t.Errorf("keys of the retry and of another org = %q", keys)
	}
}

func TestCheckoutURL(t *testing.T) {
	t.Parallel()
	s, rec := newStripe(t, stripeMockURL(t))
	plan := developerPlan()
	u, err := s.CheckoutURL(t.Context(), testOrg, "cus_PQm3kWbN4xYz7A", plan)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://checkout.stripe.com/") {
		t.Errorf("url = %q, want a Checkout URL", u)
	}
	r := only(t, rec)
	checkCommon(t, r, http.MethodPost, "/v1/checkout/sessions")
	checkForm(t, r.Form, map[string]string{
		"mode":                                "subscription",
		"customer":                            "cus_PQm3kWbN4xYz7A",
		"client_reference_id":                 testOrg.ID,
		"line_items[0][price]":                plan.StripePriceID,
		"line_items[0][quantity]":             "1",
		"subscription_data[metadata][org_id]": testOrg.ID,
		"subscription_data[metadata][plan]":   plan.Name,
		"success_url":                         testConfig.SuccessURL,
		"cancel_url":                          testConfig.CancelURL,
	})
	// stripe-go sets a random key on POSTs it may retry.
	if r.Header.Get("Idempotency-Key") == "" {
		t.Error("no Idempotency-Key")
	}
}

func TestCheckoutURLNotForSale(t *testing.T) {
	t.Parallel()
	s, rec := newStripe(t, stripeMockURL(t))
	free, _ := testCatalog().Get(reroute.PlanFree)
	_, err := s.CheckoutURL(t.Context(), testOrg, "cus_1", free)
	checkError(t, err, reroute.CodeInvalid, "plan_not_for_sale")
	if n := len(rec.requests()); n != 0 {
		t.Errorf("made %d requests, want none", n)
	}
}

func TestPortalURL(t *testing.T) {
	t.Parallel()
	s, rec := newStripe(t, stripeMockURL(t))
	u, err := s.PortalURL(t.Context(), "cus_PQm3kWbN4xYz7A")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://") {
		t.Errorf("url = %q, want an https URL", u)
	}
	r := only(t, rec)
	checkCommon(t, r, http.MethodPost, "/v1/billing_portal/sessions")
	checkForm(t, r.Form, map[string]string{
		"customer":   "cus_PQm3kWbN4xYz7A",
		"return_url": testConfig.PortalReturnURL,
	})
}

func TestCancelSubscription(t *testing.T) {
	t.Parallel()
	s, rec := newStripe(t, stripeMockURL(t))
	if err := s.CancelSubscription(t.Context(), "sub_1PQm4nKx8Yq2Lr3sTuVwXyZa"); err != nil {
		t.Fatal(err)
	}
	r := only(t, rec)
	// DELETE cancels at once; cancel_at_period_end would be an update (POST).
	checkCommon(t, r, http.MethodDelete, "/v1/subscriptions/sub_1PQm4nKx8Yq2Lr3sTuVwXyZa")
}

func TestContextIsPassed(t *testing.T) {
	t.Parallel()
	s, rec := newStripe(t, stripeMockURL(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.CreateCustomer(ctx, testOrg, "owner@example.com")
	checkError(t, err, reroute.CodeUnavailable, "billing_unavailable")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want it to wrap context.Canceled", err)
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("made %d attempts, want 1 (no retry once the context is done)", n)
	}
}

func checkError(t *testing.T, err error, code reroute.Code, reason string) *reroute.Error {
	t.Helper()
	var e *reroute.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want a *reroute.Error", err, err)
	}
	if e.Code != code || e.Reason != reason {
		t.Fatalf("error = %s/%s (%v), want %s/%s", e.Code, e.Reason, err, code, reason)
	}
	return e
}

// stripeAnswer is a Stripe error answer, as the API sends it.
type stripeAnswer struct {
	status int
	body   string // JSON, or whatever a proxy in between might send
}

func stripeErrorBody(typ, code, msg string) string {
	return fmt.Sprintf(`{"error":{"type":%q,"code":%q,"message":%q,"doc_url":"https://stripe.com/docs/error-codes/%s","request_log_url":"https://dashboard.stripe.com/test/logs/req_1"}}`,
		typ, code, msg, code)
}

// stub answers every request with a, and asks stripe-go not to retry.
func stub(t *testing.T, a stripeAnswer) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Stripe-Should-Retry", "false")
		w.Header().Set("Request-Id", "req_stub")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// closedPort returns a loopback URL where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func TestErrors(t *testing.T) {
	t.Parallel()
	const unavailableMsg = "the payment provider could not be reached: try again"
	calls := map[string]func(*billing.Stripe) error{
		"CreateCustomer": func(s *billing.Stripe) error {
			_, err := s.CreateCustomer(context.Background(), testOrg, "owner@example.com")
			return err
		},
		"CheckoutURL": func(s *billing.Stripe) error {
			_, err := s.CheckoutURL(context.Background(), testOrg, "cus_1", developerPlan())
			return err
		},
		"PortalURL": func(s *billing.Stripe) error {
			_, err := s.PortalURL(context.Background(), "cus_1")
			return err
		},
		"CancelSubscription": func(s *billing.Stripe) error {
			return s.CancelSubscription(context.Background(), "sub_1")
		},
	}
	tests := []struct {
		name       string
		base       func(t *testing.T) string
		calls      []string // all when empty
		wantCode   reroute.Code
		wantReason string
		wantMsg    string
		wantStripe bool // the cause is a *stripe.Error
	}{
		{
			name:       "connection refused",
			base:       closedPort,
			calls:      []string{"CreateCustomer"}, // stripe-go retries with sleeps: one is enough
			wantCode:   reroute.CodeUnavailable,
			wantReason: "billing_unavailable",
			wantMsg:    unavailableMsg,
		},
		{
			name: "server error",
			base: func(t *testing.T) string {
				return stub(t, stripeAnswer{500, stripeErrorBody("api_error", "", "Something went wrong on Stripe's end.")})
			},
			wantCode: reroute.CodeUnavailable, wantReason: "billing_unavailable", wantMsg: unavailableMsg, wantStripe: true,
		},
		{
			name: "rate limited",
			base: func(t *testing.T) string {
				return stub(t, stripeAnswer{429, stripeErrorBody("invalid_request_error", "rate_limit", "Too many requests hit the API too quickly.")})
			},
			wantCode: reroute.CodeUnavailable, wantReason: "billing_unavailable", wantMsg: unavailableMsg, wantStripe: true,
		},
		{
			name: "bad key",
			base: func(t *testing.T) string {
				return stub(t, stripeAnswer{401, stripeErrorBody("invalid_request_error", "", "Invalid API Key provided: sk_test_****Key")})
			},
			wantCode: reroute.CodeUnavailable, wantReason: "billing_unavailable", wantMsg: unavailableMsg, wantStripe: true,
		},
		{
			name: "not Stripe's answer",
			base: func(t *testing.T) string {
				return stub(t, stripeAnswer{502, "<html><body>502 Bad Gateway</body></html>"})
			},
			calls:    []string{"PortalURL"}, // retried, whatever the headers say: one is enough
			wantCode: reroute.CodeUnavailable, wantReason: "billing_unavailable", wantMsg: unavailableMsg,
		},
		{
			name: "card declined",
			base: func(t *testing.T) string {
				return stub(t, stripeAnswer{402, stripeErrorBody("card_error", "card_declined", "Your card was declined.")})
			},
			wantCode: reroute.CodeInvalid, wantReason: "card_error", wantMsg: "Your card was declined.", wantStripe: true,
		},
		{
			name: "idempotency key reused with other details",
			base: func(t *testing.T) string {
				return stub(t, stripeAnswer{400, stripeErrorBody("idempotency_error", "", "Keys for idempotent requests can only be used with the same parameters they were first used with.")})
			},
			wantCode: reroute.CodeConflict, wantReason: "billing_conflict", wantStripe: true,
		},
		{
			name: "missing customer",
			base: func(t *testing.T) string {
				return stub(t, stripeAnswer{404, stripeErrorBody("invalid_request_error", "resource_missing", "No such customer: 'cus_1'")})
			},
			calls:    []string{"CreateCustomer", "CheckoutURL", "PortalURL"},
			wantCode: reroute.CodeInvalid, wantReason: "billing_rejected", wantMsg: "the payment provider refused the request", wantStripe: true,
		},
		{
			name: "subscription already canceled",
			base: func(t *testing.T) string {
				return stub(t, stripeAnswer{404, stripeErrorBody("invalid_request_error", "resource_missing", "No such subscription: 'sub_1'")})
			},
			calls: []string{"CancelSubscription"}, // is done: no error
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			names := tt.calls
			if len(names) == 0 {
				names = []string{"CreateCustomer", "CheckoutURL", "PortalURL", "CancelSubscription"}
			}
			s, _ := newStripe(t, tt.base(t))
			for _, name := range names {
				err := calls[name](s)
				if tt.wantCode == "" {
					if err != nil {
						t.Errorf("%s: %v, want no error", name, err)
					}
					continue
				}
				e := checkError(t, err, tt.wantCode, tt.wantReason)
				if tt.wantMsg != "" && e.Message != tt.wantMsg {
					t.Errorf("%s: message = %q, want %q", name, e.Message, tt.wantMsg)
				}
				var se *stripe.Error
				if errors.As(err, &se) != tt.wantStripe {
					t.Errorf("%s: cause %v: a *stripe.Error = %v, want %v", name, e.Err, !tt.wantStripe, tt.wantStripe)
				}
				if strings.Contains(e.Message, testConfig.SecretKey) {
					t.Errorf("%s: the message shows the key", name)
				}
			}
		})
	}
}
