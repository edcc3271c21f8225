package billing

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// maxEventBytes bounds an event body; Stripe's are a few KiB.
const maxEventBytes = 512 << 10

// Handler serves the Stripe webhook: it verifies each event, finds its org and
// applies the change once and in order. It answers 5xx only where Stripe's retry
// can help (the store failed), and 200 to everything a retry would not change.
type Handler struct {
	hook    *Webhook
	orgs    reroute.OrgStore
	billing reroute.BillingStore
	plans   reroute.Catalog
	log     *slog.Logger
}

// NewHandler returns the webhook endpoint's handler.
func NewHandler(hook *Webhook, orgs reroute.OrgStore, billing reroute.BillingStore, plans reroute.Catalog, log *slog.Logger) *Handler {
	return &Handler{hook: hook, orgs: orgs, billing: billing, plans: plans, log: log}
}

type answer struct {
	Received bool   `json:"received"`
	Result   string `json:"result,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reply(w, http.StatusMethodNotAllowed, answer{Error: "POST Stripe events here"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBytes))
	if err != nil {
		h.reply(w, http.StatusRequestEntityTooLarge, answer{Error: "the event is too large"})
		return
	}
	// Rejoined: the Lambda adapter splits header values on commas, and a
	// signature header is "t=...,v1=...".
	ev, err := h.hook.Parse(body, strings.Join(r.Header.Values("Stripe-Signature"), ","))
	if err != nil {
		status := http.StatusBadRequest
		if reroute.ErrorCode(err) == reroute.CodeNotConfigured {
			status = http.StatusInternalServerError // the operator's to fix; Stripe retries meanwhile
		}
		h.log.WarnContext(r.Context(), "stripe event refused", "status", status, "err", err)
		h.reply(w, status, answer{Error: safeMessage(err)})
		return
	}
	log := h.log.With("eventId", ev.ID, "type", ev.Type, "customer", ev.CustomerID)
	result, err := h.apply(r, ev, log)
	if err != nil {
		log.ErrorContext(r.Context(), "stripe event not applied: Stripe will retry", "err", err)
		h.reply(w, http.StatusInternalServerError, answer{Error: "the event could not be applied now: retry later"})
		return
	}
	log.InfoContext(r.Context(), "stripe event", "result", result, "note", ev.Note)
	h.reply(w, http.StatusOK, answer{Received: true, Result: result})
}

// apply handles a verified event. Its result is for the log and the answer.
func (h *Handler) apply(r *http.Request, ev Event, log *slog.Logger) (string, error) {
	ctx := r.Context()
	if ev.Kind == Ignored {
		return "ignored", nil
	}
	org, err := h.orgOf(r, ev)
	if reroute.IsNotFound(err) {
		log.WarnContext(ctx, "stripe event for no known org", "orgId", ev.OrgID)
		return "unknown_customer", nil
	}
	if err != nil {
		return "", err
	}
	if ev.Kind == CheckoutCompleted && ev.CustomerID != "" {
		if _, err := h.billing.SetStripeCustomer(ctx, org.ID, ev.CustomerID); err != nil && !reroute.IsNotFound(err) {
			return "", err
		}
	}
	// An org that has moved on to another live subscription ignores the end of an
	// old one, whatever order Stripe delivers them in.
	if cur := org.Billing; cur.HasSubscription() && ev.SubscriptionID != "" && ev.SubscriptionID != cur.SubscriptionID &&
		ev.Status != "" && reroute.PlanForStatus(ev.Status, "paid", "") != "paid" {
		return "other_subscription", nil
	}
	change := ev.Change(org.Plan)
	keepUnsaid(&change, org.Billing)
	plan, ok := h.plans.Get(change.Plan)
	if !ok {
		log.ErrorContext(ctx, "stripe event names a plan the catalogue lacks: keeping the org's plan", "plan", change.Plan)
		if plan, ok = h.plans.Get(org.Plan); !ok {
			return "unknown_plan", nil
		}
		change.Plan = plan.Name
	}
	res, err := h.billing.ApplyBilling(ctx, org.ID, change, plan)
	switch reroute.ErrorCode(err) {
	case reroute.CodeNotFound:
		log.WarnContext(ctx, "stripe event for an org deleted meanwhile", "orgId", org.ID)
		return "unknown_customer", nil
	case reroute.CodeConflict, reroute.CodeInvalid:
		// A retry would meet the same refusal (a customer tied to another org).
		log.ErrorContext(ctx, "stripe event refused by the store", "orgId", org.ID, "err", err)
		return "refused", nil
	}
	if err != nil {
		return "", err
	}
	return string(res), nil
}

// keepUnsaid fills what an event does not report (checkout and invoice events carry
// no subscription status) from what the org has, so that applying it keeps them.
func keepUnsaid(c *reroute.BillingChange, cur reroute.Billing) {
	if c.Status == "" {
		c.Status = cur.Status
		if c.CurrentPeriodEnd.IsZero() {
			c.CurrentPeriodEnd = cur.CurrentPeriodEnd
		}
		c.CancelAtPeriodEnd = cur.CancelAtPeriodEnd
	}
	if c.SubscriptionID == "" {
		c.SubscriptionID = cur.SubscriptionID
	}
	if c.CustomerID == "" {
		c.CustomerID = cur.CustomerID
	}
}

// orgOf finds the event's org: the one it names (set by this service when it
// created the checkout or subscription), else the customer's.
func (h *Handler) orgOf(r *http.Request, ev Event) (reroute.Org, error) {
	if ev.OrgID != "" {
		org, err := h.orgs.GetOrg(r.Context(), ev.OrgID)
		if err == nil && (org.Billing.CustomerID == "" || ev.CustomerID == "" || org.Billing.CustomerID == ev.CustomerID) {
			return org, nil
		}
		if err != nil && !reroute.IsNotFound(err) {
			return reroute.Org{}, err
		}
	}
	if ev.CustomerID == "" {
		return reroute.Org{}, reroute.Errorf(reroute.CodeNotFound, "org_not_found", "no org")
	}
	return h.billing.OrgByStripeCustomer(r.Context(), ev.CustomerID)
}

func (h *Handler) reply(w http.ResponseWriter, status int, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

// safeMessage is a refused event's reason, without its cause.
func safeMessage(err error) string {
	var e *reroute.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "the event was refused"
}
