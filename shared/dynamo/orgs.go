package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Org attributes besides the keys. The counters are written on every create, never
// omitted, so that an update can add to them and a condition compare them.
const (
	attrName        = "name"
	attrPlan        = "plan"
	attrRouteLimit  = "routeLimit"
	attrMemberLimit = "memberLimit"
	// attrRuleLimit bounds the path rules of each of the org's routes; an org
	// stored before it existed has none, and the free plan's limit (see
	// legacyRuleLimit).
	attrRuleLimit   = "ruleLimit"
	attrRouteCount  = "routeCount"
	attrMemberCount = "memberCount"
	attrOwnerCount  = "ownerCount"
	attrDeleting    = "deleting"
	// attrRouteVersion counts the changes to the org's set of routes (every
	// CreateRoute and DeleteRoute adds one), so that a write computed from a list
	// of the routes can be made on condition that the set did not change.
	attrRouteVersion = "routeVersion"
	// attrPausedFrom is the order key (routeOrderKey) of the org's oldest paused
	// route: every route at or after it is paused. Absent when none is.
	attrPausedFrom = "pausedFrom"

	attrStripeCustomerID   = "stripeCustomerId"
	attrSubscriptionID     = "subscriptionId"
	attrSubscriptionStatus = "subscriptionStatus"
	attrCurrentPeriodEnd   = "currentPeriodEnd"
	attrCancelAtPeriodEnd  = "cancelAtPeriodEnd"
	attrBillingEventAt     = "billingEventAt"
)

// orgItem is an org as stored. Deleting is set, once and for good, by DeleteOrg: from
// then on the org takes no new route, member or key, and reads as not found. The
// billing attributes are written by SetStripeCustomer and ApplyBilling only; the
// times among them are formatTime's, so that a condition can compare them as text.
type orgItem struct {
	PK           string `dynamodbav:"PK"`
	SK           string `dynamodbav:"SK"`
	ID           string `dynamodbav:"id"`
	Name         string `dynamodbav:"name"`
	Plan         string `dynamodbav:"plan"`
	RouteLimit   int    `dynamodbav:"routeLimit"`
	MemberLimit  int    `dynamodbav:"memberLimit"`
	RuleLimit    *int   `dynamodbav:"ruleLimit,omitempty"` // nil: stored before rule limits
	RouteCount   int    `dynamodbav:"routeCount"`
	MemberCount  int    `dynamodbav:"memberCount"`
	OwnerCount   int    `dynamodbav:"ownerCount"`
	RouteVersion int    `dynamodbav:"routeVersion"`
	PausedFrom   string `dynamodbav:"pausedFrom,omitempty"`
	CreatedAt    string `dynamodbav:"createdAt,omitempty"`
	UpdatedAt    string `dynamodbav:"updatedAt,omitempty"`
	Deleting     bool   `dynamodbav:"deleting,omitempty"`

	StripeCustomerID   string `dynamodbav:"stripeCustomerId,omitempty"`
	SubscriptionID     string `dynamodbav:"subscriptionId,omitempty"`
	SubscriptionStatus string `dynamodbav:"subscriptionStatus,omitempty"`
	CurrentPeriodEnd   string `dynamodbav:"currentPeriodEnd,omitempty"`
	CancelAtPeriodEnd  bool   `dynamodbav:"cancelAtPeriodEnd,omitempty"`
	BillingEventAt     string `dynamodbav:"billingEventAt,omitempty"`
}

func (it orgItem) org() reroute.Org {
	return reroute.Org{
		ID: it.ID, Name: it.Name, Plan: it.Plan,
		RouteLimit: it.RouteLimit, MemberLimit: it.MemberLimit, RuleLimit: it.ruleLimit(),
		RouteCount: it.RouteCount, MemberCount: it.MemberCount, OwnerCount: it.OwnerCount,
		Billing: reroute.Billing{
			CustomerID: it.StripeCustomerID, SubscriptionID: it.SubscriptionID, Status: it.SubscriptionStatus,
			CurrentPeriodEnd: parseTime(it.CurrentPeriodEnd), CancelAtPeriodEnd: it.CancelAtPeriodEnd,
			EventAt: parseTime(it.BillingEventAt),
		},
		CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt),
	}
}

// legacyRuleLimit is the rule limit of an org stored before rule limits existed:
// the free plan's, the least any plan allows (its next plan change sets its own).
func legacyRuleLimit() int {
	free, _ := reroute.DefaultCatalog().Get(reroute.PlanFree)
	return free.RuleLimit
}

// ruleLimit is the org's rule limit.
func (it orgItem) ruleLimit() int {
	if it.RuleLimit == nil {
		return legacyRuleLimit()
	}
	return *it.RuleLimit
}

func errOrgNotFound() error {
	return &reroute.Error{Code: reroute.CodeNotFound, Reason: "org_not_found", Message: "no such org"}
}

// errLimit says which limit of which plan was reached, e.g. "the free plan allows 1
// route: upgrade to add more".
func errLimit(plan string, limit int, noun string) error {
	if limit != 1 {
		noun += "s"
	}
	who := "your plan"
	if plan != "" {
		who = "the " + plan + " plan"
	}
	return &reroute.Error{Code: reroute.CodeLimit, Reason: "plan_limit_reached",
		Message: fmt.Sprintf("%s allows %d %s: upgrade to add more", who, limit, noun)}
}

// Expressions on the org item that guard a write to one of its routes or members.
const (
	// orgLive holds for an org that exists and is not being deleted.
	orgLive = "attribute_exists(" + attrPK + ") AND attribute_not_exists(#deleting)"
	// orgExists holds for an org that exists, deleting or not: counting down needs
	// no more, and stops an update from making an org item out of nothing.
	orgExists = "attribute_exists(" + attrPK + ")"
)

// orgUpdate is the transaction item that updates orgID's item with update, on cond.
func (s *Store) orgUpdate(orgID, update, cond string, names map[string]string, values map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       orgKey(orgID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}}
}

// orgCheck is the transaction item that holds only while orgID is live.
func (s *Store) orgCheck(orgID string) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                aws.String(s.table),
		Key:                      orgKey(orgID),
		ConditionExpression:      aws.String(orgLive),
		ExpressionAttributeNames: map[string]string{"#deleting": attrDeleting},
	}}
}

// readOrg reads an org item consistently; ok is false when there is none.
func (s *Store) readOrg(ctx context.Context, id string) (it orgItem, ok bool, err error) {
	return getItem[orgItem](ctx, s, orgKey(id))
}

// whyNotCounted explains why a counter update's condition (orgLive and the
// limits refuse checks) failed, reading the org once: a missing or deleting org
// is not found, one refuse refuses is over a limit. retry is true when neither
// holds any more (a concurrent removal made room), and the write may be tried
// again.
func (s *Store) whyNotCounted(ctx context.Context, orgID string, refuse func(orgItem) error) (retry bool, err error) {
	it, ok, err := s.readOrg(ctx, orgID)
	switch {
	case err != nil:
		return false, err
	case !ok || it.Deleting:
		return false, errOrgNotFound()
	}
	if err := refuse(it); err != nil {
		return false, err
	}
	return true, nil
}

// countLimit refuses an org whose count of noun is at its limit.
func countLimit(noun string, count func(orgItem) (n, limit int)) func(orgItem) error {
	return func(it orgItem) error {
		if n, limit := count(it); n >= limit {
			return errLimit(it.Plan, limit, noun)
		}
		return nil
	}
}

// CreateOrg stores a new org, with owner as its first member in the same
// transaction. A zero owner (no email) makes an org without members, for the
// operator's own tools. The counters start from the owner alone, whatever org
// says, and billing starts empty (org.Billing is ignored: only Stripe's events
// set it); zero times are set to now. An existing id is CodeConflict "org_exists".
func (s *Store) CreateOrg(ctx context.Context, org reroute.Org, owner reroute.Member) error {
	if org.ID == "" || org.RouteLimit < 0 || org.MemberLimit < 0 || org.RuleLimit < 0 {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "an org needs an id and limits of 0 or more"}
	}
	if org.CreatedAt.IsZero() {
		org.CreatedAt = s.now()
	}
	if org.UpdatedAt.IsZero() {
		org.UpdatedAt = org.CreatedAt
	}
	it := orgItem{
		PK: orgPK(org.ID), SK: orgSK, ID: org.ID, Name: org.Name, Plan: org.Plan,
		RouteLimit: org.RouteLimit, MemberLimit: org.MemberLimit, RuleLimit: &org.RuleLimit,
		CreatedAt: formatTime(org.CreatedAt), UpdatedAt: formatTime(org.UpdatedAt),
	}
	var memberPut *types.TransactWriteItem
	if owner != (reroute.Member{}) {
		if owner.OrgID == "" {
			owner.OrgID = org.ID
		}
		if owner.OrgName == "" {
			owner.OrgName = org.Name
		}
		if owner.CreatedAt.IsZero() {
			owner.CreatedAt = org.CreatedAt
		}
		if err := checkMember(owner); err != nil || owner.OrgID != org.ID {
			return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "an org's first member needs an email and a role, in that org"}
		}
		it.MemberCount = 1
		if owner.Role == reroute.RoleOwner {
			it.OwnerCount = 1
		}
		put, err := s.memberPut(owner)
		if err != nil {
			return err
		}
		memberPut = &put
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encoding org %s: %w", org.ID, err)
	}
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")"),
	}}}
	if memberPut != nil {
		items = append(items, *memberPut)
	}
	err = s.transact(ctx, items...)
	if i, failed := conditionFailed(err); failed {
		if i == 1 {
			return errMemberExists() // a member left behind by another org of that id
		}
		return &reroute.Error{Code: reroute.CodeConflict, Reason: "org_exists", Message: "an org with that id already exists"}
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// GetOrg returns an org; one being deleted answers not found, as it will be.
func (s *Store) GetOrg(ctx context.Context, id string) (reroute.Org, error) {
	if id == "" {
		return reroute.Org{}, errOrgNotFound()
	}
	it, ok, err := s.readOrg(ctx, id)
	switch {
	case err != nil:
		return reroute.Org{}, err
	case !ok || it.Deleting:
		return reroute.Org{}, errOrgNotFound()
	}
	return it.org(), nil
}

// RenameOrg changes an org's name and update time (zero at: now). Memberships
// keep the name they were made with.
func (s *Store) RenameOrg(ctx context.Context, id, name string, at time.Time) error {
	if id == "" {
		return errOrgNotFound()
	}
	if at.IsZero() {
		at = s.now()
	}
	err := retryConflicts(ctx, func() error {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:           aws.String(s.table),
			Key:                 orgKey(id),
			UpdateExpression:    aws.String("SET #name = :name, #updatedAt = :updatedAt"),
			ConditionExpression: aws.String(orgLive),
			ExpressionAttributeNames: map[string]string{
				"#name": attrName, "#updatedAt": attrUpdatedAt, "#deleting": attrDeleting,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":name": avS(name), ":updatedAt": avS(formatTime(at)),
			},
		})
		return err
	})
	if _, failed := conditionFailed(err); failed {
		return errOrgNotFound()
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// DeleteOrg removes an org with its routes, API keys and members. It first marks
// the org as being deleted, which every write that adds to an org checks in its
// transaction, so nothing new arrives while it works; then it deletes what the org
// holds, 25 items to a BatchWriteItem, and the org item last. If it fails part way,
// the org stays marked (and reads as not found) and calling DeleteOrg again
// finishes the job; once the org item is gone, it answers not found.
//
// Routes and keys are found on GSI1, which is eventually consistent: one written in
// the instant before the mark may not be listed yet and may be left behind.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	if id == "" {
		return errOrgNotFound()
	}
	err := retryConflicts(ctx, func() error {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       orgKey(id),
			UpdateExpression:          aws.String("SET #deleting = :true"),
			ConditionExpression:       aws.String(orgExists),
			ExpressionAttributeNames:  map[string]string{"#deleting": attrDeleting},
			ExpressionAttributeValues: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}},
		})
		return err
	})
	if _, failed := conditionFailed(err); failed {
		return errOrgNotFound()
	}
	if err != nil {
		return unavailable(err)
	}

	if err := s.deleteOrgRoutes(ctx, id); err != nil {
		return err
	}
	if err := s.deleteOrgOAuth(ctx, id); err != nil {
		return err
	}
	keysOnly := aws.String("#tpk, #tsk")
	queries := []*dynamodb.QueryInput{
		{ // API keys
			IndexName:              aws.String(indexGSI1),
			KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :sk)"),
			ExpressionAttributeNames: map[string]string{
				"#pk": attrGSI1PK, "#sk": attrGSI1SK, "#tpk": attrPK, "#tsk": attrSK,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": avS(apiKeyGSI1PK(id)), ":sk": avS(apiKeyGSI1SKOf),
			},
		},
		{ // members, read consistently from the org's own partition
			KeyConditionExpression: aws.String("#tpk = :pk AND begins_with(#tsk, :sk)"),
			ExpressionAttributeNames: map[string]string{
				"#tpk": attrPK, "#tsk": attrSK,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": avS(memberPK(id)), ":sk": avS(memberSKOf),
			},
			ConsistentRead: aws.Bool(true),
		},
		{ // members' email preferences, beside them
			KeyConditionExpression:    aws.String("#tpk = :pk AND begins_with(#tsk, :sk)"),
			ExpressionAttributeNames:  map[string]string{"#tpk": attrPK, "#tsk": attrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(orgPK(id)), ":sk": avS(notifySKOf)},
			ConsistentRead:            aws.Bool(true),
		},
		{ // webhook endpoints (their deliveries expire on their own)
			KeyConditionExpression:    aws.String("#tpk = :pk AND begins_with(#tsk, :sk)"),
			ExpressionAttributeNames:  map[string]string{"#tpk": attrPK, "#tsk": attrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(webhookPK(id)), ":sk": avS(webhookSKOf)},
			ConsistentRead:            aws.Bool(true),
		},
	}
	for _, q := range queries {
		q.TableName, q.ProjectionExpression = aws.String(s.table), keysOnly
		if err := s.deleteQueried(ctx, q); err != nil {
			return err
		}
	}

	err = retryConflicts(ctx, func() error {
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: orgKey(id)})
		return err
	})
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// deleteQueried deletes every item a Query finds, page by page; the query must
// project the table's keys.
func (s *Store) deleteQueried(ctx context.Context, q *dynamodb.QueryInput) error {
	for {
		out, err := s.db.Query(ctx, q)
		if err != nil {
			return unavailable(err)
		}
		keys := make([]map[string]types.AttributeValue, len(out.Items))
		for i, it := range out.Items {
			keys[i] = keyOf(it)
		}
		if err := s.deleteKeys(ctx, keys); err != nil {
			return err
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		q.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
