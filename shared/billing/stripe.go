// Package billing is the Stripe side of the service: Stripe implements
// reroute.Payments (customers, Checkout, the billing portal, cancellations), and
// Webhook verifies and reads the events Stripe sends about subscriptions.
//
// It uses stripe-go v76, which speaks Stripe API version 2023-10-16
// (stripe.APIVersion) on every call it makes. Events are rendered in the webhook
// endpoint's own version, which may differ: see Webhook.Parse.
package billing

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Config is what the Stripe client needs; read once at cold start.
type Config struct {
	SecretKey     string // sk_live_... or sk_test_...
	WebhookSecret string // whsec_..., for NewWebhook
	// APIBase replaces https://api.stripe.com when set (stripe-mock's URL in tests).
	APIBase string
	// Where Checkout sends the customer back after paying or giving up, and where
	// the billing portal's "return" link leads.
	SuccessURL, CancelURL, PortalReturnURL string
}

// Stripe is the payment provider, Stripe, through one client of its own (no
// package-level key or backend of stripe-go is read or set).
type Stripe struct {
	api *client.API
	cfg Config
}

var _ reroute.Payments = (*Stripe)(nil)

// DefaultTimeout bounds one HTTP attempt when NewStripe is given no client.
// stripe-go retries network errors, 409s and 503s twice more, with backoff.
const DefaultTimeout = 10 * time.Second

// NewStripe returns a Stripe client. httpClient may be nil (one with
// DefaultTimeout is used). stripe-go's own logging is off: errors are returned,
// and the caller logs them.
func NewStripe(cfg Config, httpClient *http.Client) *Stripe {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	backend := func(t stripe.SupportedBackend) stripe.Backend {
		c := &stripe.BackendConfig{
			HTTPClient:      httpClient,
			LeveledLogger:   &stripe.LeveledLogger{Level: stripe.LevelNull},
			EnableTelemetry: stripe.Bool(false),
		}
		if cfg.APIBase != "" {
			c.URL = stripe.String(cfg.APIBase)
		}
		return stripe.GetBackendWithConfig(t, c) // which fills c in: one each
	}
	backends := &stripe.Backends{
		API:     backend(stripe.APIBackend),
		Connect: backend(stripe.ConnectBackend),
		Uploads: backend(stripe.UploadsBackend),
	}
	return &Stripe{api: client.New(cfg.SecretKey, backends), cfg: cfg}
}

// Metadata keys the service writes on Stripe objects.
const (
	MetaOrgID = "org_id"
	MetaPlan  = "plan"
)

// CreateCustomer makes the org's Stripe customer. The idempotency key is the org's
// id, so that retries for one org (within Stripe's 24 hours) make one customer.
func (s *Stripe) CreateCustomer(ctx context.Context, org reroute.Org, email string) (string, error) {
	params := &stripe.CustomerParams{
		Email: stripe.String(email),
		Name:  stripe.String(org.Name),
	}
	params.Context = ctx
	params.AddMetadata(MetaOrgID, org.ID)
	params.SetIdempotencyKey("customer-" + org.ID)
	c, err := s.api.Customers.New(params)
	if err != nil {
		return "", stripeError(err)
	}
	return c.ID, nil
}

// CheckoutURL opens a Checkout session that subscribes the customer to plan and
// returns its URL. The session carries the org's id as client_reference_id, and
// the subscription carries it (and the plan's name) in its metadata, so that every
// event about them names the org.
func (s *Stripe) CheckoutURL(ctx context.Context, org reroute.Org, customerID string, plan reroute.Plan) (string, error) {
	if plan.StripePriceID == "" {
		return "", reroute.Errorf(reroute.CodeInvalid, "plan_not_for_sale", "the plan %q cannot be bought", plan.Name)
	}
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(customerID),
		ClientReferenceID: stripe.String(org.ID),
		LineItems: []*stripe.CheckoutSessionLineItemParams{
			{Price: stripe.String(plan.StripePriceID), Quantity: stripe.Int64(1)},
		},
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{
			Metadata: map[string]string{MetaOrgID: org.ID, MetaPlan: plan.Name},
		},
		SuccessURL: stripe.String(s.cfg.SuccessURL),
		CancelURL:  stripe.String(s.cfg.CancelURL),
	}
	params.Context = ctx
	sess, err := s.api.CheckoutSessions.New(params)
	if err != nil {
		return "", stripeError(err)
	}
	return sess.URL, nil
}

// PortalURL opens a billing portal session for the customer and returns its URL.
func (s *Stripe) PortalURL(ctx context.Context, customerID string) (string, error) {
	params := &stripe.BillingPortalSessionParams{
		Customer:  stripe.String(customerID),
		ReturnURL: stripe.String(s.cfg.PortalReturnURL),
	}
	params.Context = ctx
	sess, err := s.api.BillingPortalSessions.New(params)
	if err != nil {
		return "", stripeError(err)
	}
	return sess.URL, nil
}

// CancelSubscription ends a subscription now, not at the end of its period. A
// subscription that is already canceled (Stripe then answers resource_missing, as
// for one that never was) counts as done.
func (s *Stripe) CancelSubscription(ctx context.Context, subscriptionID string) error {
	params := &stripe.SubscriptionCancelParams{}
	params.Context = ctx
	_, err := s.api.Subscriptions.Cancel(subscriptionID, params)
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodeResourceMissing {
		return nil
	}
	if err != nil {
		return stripeError(err)
	}
	return nil
}

// stripeError turns an error of a Stripe call into a domain error whose message is
// safe to show; the cause is kept for the logs.
//
//   - network errors, timeouts, 5xx, 429 and answers that are not Stripe's:
//     CodeUnavailable (retrying later can help);
//   - 401 and 403 (a wrong or restricted key: the operator's to fix): also
//     CodeUnavailable, since the caller can do nothing else about it;
//   - idempotency_error (a retry with other details within 24 hours):
//     CodeConflict;
//   - card_error: CodeInvalid with Stripe's message, which is meant for customers;
//   - invalid_request_error: CodeInvalid with a message of our own.
func stripeError(err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return unavailable(err)
	}
	switch {
	case se.HTTPStatusCode >= 500, se.HTTPStatusCode == http.StatusTooManyRequests,
		se.HTTPStatusCode == http.StatusUnauthorized, se.HTTPStatusCode == http.StatusForbidden,
		se.Type == stripe.ErrorTypeAPI:
		return unavailable(err)
	case se.Type == stripe.ErrorTypeIdempotency:
		return &reroute.Error{Code: reroute.CodeConflict, Reason: "billing_conflict",
			Message: "a billing request with other details is under way: try again later", Err: err}
	case se.Type == stripe.ErrorTypeCard:
		msg := se.Msg
		if msg == "" {
			msg = "the card was declined"
		}
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "card_error", Message: msg, Err: err}
	case se.Type == stripe.ErrorTypeInvalidRequest:
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "billing_rejected",
			Message: "the payment provider refused the request", Err: err}
	}
	return unavailable(err)
}

func unavailable(err error) error {
	return &reroute.Error{Code: reroute.CodeUnavailable, Reason: "billing_unavailable",
		Message: "the payment provider could not be reached: try again", Err: err}
}
