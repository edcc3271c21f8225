package reroute

import (
	"context"
	"time"
)

// Billing is an org's subscription as Stripe last reported it.
type Billing struct {
	CustomerID        string
	SubscriptionID    string
	Status            string // Stripe's subscription status; "" without a subscription
	CurrentPeriodEnd  time.Time
	CancelAtPeriodEnd bool
	// EventAt is the creation time of the newest Stripe event applied: an older
	// event never overwrites what a newer one said.
	EventAt time.Time
}

// PastDue reports whether a payment failed and Stripe is still retrying: the org
// keeps its plan and the dashboard warns.
func (b Billing) PastDue() bool { return b.Status == "past_due" }

// HasSubscription reports whether the org has a subscription that is not over.
func (b Billing) HasSubscription() bool {
	switch b.Status {
	case "", "canceled", "incomplete_expired":
		return false
	}
	return b.SubscriptionID != ""
}

// PlanForStatus returns the plan an org is on when its subscription to paid has
// status: active or trialing give the paid plan, past_due keeps it (with a warning),
// and unpaid, canceled and incomplete_expired return the org to free. An
// incomplete subscription (first payment pending) changes nothing: current is kept.
func PlanForStatus(status, paid, current string) string {
	switch status {
	case "active", "trialing", "past_due":
		return paid
	case "unpaid", "canceled", "incomplete_expired":
		return PlanFree
	}
	return current
}

// BillingChange is what one Stripe event says of one org's subscription.
type BillingChange struct {
	EventID           string
	EventAt           time.Time
	CustomerID        string
	SubscriptionID    string
	Status            string
	Plan              string // the plan to be on after the change (PlanForStatus)
	CurrentPeriodEnd  time.Time
	CancelAtPeriodEnd bool
}

// ApplyResult says what ApplyBilling did with an event.
type ApplyResult string

const (
	Applied   ApplyResult = "applied"
	Duplicate ApplyResult = "duplicate" // this event was applied before: nothing changed
	Stale     ApplyResult = "stale"     // a newer event was applied: nothing changed
)

// BillingStore keeps the billing side of orgs.
type BillingStore interface {
	// SetStripeCustomer records an org's Stripe customer, once, and maps the
	// customer back to the org. If the org already has one, that one is returned.
	SetStripeCustomer(ctx context.Context, orgID, customerID string) (string, error)
	// OrgByStripeCustomer finds the org of a Stripe customer, or CodeNotFound.
	OrgByStripeCustomer(ctx context.Context, customerID string) (Org, error)
	// ApplyBilling applies a change to an org in one transaction with a marker of
	// its event (kept 30 days): the plan, its limits, the billing state and which
	// routes are paused change together, and only if the event is new and not older
	// than the last one applied. A failed change leaves no marker.
	ApplyBilling(ctx context.Context, orgID string, change BillingChange, plan Plan) (ApplyResult, error)
}

// Payments is the payment provider, as the API uses it.
type Payments interface {
	// CreateCustomer makes the org's customer; retried calls for one org make one.
	CreateCustomer(ctx context.Context, org Org, email string) (string, error)
	// CheckoutURL starts a subscription to plan for the org's customer.
	CheckoutURL(ctx context.Context, org Org, customerID string, plan Plan) (string, error)
	// PortalURL opens the customer's billing portal (plan changes, cards, invoices).
	PortalURL(ctx context.Context, customerID string) (string, error)
	// CancelSubscription ends a subscription at once.
	CancelSubscription(ctx context.Context, subscriptionID string) error
}
