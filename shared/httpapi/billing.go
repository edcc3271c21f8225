package httpapi

import (
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

type billingJSON struct {
	Plan              string     `json:"plan"`
	Status            string     `json:"status"` // Stripe's subscription status; "none" without one
	PastDue           bool       `json:"pastDue"`
	CurrentPeriodEnd  *time.Time `json:"currentPeriodEnd,omitempty"`
	CancelAtPeriodEnd bool       `json:"cancelAtPeriodEnd"`
	Usage             usageJSON  `json:"usage"`
	PausedRoutes      bool       `json:"pausedRoutes"` // the org has more routes than its plan allows
}

func (s *server) toBillingJSON(o reroute.Org) billingJSON {
	b := billingJSON{
		Plan: o.Plan, Status: o.Billing.Status, PastDue: o.Billing.PastDue(), CancelAtPeriodEnd: o.Billing.CancelAtPeriodEnd,
		Usage:        s.usage(o),
		PausedRoutes: o.RouteCount > o.RouteLimit,
	}
	if b.Status == "" {
		b.Status = "none"
	}
	if !o.Billing.CurrentPeriodEnd.IsZero() {
		t := o.Billing.CurrentPeriodEnd
		b.CurrentPeriodEnd = &t
	}
	return b
}

type checkoutInput struct {
	Plan string `json:"plan"`
}

type urlJSON struct {
	URL string `json:"url"`
}

var errBillingNotConfigured = errorf(reroute.CodeNotConfigured, "billing_not_configured",
	"billing is not configured on this installation: set the Stripe keys to enable paid plans")

func (s *server) getBilling(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, readBilling)
	if err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, s.toBillingJSON(a.org))
	return nil
}

// checkout starts a subscription. An org that already has one is sent to the
// portal instead, where plan changes are prorated.
func (s *server) checkout(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, manageBilling)
	if err != nil {
		return err
	}
	in, err := decode[checkoutInput](r)
	if err != nil {
		return err
	}
	if s.Payments == nil {
		return errBillingNotConfigured
	}
	plan, ok := s.Plans.Get(in.Plan)
	if !ok || !plan.Paid() || plan.StripePriceID == "" {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
			Fields: []reroute.FieldError{{Field: "plan", Message: "plan must be a paid plan on sale: see GET /v1/plans"}}}
	}
	if a.org.Billing.HasSubscription() {
		url, err := s.Payments.PortalURL(r.Context(), a.org.Billing.CustomerID)
		if err != nil {
			return err
		}
		encodeJSON(w, http.StatusOK, urlJSON{URL: url})
		return nil
	}
	customer := a.org.Billing.CustomerID
	if customer == "" {
		created, err := s.Payments.CreateCustomer(r.Context(), a.org, a.caller.Email)
		if err != nil {
			return err
		}
		// Two checkouts at once may both create: the store keeps the first customer
		// and answers it to both. Stripe's idempotency key (per org) makes a retried
		// creation return the same customer; one with other details within 24 hours
		// is refused (409 billing_conflict) and the caller tries again.
		if customer, err = s.BillingStore.SetStripeCustomer(r.Context(), a.org.ID, created); err != nil {
			return err
		}
	}
	url, err := s.Payments.CheckoutURL(r.Context(), a.org, customer, plan)
	if err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, urlJSON{URL: url})
	return nil
}

func (s *server) portal(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, manageBilling)
	if err != nil {
		return err
	}
	if s.Payments == nil {
		return errBillingNotConfigured
	}
	if a.org.Billing.CustomerID == "" {
		return errorf(reroute.CodeConflict, "no_billing_account", "this org has no billing account yet: choose a paid plan first")
	}
	url, err := s.Payments.PortalURL(r.Context(), a.org.Billing.CustomerID)
	if err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, urlJSON{URL: url})
	return nil
}

// cancelSubscription ends the org's subscription before the org is deleted.
func (s *server) cancelSubscription(r *http.Request, org reroute.Org) error {
	if !org.Billing.HasSubscription() {
		return nil
	}
	if s.Payments == nil {
		return errorf(reroute.CodeNotConfigured, "billing_not_configured",
			"this org has a subscription but billing is not configured, so it cannot be cancelled: the org was not deleted")
	}
	if err := s.Payments.CancelSubscription(r.Context(), org.Billing.SubscriptionID); err != nil {
		return &reroute.Error{Code: reroute.CodeUnavailable, Reason: "billing_unavailable",
			Message: "the subscription could not be cancelled, so the org was not deleted: try again shortly", Err: err}
	}
	return nil
}
