package billing

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// ErrBadSignature is the cause of every error Parse returns for a payload that is
// not signed, not signed with the endpoint's secret, or signed too long ago (or
// too far ahead): the caller answers 400. The error is a *reroute.Error with
// CodeInvalid and Reason "bad_signature" that wraps ErrBadSignature and the
// verification's own error (such as webhook.ErrTooOld).
var ErrBadSignature = errors.New("billing: the Stripe-Signature does not match the payload")

// DefaultTolerance is how far the signature's timestamp may be from now: Stripe's
// own default, five minutes.
const DefaultTolerance = webhook.DefaultTolerance

// Kind says what an event means to the service.
type Kind string

const (
	// Ignored: an event the service has no use for; answer 200 and do nothing.
	Ignored Kind = "ignored"
	// CheckoutCompleted: a Checkout session in subscription mode was completed;
	// it ties the customer and the subscription to the org (OrgID).
	CheckoutCompleted Kind = "checkout_completed"
	// SubscriptionChanged: customer.subscription.created or .updated.
	SubscriptionChanged Kind = "subscription_changed"
	// SubscriptionDeleted: customer.subscription.deleted (status canceled).
	SubscriptionDeleted Kind = "subscription_deleted"
	// InvoicePaid and InvoicePaymentFailed: an invoice of a subscription. They
	// carry no subscription status (Stripe sends customer.subscription.updated
	// when a failed payment makes the subscription past_due or unpaid), so their
	// Change keeps the plan and the status.
	InvoicePaid          Kind = "invoice_paid"
	InvoicePaymentFailed Kind = "invoice_payment_failed"
)

// Event is what the service reads from one verified Stripe event.
type Event struct {
	ID         string // evt_...: the key to apply each event once
	Type       string // such as "customer.subscription.updated"
	APIVersion string // the version the event was rendered in
	Created    time.Time
	Kind       Kind

	CustomerID string
	// OrgID is the org named by the event: a Checkout session's
	// client_reference_id, or the org_id metadata of a subscription (which an
	// invoice copies). "" when the event names none: find the org by CustomerID.
	OrgID          string
	SubscriptionID string
	// Status is the subscription's status; "" when the event does not report one
	// (checkout and invoice events).
	Status string
	// PriceID is the price of the subscription's first item, and Plan the
	// catalogue's plan billed by it: "" when no plan is (see Note).
	PriceID           string
	Plan              string
	CurrentPeriodEnd  time.Time
	CancelAtPeriodEnd bool
	// Note says, for the logs, what the event lacked that the service would have
	// used (an unknown price, say) or why it is Ignored; "" when nothing.
	Note string
}

// Change is what the event says of the org's subscription, for
// reroute.BillingStore.ApplyBilling: the plan follows reroute.PlanForStatus
// (paid being the event's plan, or currentPlan when the price is in no plan of
// the catalogue). An event without a status (checkout, invoices) keeps
// currentPlan and leaves Status "": the store should not take it as a status.
func (e Event) Change(currentPlan string) reroute.BillingChange {
	plan := currentPlan
	if e.Status != "" {
		paid := e.Plan
		if paid == "" {
			paid = currentPlan
		}
		plan = reroute.PlanForStatus(e.Status, paid, currentPlan)
	}
	return reroute.BillingChange{
		EventID:           e.ID,
		EventAt:           e.Created,
		CustomerID:        e.CustomerID,
		SubscriptionID:    e.SubscriptionID,
		Status:            e.Status,
		Plan:              plan,
		CurrentPeriodEnd:  e.CurrentPeriodEnd,
		CancelAtPeriodEnd: e.CancelAtPeriodEnd,
	}
}

// Webhook verifies and reads the events Stripe posts to the webhook endpoint.
type Webhook struct {
	secret    string
	plans     reroute.Catalog
	tolerance time.Duration
	now       func() time.Time
}

// NewWebhook returns a Webhook for the endpoint's signing secret (whsec_...).
// plans maps prices to plans; tolerance bounds the age of a signature
// (DefaultTolerance if zero or less); now is the clock (time.Now if nil).
func NewWebhook(secret string, plans reroute.Catalog, tolerance time.Duration, now func() time.Time) *Webhook {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if now == nil {
		now = time.Now
	}
	return &Webhook{secret: secret, plans: plans, tolerance: tolerance, now: now}
}

// Parse verifies the signature of payload (the raw request body, unchanged) and
// reads the event.
//
// The signature is checked first, with stripe-go: the HMAC by
// webhook.ConstructEventWithOptions, and the timestamp by Parse against its own
// clock (stripe-go would use time.Now, and accepts any timestamp in the future),
// both ways within the tolerance.
//
// API versions. stripe-go v76 reads version 2023-10-16 (stripe.APIVersion), but
// an event comes in the version of the webhook endpoint, which the operator may
// have set to another. Parse does not use stripe-go's structs for the objects:
// it reads only the fields below, from any version, and an event that lacks one
// that it needs is an error (Reason "unsupported_api_version" when the event is
// not in 2023-10-16, "bad_event" when it is), never a guess:
//
//   - checkout.session.completed: mode (other than "subscription": Ignored),
//     customer, subscription; client_reference_id if present.
//   - customer.subscription.created/.updated/.deleted: id, customer, status,
//     current_period_end (top-level up to 2025-02-24.acacia; from 2025-03-31.basil
//     on, the latest items.data[].current_period_end); cancel_at_period_end
//     (false if absent); items.data[0].price (Plan "" with a Note if absent or
//     unknown); metadata.org_id if present.
//   - invoice.paid/.payment_failed: customer; subscription (top-level up to
//     acacia, parent.subscription_details.subscription from basil on; an invoice
//     without one is Ignored unless its billing_reason says it is a
//     subscription's, which is then an error); subscription_details.metadata.org_id
//     if present.
//   - any other type: Ignored, whatever its version.
//
// Errors are *reroute.Error with CodeInvalid (answer 400): Reason
// "bad_signature" (see ErrBadSignature), "bad_event" or "unsupported_api_version";
// CodeNotConfigured when the Webhook has no secret.
func (w *Webhook) Parse(payload []byte, sigHeader string) (Event, error) {
	if w.secret == "" {
		return Event{}, reroute.Errorf(reroute.CodeNotConfigured, "billing_not_configured",
			"the Stripe webhook signing secret is not configured")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, sigHeader, w.secret, webhook.ConstructEventOptions{
		IgnoreTolerance:          true, // checked below, with w.now
		IgnoreAPIVersionMismatch: true, // handled below, field by field
	})
	switch {
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader),
		errors.Is(err, webhook.ErrNoValidSignature):
		return Event{}, badSignature(err)
	case err != nil:
		return Event{}, badEvent("the event is not valid JSON", err)
	}
	if err := w.checkTimestamp(sigHeader); err != nil {
		return Event{}, err
	}
	if ev.ID == "" || ev.Type == "" || ev.Created == 0 || ev.Data == nil || len(ev.Data.Raw) == 0 {
		return Event{}, badEvent("the event lacks its id, type, created or data.object", nil)
	}

	e := Event{
		ID:         ev.ID,
		Type:       string(ev.Type),
		APIVersion: ev.APIVersion,
		Created:    time.Unix(ev.Created, 0).UTC(),
	}
	switch ev.Type {
	case "checkout.session.completed":
		err = w.readCheckout(&e, ev.Data.Raw)
	case "customer.subscription.created", "customer.subscription.updated":
		e.Kind = SubscriptionChanged
		err = w.readSubscription(&e, ev.Data.Raw)
	case "customer.subscription.deleted":
		e.Kind = SubscriptionDeleted
		err = w.readSubscription(&e, ev.Data.Raw)
	case "invoice.paid":
		e.Kind = InvoicePaid
		err = w.readInvoice(&e, ev.Data.Raw)
	case "invoice.payment_failed":
		e.Kind = InvoicePaymentFailed
		err = w.readInvoice(&e, ev.Data.Raw)
	default:
		e.Kind = Ignored
		e.Note = "the service does not handle " + e.Type + " events"
	}
	if err != nil {
		return Event{}, err
	}
	return e, nil
}

// checkTimestamp bounds the age of the signature. It reads the timestamp as
// stripe-go does (the last "t=" wins), since that is the one the verified HMAC
// covers: reading another would let an old payload through with a new "t=".
func (w *Webhook) checkTimestamp(header string) error {
	var t int64
	var found bool
	for _, pair := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k != "t" || strings.Contains(v, "=") {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return badSignature(webhook.ErrInvalidHeader)
		}
		t, found = n, true
	}
	if !found {
		return badSignature(webhook.ErrInvalidHeader)
	}
	age := w.now().Sub(time.Unix(t, 0))
	if age > w.tolerance || age < -w.tolerance {
		return badSignature(fmt.Errorf("%w: signed %s from now, tolerance %s", webhook.ErrTooOld, -age.Round(time.Second), w.tolerance))
	}
	return nil
}

// ref is a reference to a Stripe object: its id, or the object itself when
// expanded, or null.
type ref string

func (r *ref) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*r = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = ref(s)
		return nil
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*r = ref(o.ID)
	return nil
}

type checkoutSession struct {
	ID                string            `json:"id"`
	Mode              string            `json:"mode"`
	Customer          ref               `json:"customer"`
	ClientReferenceID string            `json:"client_reference_id"`
	Subscription      ref               `json:"subscription"`
	Metadata          map[string]string `json:"metadata"`
}

type subscription struct {
	ID                string            `json:"id"`
	Customer          ref               `json:"customer"`
	Status            string            `json:"status"`
	CurrentPeriodEnd  int64             `json:"current_period_end"` // until 2025-02-24.acacia
	CancelAtPeriodEnd bool              `json:"cancel_at_period_end"`
	Metadata          map[string]string `json:"metadata"`
	Items             struct {
		Data []struct {
			Price            ref   `json:"price"`
			CurrentPeriodEnd int64 `json:"current_period_end"` // from 2025-03-31.basil
		} `json:"data"`
	} `json:"items"`
}

type subscriptionDetails struct {
	Subscription ref               `json:"subscription"` // under parent, from basil
	Metadata     map[string]string `json:"metadata"`
}

type invoice struct {
	ID                  string               `json:"id"`
	Customer            ref                  `json:"customer"`
	Subscription        ref                  `json:"subscription"` // until acacia
	BillingReason       string               `json:"billing_reason"`
	SubscriptionDetails *subscriptionDetails `json:"subscription_details"` // until acacia
	Parent              *struct {
		SubscriptionDetails *subscriptionDetails `json:"subscription_details"`
	} `json:"parent"` // from basil
}

func (w *Webhook) readCheckout(e *Event, raw json.RawMessage) error {
	var s checkoutSession
	if err := w.decode(e, raw, &s); err != nil {
		return err
	}
	if s.Mode == "" {
		return w.missing(e, "mode")
	}
	if s.Mode != string(stripe.CheckoutSessionModeSubscription) {
		e.Kind, e.Note = Ignored, "a Checkout session in "+s.Mode+" mode is not a subscription"
		return nil
	}
	e.Kind = CheckoutCompleted
	e.CustomerID, e.SubscriptionID = string(s.Customer), string(s.Subscription)
	e.OrgID = s.ClientReferenceID
	if e.OrgID == "" {
		e.OrgID = s.Metadata[MetaOrgID]
	}
	return w.require(e, field{"customer", e.CustomerID != ""}, field{"subscription", e.SubscriptionID != ""})
}

func (w *Webhook) readSubscription(e *Event, raw json.RawMessage) error {
	var s subscription
	if err := w.decode(e, raw, &s); err != nil {
		return err
	}
	e.SubscriptionID, e.CustomerID, e.Status = s.ID, string(s.Customer), s.Status
	e.OrgID = s.Metadata[MetaOrgID]
	e.CancelAtPeriodEnd = s.CancelAtPeriodEnd
	end := s.CurrentPeriodEnd
	if end == 0 { // from basil on, each item has its period
		for _, it := range s.Items.Data {
			end = max(end, it.CurrentPeriodEnd)
		}
	}
	if end > 0 {
		e.CurrentPeriodEnd = time.Unix(end, 0).UTC()
	}
	if err := w.require(e, field{"id", e.SubscriptionID != ""}, field{"customer", e.CustomerID != ""},
		field{"status", e.Status != ""}, field{"current_period_end", end > 0}); err != nil {
		return err
	}
	if len(s.Items.Data) == 0 || s.Items.Data[0].Price == "" {
		e.Note = "the subscription names no price: the plan is kept"
		return nil
	}
	e.PriceID = string(s.Items.Data[0].Price)
	if e.Plan = w.planOf(e.PriceID); e.Plan == "" {
		e.Note = "the price " + e.PriceID + " bills no plan of the catalogue: the plan is kept"
	}
	return nil
}

func (w *Webhook) readInvoice(e *Event, raw json.RawMessage) error {
	var in invoice
	if err := w.decode(e, raw, &in); err != nil {
		return err
	}
	sub, details := string(in.Subscription), in.SubscriptionDetails
	if in.Parent != nil && in.Parent.SubscriptionDetails != nil {
		details = in.Parent.SubscriptionDetails
		if sub == "" {
			sub = string(details.Subscription)
		}
	}
	if sub == "" && !strings.HasPrefix(in.BillingReason, "subscription") {
		e.Kind, e.Note = Ignored, "the invoice is not a subscription's"
		return nil
	}
	e.CustomerID, e.SubscriptionID = string(in.Customer), sub
	if details != nil {
		e.OrgID = details.Metadata[MetaOrgID]
	}
	return w.require(e, field{"customer", e.CustomerID != ""}, field{"subscription", e.SubscriptionID != ""})
}

// planOf returns the name of the plan billed by price, "" if none is.
func (w *Webhook) planOf(price string) string {
	for _, p := range w.plans {
		if p.StripePriceID != "" && p.StripePriceID == price {
			return p.Name
		}
	}
	return ""
}

func (w *Webhook) decode(e *Event, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return w.eventError(e, fmt.Sprintf("the %s event's object cannot be read", e.Type), err)
	}
	return nil
}

// field is a field an event needs, and whether the event has it.
type field struct {
	name    string
	present bool
}

// require reports the fields that are not present.
func (w *Webhook) require(e *Event, fields ...field) error {
	var missing []string
	for _, f := range fields {
		if !f.present {
			missing = append(missing, f.name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return w.missing(e, missing...)
}

func (w *Webhook) missing(e *Event, fields ...string) error {
	return w.eventError(e, fmt.Sprintf("the %s event lacks %s", e.Type, strings.Join(fields, ", ")), nil)
}

// eventError explains an event that cannot be read; for one in another API
// version than stripe-go's, it says so and what to do.
func (w *Webhook) eventError(e *Event, msg string, cause error) error {
	if e.APIVersion == stripe.APIVersion {
		return badEvent(msg, cause)
	}
	return &reroute.Error{Code: reroute.CodeInvalid, Reason: "unsupported_api_version",
		Message: fmt.Sprintf("%s: it is in Stripe API version %q and the service reads %q "+
			"(set the webhook endpoint's API version to %s)", msg, e.APIVersion, stripe.APIVersion, stripe.APIVersion),
		Err: cause}
}

func badSignature(cause error) error {
	return &reroute.Error{Code: reroute.CodeInvalid, Reason: "bad_signature",
		Message: "the Stripe-Signature header is missing, wrong or too old",
		Err:     fmt.Errorf("%w: %w", ErrBadSignature, cause)}
}

func badEvent(msg string, cause error) error {
	return &reroute.Error{Code: reroute.CodeInvalid, Reason: "bad_event", Message: msg, Err: cause}
}
