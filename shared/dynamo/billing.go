package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// stripeCustomerItem maps a Stripe customer to its org. It is written in the
// transaction that gives the org its customer, never alone.
type stripeCustomerItem struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	OrgID string `dynamodbav:"orgId"`
}

// stripeEventItem marks a Stripe event as applied. It is written in the
// transaction that applies the event, so an event that changed nothing leaves none,
// and it expires once Stripe has long stopped retrying the event (3 days).
type stripeEventItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	OrgID     string `dynamodbav:"orgId"`
	EventAt   string `dynamodbav:"eventAt"`
	ExpiresAt int64  `dynamodbav:"expiresAt"` // attrTTL, unix seconds
}

// eventMarkerTTL is how long an event's marker is kept.
const eventMarkerTTL = 30 * 24 * time.Hour

// maxStripeIDLen bounds a Stripe object id, which sits in a key.
const maxStripeIDLen = 255

// validStripeID accepts 1 to 255 printable ASCII characters other than space, as
// Stripe's ids (cus_..., evt_...) are.
func validStripeID(id string) bool {
	if id == "" || len(id) > maxStripeIDLen {
		return false
	}
	for i := range len(id) {
		if c := id[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

func errInvalidBilling(msg string) error {
	return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: msg}
}

// errCustomerTaken does not say which org has the customer.
func errCustomerTaken() error {
	return &reroute.Error{Code: reroute.CodeConflict, Reason: "customer_taken", Message: "that Stripe customer belongs to another org"}
}

// customerPut is the transaction item that maps customerID to orgID: it holds if
// the customer is mapped to no org, or to this one already.
func (s *Store) customerPut(orgID, customerID string) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(stripeCustomerItem{
		PK: stripeCustomerPK(customerID), SK: stripeCustomerSK, OrgID: orgID,
	})
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encoding Stripe customer %s: %w", customerID, err)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(" + attrPK + ") OR #orgId = :orgId"),
		ExpressionAttributeNames:  map[string]string{"#orgId": attrOrgID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":orgId": avS(orgID)},
	}}, nil
}

// SetStripeCustomer gives an org its Stripe customer, once: one transaction sets
// the org's stripeCustomerId, on condition that it is live and has none, and maps
// the customer to the org. If the org already has a customer, that one is
// returned, without error (so of callers racing with different customers, all get
// the one stored). A missing or deleting org is CodeNotFound; a customer mapped to
// another org is CodeConflict "customer_taken".
func (s *Store) SetStripeCustomer(ctx context.Context, orgID, customerID string) (string, error) {
	if orgID == "" {
		return "", errOrgNotFound()
	}
	if !validStripeID(customerID) {
		return "", errInvalidBilling("a Stripe customer id is required")
	}
	mapping, err := s.customerPut(orgID, customerID)
	if err != nil {
		return "", err
	}
	u := newUpdateExpr()
	u.setS(attrStripeCustomerID, customerID)
	cond := orgLive + " AND attribute_not_exists(" + u.name(attrStripeCustomerID) + ")"
	u.name(attrDeleting) // orgLive's
	set := s.orgUpdate(orgID, u.expression(), cond, u.names, u.values)
	for range maxConflictAttempts {
		err := s.transact(ctx, set, mapping)
		i, failed := conditionFailed(err)
		switch {
		case !failed && err != nil:
			return "", unavailable(err)
		case !failed:
			return customerID, nil
		}
		it, ok, err := s.readOrg(ctx, orgID)
		switch {
		case err != nil:
			return "", err
		case !ok || it.Deleting:
			return "", errOrgNotFound()
		case it.StripeCustomerID != "":
			return it.StripeCustomerID, nil
		case i == 1:
			return "", errCustomerTaken()
		}
		// The org had a customer when written and has none now: it cannot lose
		// one, but if it did, try again.
	}
	return "", unavailable(errors.New("setting a Stripe customer: the org kept changing"))
}

// OrgByStripeCustomer finds the org of a Stripe customer: one GetItem of the
// customer's item, then the org. An unknown customer, or one whose org is gone or
// being deleted, is CodeNotFound.
func (s *Store) OrgByStripeCustomer(ctx context.Context, customerID string) (reroute.Org, error) {
	if !validStripeID(customerID) {
		return reroute.Org{}, errOrgNotFound()
	}
	it, found, err := getItem[stripeCustomerItem](ctx, s, stripeCustomerKey(customerID))
	if err != nil {
		return reroute.Org{}, err
	}
	if !found {
		return reroute.Org{}, errOrgNotFound()
	}
	return s.GetOrg(ctx, it.OrgID)
}

// checkBilling refuses a change that cannot be applied: one without an event, or
// for a plan other than the one given.
func checkBilling(change reroute.BillingChange, plan reroute.Plan) error {
	switch {
	case !validStripeID(change.EventID) || change.EventAt.IsZero():
		return errInvalidBilling("a billing change needs its event's id and time")
	case change.CustomerID != "" && !validStripeID(change.CustomerID):
		return errInvalidBilling("the Stripe customer id is not valid")
	case plan.Name == "" || plan.RouteLimit < 0 || plan.MemberLimit < 0 || plan.RuleLimit < 0:
		return errInvalidBilling("a billing change needs a plan with limits of 0 or more")
	case change.Plan != "" && change.Plan != plan.Name:
		return errInvalidBilling("the billing change is for another plan")
	}
	return nil
}

// ApplyBilling applies a Stripe event's change to an org, in one transaction of
// two (or three) items:
//
//  0. the event's marker, kept 30 days, on condition that there is none: a
//     failure here is Duplicate;
//  1. the org: its plan and limits, the billing state, billingEventAt and the
//     pausedFrom that the new route limit gives its routes, on condition that it
//     is live, that no newer event was applied (billingEventAt <= this one: equal
//     times are two events of one second, both applied, in arrival order) and
//     that its routes are those pausedFrom was computed from (routeVersion);
//  2. if the org has no Stripe customer yet and the change names one, the
//     customer's mapping to the org (the org's customer is set in item 1).
//
// It reads the org first: a missing or deleting org is CodeNotFound, and an event
// older than the last applied is Stale at once, writing nothing (not even the
// marker: a redelivery of an old event is answered Stale, not Duplicate). The
// routes are listed only when the org has more than the new limit. When the org's
// condition fails, it reads again and decides again; a transaction that fails
// for DynamoDB leaves nothing, marker included.
//
// A downgrade below the org's member count removes no member: the count stays
// above the limit, and AddMember is refused (its condition is memberCount <
// memberLimit) until members leave or the org upgrades.
func (s *Store) ApplyBilling(ctx context.Context, orgID string, change reroute.BillingChange, plan reroute.Plan) (reroute.ApplyResult, error) {
	if orgID == "" {
		return "", errOrgNotFound()
	}
	if err := checkBilling(change, plan); err != nil {
		return "", err
	}
	eventAt := formatTime(change.EventAt)
	item, err := attributevalue.MarshalMap(stripeEventItem{
		PK: stripeEventPK(change.EventID), SK: stripeEventSK, OrgID: orgID, EventAt: eventAt,
		ExpiresAt: s.now().Add(eventMarkerTTL).Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("encoding Stripe event %s: %w", change.EventID, err)
	}
	marker := types.TransactWriteItem{Put: &types.Put{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")"),
	}}
	for range maxConflictAttempts {
		st, err := s.readRouteState(ctx, orgID, func(it orgItem) bool { return it.RouteCount > plan.RouteLimit })
		switch {
		case err != nil:
			return "", err
		case !st.exists || st.org.Deleting:
			return "", errOrgNotFound()
		case st.org.BillingEventAt > eventAt:
			return reroute.Stale, nil
		}
		pausedFrom := "" // all the routes fit when they were not listed
		if st.listed {
			pausedFrom = pausedFromOf(st.keys, plan.RouteLimit)
		}
		u := newUpdateExpr()
		u.setS(attrPlan, plan.Name)
		u.set(attrRouteLimit, u.value(":routeLimit", avN(plan.RouteLimit)))
		u.set(attrMemberLimit, u.value(":memberLimit", avN(plan.MemberLimit)))
		u.set(attrRuleLimit, u.value(":ruleLimit", avN(plan.RuleLimit)))
		u.setS(attrSubscriptionID, change.SubscriptionID)
		u.setS(attrSubscriptionStatus, change.Status)
		u.setS(attrCurrentPeriodEnd, formatTime(change.CurrentPeriodEnd))
		if change.CancelAtPeriodEnd {
			u.set(attrCancelAtPeriodEnd, u.value(":cancel", &types.AttributeValueMemberBOOL{Value: true}))
		} else {
			u.remove(attrCancelAtPeriodEnd)
		}
		u.setS(attrBillingEventAt, eventAt)
		u.setS(attrPausedFrom, pausedFrom)
		u.setS(attrUpdatedAt, formatTime(s.now()))
		ev := u.name(attrBillingEventAt)
		u.name(attrDeleting) // orgLive's
		cond := orgLive + " AND (attribute_not_exists(" + ev + ") OR " + ev + " <= " + u.value(":"+attrBillingEventAt, avS(eventAt)) + ")" +
			" AND " + routeVersionIs(u, st.org.RouteVersion)
		var mapping *types.TransactWriteItem
		if st.org.StripeCustomerID == "" && change.CustomerID != "" {
			u.setS(attrStripeCustomerID, change.CustomerID)
			cond += " AND attribute_not_exists(" + u.name(attrStripeCustomerID) + ")"
			put, err := s.customerPut(orgID, change.CustomerID)
			if err != nil {
				return "", err
			}
			mapping = &put
		}
		items := []types.TransactWriteItem{marker, s.orgUpdate(orgID, u.expression(), cond, u.names, u.values)}
		if mapping != nil {
			items = append(items, *mapping)
		}
		told, err := s.billingEvents(st.org, change, plan)
		if err != nil {
			return "", err
		}
		items = append(items, told...)
		err = s.transact(ctx, items...)
		i, failed := conditionFailed(err)
		switch {
		case !failed && err != nil:
			return "", unavailable(err)
		case !failed:
			return reroute.Applied, nil
		case i == 0:
			return reroute.Duplicate, nil
		case i == 2:
			return "", errCustomerTaken()
		}
		// The org changed since it was read: a newer event, its routes, its
		// customer, or it went. Read it again.
	}
	return "", unavailable(errors.New("applying a billing change: the org kept changing"))
}

// billingEvents are the outbox Puts of what a billing change does to org, as
// read: its plan changes, a payment fails (the subscription turns past_due or
// unpaid), routes beyond the new limit pause or paused ones resume.
func (s *Store) billingEvents(org orgItem, change reroute.BillingChange, plan reroute.Plan) ([]types.TransactWriteItem, error) {
	now := s.now()
	var evs []reroute.Event
	add := func(t reroute.EventType, data any) error {
		e, err := reroute.NewEvent(t, org.ID, now, data)
		evs = append(evs, e)
		return err
	}
	if plan.Name != org.Plan {
		if err := add(reroute.EventBillingPlanChanged, reroute.BillingEventData{From: org.Plan, To: plan.Name, Status: change.Status}); err != nil {
			return nil, err
		}
	}
	failing := func(status string) bool { return status == "past_due" || status == "unpaid" }
	if failing(change.Status) && !failing(org.SubscriptionStatus) {
		if err := add(reroute.EventBillingPaymentFailed, reroute.BillingEventData{From: org.Plan, To: plan.Name, Status: change.Status}); err != nil {
			return nil, err
		}
	}
	was, now2 := max(0, org.RouteCount-org.RouteLimit), max(0, org.RouteCount-plan.RouteLimit)
	switch {
	case now2 > was:
		if err := add(reroute.EventRoutesPaused, reroute.BillingEventData{Count: now2 - was, Limit: plan.RouteLimit, To: plan.Name}); err != nil {
			return nil, err
		}
	case now2 < was:
		if err := add(reroute.EventRoutesResumed, reroute.BillingEventData{Count: was - now2, Limit: plan.RouteLimit, To: plan.Name}); err != nil {
			return nil, err
		}
	}
	var items []types.TransactWriteItem
	for _, e := range evs {
		put, err := s.outboxPut(e)
		if err != nil {
			return nil, err
		}
		items = append(items, put)
	}
	return items, nil
}
